"""The deadlines that follow a court application, as tasks for a person.

* German court payment order (§§ 688 ff. ZPO): check whether the debtor objected once the two weeks after
  service have passed (§ 692 (1) Nr. 3 ZPO); apply for the enforcement order within six months of service
  (§ 701 ZPO), after which the payment order lapses.
* Latvian warning procedure (Civilprocesa likums 400.-406.1 pants): file the application once the creditor's
  warning letter has gone unanswered; check whether the debtor objected to the court's warning (the periods are
  the assumptions of ``core/data/fees/other.toml``).

Service is not known in advance: the tasks are due on the dates that follow from an assumed day of service,
and the court's notice of the real day is for the person who does the task. One open task per debtor and kind
(a database constraint): preparing the application again does not double the tasks, nor move a deadline later.
The tasks are done once every item of the application (principal and costs) is paid, and cancelled when the
application is withdrawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mahnwerk.collection.models import COURT_TASK_KINDS, Task, TaskStatus
from mahnwerk.ledger import timeline
from mahnwerk.ledger.models import Charge, Company, Debtor, Invoice, TimelineEvent

# timeline kinds of this app (registered with the timeline when the app is ready)
EVENT_TEXTS: dict[str, Any] = {
    "court_tasks_created": _(
        "Court deadlines on the task list: check for an objection on {court_objection}, apply for the "
        "enforcement order by {court_enforcement}"
    ),
    "lv_court_tasks_created": _(
        "Warning procedure deadlines on the task list: file the application from {court_application}, check "
        "for an objection on {court_objection}"
    ),
    "court_tasks_done": _("Court deadline tasks done: every item of the application is paid"),
    "court_application_withdrawn": _("Court application withdrawn, its deadline tasks cancelled: {reason}"),
    "lv_warning_written": _(
        "Latvian warning procedure: warning letter written, {total} to pay by {pay_by}; then the application "
        "to the court (state fee {fee})"
    ),
    "small_claims_prepared": _(
        "European Small Claims Procedure: claim form A prepared, {total} (principal {principal}), for the "
        "court at the defendant's domicile in {country}"
    ),
}
# the events whose data name the application's invoices (``invoice_ids``), newest first wins
APPLICATION_EVENTS = ("court_order_prepared", "lv_warning_written")


class CourtTaskError(Exception):
    """A request about the court tasks that cannot be carried out; the message says why."""


def create_tasks(
    company: Company,
    debtor: Debtor,
    deadlines: Sequence[dict[str, Any]],
    as_of: date,
    actor: str = "system",
    event_kind: str = "court_tasks_created",
) -> list[Task]:
    """A task per deadline (``task``: the TaskKind, ``due``, ``text``) that has no open task of its kind yet;
    the new ones are noted on the timeline (``event_kind``, the due dates by task kind). Returns the tasks
    created."""
    with transaction.atomic():
        list(Debtor.objects.select_for_update().filter(pk=debtor.pk).values_list("pk", flat=True))
        open_kinds = set(
            Task.objects.filter(debtor=debtor, kind__in=COURT_TASK_KINDS, status=TaskStatus.OPEN).values_list(
                "kind", flat=True
            )
        )
        made = [
            Task(company=company, debtor=debtor, kind=d["task"], due_on=d["due"], notes=d["text"])
            for d in deadlines
            if d["task"] not in open_kinds
        ]
        if not made:
            return []
        Task.objects.bulk_create(made)
        due: dict[str, Any] = {str(t.kind): t.due_on for t in made}
        timeline.event(debtor.pk, company.pk, event_kind, as_of, actor, "", **due).save()
    return made


def open_tasks(debtor_ids: Iterable[int]) -> dict[int, list[Task]]:
    found: dict[int, list[Task]] = {}
    for task in Task.objects.filter(
        debtor_id__in=list(debtor_ids), kind__in=COURT_TASK_KINDS, status=TaskStatus.OPEN
    ).order_by("due_on", "pk"):
        found.setdefault(task.debtor_id, []).append(task)
    return found


def _application_invoices(debtor_ids: Iterable[int]) -> dict[int, list[int] | None]:
    """Per debtor, the invoices of its newest application (None: not known, all its invoices count)."""
    found: dict[int, list[int] | None] = {}
    for debtor_id, data in (
        TimelineEvent.objects.filter(debtor_id__in=list(debtor_ids), kind__in=APPLICATION_EVENTS)
        .order_by("-business_date", "-id")
        .values_list("debtor_id", "data")
    ):
        if debtor_id not in found:
            ids = data.get("invoice_ids") if isinstance(data, dict) else None
            found[debtor_id] = [int(i) for i in ids] if isinstance(ids, list) else None
    return found


def close_paid(debtor_ids: Iterable[int], business_date: date | None = None) -> list[int]:
    """Mark done the court tasks of the debtors whose application is paid: no principal and no costs open on
    its invoices (interest left over alone does not keep a court deadline open). Returns those debtors."""
    tasks = open_tasks(debtor_ids)
    if not tasks:
        return []
    invoices = _application_invoices(tasks)
    unpaid: set[int] = set()
    for debtor_id in tasks:
        ids = invoices.get(debtor_id)
        scope = Q(debtor_id=debtor_id) if ids is None else Q(debtor_id=debtor_id, pk__in=ids)
        if (
            Invoice.objects.filter(scope, open_minor__gt=0).exists()
            or Charge.objects.filter(invoice__in=Invoice.objects.filter(scope), open_minor__gt=0).exists()
        ):
            unpaid.add(debtor_id)
    paid = [d for d in tasks if d not in unpaid]
    if not paid:
        return []
    now = timezone.now()
    Task.objects.filter(pk__in=[t.pk for d in paid for t in tasks[d]], status=TaskStatus.OPEN).update(
        status=TaskStatus.DONE, done_at=now, done_by="system"
    )
    on = business_date or timezone.localdate()
    timeline.record(
        timeline.event(d, tasks[d][0].company_id, "court_tasks_done", on, kinds=[t.kind for t in tasks[d]])
        for d in paid
    )
    return paid


def withdraw(company: Company, debtor: Debtor, reason: str, as_of: date, actor: str = "system") -> list[Task]:
    """The application is withdrawn (or was never filed): its open deadline tasks are cancelled."""
    reason = reason.strip()
    if not reason:
        raise CourtTaskError(gettext("A withdrawal needs a reason."))
    with transaction.atomic():
        tasks = open_tasks([debtor.pk]).get(debtor.pk, [])
        if not tasks:
            raise CourtTaskError(
                gettext("{debtor} has no open court deadline tasks.").format(debtor=debtor.number)
            )
        Task.objects.filter(pk__in=[t.pk for t in tasks], status=TaskStatus.OPEN).update(
            status=TaskStatus.CANCELLED, done_at=timezone.now(), done_by=actor
        )
        timeline.event(
            debtor.pk,
            company.pk,
            "court_application_withdrawn",
            as_of,
            actor=actor,
            reason=reason[:500],
            kinds=[t.kind for t in tasks],
        ).save()
    return tasks
