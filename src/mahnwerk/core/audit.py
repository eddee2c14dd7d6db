"""The audit: every collection message checked against the careful clerk's rules, after the fact.

Plain data in, violations out. The caller reads the messages, the call tasks and the ledger as they are
stored (``mahnwerk.comms.audit``); nothing here asks the collection run what it meant to do. The
ledger is looked at *as it stood* at a moment: a principal allocation counts from the moment its
payment, credit note or write-off was recorded, an agreement or dispute from the business date it was
made (on that very day only if it was recorded before the message was written) to the last day it held.

The rules (one code each):

``paid_item_named``
    a collection message lists an item whose open principal, when the message went out (not yet sent:
    now), was lower than the amount listed, or was 0 or within the small-balance tolerance.
``cadence``
    two collection contacts (messages or calls) to one debtor on the same business date, or fewer days
    apart than the company's cadence (or the playbook's minimum gap between steps, if larger). A message
    that came back or failed for good (hard bounce, returned letter, refused delivery) never reached the
    debtor and its step was withdrawn: it is no contact (the step is given again, on another channel where
    one is left), though the rules about its content apply.
``below_minimum`` / ``below_step_minimum``
    the overdue principal a message lists (per currency) is below the company's reminder minimum; a
    final notice or a call (tone formal, channel call, or a step with its own minimum) below its minimum
    (the step's own, else the company's escalation minimum; never less than the reminder minimum).
``same_day_contradiction``
    a collection message and a courtesy message (confirmation, thanks) to one debtor on one business date.
``covered_item_named``
    a listed item was, on the message's business date, in an open dispute, under a pending promise, a
    proposed or running instalment plan, an offered settlement or incentive, or on hold.
``not_due_in_total``
    a listed item (not a "coming due" line) was not yet due, in a message that is not a note before the
    due date.
``overdue_item_missing``
    an overdue item of the debtor in a currency the message lists was left out although nothing held it
    (held: paid, covered as above, within the tolerance, time-barred, or under a deadline the debtor was
    given: a rejected dispute's new deadline, a broken plan's Plan B deadline).
``total_mismatch``
    an item's principal differs from what the action recorded, or its interest or fees from the statement
    of account of the business date (the fees booked that day for the message itself may be left out); not
    for a message that came back or failed for good.
``time_barred_threat``
    a formal message or a final notice names an item whose limitation date has passed.
``flat_rate_and_costs``
    a message names an item on which both the flat compensation (40 EUR) and reminder costs were booked
    by then, where the law credits the one against the other (§ 288 (5) s. 3 BGB): one or the other.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Any

from mahnwerk.core.playbook import threshold_minor


def gettext_noop(message: str) -> str:
    """Mark ``message`` for the translation catalogues without importing Django into the core."""
    return message


class Rule(StrEnum):
    PAID_ITEM_NAMED = "paid_item_named"
    CADENCE = "cadence"
    BELOW_MINIMUM = "below_minimum"
    BELOW_STEP_MINIMUM = "below_step_minimum"
    SAME_DAY_CONTRADICTION = "same_day_contradiction"
    COVERED_ITEM_NAMED = "covered_item_named"
    NOT_DUE_IN_TOTAL = "not_due_in_total"
    OVERDUE_ITEM_MISSING = "overdue_item_missing"
    TOTAL_MISMATCH = "total_mismatch"
    TIME_BARRED_THREAT = "time_barred_threat"
    FLAT_RATE_AND_COSTS = "flat_rate_and_costs"


class CoverKind(StrEnum):
    DISPUTE = "dispute"
    PROMISE = "promise"
    PLAN = "plan"
    SETTLEMENT = "settlement"
    INCENTIVE = "incentive"
    HOLD = "hold"
    DEADLINE = "deadline"  # a deadline the debtor was given (a rejected dispute, a broken plan's Plan B)


# What a collection message must not name; a deadline given to the debtor only excuses leaving an item out.
NAMING_COVERS = frozenset(CoverKind) - {CoverKind.DEADLINE}


COVER_LABELS: dict[str, str] = {
    CoverKind.DISPUTE: gettext_noop("an open dispute"),
    CoverKind.PROMISE: gettext_noop("a pending promise to pay"),
    CoverKind.PLAN: gettext_noop("an instalment plan"),
    CoverKind.SETTLEMENT: gettext_noop("an offered settlement"),
    CoverKind.INCENTIVE: gettext_noop("an offered incentive"),
    CoverKind.HOLD: gettext_noop("a hold"),
    CoverKind.DEADLINE: gettext_noop("a deadline given to the debtor"),
}

# One line per violation: English message ids with ``{name}`` placeholders, rendered by the caller.
DETAILS: dict[Rule, str] = {
    Rule.PAID_ITEM_NAMED: gettext_noop(
        "{number} listed with {listed} open, but only {open} was open when the message went out"
    ),
    Rule.CADENCE: gettext_noop(
        "{days} day(s) after the collection contact of {previous}; at least {gap} day(s) must lie between"
    ),
    Rule.BELOW_MINIMUM: gettext_noop("overdue principal {total} is below the reminder minimum {minimum}"),
    Rule.BELOW_STEP_MINIMUM: gettext_noop(
        "overdue principal {total} is below the minimum {minimum} for a final notice or a call"
    ),
    Rule.SAME_DAY_CONTRADICTION: gettext_noop(
        "a confirmation or thank-you went to the debtor on the same business date"
    ),
    Rule.COVERED_ITEM_NAMED: gettext_noop("{number} was covered by {cover} on the business date"),
    Rule.NOT_DUE_IN_TOTAL: gettext_noop("{number} was not yet due (due {due_date}) but counts in the total"),
    Rule.OVERDUE_ITEM_MISSING: gettext_noop(
        "{number} ({open}, due {due_date}) was overdue and nothing held it, but the message leaves it out"
    ),
    Rule.TOTAL_MISMATCH: gettext_noop(
        "{number}: {component} listed {listed}, the statement of the business date says {expected}"
    ),
    Rule.TIME_BARRED_THREAT: gettext_noop(
        "{number} was time-barred after {barred_on}, yet a final notice names it"
    ),
    Rule.FLAT_RATE_AND_COSTS: gettext_noop(
        "{number} carries both the flat compensation and reminder costs (booked by {day}): the law allows "
        "one or the other"
    ),
}

COMPONENT_LABELS: dict[str, str] = {
    "principal": gettext_noop("principal"),
    "interest": gettext_noop("interest"),
    "fees": gettext_noop("fees"),
}

# Params whose value is itself a message id (translated when the detail is rendered).
_TRANSLATED = frozenset({"cover", "component"})


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str


def _identity(message: str) -> str:
    return message


def _plain_money(amount: Money) -> str:
    return f"{amount.minor} {amount.currency} (minor units)"


@dataclass(frozen=True, slots=True)
class Care:
    """The company's settings the rules hold messages to (amounts in major units of each currency)."""

    cadence_days: int = 7
    min_reminder: Decimal = Decimal("5.00")
    tolerance: Decimal = Decimal("1.00")
    escalation_min: Decimal = Decimal("50.00")

    def reminder_minor(self, currency: str) -> int:
        return threshold_minor(self.min_reminder, currency)

    def tolerance_minor(self, currency: str) -> int:
        return threshold_minor(self.tolerance, currency)

    def step_minor(self, step: StepInfo, currency: str) -> int:
        """A step's minimum: its own, else the escalation minimum for final notices and calls; never less
        than the reminder minimum."""
        if step.min_amount is not None:
            own = threshold_minor(step.min_amount, currency)
        else:
            own = threshold_minor(self.escalation_min, currency) if step.escalates else 0
        return max(own, self.reminder_minor(currency))


