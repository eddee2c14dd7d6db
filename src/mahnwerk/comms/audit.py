"""The audit of what was written: every message of a period checked against the careful clerk's rules.

``audit_messages`` reads the outbox, the call tasks, the actions' items and the ledger in a fixed number of
queries (whatever the number of messages), rebuilds the facts each message must be judged by — the open
principal when it went out, what held each item on its business date, the statement of account of that
date — and lets :func:`mahnwerk.core.audit.audit` apply the rules. It reads only what is stored; it does
not ask the collection run what it decided.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext

from mahnwerk.collection.agreements_models import Dispute, Incentive, InstalmentPlan, Promise, Settlement
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
from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.core import audit as core
from mahnwerk.core.interest import InterestError
from mahnwerk.core.money import format_money
from mahnwerk.core.rates import RateError
from mahnwerk.core.rulesets import ApplicableLaw, DayCount
from mahnwerk.ledger.claims import accrued_interest, law_for, law_ruleset
from mahnwerk.ledger.models import Allocation, Charge, Company, Debtor, Invoice, TimelineEvent

ONE_DAY = timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))


@dataclass
class AuditReport:
    company_id: int
    date_from: date | None
    date_to: date | None
    messages: int = 0  # messages written in the period (collection, courtesy and offers)
    calls: int = 0  # call tasks in the period
    violations: list[core.Violation] = field(default_factory=list)

    @property
    def by_rule(self) -> dict[str, int]:
        return core.count_by_rule(self.violations)

    def detail(self, violation: core.Violation, language: str | None = None) -> str:
        """The violation's one-line explanation in ``language`` (default: the active one)."""
        with translation.override(language or translation.get_language() or "en"):
            lang = (translation.get_language() or "en")[:2]
            return violation.detail(gettext, lambda m: format_money(m.minor, m.currency, lang))

    def as_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "calls": self.calls,
            "violations": [
                {
                    "message_id": v.message_id,
                    "task_id": v.task_id,
                    "debtor": v.debtor,
                    "rule": str(v.rule),
                    "detail": self.detail(v),
                    "business_date": v.business_date.isoformat(),
                }
                for v in self.violations
            ],
            "by_rule": self.by_rule,
        }


def care_for(company: Company) -> core.Care:
    return core.Care(
        cadence_days=company.cadence_days,
        min_reminder=company.min_reminder_amount,
        tolerance=company.small_balance_tolerance,
        escalation_min=company.escalation_min_amount,
    )


