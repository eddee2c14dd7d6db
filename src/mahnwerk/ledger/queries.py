"""Read models shared by the CLI, the web UI and the API."""

from __future__ import annotations

from typing import Any

from django.db.models import Max, Q, Sum

from mahnwerk.core.money import format_money
from mahnwerk.ledger.claims import debtor_law, law_summary
from mahnwerk.ledger.models import CreditNote, Debtor, Invoice, Payment, TimelineEvent
from mahnwerk.ledger.timeline import describe


def debtor_overview(
    debtor: Debtor, timeline_limit: int = 200, events: list[TimelineEvent] | None = None
) -> dict[str, Any]:
    """Open items, contacts and the timeline of a debtor; ``events`` (newest first), when the caller has read
    them already."""
    items = list(
        Invoice.objects.filter(debtor=debtor, open_minor__gt=0)
        .annotate(level=Max("action_items__level", filter=Q(action_items__status="active")))
        .order_by("due_date", "number")
        .values(
            "id",
            "number",
            "issue_date",
            "due_date",
            "amount_minor",
            "open_minor",
            "currency",
            "on_hold",
            "level",
        )
    )
    for item in items:
        item["level"] = item["level"] or 0
    totals: dict[str, int] = {}
    for item in items:
        totals[item["currency"]] = totals.get(item["currency"], 0) + item["open_minor"]
    if events is None:
        events = list(debtor.timeline.order_by("-business_date", "-id")[:timeline_limit])
    return {
        "id": debtor.pk,
        "number": debtor.number,
        "name": debtor.name,
        "kind": debtor.kind,
        "language": debtor.language,
        "rules": law_summary(debtor_law(debtor.company, debtor)),
        "do_not_contact": debtor.do_not_contact,
        "contacts": list(
            debtor.contacts.values("kind", "value", "is_primary", "is_valid", "opted_out", "sms_refused")
        ),
        "open_items": items,
        "total_open": " + ".join(format_money(v, k) for k, v in sorted(totals.items()))
        or format_money(0, "EUR"),
        "timeline": [
            {
                "at": e.at.isoformat() if e.at else None,
                "business_date": e.business_date.isoformat(),
                "kind": e.kind,
                "actor": e.actor,
                "text": describe(e),
                "data": e.data,
            }
            for e in reversed(events)
        ],
    }


def credit_on_account(debtor: Debtor) -> dict[str, int]:
    """What the debtor has paid or been credited beyond its open items, per currency (minor units): the parts
    of payments and credit notes not yet applied, which later invoices take first. One query."""
    payments = (
        Payment.objects.filter(debtor=debtor, unallocated_minor__gt=0)
        .values("currency")
        .annotate(total=Sum("unallocated_minor"))
        .order_by()
    )
    notes = (
        CreditNote.objects.filter(debtor=debtor, unallocated_minor__gt=0)
        .values("currency")
        .annotate(total=Sum("unallocated_minor"))
        .order_by()
    )
    credit: dict[str, int] = {}
    for row in payments.union(notes, all=True):
        credit[row["currency"]] = credit.get(row["currency"], 0) + int(row["total"] or 0)
    return credit