@dataclass(frozen=True, slots=True)
class StepInfo:
    """The playbook step an action took."""

    offset_days: int
    tone: str
    channel: str
    template: str = ""
    min_amount: Decimal | None = None
    min_days_between: int = 0  # the playbook's minimum gap between steps

    @property
    def escalates(self) -> bool:
        return self.tone == "formal" or self.channel == "call"

    @property
    def before_due(self) -> bool:
        return self.offset_days < 0


@dataclass(frozen=True, slots=True)
class Invoice:
    id: int
    debtor_id: int
    number: str
    currency: str
    amount_minor: int
    issue_date: date
    due_date: date
    time_barred_on: date | None = None
    recorded_at: datetime | None = None  # when it was entered (None: always known)


@dataclass(frozen=True, slots=True)
class Reduction:
    """A principal allocation: a payment, credit note or write-off, counted from when it was recorded."""

    invoice_id: int
    amount_minor: int
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class Cover:
    """Something that holds an item (or, without ``invoice_id``, all of a debtor's items) from ``first_day``
    to ``last_day`` inclusive. On ``first_day`` it holds a message only if recorded before it was written."""

    kind: str
    first_day: date
    last_day: date | None = None
    recorded_at: datetime | None = None
    invoice_id: int | None = None

    def holds(self, day: date, moment: datetime) -> bool:
        if day < self.first_day or (self.last_day is not None and day > self.last_day):
            return False
        return not (day == self.first_day and self.recorded_at is not None and self.recorded_at >= moment)


