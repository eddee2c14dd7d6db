"""Agreements with a debtor: promises to pay, instalment plans, settlements and incentives.

Plain arithmetic on dates and minor units. The collection app loads the agreements and the payments
applied to their items, asks this module what state each agreement is in on the run's business date,
and records the transitions. Payments are counted by value date: money that arrived by the deadline
(plus the grace period where there is one) counts as in time, whenever it was booked.
"""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from mahnwerk.core.money import split_largest_remainder
from mahnwerk.core.playbook import ItemState, PlaybookSpec


class AgreementError(ValueError):
    """Terms that cannot make an agreement (no instalments, a down payment above the total, ...)."""


# --- promises to pay ------------------------------------------------------------------------------------


class PromiseState(StrEnum):
    PENDING = "pending"  # the promised date (plus grace) has not passed and the money is not all there
    KEPT = "kept"  # paid in full by the promised date plus grace
    PARTLY_KEPT = "partly_kept"  # some, not all, of the promised amount came in time
    BROKEN = "broken"  # nothing came in time


@dataclass(frozen=True, slots=True)
class PromiseTerms:
    promised_date: date
    amount_minor: int
    grace_days: int = 0

    def __post_init__(self) -> None:
        if self.amount_minor <= 0:
            raise AgreementError("a promise needs a positive amount")
        if self.grace_days < 0:
            raise AgreementError("the grace period cannot be negative")

    @property
    def last_day(self) -> date:
        """The last day a payment counts as in time (and reminders stay paused)."""
        return self.promised_date + timedelta(days=self.grace_days)


def promise_state(terms: PromiseTerms, paid_in_time_minor: int, open_minor: int, as_of: date) -> PromiseState:
    """The state of a promise on ``as_of``.

    ``paid_in_time_minor``: payments on the promised items with a value date from the promise up to
    its last day; ``open_minor``: what is still open on those items. A promise whose items are all
    settled counts as kept (nothing is left to ask for).
    """
    if paid_in_time_minor >= terms.amount_minor or open_minor <= 0:
        return PromiseState.KEPT
    if as_of <= terms.last_day:
        return PromiseState.PENDING
    return PromiseState.PARTLY_KEPT if paid_in_time_minor > 0 else PromiseState.BROKEN


# --- instalment plans -----------------------------------------------------------------------------------


class CostsMode(StrEnum):
    FIRST = "first"  # interest and fees are paid with the first payment of the plan
    FOLD = "fold"  # interest and fees are added to the amount split over the instalments


@dataclass(frozen=True, slots=True)
class ScheduledPayment:
    number: int  # 0: the down payment; 1..n: the instalments
    due_date: date
    amount_minor: int


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def build_schedule(
    principal_minor: int,
    count: int,
    first_due: date,
    *,
    down_payment_minor: int = 0,
    interval_days: int = 0,
    interval_months: int = 0,
    dates: Sequence[date] | None = None,
    costs_minor: int = 0,
    costs_mode: CostsMode = CostsMode.FIRST,
) -> list[ScheduledPayment]:
    """The payments of an instalment plan; their amounts add up to principal plus costs exactly.

    With a down payment it falls due on ``first_due`` and the instalments follow one interval apart;
    without one the first instalment falls due on ``first_due``. ``dates`` gives the instalments'
    due dates explicitly instead (ascending, after the down payment). The amount to split (the
    principal less the down payment, plus the costs when they are folded in) is divided with the
    largest-remainder method: equal instalments, the odd cents going to the first ones.
    """
    if count < 1:
        raise AgreementError("a plan needs at least one instalment")
    if principal_minor <= 0 or costs_minor < 0 or down_payment_minor < 0:
        raise AgreementError("amounts must be positive (costs and down payment not negative)")
    if down_payment_minor >= principal_minor:
        raise AgreementError("the down payment must be smaller than the amount of the plan")
    if dates is not None:
        due_dates = list(dates)
        if len(due_dates) != count:
            raise AgreementError(f"{count} instalments need {count} dates, got {len(due_dates)}")
        if any(b <= a for a, b in itertools.pairwise(due_dates)):
            raise AgreementError("instalment dates must be ascending")
        if down_payment_minor and due_dates[0] <= first_due:
            raise AgreementError("the first instalment must fall due after the down payment")
    else:
        if (interval_days > 0) == (interval_months > 0):
            raise AgreementError("give either an interval in days or one in months (or the dates)")
        start = 1 if down_payment_minor else 0
        due_dates = [
            add_months(first_due, interval_months * k)
            if interval_months
            else first_due + timedelta(days=interval_days * k)
            for k in range(start, start + count)
        ]
    folded = costs_minor if costs_mode is CostsMode.FOLD else 0
    parts = split_largest_remainder(principal_minor - down_payment_minor + folded, [1] * count)
    if min(parts) <= 0:
        raise AgreementError("too many instalments for the amount: an instalment would be zero")
    payments = [ScheduledPayment(k, d, a) for k, (d, a) in enumerate(zip(due_dates, parts, strict=True), 1)]
    if down_payment_minor:
        payments.insert(0, ScheduledPayment(0, first_due, down_payment_minor))
    if costs_mode is CostsMode.FIRST and costs_minor:
        head = payments[0]
        payments[0] = ScheduledPayment(head.number, head.due_date, head.amount_minor + costs_minor)
    return payments


