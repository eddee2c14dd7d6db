from django.contrib import admin
from django.urls import include, path

from mahnwerk.api.api import api
from mahnwerk.comms.views import inbound_email

urlpatterns = [
    path("inbound/email", inbound_email, name="inbound-email"),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("mahnwerk.web.urls")),
]