@dataclass(frozen=True, slots=True)
class Listed:
    """One item line of a message, with what the records say it should have been."""

    number: str
    currency: str
    open_minor: int
    interest_minor: int = 0
    fees_minor: int = 0
    invoice_id: int | None = None
    action_open_minor: int | None = None  # the principal the action recorded for the item
    expected_interest_minor: int | None = None  # the statement of the business date (None: not checked)
    expected_fees_minor: int | None = None
    fees_booked_that_day_minor: int = 0


@dataclass(frozen=True, slots=True)
class Contact:
    """A collection or courtesy message, or a call task (``task_id``), as it was written."""

    debtor_id: int
    debtor: str  # the customer number
    business_date: date
    written_at: datetime  # when the message (or task) was written
    checked_at: datetime  # when it went out (not yet sent: now)
    purpose: str = "collection"  # collection, courtesy or offer
    message_id: int | None = None
    task_id: int | None = None
    action_id: int | None = None
    step: StepInfo | None = None
    tone: str = ""
    template: str = ""
    items: tuple[Listed, ...] | None = None  # None: the message carries no list of items
    coming: tuple[Listed, ...] = ()
    audited: bool = True  # False: before the period, looked at only as an earlier contact
    reached: bool = True  # False: it came back (a hard bounce, a returned letter) and its step was withdrawn

    @property
    def is_call(self) -> bool:
        return self.task_id is not None and self.message_id is None

    @property
    def collects(self) -> bool:
        return self.action_id is not None or self.purpose == "collection"

    @property
    def formal(self) -> bool:
        tone = self.tone or (self.step.tone if self.step else "")
        template = self.template or (self.step.template if self.step else "")
        return tone == "formal" or template == "final_notice"


