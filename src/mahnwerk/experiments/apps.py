from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExperimentsConfig(AppConfig):
    name = "mahnwerk.experiments"
    label = "experiments"
    verbose_name = _("Experiments and channel learning")
