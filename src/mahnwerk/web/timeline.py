"""Timeline texts for the events the web application writes, on top of ``ledger.timeline.describe``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mahnwerk.ledger.models import TimelineEvent
from mahnwerk.ledger.timeline import EVENT_TEXTS, describe

WEB_EVENT_TEXTS = {
    "contact_updated": _("Contact details updated: {changes}"),
}


def describe_event(event: TimelineEvent) -> str:
    if event.kind in WEB_EVENT_TEXTS and event.kind not in EVENT_TEXTS:
        text = str(WEB_EVENT_TEXTS[event.kind]).format_map(_Defaults(event.data))
        return f"{text} — {event.note}" if event.note else text
    return describe(event)


class _Defaults(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "-"