def audit_messages(
    company: Company, date_from: date | None = None, date_to: date | None = None
) -> AuditReport:
    """Check every message of ``company`` whose business date lies in the period (default: all)."""
    report = AuditReport(company.pk, date_from, date_to)
    care = care_for(company)
    zone = ZoneInfo(company.time_zone)
    now = timezone.now()
    steps = _steps(company)
    widest = max(
        [care.cadence_days, *(s.min_days_between for s in steps.values())], default=care.cadence_days
    )
    window_from = date_from - timedelta(days=widest) if date_from else None

    def in_period(day: date) -> bool:
        return (date_from is None or day >= date_from) and (date_to is None or day <= date_to)

    def in_window(day: date) -> bool:
        return (window_from is None or day >= window_from) and (date_to is None or day <= date_to)

    debtors: dict[int, tuple[str, str]] = {}
    laws: dict[int, ApplicableLaw] = {}
    for pk, number, kind, country, jurisdiction in Debtor.objects.filter(company=company).values_list(
        "id", "number", "kind", "country", "jurisdiction"
    ):
        debtors[pk] = (number, kind)
        laws[pk] = law_for(company, kind, country, jurisdiction)
    messages = _messages(company, window_from, date_to)
    tasks = _call_tasks(company, window_from, date_to)
    action_ids = {m["action_id"] for m in messages if m["action_id"]} | {t["action_id"] for t in tasks}
    action_items = _action_items(company, window_from, date_to, action_ids)
    invoices = _invoices(company, date_to)
    by_number = {inv.number: inv for inv in invoices.values()}
    allocations = _allocations(company)
    ledger = core.Ledger(
        invoices={pk: inv.fact for pk, inv in invoices.items()},
        reductions={
            invoice_id: [
                core.Reduction(invoice_id, a.amount_minor, a.recorded_at)
                for a in rows
                if a.component == "principal"
            ]
            for invoice_id, rows in allocations.items()
        },
        covers=_covers(company),
        debtor_covers=_holds(company),
        double_costs=_double_costs(company, invoices, laws),
    )
    statements = _Statements(company, invoices, allocations, laws)

    contacts: list[core.Contact] = []
    for m in messages:
        day = m["day"] or timezone.localtime(m["created_at"], zone).date()
        if not in_window(day):
            continue
        audited = in_period(day)
        if audited:
            report.messages += 1
        number, _kind = debtors.get(m["debtor_id"], ("?", "business"))
        step = steps.get(m["action__step_id"]) if m["action__step_id"] else None
        collects = m["action_id"] is not None or m["purpose"] == "collection"
        items: tuple[core.Listed, ...] | None = None
        coming: tuple[core.Listed, ...] = ()
        if collects and isinstance(m["payload__items"], list):
            recorded = action_items.get(m["action_id"], {}) if m["action_id"] else {}
            items = tuple(
                _listed(row, by_number, recorded, statements if audited else None, day, m["created_at"])
                for row in m["payload__items"]
                if isinstance(row, dict)
            )
            coming = tuple(
                _listed(row, by_number, {}, None, day, m["created_at"])
                for row in m["payload__coming"] or ()
                if isinstance(row, dict)
            )
        contacts.append(
            core.Contact(
                debtor_id=m["debtor_id"],
                debtor=number,
                business_date=day,
                written_at=m["created_at"],
                checked_at=_went_out(m, now),
                purpose="collection" if collects else m["purpose"],
                message_id=m["id"],
                action_id=m["action_id"],
                step=step,
                tone=str(m["payload__tone"] or m["action__tone"] or ""),
                template=str(m["payload__template"] or (step.template if step else "")),
                items=items,
                coming=coming,
                audited=audited,
                reached=m["status"]
                not in (MessageStatus.BOUNCED, MessageStatus.RETURNED, MessageStatus.FAILED),
            )
        )
    for t in tasks:
        day = t["action__as_of"]
        if not in_window(day):
            continue
        audited = in_period(day)
        if audited:
            report.calls += 1
        number, _kind = debtors.get(t["debtor_id"], ("?", "business"))
        recorded = action_items.get(t["action_id"], {})
        contacts.append(
            core.Contact(
                debtor_id=t["debtor_id"],
                debtor=number,
                business_date=day,
                written_at=t["created_at"],
                checked_at=t["created_at"],
                purpose="collection",
                task_id=t["id"],
                action_id=t["action_id"],
                step=steps.get(t["action__step_id"]),
                tone=t["action__tone"] or "",
                items=tuple(
                    core.Listed(inv.number, inv.currency, amount, invoice_id=inv.pk)
                    for inv, amount in ((invoices.get(pk), amount) for pk, amount in recorded.items())
                    if inv is not None
                ),
                audited=audited,
            )
        )
    report.violations = core.audit(contacts, ledger, care)
    return report


# --- loading ------------------------------------------------------------------------------------------


def _steps(company: Company) -> dict[int, core.StepInfo]:
    gaps = dict(Playbook.objects.filter(company=company).values_list("id", "min_days_between"))
    return {
        row["id"]: core.StepInfo(
            offset_days=row["offset_days"],
            tone=row["tone"],
            channel=row["channel"],
            template=row["template"],
            min_amount=row["min_amount"],
            min_days_between=gaps.get(row["playbook_id"], 0),
        )
        for row in Step.objects.filter(playbook__company=company).values(
            "id", "playbook_id", "offset_days", "tone", "channel", "template", "min_amount"
        )
    }


