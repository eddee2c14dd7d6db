"""The "Documents" card of the clerk's case file: ``{% load mahnwerk_documents %}{% debtor_documents debtor %}``.

A tag rather than view context so that the card can be placed on the case file on its own.
"""

from __future__ import annotations

from typing import Any

from django import template

from mahnwerk.comms.debtor_documents import list_documents
from mahnwerk.ledger.models import Debtor

register = template.Library()


@register.inclusion_tag("web/_documents.html")
def debtor_documents(debtor: Debtor) -> dict[str, Any]:
    return {"debtor": debtor, "documents": list_documents(debtor)}
