from django.urls import path

from mahnwerk.web.portal import views

app_name = "portal"
urlpatterns = [
    path("<str:token>/", views.home, name="home"),
    path("<str:token>/documents/<str:kind>/<int:doc_id>", views.document, name="document"),
]