@dataclass(frozen=True, slots=True)
class PlanPolicy:
    """Limits inside which a plan is approved at once; outside them a person with the right role decides.

    Company defaults now; debtor segments can bring their own later.
    """

    max_instalments: int = 6
    min_down_payment_percent: int = 10
    max_duration_days: int = 180


@dataclass(frozen=True, slots=True)
class PlanCheck:
    approved_at_once: bool
    violations: tuple[str, ...]  # codes: "too_many_instalments", "down_payment_too_small", "too_long"


def min_down_payment_minor(policy: PlanPolicy, total_minor: int) -> int:
    """The smallest acceptable down payment: the policy's share of the total, rounded up to the cent."""
    return -(-total_minor * policy.min_down_payment_percent // 100)


def check_plan(
    policy: PlanPolicy, schedule: Sequence[ScheduledPayment], agreed_on: date, total_minor: int
) -> PlanCheck:
    """Whether a schedule keeps inside the policy's limits (duration counted from ``agreed_on``)."""
    violations = []
    instalments = [p for p in schedule if p.number > 0]
    if len(instalments) > policy.max_instalments:
        violations.append("too_many_instalments")
    down = sum(p.amount_minor for p in schedule if p.number == 0)
    if down < min_down_payment_minor(policy, total_minor):
        violations.append("down_payment_too_small")
    if (max(p.due_date for p in schedule) - agreed_on).days > policy.max_duration_days:
        violations.append("too_long")
    return PlanCheck(not violations, tuple(violations))


@dataclass(frozen=True, slots=True)
class InstalmentStatus:
    number: int
    due_date: date
    amount_minor: int
    paid_minor: int  # the part of the payments so far that fills this instalment

    @property
    def open_minor(self) -> int:
        return self.amount_minor - self.paid_minor


class PlanState(StrEnum):
    ON_TRACK = "on_track"
    COMPLETED = "completed"
    BREACHED = "breached"


@dataclass(frozen=True, slots=True)
class PlanStatus:
    state: PlanState
    instalments: tuple[InstalmentStatus, ...]
    missed: InstalmentStatus | None  # the first instalment unpaid beyond the grace period
    remaining_minor: int  # what the plan still expects

    @property
    def paid_minor(self) -> int:
        return sum(i.paid_minor for i in self.instalments)


def plan_status(
    schedule: Sequence[ScheduledPayment], paid_minor: int, grace_days: int, as_of: date
) -> PlanStatus:
    """Fill the payments in due-date order with what has been paid; find a breach.

    ``paid_minor``: everything paid on the plan's items since it was agreed. An instalment that is
    still not paid in full more than ``grace_days`` after its due date is a breach.
    """
    left = paid_minor
    rows = []
    for p in sorted(schedule, key=lambda p: (p.due_date, p.number)):
        part = min(left, p.amount_minor)
        left -= part
        rows.append(InstalmentStatus(p.number, p.due_date, p.amount_minor, part))
    remaining = sum(r.open_minor for r in rows)
    if remaining <= 0:
        return PlanStatus(PlanState.COMPLETED, tuple(rows), None, 0)
    missed = next(
        (r for r in rows if r.open_minor > 0 and as_of > r.due_date + timedelta(days=grace_days)), None
    )
    state = PlanState.BREACHED if missed else PlanState.ON_TRACK
    return PlanStatus(state, tuple(rows), missed, remaining)


class NoticeKind(StrEnum):
    BEFORE = "before"  # the instalment falls due soon
    OVERDUE = "overdue"  # the instalment is due and not (fully) paid


def instalment_notices(
    status: PlanStatus,
    as_of: date,
    *,
    days_before: int,
    days_after: int,
    sent: dict[int, set[NoticeKind]],
) -> list[tuple[InstalmentStatus, NoticeKind]]:
    """Reminders that follow the instalment dates, each sent once: ``days_before`` the due date (only
    before it has come) and ``days_after`` it if the instalment is still open. A run missed for a day
    catches up the next day. ``sent`` maps instalment number to the notices already sent.
    """
    due: list[tuple[InstalmentStatus, NoticeKind]] = []
    if status.state is not PlanState.ON_TRACK:
        return due
    for row in status.instalments:
        if row.open_minor <= 0:
            continue
        done = sent.get(row.number, set())
        if (
            NoticeKind.BEFORE not in done
            and row.due_date - timedelta(days=days_before) <= as_of < row.due_date
            and days_before > 0
        ):
            due.append((row, NoticeKind.BEFORE))
        if NoticeKind.OVERDUE not in done and as_of >= row.due_date + timedelta(days=days_after):
            due.append((row, NoticeKind.OVERDUE))
    return due


# --- settlements and incentives -------------------------------------------------------------------------


class OfferState(StrEnum):
    PENDING = "pending"
    EARNED = "earned"  # the required amount came in time: apply the offer
    LAPSED = "lapsed"  # the deadline passed without it


def offer_state(required_minor: int, paid_in_time_minor: int, deadline: date, as_of: date) -> OfferState:
    """A settlement or incentive: earned once ``required_minor`` has come in by ``deadline``."""
    if paid_in_time_minor >= required_minor:
        return OfferState.EARNED
    return OfferState.PENDING if as_of <= deadline else OfferState.LAPSED


def settlement_write_off(open_by_item: dict[int, int]) -> dict[int, int]:
    """What a settled agreement writes off: the rest still open on each item (items with nothing open
    are left out), so the items end at exactly zero."""
    return {key: amount for key, amount in open_by_item.items() if amount > 0}


def discount_minor(open_minor: int, percent: int = 0, amount_minor: int = 0) -> int:
    """A discount as a share of the open amount (rounded half up to the cent) or a fixed amount, never
    more than what is open."""
    if percent < 0 or amount_minor < 0 or (percent and amount_minor):
        raise AgreementError("give a discount either as a percentage or as an amount")
    value = (open_minor * percent * 2 + 100) // 200 if percent else amount_minor
    return min(value, open_minor)


# --- how agreements steer the playbook -------------------------------------------------------------------


def force_step(item: ItemState, playbook: PlaybookSpec, level: int, as_of: date) -> int:
    """Make step ``level`` (or the next step the item has not had yet) due for ``item`` today.

    Used for a broken promise's fallback: the run takes the step on the day after the promise broke,
    whatever the playbook's offsets would say (``item.forced``; the account's other rules still apply). Steps before the due date are passed over once the
    due date has come. Returns the level made due (0: none left). The changed fields of ``item``
    only steer the evaluation; nothing about the invoice changes.
    """
    wanted = max(level, item.last_level + 1)
    for step in playbook.steps[wanted - 1 :]:
        if step.offset_days < 0 and as_of >= item.due_date:
            continue
        item.last_level = step.level - 1
        item.last_step_date = None
        item.forced = True
        return step.level
    return 0


def resume_at(item: ItemState, level: int, since: date) -> None:
    """Let the playbook resume at step ``level`` after an agreement failed on ``since``: the earlier
    steps count as done, and the resumed step keeps the playbook's distance from ``since``."""
    if level - 1 > item.last_level:
        item.last_level = level - 1
    if item.last_step_date is None or item.last_step_date < since:
        item.last_step_date = since
