from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EscalationConfig(AppConfig):
    name = "mahnwerk.escalation"
    label = "escalation"
    verbose_name = _("Escalation and court")

    def ready(self) -> None:
        from mahnwerk.escalation import signals  # noqa: F401  (court tasks done once the account is paid)
        from mahnwerk.escalation.deadlines import EVENT_TEXTS
        from mahnwerk.ledger import timeline

        for kind, text in EVENT_TEXTS.items():
            timeline.EVENT_TEXTS.setdefault(kind, text)