def _day_range(field_name: str, start: date | None, end: date | None) -> Q:
    q = Q()
    if start is not None:
        q &= Q(**{f"{field_name}__gte": start})
    if end is not None:
        q &= Q(**{f"{field_name}__lte": end})
    return q


def _messages(company: Company, start: date | None, end: date | None) -> list[dict[str, Any]]:
    """Every message written (not cancelled) whose business date may matter for the period."""
    rows: Any = (
        OutboundMessage.objects.filter(company=company)
        .exclude(status=MessageStatus.CANCELLED)
        .annotate(day=Coalesce("business_date", "action__as_of"))
        .filter((_day_range("day", start, end) | Q(day__isnull=True)) if start or end else Q())
        .order_by("id")
        .values(
            "id",
            "debtor_id",
            "action_id",
            "status",
            "purpose",
            "payload__items",
            "payload__coming",
            "payload__tone",
            "payload__template",
            "created_at",
            "sent_at",
            "claimed_at",
            "day",
            "action__step_id",
            "action__tone",
        )
    )
    return list(rows)


def _went_out(message: dict[str, Any], now: datetime) -> datetime:
    """When the message left: its sending time; a message given up after failed attempts, the last attempt;
    one still waiting, now."""
    if message["sent_at"] is not None:
        return message["sent_at"]
    if message["status"] == MessageStatus.FAILED:
        return message["claimed_at"] or message["created_at"]
    return now


def _call_tasks(company: Company, start: date | None, end: date | None) -> list[dict[str, Any]]:
    rows: Any = (
        Task.objects.filter(company=company, kind=TaskKind.CALL, action__isnull=False)
        .exclude(status=TaskStatus.CANCELLED)
        .exclude(action__status=ActionStatus.CANCELLED)
        .filter(_day_range("action__as_of", start, end))
        .order_by("id")
        .values(
            "id", "debtor_id", "action_id", "created_at", "action__as_of", "action__step_id", "action__tone"
        )
    )
    return list(rows)


def _action_items(
    company: Company, start: date | None, end: date | None, wanted: set[int]
) -> dict[int, dict[int, int]]:
    """Per action: the principal it recorded per invoice."""
    found: dict[int, dict[int, int]] = defaultdict(dict)
    for action_id, invoice_id, amount in ActionItem.objects.filter(
        Q(action__company=company) & _day_range("action__as_of", start, end)
    ).values_list("action_id", "invoice_id", "open_minor"):
        if action_id in wanted:
            found[action_id][invoice_id] = amount
    return found


@dataclass
class _Invoice:
    pk: int
    debtor_id: int
    number: str
    currency: str
    amount_minor: int
    due_date: date
    default_from: date | None
    contract_rate_percent: Any
    fact: core.Invoice


def _double_costs(
    company: Company, invoices: dict[int, _Invoice], laws: dict[int, ApplicableLaw]
) -> dict[int, date]:
    """Invoices charged both the flat compensation and reminder costs where the debtor's law credits the one
    against the other, with the day the second was booked."""
    booked: dict[int, dict[str, date]] = defaultdict(dict)
    for invoice_id, kind, on in (
        Charge.objects.filter(company=company)
        .order_by("booked_on")
        .values_list("invoice_id", "kind", "booked_on")
    ):
        booked[invoice_id].setdefault(kind, on)
    found = {}
    for invoice_id, kinds in booked.items():
        inv = invoices.get(invoice_id)
        if inv is None or len(kinds) < 2 or inv.debtor_id not in laws:
            continue
        if law_ruleset(laws[inv.debtor_id], inv.due_date).fees.flat_compensation_covers_reminders:
            found[invoice_id] = max(kinds.values())
    return found


