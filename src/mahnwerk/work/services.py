"""The work queue: everything that waits for a person, one row per debtor, and what a clerk does with it.

The page, the navigation counts and the API share these functions. Each source of work is one queryset
(:func:`sources`); the queue reads each once, the counts union their debtor ids in one query. The queue's
queries do not grow with the number of debtors: the sources, the predictions, the oldest overdue items, the
assignments and the page's debtors, plus the company-wide amounts the other pages share (cached).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.paginator import Page, Paginator
from django.db import connection, transaction
from django.db.models import Exists, F, Max, Min, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mahnwerk.collection import runs
from mahnwerk.collection.agreements_models import (
    Dispute,
    DisputeStatus,
    InstalmentPlan,
    PlanStatusChoice,
    Promise,
    PromiseStatus,
)
from mahnwerk.collection.models import (
    ActionItem,
    ActionStatus,
    Case,
    Playbook,
    Step,
    Task,
    TaskKind,
    TaskStatus,
)
from mahnwerk.collection.services import CollectionError
from mahnwerk.ids import parse_id
from mahnwerk.insights.models import InvoicePrediction
from mahnwerk.ledger import figures, timeline
from mahnwerk.ledger.models import Company, Debtor, EntryStatus, Invoice, StatementEntry
from mahnwerk.ledger.services import company_today
from mahnwerk.web.models import Membership, Role
from mahnwerk.work.models import WorkAssignment

# -- kinds of work ---------------------------------------------------------------------------------------

KIND_LABELS: dict[str, Any] = {
    TaskKind.CALL.value: gettext_lazy("Call"),
    TaskKind.ADDRESS_RESEARCH.value: gettext_lazy("Address research"),
    TaskKind.REVIEW.value: gettext_lazy("Reply to read"),
    TaskKind.TIME_BARRED.value: gettext_lazy("Time-barred items to decide"),
    TaskKind.COURT_OBJECTION.value: gettext_lazy("Court: check for an objection"),
    TaskKind.COURT_ENFORCEMENT.value: gettext_lazy("Court: enforcement order"),
    TaskKind.COURT_APPLICATION.value: gettext_lazy("Court: file the application"),
    "plan_approval": gettext_lazy("Plan to approve"),
    "dispute": gettext_lazy("Open dispute"),
    "promise_due": gettext_lazy("Promise due today"),
    "promise_broken": gettext_lazy("Promise broken"),
    "payment_review": gettext_lazy("Payment to review"),
    "end_of_playbook": gettext_lazy("Playbook ended"),
}
KINDS = list(KIND_LABELS)
BROKEN_PROMISE_DAYS = 7  # a broken promise stays in the queue this long after it broke
AGE_FULL_DAYS = 90  # without a prediction, an account this many days overdue counts as fully at risk
SORTS = ("priority", "amount", "age")
PAGE_SIZE = 25
MAX_POSTPONE_DAYS = 365
ID_LIST_LIMIT = 2000  # more rows than this: the per-debtor figures are read for the whole company
ACTIONS = ("assign", "unassign", "done", "postpone", "send_now")

# timeline kinds of this app (registered with the timeline when the app is ready)
EVENT_TEXTS: dict[str, Any] = {
    "work_assigned": gettext_lazy("Work assigned to {user}"),
    "work_unassigned": gettext_lazy("Work assignment to {user} removed"),
    "work_task_done": gettext_lazy("Task done: {task}"),
    "work_task_postponed": gettext_lazy("Task postponed to {due_on}: {task}"),
}


class WorkError(Exception):
    """A request the queue cannot carry out; the message says why."""


def sources(company: Company, today: date) -> dict[str, QuerySet[Any]]:
    """Per source of work, the queryset of what waits; each row has ``w_debtor``, the debtor's id.

    Tasks (calls, address research, replies to read, time-barred items) count when due today or earlier.
    """
    disputes = Dispute.objects.filter(company=company, status=DisputeStatus.OPEN)
    later_step = Step.objects.filter(playbook_id=OuterRef("action__playbook_id"), level__gt=OuterRef("level"))
    found: dict[str, QuerySet[Any]] = {
        "task": Task.objects.filter(company=company, status=TaskStatus.OPEN, due_on__lte=today),
        "plan_approval": InstalmentPlan.objects.filter(
            company=company, status=PlanStatusChoice.PROPOSED, needs_approval=True, approved_on__isnull=True
        ),
        "dispute": disputes,
        "promise_due": Promise.objects.filter(
            company=company, status=PromiseStatus.PENDING, promised_date=today
        ),
        "promise_broken": Promise.objects.filter(
            company=company,
            status=PromiseStatus.BROKEN,
            closed_on__gte=today - timedelta(days=BROKEN_PROMISE_DAYS),
        ),
        "payment_review": StatementEntry.objects.filter(
            company=company, status=EntryStatus.REVIEW, debtor__isnull=False
        ),
        # Items that reached the last step of the playbook that wrote to them and are still overdue: the run
        # holds them (END_OF_PLAYBOOK) until a person decides. Items on hold, disputed, time-barred or
        # covered by a running promise or plan are left to those decisions, and so are debtors on hold or
        # not to be contacted.
        "end_of_playbook": ActionItem.objects.filter(
            invoice__company=company,
            invoice__open_minor__gt=0,
            invoice__due_date__lt=today,
            invoice__on_hold=False,
            invoice__debtor__do_not_contact=False,
            status=ActionStatus.ACTIVE,
        )
        .exclude(invoice__time_barred_on__lt=today)
        .exclude(Exists(later_step))
        .exclude(invoice_id__in=disputes.values("invoice_id"))
        .exclude(
            invoice_id__in=Promise.invoices.through.objects.filter(
                promise__company=company, promise__status=PromiseStatus.PENDING
            ).values("invoice_id")
        )
        .exclude(
            invoice_id__in=InstalmentPlan.invoices.through.objects.filter(
                instalmentplan__company=company, instalmentplan__status=PlanStatusChoice.ACTIVE
            ).values("invoice_id")
        )
        .exclude(
            invoice__debtor_id__in=Case.objects.filter(company=company, on_hold=True).values("debtor_id")
        ),
    }
    return {
        name: qs.annotate(w_debtor=F("invoice__debtor_id" if name == "end_of_playbook" else "debtor_id"))
        for name, qs in found.items()
    }


def _ended_version(company: Company) -> tuple[int, ...]:
    """What :func:`ended_playbooks` depends on, in one query of index look-ups: the ledger version
    (:func:`mahnwerk.ledger.figures.ledger_version`) and the company's playbook steps."""
    from mahnwerk.ledger.models import Allocation, TimelineEvent

    def table(model: Any) -> str:
        return str(connection.ops.quote_name(model._meta.db_table))

    sql = (
        f"SELECT (SELECT MAX(id) FROM {table(Invoice)} WHERE company_id = %s), "
        f"(SELECT MAX(id) FROM {table(Allocation)}), (SELECT MAX(id) FROM {table(TimelineEvent)}), "
        f"(SELECT MAX(id) FROM {table(Debtor)} WHERE company_id = %s), "
        f"(SELECT MAX(s.id) FROM {table(Step)} s JOIN {table(Playbook)} p ON p.id = s.playbook_id "
        "WHERE p.company_id = %s), "
        f"(SELECT COUNT(*) FROM {table(Step)} s JOIN {table(Playbook)} p ON p.id = s.playbook_id "
        "WHERE p.company_id = %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [company.pk] * 4)
        row = cursor.fetchone() or ()
    return tuple(int(v or 0) for v in row)


def ended_playbooks(company: Company, today: date) -> dict[int, tuple[date | None, int]]:
    """Debtor id -> (last step's date, its level) of the debtors with items at the end of their playbook
    (``sources()["end_of_playbook"]``). That takes a pass over every overdue item (seconds at a million
    invoices), so it is kept per ledger version (every use case writes a timeline event) and playbook steps."""
    version = _ended_version(company)

    def compute() -> dict[int, tuple[date | None, int]]:
        return {
            debtor_id: (since, n)
            for debtor_id, since, n in sources(company, today)["end_of_playbook"]
            .order_by()
            .values("w_debtor")
            .annotate(since=Max("action__as_of"), n=Max("level"))
            .values_list("w_debtor", "since", "n")
        }

    return figures.cached(company, today, "work:end_of_playbook", compute, version)


def waiting_debtors_sql(company: Company, today: date) -> tuple[str, list[Any]]:
    """One ``SELECT w_debtor ... UNION ...`` of every debtor with work waiting but at the end of a playbook
    (:func:`ended_playbooks`), and its parameters."""
    parts: list[str] = []
    params: list[Any] = []
    for name, qs in sources(company, today).items():
        if name == "end_of_playbook":
            continue
        sql, p = qs.order_by().values("w_debtor").query.sql_with_params()
        parts.append(f"SELECT w_debtor FROM ({sql}) AS w{len(parts)}")
        params += list(p)
    return " UNION ".join(parts), params


@dataclass
class Counts:
    total: int
    mine: int


def counts(company: Company, user_id: int | None, today: date | None = None) -> Counts:
    """How many debtors have work waiting, and how many of them are assigned to ``user_id``: the waiting
    debtors and the user's assignments in one query, with the kept :func:`ended_playbooks`."""
    today = today or company_today(company)
    union, params = waiting_debtors_sql(company, today)
    table = connection.ops.quote_name(WorkAssignment._meta.db_table)
    sql = (
        f"SELECT w_debtor, 0 FROM ({union}) AS waiting "
        f"UNION ALL SELECT debtor_id, 1 FROM {table} WHERE company_id = %s AND user_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, company.pk, user_id or 0])
        found = cursor.fetchall()
    waiting = {debtor_id for debtor_id, assigned in found if not assigned}
    waiting.update(ended_playbooks(company, today))
    mine = {debtor_id for debtor_id, assigned in found if assigned}
    return Counts(len(waiting), len(waiting & mine))


# -- the queue -------------------------------------------------------------------------------------------


@dataclass
class Item:
    """One thing waiting in a row."""

    kind: str
    since: date
    detail: str = ""
    amount_minor: int = 0
    task_id: int | None = None

    @property
    def label(self) -> str:
        return str(KIND_LABELS.get(self.kind, self.kind))


@dataclass
class Row:
    """Everything that waits for a person on one debtor's account."""

    debtor_id: int
    items: list[Item] = field(default_factory=list)
    debtor: Debtor | None = None
    amount_minor: int = 0  # the money at stake: the overdue amount (else the open amount, else the items')
    currency: str = ""
    chance: float | None = None  # the highest predicted chance of paying late of the open invoices
    overdue_days: int = 0  # days past due of the oldest overdue item
    assignee_id: int | None = None
    assignee: str = ""
    age_days: int = 0  # how long the oldest thing in the row has been waiting

    @property
    def kinds(self) -> list[str]:
        return list(dict.fromkeys(i.kind for i in self.items))

    @property
    def kind_labels(self) -> list[str]:
        return [str(KIND_LABELS.get(k, k)) for k in self.kinds]

    @property
    def since(self) -> date:
        return min(i.since for i in self.items)

    @property
    def task_ids(self) -> list[int]:
        return [i.task_id for i in self.items if i.task_id is not None]

    @property
    def priority_basis(self) -> str:
        """ "prediction" when the insights predict the account, else "age"."""
        return "prediction" if self.chance is not None else "age"

    @property
    def risk(self) -> float:
        """The chance that the money stays unpaid without a person: the prediction where there is one, else
        the age of the debt (``AGE_FULL_DAYS`` overdue and more: 1)."""
        if self.chance is not None:
            return self.chance
        return min(1.0, self.overdue_days / AGE_FULL_DAYS)

    @property
    def priority(self) -> float:
        """The expected value of acting: the money at stake times the risk."""
        return self.amount_minor * self.risk

    @property
    def risk_percent(self) -> int:
        return round(100 * self.risk)


def _collect(company: Company, today: date) -> dict[int, Row]:
    """Every row with its items: one query per source."""
    rows: dict[int, Row] = {}
    src = sources(company, today)

    def add(debtor_id: int, item: Item) -> None:
        rows.setdefault(debtor_id, Row(debtor_id)).items.append(item)

    for pk, debtor_id, kind, due_on, notes in src["task"].values_list(
        "pk", "w_debtor", "kind", "due_on", "notes"
    ):
        add(debtor_id, Item(kind, due_on, notes.splitlines()[0][:100] if notes else "", task_id=pk))
    for debtor_id, proposed_on, total, costs in src["plan_approval"].values_list(
        "w_debtor", "proposed_on", "principal_minor", "costs_minor"
    ):
        add(debtor_id, Item("plan_approval", proposed_on, amount_minor=total + costs))
    for debtor_id, opened_on, amount, number, invoice_open in src["dispute"].values_list(
        "w_debtor", "opened_on", "amount_minor", "invoice__number", "invoice__open_minor"
    ):
        add(debtor_id, Item("dispute", opened_on, number, amount or invoice_open))
    for debtor_id, promised, amount in src["promise_due"].values_list(
        "w_debtor", "promised_date", "amount_minor"
    ):
        add(debtor_id, Item("promise_due", promised, amount_minor=amount))
    for debtor_id, closed, amount in src["promise_broken"].values_list(
        "w_debtor", "closed_on", "amount_minor"
    ):
        add(debtor_id, Item("promise_broken", closed or today, amount_minor=amount))
    for debtor_id, value_date, amount, name in src["payment_review"].values_list(
        "w_debtor", "value_date", "amount_minor", "counterparty_name"
    ):
        add(debtor_id, Item("payment_review", value_date, name, amount))
    for debtor_id, (since, n) in ended_playbooks(company, today).items():
        add(debtor_id, Item("end_of_playbook", since or today, str(_("step {level}")).format(level=n)))
    return rows


def _describe(company: Company, today: date, rows: dict[int, Row]) -> None:
    """Money at stake, predicted chance, days overdue and assignee of every row (a fixed number of queries)."""
    if not rows:
        return
    ids = list(rows)
    # a few debtors: by their ids; very many: one pass over the company's open items (no endless id list)
    only: dict[str, Any] = {"debtor_id__in": ids} if len(ids) <= ID_LIST_LIMIT else {}
    amounts = figures.company_amounts(company, today)
    for row in rows.values():
        row.currency = company.currency
        row.age_days = max(0, (today - row.since).days)
        row.amount_minor = (
            amounts.overdue.get(row.debtor_id)
            or amounts.open.get(row.debtor_id)
            or max((i.amount_minor for i in row.items), default=0)
        )
    for debtor_id, p in (
        InvoicePrediction.objects.filter(
            company=company,
            invoice__open_minor__gt=0,
            p_late__isnull=False,
            **{f"invoice__{k}": v for k, v in only.items()},
        )
        .values("invoice__debtor_id")
        .annotate(p=Max("p_late"))
        .values_list("invoice__debtor_id", "p")
        .order_by()
    ):
        if debtor_id in rows:
            rows[debtor_id].chance = float(p)
    for debtor_id, oldest in (
        Invoice.objects.filter(company=company, open_minor__gt=0, due_date__lt=today, **only)
        .values("debtor_id")
        .annotate(oldest=Min("due_date"))
        .values_list("debtor_id", "oldest")
        .order_by()
    ):
        if debtor_id in rows:
            rows[debtor_id].overdue_days = (today - oldest).days
    for debtor_id, user_id, username in WorkAssignment.objects.filter(company=company).values_list(
        "debtor_id", "user_id", "user__username"
    ):
        if debtor_id in rows:
            rows[debtor_id].assignee_id, rows[debtor_id].assignee = user_id, username


@dataclass
class Queue:
    page: Page  # of Row, with their debtors
    count: int


def queue(
    company: Company,
    *,
    user_id: int | None = None,
    kind: str = "",
    assignee: str = "",
    sort: str = "priority",
    page: int | str | None = 1,
    page_size: int = PAGE_SIZE,
    today: date | None = None,
) -> Queue:
    """One page of the queue. ``kind``: rows with that kind of work; ``assignee``: "mine" (``user_id``),
    "unassigned" or a user id; ``sort``: "priority" (money at stake times the risk), "amount" or "age" (the
    longest waiting first)."""
    today = today or company_today(company)
    rows = _collect(company, today)
    if kind:
        rows = {pk: row for pk, row in rows.items() if kind in row.kinds}
    _describe(company, today, rows)
    chosen = list(rows.values())
    if assignee == "mine":
        chosen = [r for r in chosen if r.assignee_id is not None and r.assignee_id == user_id]
    elif assignee == "unassigned":
        chosen = [r for r in chosen if r.assignee_id is None]
    elif (assignee_id := parse_id(assignee)) is not None:
        chosen = [r for r in chosen if r.assignee_id == assignee_id]
    if sort == "amount":
        chosen.sort(key=lambda r: (-r.amount_minor, -r.priority, r.debtor_id))
    elif sort == "age":
        chosen.sort(key=lambda r: (r.since, -r.priority, r.debtor_id))
    else:
        chosen.sort(key=lambda r: (-r.priority, -r.amount_minor, r.debtor_id))
    paged = Paginator(chosen, page_size).get_page(page)
    on_page: list[Row] = list(paged.object_list)
    debtors = Debtor.objects.in_bulk([r.debtor_id for r in on_page])
    for row in on_page:
        row.debtor = debtors.get(row.debtor_id)
    return Queue(paged, len(chosen))


def workers(company: Company) -> list[Any]:
    """The users who may be given work: the company's admins and collectors, by name."""
    return list(
        get_user_model()
        .objects.filter(
            memberships__company=company, memberships__role__in=(Role.ADMIN, Role.COLLECTOR), is_active=True
        )
        .order_by("username")
    )


# -- acting on rows --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a bulk action did for one debtor (``ok`` False: refused, ``message`` says why)."""

    debtor_id: int
    debtor: str
    ok: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"debtor_id": self.debtor_id, "debtor": self.debtor, "ok": self.ok, "message": self.message}


def company_debtors(company: Company, debtor_ids: Iterable[int]) -> dict[int, Debtor]:
    """The company's debtors among ``debtor_ids`` (another company's are not found)."""
    return Debtor.objects.filter(company=company).in_bulk(list(dict.fromkeys(debtor_ids)))


def _not_found(debtor_id: int) -> Outcome:
    return Outcome(debtor_id, "", False, _("No such debtor."))


def find_worker(company: Company, *, username: str | None = None, user_id: int | None = None) -> User:
    """An active admin or collector of ``company``, by user name or id; else :class:`WorkError`."""
    members = Membership.objects.filter(company=company, role__in=(Role.ADMIN, Role.COLLECTOR))
    if user_id is not None:
        members = members.filter(user_id=user_id)
    else:
        members = members.filter(user__username=username or "")
    found = members.select_related("user").first()
    if found is None or not found.user.is_active:
        raise WorkError(_("No collector or administrator of the company has that name."))
    return found.user


def assign(
    company: Company,
    debtor_ids: Sequence[int],
    user: User | None,
    *,
    actor: str,
    today: date | None = None,
) -> list[Outcome]:
    """Give the debtors' work to ``user`` (None: take the assignment away); each change on the timeline."""
    today = today or company_today(company)
    debtors = company_debtors(company, debtor_ids)
    current = {
        a.debtor_id: a
        for a in WorkAssignment.objects.filter(company=company, debtor_id__in=list(debtors)).select_related(
            "user"
        )
    }
    outcomes: list[Outcome] = []
    events = []
    with transaction.atomic():
        for debtor_id in dict.fromkeys(debtor_ids):
            debtor = debtors.get(debtor_id)
            if debtor is None:
                outcomes.append(_not_found(debtor_id))
                continue
            before = current.get(debtor_id)
            if user is None:
                if before is None:
                    outcomes.append(Outcome(debtor_id, debtor.name, False, _("Not assigned to anyone.")))
                    continue
                before.delete()
                events.append(
                    timeline.event(
                        debtor_id,
                        company.pk,
                        "work_unassigned",
                        today,
                        actor,
                        user=before.user.get_username(),
                    )
                )
                outcomes.append(Outcome(debtor_id, debtor.name, True, _("Assignment removed.")))
                continue
            name = user.get_username()
            if before is not None and before.user_id == user.pk:
                outcomes.append(
                    Outcome(debtor_id, debtor.name, False, _("Already assigned to {user}.").format(user=name))
                )
                continue
            WorkAssignment.objects.update_or_create(
                company=company, debtor=debtor, defaults={"user": user, "assigned_by": actor}
            )
            events.append(timeline.event(debtor_id, company.pk, "work_assigned", today, actor, user=name))
            outcomes.append(Outcome(debtor_id, debtor.name, True, _("Assigned to {user}.").format(user=name)))
        timeline.record(events)
    return outcomes


def _open_tasks(company: Company, debtor_ids: Iterable[int], today: date) -> dict[int, list[Task]]:
    """The open tasks in the queue (due today or earlier) of these debtors."""
    found: dict[int, list[Task]] = {}
    for task in Task.objects.filter(
        company=company, debtor_id__in=list(debtor_ids), status=TaskStatus.OPEN, due_on__lte=today
    ).order_by("due_on", "pk"):
        found.setdefault(task.debtor_id, []).append(task)
    return found


def complete_tasks(
    company: Company, debtor_ids: Sequence[int], *, actor: str, today: date | None = None
) -> list[Outcome]:
    """Mark the debtors' waiting tasks done (a call's outcome is recorded on the case file instead)."""
    today = today or company_today(company)
    debtors = company_debtors(company, debtor_ids)
    tasks = _open_tasks(company, debtors, today)
    outcomes: list[Outcome] = []
    events = []
    now = timezone.now()
    with transaction.atomic():
        for debtor_id in dict.fromkeys(debtor_ids):
            debtor = debtors.get(debtor_id)
            if debtor is None:
                outcomes.append(_not_found(debtor_id))
                continue
            mine = tasks.get(debtor_id, [])
            if not mine:
                outcomes.append(Outcome(debtor_id, debtor.name, False, _("No open task is waiting.")))
                continue
            Task.objects.filter(pk__in=[t.pk for t in mine], status=TaskStatus.OPEN).update(
                status=TaskStatus.DONE, done_at=now, done_by=actor
            )
            events += [
                timeline.event(debtor_id, company.pk, "work_task_done", today, actor, task=t.kind)
                for t in mine
            ]
            outcomes.append(
                Outcome(
                    debtor_id,
                    debtor.name,
                    True,
                    _("Tasks done: {tasks}.").format(
                        tasks=", ".join(str(t.get_kind_display()) for t in mine)
                    ),
                )
            )
        timeline.record(events)
    return outcomes


def postpone_tasks(
    company: Company, debtor_ids: Sequence[int], days: int, *, actor: str, today: date | None = None
) -> list[Outcome]:
    """Move the debtors' waiting tasks ``days`` days later (from their due date)."""
    if not 1 <= days <= MAX_POSTPONE_DAYS:
        raise WorkError(_("Postpone by 1 to {max} days.").format(max=MAX_POSTPONE_DAYS))
    today = today or company_today(company)
    debtors = company_debtors(company, debtor_ids)
    tasks = _open_tasks(company, debtors, today)
    outcomes: list[Outcome] = []
    events = []
    with transaction.atomic():
        for debtor_id in dict.fromkeys(debtor_ids):
            debtor = debtors.get(debtor_id)
            if debtor is None:
                outcomes.append(_not_found(debtor_id))
                continue
            mine = tasks.get(debtor_id, [])
            if not mine:
                outcomes.append(Outcome(debtor_id, debtor.name, False, _("No open task is waiting.")))
                continue
            for task in mine:
                due_on = task.due_on + timedelta(days=days)
                Task.objects.filter(pk=task.pk).update(due_on=due_on)
                events.append(
                    timeline.event(
                        debtor_id,
                        company.pk,
                        "work_task_postponed",
                        today,
                        actor,
                        task=task.kind,
                        due_on=due_on,
                    )
                )
            latest = max(t.due_on for t in mine) + timedelta(days=days)
            outcomes.append(
                Outcome(
                    debtor_id, debtor.name, True, _("Postponed to {date}.").format(date=latest.isoformat())
                )
            )
        timeline.record(events)
    return outcomes


def send_now(
    company: Company, debtor_ids: Sequence[int], *, actor: str, role: str, today: date | None = None
) -> list[Outcome]:
    """The next step for each debtor now (the case file's "send now", with all its rules, the role's
    check and its refusals)."""
    today = today or company_today(company)
    debtors = company_debtors(company, debtor_ids)
    outcomes: list[Outcome] = []
    for debtor_id in dict.fromkeys(debtor_ids):
        debtor = debtors.get(debtor_id)
        if debtor is None:
            outcomes.append(_not_found(debtor_id))
            continue
        try:
            action = runs.send_now(runs.Clerk(company, role, actor), debtor, today)
        except CollectionError as exc:
            outcomes.append(Outcome(debtor_id, debtor.name, False, str(exc)))
        else:
            outcomes.append(
                Outcome(
                    debtor_id, debtor.name, True, _("Step {level} is on its way.").format(level=action.level)
                )
            )
    return outcomes


def bulk(
    company: Company,
    action: str,
    debtor_ids: Sequence[int],
    *,
    actor: str,
    user_id: int | None = None,
    days: int = 0,
    role: str,
) -> list[Outcome]:
    """Carry out ``action`` (one of ``ACTIONS``) for the selected debtors; :class:`WorkError` when the request
    itself is wrong (no debtor selected, an unknown action or user, a bad number of days)."""
    if action not in ACTIONS:
        raise WorkError(_("Choose what to do with the selected rows."))
    if not debtor_ids:
        raise WorkError(_("Select at least one row."))
    if action == "assign":
        if user_id is None:
            raise WorkError(_("Choose the user to assign the rows to."))
        return assign(company, debtor_ids, find_worker(company, user_id=user_id), actor=actor)
    if action == "unassign":
        return assign(company, debtor_ids, None, actor=actor)
    if action == "done":
        return complete_tasks(company, debtor_ids, actor=actor)
    if action == "postpone":
        return postpone_tasks(company, debtor_ids, days, actor=actor)
    if action == "send_now":
        return send_now(company, debtor_ids, actor=actor, role=role)
    raise AssertionError(action)  # pragma: no cover - every action of ACTIONS is handled above


def payments_without_debtor(company: Company) -> int:
    """Statement entries waiting for review whose payer is unknown: they belong to no row (the payment review
    page matches them)."""
    return StatementEntry.objects.filter(
        company=company, status=EntryStatus.REVIEW, debtor__isnull=True
    ).count()
