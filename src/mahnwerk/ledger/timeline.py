"""Writing and describing timeline events. Texts are rendered in the reader's language on display."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.utils.translation import gettext_lazy as _

from mahnwerk.ledger.bulk import bulk_insert, bulk_insert_rows
from mahnwerk.ledger.models import TimelineEvent

EVENT_TEXTS = {
    "debtor_created": _("Debtor created"),
    "invoices_imported": _("{count} invoice(s) imported: {numbers}"),
    "invoice_created": _("Invoice {number} over {amount} due {due_date}"),
    "credit_note_recorded": _("Credit note {number} over {amount}"),
    "invoice_document_stored": _("Copy of invoice {number} stored ({file})"),
    "payment_recorded": _("Payment of {amount} received (value date {value_date}, reference {reference})"),
    "credit_applied": _("{amount} on account ({source}) applied to open items"),
    "debtor_details_changed": _("Customer details changed: {fields}"),
    "small_balance_written_off": _(
        "{amount} left open on invoice {number} written off: no more than the small-balance tolerance of "
        "{tolerance} (write-off #{id})"
    ),
    "leftover_written_off": _(
        "Interest ({interest}) and fees ({fees}) left on invoice {number} after the principal was paid "
        "written off (write-off {ids})"
    ),
    "write_off_reversed": _(
        "Write-off #{id} of {amount} on invoice {number} reversed: the amount is open again"
    ),
    "action_created": _(
        "Step {level} ({tone}) decided for {count} item(s), {total}; new deadline {deadline}"
    ),
    "message_queued": _("{channel} to {recipient} queued: {subject}"),
    "message_sent": _("{channel} to {recipient} sent: {subject}"),
    "message_cancelled": _("Queued message cancelled: {reason}"),
    "message_withdrawn": _(
        "Queued {channel} withdrawn before it went out: {reason}. The next run decides again with the figures "
        "of its day"
    ),
    "letter_redated": _(
        "Letter written for {written_on} printed later: dated the print day, its deadline moved to {deadline}"
    ),
    "message_redated": _(
        "{channel} written for {written_on} sent later: dated the day it went out, with that day's figures, its "
        "deadline moved to {deadline}"
    ),
    "message_deferred": _("{channel} deferred until {until}: {reason}"),
    "message_bounced": _("Email to {recipient} bounced ({status}): the address is marked invalid"),
    "sms_refused": _(
        "Text message to {recipient} refused ({status}): the number is marked as taking no text messages; "
        "calls still go to it"
    ),
    "message_returned": _("Letter returned by the post: the postal address is marked invalid"),
    "letter_printed": _("Letter printed in batch {batch}"),
    "reply_received": _("Reply received: {subject}"),
    "channel_fallback": _("{step} not possible, {channel} used instead ({reason})"),
    "channel_learned": _("{channel} instead of {step}: the customer answers it ({reason})"),
    "channel_tried": _("{channel} instead of {step}, to reach the customer another way ({reason})"),
    "experiment_assigned": _(
        "Experiment {experiment}: assigned at random to arm {arm} (playbook {playbook}, segment {segment})"
    ),
    "task_created": _("Task created: {task}"),
    "call_outcome": _("Call: {outcome}"),
    "call_retry": _("Not reached: call again on {due_on} (attempt {attempt} of {attempts})"),
    "call_attempts_ended": _(
        "Not reached in {attempts} attempts: no further call task, the playbook goes on"
    ),
    "message_failed": _("Sending failed: {error}"),
    "no_contact": _("No reminder sent: {reason}"),
    "hold_set": _("Put on hold: {reason}"),
    "charge_booked": _("{charge} of {amount} booked on {number}"),
    "charge_cancelled_default": _(
        "{charge} of {amount} on {number} cancelled: it was booked before default, which now begins on {date}"
    ),
    "charge_cancelled_law": _(
        "{charge} of {amount} on {number} cancelled: under the rules that apply since the customer's details "
        "changed it is not owed"
    ),
    "charge_cancelled": _(
        "{charge} of {amount} on {number} cancelled: the reminder did not reach the customer"
    ),
    "limitation_warning": _("Invoice {number} becomes time-barred after {date}"),
    "time_barred": _(
        "Invoice {number} was time-barred after {date}: no more automatic messages name it; a person decides"
    ),
    "hold_released": _("Hold released"),
    "contact_updated": _("Contact details updated: {changes}"),
    "portal_opened": _("The customer opened the payment page"),
    "document_downloaded": _("The customer downloaded {document} from the payment page"),
    "playbook_changed": _("Playbook changed to {playbook}"),
    # agreements and disputes
    "promise_recorded": _(
        "Promise to pay {amount} by {promised_date} for {numbers} (grace {grace_days} days)"
    ),
    "paid_notice_recorded": _(
        "The customer says it has paid {amount} for {numbers}; their reminders wait until {promised_date}"
    ),
    "promise_kept": _("Promise kept: {paid} paid in time"),
    "promise_partly_kept": _(
        "Promise partly kept: {paid} of {amount} paid by {last_day}; the fallback step runs"
    ),
    "promise_broken": _("Promise broken: nothing paid by {last_day}; the fallback step runs"),
    "plan_proposed": _(
        "Instalment plan proposed for {numbers}: {total} in {count} instalment(s), down payment {down}, "
        "confirm by {confirm_by}"
    ),
    "plan_needs_approval": _("Instalment plan outside the limits ({violations}): it needs approval"),
    "plan_approved": _("Instalment plan approved by {approver}"),
    "plan_confirmed": _("Instalment plan confirmed ({by}): it is active"),
    "plan_expired": _("Instalment plan not confirmed by {confirm_by}: the playbook resumes"),
    "plan_completed": _("Instalment plan completed: {paid} paid"),
    "plan_breached": _(
        "Instalment {number} due {due_date} missed: the plan is broken, {remaining} due at once by {deadline}; "
        "then the playbook resumes at step {level}"
    ),
    "instalment_notice": _("Reminder for instalment {number}: {amount} due {due_date}"),
    "settlement_offered": _("Settlement offered: {amount} instead of {open} if paid by {deadline}"),
    "settlement_accepted": _("Settlement paid in time ({paid}): {written_off} written off"),
    "settlement_lapsed": _("Settlement not paid by {deadline}: the offer lapsed, the playbook resumes"),
    "incentive_offered": _("Offer made ({offer}) if {amount} is paid by {deadline}"),
    "incentive_applied": _("Offer applied ({offer}): paid by {deadline}; discount {discount}"),
    "incentive_lapsed": _("Offer lapsed ({offer}): not paid by {deadline}"),
    "agreement_cancelled": _("Cancelled: {what} #{id}"),
    "dispute_opened": _("Dispute on {number} ({amount}): {reason}"),
    "dispute_resolved": _("Dispute on {number} resolved: {outcome}; new deadline {deadline}"),
    "segment_changed": _("Segment changed from {old} to {new}: {reason}"),
    # bank statements
    "payment_reversed": _(
        "Payment of {amount} (value date {value_date}) taken back by the bank ({reason}): open again {reopened}"
    ),
    # agencies and lawyers, address research
    "handed_over": _("Handed over to {partner}: {total} as of {date}; no more reminders from us"),
    "partner_status": _("{partner} reports ({date}): {status}"),
    "partner_collected": _(
        "{partner} collected {collected} ({date}); its fee {fee} kept, {net} received and booked as a payment"
    ),
    "partner_payment_noted": _(
        "Payment of {amount} (value date {value_date}) came to us directly: it is reported to {partner}"
    ),
    "handover_recalled": _("Recalled from {partner}: {reason}"),
    "handover_closed": _("Handover to {partner} closed ({status}): {reason}"),
    "address_found": _("Address research ({source}): new address {address}"),
    # escalation advice and court
    "escalation_advised": _("Escalation advice: {option} recommended, expected {expected} of {total}"),
    "escalation_decided": _("Decided: {option} (advice: {recommended}); expected {expected}, costs {costs}"),
    "court_order_prepared": _(
        "Court payment order prepared: {total} ({count} claim(s)), court fee {fee}; objection period ends "
        "{objection_until}, enforcement order by {enforcement_order_by} (expected service {service_on})"
    ),
    "lv_warning_prepared": _("Warning procedure prepared (Latvia): {total}, state fee {fee}"),
    "evidence_bundle_built": _("Evidence bundle built: {files} file(s)"),
}


# Why a queued collection message was withdrawn just before it went out (``message_withdrawn``'s ``reason``);
# the texts may use the event's data (``deadline``, ``written_on``, ``days``).
WITHDRAWAL_REASONS = {
    "paid": _("an item it lists was paid, credited or written off meanwhile"),
    "invoice_hold": _("an item it lists was put on hold"),
    "dispute": _("an item it lists is in dispute"),
    "promise": _("a promise to pay covers an item it lists"),
    "plan": _("an instalment plan covers an item it lists"),
    "settlement": _("a settlement offer covers an item it lists"),
    "incentive": _("an offer that still runs covers an item it lists"),
    "do_not_contact": _("the debtor is not to be contacted"),
    "case_hold": _("the debtor's case is on hold"),
    "deadline": _("its deadline {deadline} has passed or is less than {days} days after the print date"),
    "agreement_cancelled": _("the agreement it is about was cancelled"),
    "superseded": _("the message of {date} had not gone out yet: the next step waits for its deadline"),
}


def withdrawal_reason(code: str, data: dict[str, Any] | None = None) -> str:
    """The reason a message was withdrawn, in the active language."""
    text = WITHDRAWAL_REASONS.get(code)
    return code if text is None else str(text).format_map(_Defaults(data or {}))


PORTAL_OPENED = "portal_opened"
DOCUMENT_DOWNLOADED = "document_downloaded"


def portal_activity(events: Iterable[TimelineEvent]) -> dict[str, Any]:
    """From a debtor's events: the last day it opened its payment page and what it downloaded there."""
    events = list(events)
    return {
        "last_opened": max((e.business_date for e in events if e.kind == PORTAL_OPENED), default=None),
        "downloads": sorted(
            {str(e.data.get("document", "")) for e in events if e.kind == DOCUMENT_DOWNLOADED}
        ),
    }


