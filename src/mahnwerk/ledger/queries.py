"""Read models shared by the CLI, the web UI and the API."""

from __future__ import annotations

from typing import Any

from django.db.models import Max, Q, Sum

from mahnwerk.core.money import format_money
from mahnwerk.ledger.claims import debtor_law, law_summary
from mahnwerk.ledger.models import Company, CreditNote, Debtor, Invoice, Payment, TimelineEvent
from mahnwerk.ledger.search import search_ids
from mahnwerk.ledger.timeline import describe


def debtor_page(company: Company, search: str = "", limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """The company's debtors ordered by customer number, a page at a time, each with what is open on it;
    ``search`` finds them as the web application's search does (:func:`ledger.search.search_ids`: name, number
    or email ignoring case and accents, phone, invoice number). The API's list and ``mahnwerk debtor list``."""
    rows = Debtor.objects.filter(company=company)
    if search.replace("\x00", "").strip():
        rows = rows.filter(id__in=sorted(search_ids(company, search)))
    page = rows.annotate(
        open_total=Sum("invoices__open_minor", filter=Q(invoices__open_minor__gt=0), default=0)
    ).order_by("number", "pk")[offset : offset + limit]
    items = [
        {
            "id": d.pk,
            "number": d.number,
            "name": d.name,
            "kind": d.kind,
            "language": d.language,
            "do_not_contact": d.do_not_contact,
            "open_minor": d.open_total,
        }
        for d in page
    ]
    return {"count": rows.count(), "limit": limit, "offset": offset, "items": items}


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
