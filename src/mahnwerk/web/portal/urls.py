from django.urls import path

from mahnwerk.web.params import register_id_converter
from mahnwerk.web.portal import views

register_id_converter()

app_name = "portal"
urlpatterns = [
    path("<str:token>/", views.home, name="home"),
    path("<str:token>/documents/<str:kind>/<id:doc_id>", views.document, name="document"),
]