class _Defaults(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "-"


def describe(event: TimelineEvent) -> str:
    template = EVENT_TEXTS.get(event.kind)
    if template is None:
        return event.kind
    data = _Defaults(event.data)
    if event.kind == "message_withdrawn":
        data["reason"] = withdrawal_reason(str(event.data.get("reason", "")), event.data)
    text = str(template).format_map(data)
    return f"{text} — {event.note}" if event.note else text


def _checked(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """An event's data as stored (dates as ISO text), its kind known."""
    if kind not in EVENT_TEXTS:
        raise ValueError(f"unknown timeline event kind {kind!r}")
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()}


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
    return TimelineEvent(
        debtor_id=debtor_id,
        company_id=company_id,
        kind=kind,
        business_date=business_date,
        actor=actor,
        note=note,
        data=_checked(kind, data),
    )


# An event as a row (the run writes a few for every debtor it contacts, an import one for each debtor: a model
# instance for each costs more than its insert).
EVENT_COLUMNS = ("debtor_id", "company_id", "kind", "business_date", "actor", "note", "data")
EventRow = tuple[int, int, str, date, str, str, dict[str, Any]]


def event_row(
    debtor_id: int,
    company_id: int,
    kind: str,
    business_date: date,
    actor: str = "system",
    note: str = "",
    **data: Any,
) -> EventRow:
    """The row of an event, as :func:`event` builds its instance (same check, same data)."""
    return (debtor_id, company_id, kind, business_date, actor, note, _checked(kind, data))


def record_events(rows: Sequence[EventRow]) -> None:
    """Append the events (in this order), as :func:`record` does with instances."""
    bulk_insert_rows(TimelineEvent, EVENT_COLUMNS, rows)


def record(events: Iterable[TimelineEvent]) -> None:
    bulk_insert(events)


def record_rows(
    kind: str,
    company_id: int,
    business_date: date,
    actor: str,
    rows: Sequence[tuple[int, dict[str, Any]]],
) -> None:
    """Write many events of one kind at once, from (debtor id, data) pairs."""
    record_events(
        [event_row(debtor_id, company_id, kind, business_date, actor, **data) for debtor_id, data in rows]
    )
