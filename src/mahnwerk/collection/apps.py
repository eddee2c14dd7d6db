from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollectionConfig(AppConfig):
    name = "mahnwerk.collection"
    label = "collection"
    verbose_name = _("Collection")

    def ready(self) -> None:
        from mahnwerk.collection.consequences import _on_law_changed
        from mahnwerk.collection.runs import EVENT_TEXTS
        from mahnwerk.ledger import timeline
        from mahnwerk.ledger.signals import debtor_law_changed

        debtor_law_changed.connect(_on_law_changed, dispatch_uid="collection.law_changed")

        for kind, text in EVENT_TEXTS.items():
            timeline.EVENT_TEXTS.setdefault(kind, text)