def _invoices(company: Company, end: date | None) -> dict[int, _Invoice]:
    qs = Invoice.objects.filter(company=company)
    if end is not None:
        qs = qs.filter(issue_date__lte=end)
    found = {}
    for row in qs.values(
        "id",
        "debtor_id",
        "number",
        "currency",
        "amount_minor",
        "issue_date",
        "due_date",
        "time_barred_on",
        "created_at",
        "default_from",
        "contract_rate_percent",
    ):
        found[row["id"]] = _Invoice(
            row["id"],
            row["debtor_id"],
            row["number"],
            row["currency"],
            row["amount_minor"],
            row["due_date"],
            row["default_from"],
            row["contract_rate_percent"],
            core.Invoice(
                id=row["id"],
                debtor_id=row["debtor_id"],
                number=row["number"],
                currency=row["currency"],
                amount_minor=row["amount_minor"],
                issue_date=row["issue_date"],
                due_date=row["due_date"],
                time_barred_on=row["time_barred_on"],
                recorded_at=row["created_at"],
            ),
        )
    return found


@dataclass(frozen=True, slots=True)
class _Allocation:
    component: str
    amount_minor: int
    value_date: date
    recorded_at: datetime
    charge_id: int | None


def _allocations(company: Company) -> dict[int, list[_Allocation]]:
    """Every allocation per invoice with the moment its payment, credit note or write-off was recorded."""
    sources = ["payment__created_at", "credit_note__created_at"]
    if any(f.name == "write_off" for f in Allocation._meta.get_fields()):
        sources.append("write_off__created_at")
    found: dict[int, list[_Allocation]] = defaultdict(list)
    for row in Allocation.objects.filter(invoice__company=company).values(
        "invoice_id", "component", "amount_minor", "value_date", "charge_id", *sources
    ):
        recorded = next((row[s] for s in sources if row[s] is not None), EPOCH)
        found[row["invoice_id"]].append(
            _Allocation(row["component"], row["amount_minor"], row["value_date"], recorded, row["charge_id"])
        )
    return found


def _ends(*days: date | None) -> date | None:
    present = [d for d in days if d is not None]
    return min(present) if present else None


def _before(day: date | None) -> date | None:
    return day - ONE_DAY if day is not None else None


def _covers(company: Company) -> dict[int, list[core.Cover]]:
    """Per invoice: what held it, from the day it was agreed to the last day it held."""
    covers: dict[int, list[core.Cover]] = defaultdict(list)

    def add(kind: str, invoice_id: int | None, first: date, last: date | None, at: datetime | None) -> None:
        if invoice_id is not None and (last is None or last >= first):
            covers[invoice_id].append(core.Cover(kind, first, last, at, invoice_id))

    for invoice_id, opened_on, resolved_on, resume_on, at in Dispute.objects.filter(
        company=company
    ).values_list("invoice_id", "opened_on", "resolved_on", "resume_on", "created_at"):
        add(core.CoverKind.DISPUTE, invoice_id, opened_on, _before(resolved_on), at)
        if resolved_on is not None and resume_on is not None:  # rejected: the new deadline told to the debtor
            add(core.CoverKind.DEADLINE, invoice_id, resolved_on, resume_on, None)
    for invoice_id, made_on, promised, grace, closed_on, at in Promise.objects.filter(
        company=company
    ).values_list("invoices", "made_on", "promised_date", "grace_days", "closed_on", "created_at"):
        last = _ends(promised + timedelta(days=grace), _before(closed_on))
        add(core.CoverKind.PROMISE, invoice_id, made_on, last, at)
    plans = InstalmentPlan.objects.filter(company=company).values_list(
        "invoices",
        "proposed_on",
        "confirm_by",
        "confirmed_on",
        "breached_on",
        "resume_after",
        "closed_on",
        "created_at",
    )
    for invoice_id, proposed_on, confirm_by, confirmed_on, breached_on, resume_after, closed_on, at in plans:
        # proposed: until the day to confirm by; confirmed: running until it is breached or closed
        proposal_end = confirm_by if confirmed_on is None else None
        last = _ends(proposal_end, _before(breached_on), _before(closed_on))
        add(core.CoverKind.PLAN, invoice_id, proposed_on, last, at)
        if breached_on is not None and resume_after is not None:  # Plan B: everything by this deadline
            add(core.CoverKind.DEADLINE, invoice_id, breached_on, resume_after, None)
    for invoice_id, offered_on, deadline, closed_on, at in Settlement.objects.filter(
        company=company
    ).values_list("invoices", "offered_on", "deadline", "closed_on", "created_at"):
        add(core.CoverKind.SETTLEMENT, invoice_id, offered_on, _ends(deadline, _before(closed_on)), at)
    for invoice_id, offered_on, deadline, closed_on, at, actor in Incentive.objects.filter(
        company=company
    ).values_list("invoices", "offered_on", "deadline", "closed_on", "created_at", "actor"):
        last = _ends(deadline, _before(closed_on))
        if actor == "playbook":
            # offered by a step in its own message: it holds the items from the next day
            add(core.CoverKind.INCENTIVE, invoice_id, offered_on + ONE_DAY, last, None)
        else:
            add(core.CoverKind.INCENTIVE, invoice_id, offered_on, last, at)
    for invoice_id in Invoice.objects.filter(company=company, on_hold=True).values_list("id", flat=True):
        add(core.CoverKind.HOLD, invoice_id, date.min, None, None)
    return covers


