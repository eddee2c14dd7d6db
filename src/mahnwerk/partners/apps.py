from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    name = "mahnwerk.partners"
    label = "partners"
    verbose_name = _("Agencies and lawyers")

    def ready(self) -> None:
        # payments that still reach the creditor after a handover are noted for the partner
        from mahnwerk.partners import signals  # noqa: F401
