"""The "Documents" card of the clerk's case file: ``{% load mahnwerk_documents %}{% debtor_documents debtor %}``.

A tag rather than view context so that the card can be placed on the case file on its own.
"""

from __future__ import annotations

from typing import Any

from django import template

from mahnwerk.comms.debtor_documents import list_documents
from mahnwerk.ledger.models import Debtor
from mahnwerk.web.forms import InvoiceDocumentForm

register = template.Library()


@register.inclusion_tag("web/_documents.html", takes_context=True)
def debtor_documents(context: template.Context, debtor: Debtor) -> dict[str, Any]:
    request = context.get("request")
    can_work = bool(
        request is not None and getattr(request, "membership", None) and request.membership.can_work
    )
    return {
        "debtor": debtor,
        "documents": list_documents(debtor),
        "upload_form": InvoiceDocumentForm(debtor_id=debtor.pk, prefix="copy") if can_work else None,
        "csrf_token": context.get("csrf_token"),
    }