def _holds(company: Company) -> dict[int, list[core.Cover]]:
    """Per debtor: the periods its case was on hold, from the timeline (a case on hold without any
    recorded change has always been)."""
    current = dict(Case.objects.filter(company=company).values_list("debtor_id", "on_hold"))
    changes: dict[int, list[tuple[datetime, date, str]]] = defaultdict(list)
    for debtor_id, kind, day, at in TimelineEvent.objects.filter(
        company=company, kind__in=["hold_set", "hold_released"]
    ).values_list("debtor_id", "kind", "business_date", "at"):
        changes[debtor_id].append((at, day, kind))
    holds: dict[int, list[core.Cover]] = defaultdict(list)
    for debtor_id in set(changes) | {d for d, held in current.items() if held}:
        events = sorted(changes.get(debtor_id, []))
        start: tuple[date, datetime | None] | None = None
        if (events and events[0][2] == "hold_released") or (not events and current.get(debtor_id)):
            start = (date.min, None)
        for at, day, kind in events:
            if kind == "hold_set" and start is None:
                start = (day, at)
            elif kind == "hold_released" and start is not None:
                if day - ONE_DAY >= start[0]:
                    holds[debtor_id].append(
                        core.Cover(core.CoverKind.HOLD, start[0], day - ONE_DAY, start[1])
                    )
                start = None
        if start is not None:
            holds[debtor_id].append(core.Cover(core.CoverKind.HOLD, start[0], None, start[1]))
    return holds


