from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkConfig(AppConfig):
    name = "mahnwerk.work"
    label = "work"
    verbose_name = _("Work queue")

    def ready(self) -> None:
        from mahnwerk.ledger import timeline
        from mahnwerk.work.services import EVENT_TEXTS

        for kind, text in EVENT_TEXTS.items():
            timeline.EVENT_TEXTS.setdefault(kind, text)