@dataclass
class Ledger:
    """The ledger facts the rules need: invoices, principal reductions and covers."""

    invoices: Mapping[int, Invoice]
    reductions: Mapping[int, Sequence[Reduction]] = field(default_factory=dict)  # by invoice
    covers: Mapping[int, Sequence[Cover]] = field(default_factory=dict)  # by invoice
    debtor_covers: Mapping[int, Sequence[Cover]] = field(default_factory=dict)  # by debtor
    # invoices charged both the flat compensation and reminder costs where one is credited against the
    # other, with the day the second of them was booked
    double_costs: Mapping[int, date] = field(default_factory=dict)
    _by_debtor: dict[int, list[Invoice]] = field(default_factory=dict, init=False, repr=False)
    _reduced: dict[int, tuple[list[datetime], list[int]]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        for inv in sorted(self.invoices.values(), key=lambda i: (i.due_date, i.number)):
            self._by_debtor.setdefault(inv.debtor_id, []).append(inv)
        for invoice_id, rows in self.reductions.items():
            ordered = sorted(rows, key=lambda r: r.recorded_at)
            running, sums = 0, []
            for r in ordered:
                running += r.amount_minor
                sums.append(running)
            self._reduced[invoice_id] = ([r.recorded_at for r in ordered], sums)

    def of_debtor(self, debtor_id: int) -> list[Invoice]:
        return self._by_debtor.get(debtor_id, [])

    def principal_at(self, invoice: Invoice, moment: datetime) -> int:
        """The open principal by the reductions recorded before ``moment``."""
        times, sums = self._reduced.get(invoice.id, ([], []))
        n = bisect_left(times, moment)
        return invoice.amount_minor - (sums[n - 1] if n else 0)

    def cover_on(
        self, invoice: Invoice, day: date, moment: datetime, kinds: frozenset[str] | None = None
    ) -> str | None:
        """What held the item on ``day`` for a message written at ``moment`` (None: nothing); ``kinds``: only
        covers of these kinds."""
        for cover in (*self.covers.get(invoice.id, ()), *self.debtor_covers.get(invoice.debtor_id, ())):
            if (kinds is None or cover.kind in kinds) and cover.holds(day, moment):
                return cover.kind
        return None


@dataclass(frozen=True, slots=True)
class Violation:
    rule: Rule
    debtor: str
    business_date: date
    params: Mapping[str, Any] = field(default_factory=dict)
    message_id: int | None = None
    task_id: int | None = None

    def detail(
        self,
        translate: Callable[[str], str] = _identity,
        money: Callable[[Money], str] = _plain_money,
    ) -> str:
        values = {
            k: money(v) if isinstance(v, Money) else translate(v) if k in _TRANSLATED else v
            for k, v in self.params.items()
        }
        return translate(DETAILS[self.rule]).format(**values)


def audit(contacts: Iterable[Contact], ledger: Ledger, care: Care) -> list[Violation]:
    """Every violation of the rules by the audited ``contacts`` (earlier ones serve only the cadence)."""
    rows = list(contacts)
    found: list[Violation] = []
    courtesy_days = {
        (c.debtor_id, c.business_date)
        for c in rows
        if c.purpose == "courtesy" and not c.collects and c.reached
    }
    for contact in rows:
        if not contact.audited or not contact.collects:
            continue
        found.extend(check_minimums(contact, ledger, care))
        if contact.is_call:
            continue
        if contact.reached and (contact.debtor_id, contact.business_date) in courtesy_days:
            found.append(_violation(Rule.SAME_DAY_CONTRADICTION, contact))
        if contact.items is None:
            continue
        found.extend(check_items(contact, ledger, care))
        found.extend(check_missing(contact, ledger, care))
        found.extend(check_total(contact))
    found.extend(check_cadence(rows, care))
    return sorted(found, key=lambda v: (v.business_date, v.debtor, v.message_id or 0, v.task_id or 0, v.rule))


def _violation(rule: Rule, contact: Contact, **params: Any) -> Violation:
    return Violation(rule, contact.debtor, contact.business_date, params, contact.message_id, contact.task_id)


def check_items(contact: Contact, ledger: Ledger, care: Care) -> list[Violation]:
    """The rules about each listed item: paid, covered, not yet due, time-barred."""
    found: list[Violation] = []
    day = contact.business_date
    for item in contact.items or ():
        inv = ledger.invoices.get(item.invoice_id) if item.invoice_id is not None else None
        if inv is None:
            continue
        then = ledger.principal_at(inv, contact.checked_at)
        if then < item.open_minor or then <= care.tolerance_minor(inv.currency):
            found.append(
                _violation(
                    Rule.PAID_ITEM_NAMED,
                    contact,
                    number=inv.number,
                    listed=Money(item.open_minor, inv.currency),
                    open=Money(then, inv.currency),
                )
            )
        cover = ledger.cover_on(inv, day, contact.written_at, NAMING_COVERS)
        if cover is not None:
            found.append(
                _violation(Rule.COVERED_ITEM_NAMED, contact, number=inv.number, cover=COVER_LABELS[cover])
            )
        if inv.due_date >= day and not (contact.step is not None and contact.step.before_due):
            found.append(
                _violation(
                    Rule.NOT_DUE_IN_TOTAL, contact, number=inv.number, due_date=inv.due_date.isoformat()
                )
            )
        both = ledger.double_costs.get(inv.id)
        if both is not None and both <= day:
            found.append(
                _violation(Rule.FLAT_RATE_AND_COSTS, contact, number=inv.number, day=both.isoformat())
            )
        if contact.formal and inv.time_barred_on is not None and inv.time_barred_on < day:
            found.append(
                _violation(
                    Rule.TIME_BARRED_THREAT,
                    contact,
                    number=inv.number,
                    barred_on=inv.time_barred_on.isoformat(),
                )
            )
    return found


def _listed_totals(contact: Contact, ledger: Ledger) -> dict[str, int]:
    """Overdue principal listed per currency (a note before the due date: everything it lists)."""
    totals: dict[str, int] = defaultdict(int)
    note = contact.step is not None and contact.step.before_due
    for item in contact.items or ():
        inv = ledger.invoices.get(item.invoice_id) if item.invoice_id is not None else None
        if inv is not None and inv.due_date >= contact.business_date and not note:
            continue  # not yet due: its own rule
        totals[item.currency] += item.open_minor
    return dict(totals)


def check_minimums(contact: Contact, ledger: Ledger, care: Care) -> list[Violation]:
    if contact.items is None:
        return []
    found: list[Violation] = []
    for currency, total in sorted(_listed_totals(contact, ledger).items()):
        minimum = care.reminder_minor(currency)
        if total < minimum:
            found.append(
                _violation(
                    Rule.BELOW_MINIMUM,
                    contact,
                    total=Money(total, currency),
                    minimum=Money(minimum, currency),
                )
            )
            continue
        if contact.step is not None:
            required = care.step_minor(contact.step, currency)
            if total < required:
                found.append(
                    _violation(
                        Rule.BELOW_STEP_MINIMUM,
                        contact,
                        total=Money(total, currency),
                        minimum=Money(required, currency),
                    )
                )
    return found


def check_missing(contact: Contact, ledger: Ledger, care: Care) -> list[Violation]:
    """Overdue items of the debtor, in a currency the message lists, that nothing held but were left out."""
    items = contact.items or ()
    currencies = {i.currency for i in items}
    named = {i.invoice_id for i in (*items, *contact.coming) if i.invoice_id is not None}
    day, moment = contact.business_date, contact.written_at
    found: list[Violation] = []
    for inv in ledger.of_debtor(contact.debtor_id):
        if inv.currency not in currencies or inv.id in named:
            continue
        if inv.due_date >= day or inv.issue_date > day:
            continue
        if inv.recorded_at is not None and inv.recorded_at >= moment:
            continue  # entered after the message was written
        if inv.time_barred_on is not None and inv.time_barred_on < day:
            continue
        open_then = ledger.principal_at(inv, moment)
        if open_then <= care.tolerance_minor(inv.currency):
            continue
        if ledger.cover_on(inv, day, moment) is not None:
            continue
        found.append(
            _violation(
                Rule.OVERDUE_ITEM_MISSING,
                contact,
                number=inv.number,
                open=Money(open_then, inv.currency),
                due_date=inv.due_date.isoformat(),
            )
        )
    return found


def check_total(contact: Contact) -> list[Violation]:
    """The first item whose principal, interest or fees differ from the records (one per message). A message
    that never reached the customer is not compared: what its step booked was taken back with it."""
    if not contact.reached:
        return []
    for item in contact.items or ():
        checks: list[tuple[str, int, int, tuple[int, ...]]] = []
        if item.action_open_minor is not None:
            checks.append(("principal", item.open_minor, item.action_open_minor, (item.action_open_minor,)))
        if item.expected_interest_minor is not None:
            expected = item.expected_interest_minor
            checks.append(("interest", item.interest_minor, expected, (expected,)))
        if item.expected_fees_minor is not None:
            fees = item.expected_fees_minor
            checks.append(("fees", item.fees_minor, fees, (fees, fees - item.fees_booked_that_day_minor)))
        for component, listed, expected, allowed in checks:
            if listed not in allowed:
                return [
                    _violation(
                        Rule.TOTAL_MISMATCH,
                        contact,
                        number=item.number,
                        component=COMPONENT_LABELS[component],
                        listed=Money(listed, item.currency),
                        expected=Money(expected, item.currency),
                    )
                ]
    return []


def check_cadence(contacts: Sequence[Contact], care: Care) -> list[Violation]:
    """Collection contacts closer together than the cadence (one contact per action: a call step's task and
    message, if both exist, are one contact)."""
    by_debtor: dict[int, list[Contact]] = defaultdict(list)
    seen: set[int] = set()
    for c in sorted(
        contacts, key=lambda c: (c.business_date, c.written_at, c.message_id or 0, c.task_id or 0)
    ):
        if not c.collects or not c.reached:
            continue
        if c.action_id is not None:
            if c.action_id in seen:
                continue
            seen.add(c.action_id)
        by_debtor[c.debtor_id].append(c)
    found: list[Violation] = []
    for rows in by_debtor.values():
        for previous, later in pairwise(rows):
            if not later.audited:
                continue
            playbook_gap = (later.step or previous.step or StepInfo(0, "", "")).min_days_between
            gap = max(care.cadence_days, playbook_gap, 1)
            days = (later.business_date - previous.business_date).days
            if days < gap:
                found.append(
                    _violation(
                        Rule.CADENCE, later, days=days, previous=previous.business_date.isoformat(), gap=gap
                    )
                )
    return found


def count_by_rule(violations: Iterable[Violation]) -> dict[str, int]:
    counts = Counter(str(v.rule) for v in violations)
    return {rule.value: counts[rule.value] for rule in Rule if counts[rule.value]}