class _Statements:
    """Interest and fees of an item as the statement of account of a business date showed them, with the
    ledger as it stood when the message was written."""

    def __init__(
        self,
        company: Company,
        invoices: dict[int, _Invoice],
        allocations: dict[int, list[_Allocation]],
        laws: dict[int, ApplicableLaw],
    ) -> None:
        self.company = company
        self.invoices = invoices
        self.allocations = allocations
        self.laws = laws  # each debtor's rules, as the run and the statements use them
        self.day_count = DayCount(company.day_count)
        self.charges: dict[int, list[tuple[int, int, date]]] = defaultdict(list)
        for pk, invoice_id, amount, booked_on in Charge.objects.filter(company=company).values_list(
            "id", "invoice_id", "amount_minor", "booked_on"
        ):
            self.charges[invoice_id].append((pk, amount, booked_on))
        # incentives earned: their waivers count from the day they were applied
        self.waived: dict[int, list[tuple[str, date]]] = defaultdict(list)
        for invoice_id, kind, closed_on in Incentive.invoices.through.objects.filter(
            incentive__company=company,
            incentive__status="accepted",
            incentive__kind__in=["waive_fees", "waive_interest"],
        ).values_list("invoice_id", "incentive__kind", "incentive__closed_on"):
            if closed_on is not None:
                self.waived[invoice_id].append((kind, closed_on))

    def figures(self, invoice_id: int, day: date, moment: datetime) -> tuple[int, int, int]:
        """(interest open, fees open, fees booked that day) of the invoice on ``day`` as known at ``moment``."""
        inv = self.invoices[invoice_id]
        known = [a for a in self.allocations.get(invoice_id, ()) if a.recorded_at < moment]
        waived = {kind for kind, on in self.waived.get(invoice_id, ()) if on <= day}
        interest = 0
        if (
            self.company.claim_interest
            and inv.default_from is not None
            and inv.default_from <= day
            and "waive_interest" not in waived
        ):
            reductions = [
                (a.value_date, a.amount_minor)
                for a in known
                if a.component == "principal" and a.value_date <= day
            ]
            paid = sum(a.amount_minor for a in known if a.component == "interest" and a.value_date <= day)
            try:
                law = self.laws.get(inv.debtor_id) or law_for(self.company, "business", "", "")
                rules = law_ruleset(law, inv.due_date)
                accrued, _segments = accrued_interest(
                    rules,
                    inv.amount_minor,
                    reductions,
                    inv.default_from,
                    day,
                    currency=inv.currency,
                    day_count=self.day_count,
                    contract_percent=inv.contract_rate_percent,
                )
            except (RateError, InterestError):
                accrued = paid  # the statement shows no interest where no rate is known
            interest = max(accrued - paid, 0)
        fees = today = 0
        if "waive_fees" not in waived:
            for charge_id, amount, booked_on in self.charges.get(invoice_id, ()):
                if booked_on > day:
                    continue
                paid = sum(
                    a.amount_minor for a in known if a.component == "costs" and a.charge_id == charge_id
                )
                fees += max(amount - paid, 0)
                if booked_on == day:
                    today += amount
        return interest, fees, today


def _listed(
    row: dict[str, Any],
    by_number: dict[str, _Invoice],
    recorded: dict[int, int],
    statements: _Statements | None,
    day: date,
    written_at: datetime,
) -> core.Listed:
    inv = by_number.get(str(row.get("number", "")))
    open_minor = int(row.get("open_minor") or 0)
    listed = core.Listed(
        number=str(row.get("number", "")),
        currency=str(row.get("currency") or (inv.currency if inv else "")),
        open_minor=open_minor,
        interest_minor=int(row.get("interest_minor") or 0),
        fees_minor=int(row.get("fees_minor") or 0),
        invoice_id=inv.pk if inv else None,
        action_open_minor=recorded.get(inv.pk) if inv else None,
    )
    if inv is None or statements is None:
        return listed
    interest, fees, today = statements.figures(inv.pk, day, written_at)
    return core.Listed(
        listed.number,
        listed.currency,
        listed.open_minor,
        listed.interest_minor,
        listed.fees_minor,
        listed.invoice_id,
        listed.action_open_minor,
        expected_interest_minor=interest,
        expected_fees_minor=fees,
        fees_booked_that_day_minor=today,
    )


def violations_text(report: AuditReport, violations: Iterable[core.Violation] | None = None) -> list[str]:
    """One line per violation, as the command prints them."""
    lines = []
    for v in report.violations if violations is None else violations:
        what = (
            gettext("message {id}").format(id=v.message_id)
            if v.message_id is not None
            else gettext("call task {id}").format(id=v.task_id)
        )
        lines.append(
            f"{v.business_date.isoformat()}  {v.debtor:<10} {what:<16} {v.rule:<24} {report.detail(v)}"
        )
    return lines
