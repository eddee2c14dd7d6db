"""Writing and describing timeline events. Texts are rendered in the reader's language on display."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.utils.translation import gettext_lazy as _

from mahnwerk.ledger.models import TimelineEvent

EVENT_TEXTS = {
    "debtor_created": _("Debtor created"),
    "invoices_imported": _("{count} invoice(s) imported: {numbers}"),
    "invoice_created": _("Invoice {number} over {amount} due {due_date}"),
    "credit_note_recorded": _("Credit note {number} over {amount}"),
    "payment_recorded": _("Payment of {amount} received (value date {value_date}, reference {reference})"),
    "action_created": _(
        "Step {level} ({tone}) decided for {count} item(s), {total}; new deadline {deadline}"
    ),
    "message_queued": _("{channel} to {recipient} queued: {subject}"),
    "message_sent": _("{channel} to {recipient} sent: {subject}"),
    "message_cancelled": _("Queued message cancelled: {reason}"),
    "message_failed": _("Sending failed: {error}"),
    "no_contact": _("No reminder sent: {reason}"),
    "hold_set": _("Put on hold: {reason}"),
    "charge_booked": _("{charge} of {amount} booked on {number}"),
    "limitation_warning": _("Invoice {number} becomes time-barred after {date}"),
    "hold_released": _("Hold released"),
    "playbook_changed": _("Playbook changed to {playbook}"),
    "segment_changed": _("Segment changed from {old} to {new}: {reason}"),
}


class _Defaults(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "-"


def describe(event: TimelineEvent) -> str:
    template = EVENT_TEXTS.get(event.kind)
    if template is None:
        return event.kind
    text = str(template).format_map(_Defaults(event.data))
    return f"{text} — {event.note}" if event.note else text


def event(
    debtor_id: int,
    company_id: int,
    kind: str,
    business_date: date,
    actor: str = "system",
    note: str = "",
    **data: Any,
) -> TimelineEvent:
    """Build (not save) an event; callers save one or bulk-create many."""
    if kind not in EVENT_TEXTS:
        raise ValueError(f"unknown timeline event kind {kind!r}")
    return TimelineEvent(
        debtor_id=debtor_id,
        company_id=company_id,
        kind=kind,
        business_date=business_date,
        actor=actor,
        note=note,
        data={k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()},
    )


def record(events: Iterable[TimelineEvent]) -> None:
    TimelineEvent.objects.bulk_create(list(events), batch_size=1000)
