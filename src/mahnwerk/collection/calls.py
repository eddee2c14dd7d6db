"""Call tasks: what a collector prepares before calling, and what the outcome changes.

The "prepare the call" data follows the seed playbook: invoice numbers and due dates, the payment
history and its trend, earlier actions and whether agreements were kept, the suggested next step,
and a checklist of questions for small and big issues.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mahnwerk.collection import agreements
from mahnwerk.collection.models import Action, CallOutcome, Task, TaskKind, TaskStatus
from mahnwerk.ledger import timeline
from mahnwerk.ledger.claims import debtor_law, law_summary
from mahnwerk.ledger.models import Allocation, Company, Debtor, Invoice, TimelineEvent
from mahnwerk.ledger.services import company_today

MAX_CALL_ATTEMPTS = 3  # the first call and two more after "not reached"; then no further call task
PORTAL_LOOKBACK = timedelta(days=90)  # how far back the debtor's visits to its payment page are looked up
RETRY_AFTER_DAYS = 2  # the first retry; each further one waits twice as long as the one before


def retry_gap_days(attempt: int) -> int:
    """Days from the ``attempt``-th call that reached nobody to the next one: 2, 4, 8, ..."""
    return RETRY_AFTER_DAYS * 2 ** (attempt - 1)


def call_attempt(task: Task) -> int:
    """Which attempt ``task`` is in its chain of calls (1: the first). A call for a step counts the step's call
    tasks; any other call (the "no answer" alert) is numbered by the mark its retry left on the timeline."""
    if task.action_id is not None:
        return Task.objects.filter(action_id=task.action_id, kind=TaskKind.CALL, pk__lte=task.pk).count()
    mark = (
        TimelineEvent.objects.filter(debtor_id=task.debtor_id, kind="call_retry", data__task=task.pk)
        .values_list("data", flat=True)
        .first()
    )
    return int(mark["attempt"]) if mark else 1


CHECKLIST = {
    "small": [
        _("Is the invoice correct (amount, goods, address, order number)?"),
        _("Can the customer use our payment methods (bank transfer, the payment code)?"),
        _("Does the customer have all the data needed to pay (invoice copy, IBAN, reference)?"),
    ],
    "big": [
        _("Is the customer satisfied with the goods or the service?"),
        _("When and how can the customer pay — in full, in part, in instalments?"),
        _("Is anything else stopping the payment?"),
    ],
}


class CallError(Exception):
    pass


def prepare_call(task: Task, as_of: date | None = None) -> dict[str, Any]:
    """Everything the collector should have in front of them before dialling."""
    debtor = task.debtor
    today = as_of or company_today(task.company)
    open_items = list(
        Invoice.objects.filter(debtor=debtor, open_minor__gt=0)
        .order_by("due_date")
        .values("id", "number", "issue_date", "due_date", "open_minor", "currency")
    )
    settled = list(
        Invoice.objects.filter(debtor=debtor, settled_on__isnull=False)
        .order_by("-settled_on")[:24]
        .values_list("due_date", "settled_on")
    )
    delays = [(paid - due).days for due, paid in settled if paid is not None]
    recent, older = delays[:6], delays[6:]
    trend = (sum(recent) / len(recent) - sum(older) / len(older)) if recent and older else None
    paid_90 = (
        Allocation.objects.filter(
            invoice__debtor=debtor, value_date__gte=today - timedelta(days=90), write_off__isnull=True
        ).aggregate(s=Sum("amount_minor"))["s"]
        or 0
    )
    actions = list(
        Action.objects.filter(debtor=debtor)
        .order_by("-as_of")[:10]
        .values("as_of", "level", "channel", "status")
    )
    promises = list(
        debtor.promises.order_by("-created_at")[:5].values("promised_date", "amount_minor", "status")
    )
    phones = list(debtor.contacts.filter(kind="phone", is_valid=True).values_list("value", flat=True))
    portal = timeline.portal_activity(
        TimelineEvent.objects.filter(
            debtor=debtor,
            kind__in=(timeline.PORTAL_OPENED, timeline.DOCUMENT_DOWNLOADED),
            business_date__gte=today - PORTAL_LOOKBACK,
        ).only("kind", "business_date", "data")
    )
    return {
        "debtor": {
            "id": debtor.pk,
            "name": debtor.name,
            "number": debtor.number,
            "language": debtor.language,
        },
        # whose contact rules (hours, days, call caps) the call keeps to
        "rules": law_summary(debtor_law(task.company, debtor)),
        "phones": phones,
        "open_items": open_items,
        "payment_history": {
            "invoices_paid": len(delays),
            "average_days_late": sum(delays) / len(delays) if delays else None,
            "trend_days": trend,
            "paid_last_90_days_minor": paid_90,
        },
        "payment_page": {
            "last_opened": portal["last_opened"].isoformat() if portal["last_opened"] else None,
            "downloads": portal["downloads"],
        },
        "earlier_actions": actions,
        "promises": promises,
        "suggested_next_step": _suggestion(task, today),
        "checklist": {k: [str(q) for q in v] for k, v in CHECKLIST.items()},
    }


def _suggestion(task: Task, today: date) -> str:
    if task.action is None:
        return str(_("Find a current address, email or phone number."))
    spec = task.action.playbook.spec()
    later = [s for s in spec.steps if s.level > task.action.level]
    if not later:
        return str(_("This was the last step: consider an agency or the court."))
    return str(_("If nothing changes: step {level} ({channel}) follows.")).format(
        level=later[0].level, channel=later[0].channel.value
    )


@transaction.atomic
def record_call_outcome(
    task: Task,
    outcome: str,
    *,
    notes: str = "",
    promised_on: date | None = None,
    amount_minor: int | None = None,
    dispute_reason: str = "other",
    actor: str = "system",
    as_of: date | None = None,
) -> Task:
    """Close a call task with its outcome and let it steer the next run.

    reached: noted. not reached: a new call task after 2, then 4 days (at most :data:`MAX_CALL_ATTEMPTS`
    attempts, each on the timeline; after the last the timeline says that no call follows and the playbook
    simply goes on) — for a step's call and for the "no answer" alert alike. promised: a promise to pay for the items of the step (reminders pause).
    disputed: the items are put in dispute (no reminders until resolved). refused: noted; the
    playbook goes on.
    """
    if task.status != TaskStatus.OPEN:
        raise CallError("the task is already closed")
    if outcome not in CallOutcome.values:
        raise CallError(f"unknown outcome {outcome!r}")
    company, debtor = task.company, task.debtor
    today = as_of or company_today(company)
    items = list(
        Invoice.objects.filter(action_items__action=task.action, open_minor__gt=0)
        if task.action
        else Invoice.objects.filter(debtor=debtor, open_minor__gt=0)
    )
    follow = None  # what "not reached" leads to: another call, or the end of the attempts
    research = None  # and after the "no answer" alert's last attempt: an address research case
    if outcome == CallOutcome.PROMISED:
        if promised_on is None:
            raise CallError("a promise needs the promised payment date")
        agreements.record_promise(
            company,
            debtor,
            items,
            promised_on,
            amount_minor,
            source="clerk",
            actor=actor,
            note=notes,
            as_of=today,
        )
    elif outcome == CallOutcome.DISPUTED:
        for invoice in items:
            agreements.open_dispute(
                company, invoice, dispute_reason, notes=notes, source="clerk", actor=actor, as_of=today
            )
    elif outcome == CallOutcome.NOT_REACHED:
        attempt = call_attempt(task)
        if attempt < MAX_CALL_ATTEMPTS:
            due_on = today + timedelta(days=retry_gap_days(attempt))
            retry = Task.objects.create(
                company=company,
                debtor=debtor,
                action=task.action,
                kind=TaskKind.CALL,
                due_on=due_on,
                notes=task.notes,
            )
            follow = timeline.event(
                debtor.pk,
                company.pk,
                "call_retry",
                today,
                actor=actor,
                task=retry.pk,
                due_on=due_on,
                attempt=attempt + 1,
                attempts=MAX_CALL_ATTEMPTS,
            )
        else:
            follow = timeline.event(
                debtor.pk, company.pk, "call_attempts_ended", today, actor=actor, attempts=attempt
            )
            if task.action_id is None:
                # the "no answer" alert's calls: no reaction to the reminders and nobody on the phone — the
                # debtor may have moved; a person looks for a current address (once: one open research case)
                research = _open_address_research(company, debtor, today, actor, attempt)
    task.status, task.outcome, task.notes = TaskStatus.DONE, outcome, notes
    task.promised_on, task.done_at, task.done_by = promised_on, timezone.now(), actor
    task.save()
    timeline.event(
        debtor.pk,
        company.pk,
        "call_outcome",
        today,
        actor=actor,
        note=notes,
        outcome=str(CallOutcome(outcome).label),
    ).save()
    if follow is not None:
        follow.save()
    if research is not None:
        research.save()
    return task


def _open_address_research(
    company: Company, debtor: Debtor, today: date, actor: str, attempts: int
) -> TimelineEvent | None:
    """An address research task for a debtor who reacted to nothing and could not be reached by phone, with
    its timeline event (to be saved after the call's own); None where one is open already."""
    if Task.objects.filter(debtor=debtor, kind=TaskKind.ADDRESS_RESEARCH, status=TaskStatus.OPEN).exists():
        return None
    with translation.override(company.default_language):
        text = gettext(
            "No reaction to the reminders and not reached by phone in {attempts} attempts: find a current "
            "address, email or phone number"
        ).format(attempts=attempts)
    Task.objects.create(
        company=company, debtor=debtor, kind=TaskKind.ADDRESS_RESEARCH, due_on=today, notes=text
    )
    return timeline.event(
        debtor.pk, company.pk, "task_created", today, actor=actor, task=text, alert="address_research"
    )
