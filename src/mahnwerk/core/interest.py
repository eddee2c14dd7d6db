"""Statutory default interest: simple interest per day, split at every rate change, exact to the cent.

The rules (``design/legal.md``):

* Interest runs from ``first_day`` to ``last_day``, both counted as days on which interest runs (the
  first day of default to the day of payment).
* The period is split into segments at every rate change (German base rate: 1 January / 1 July, the
  new rate applies from that day), at every change of principal (a payment reduces the principal
  from the day after its value date: the payment day itself still bears interest on the old
  principal), and -- for actual/actual -- at every 1 January.
* A segment earns ``principal x rate x days / year_days``, ``year_days`` 365 (actual/365, the
  default) or the days of the segment's year (actual/actual: 366 in a leap year); the amount is
  rounded to the cent half up at the end of each segment. Arithmetic is on integers only: exact.
* A payment is applied per the rule set's allocation order (Germany § 367 BGB: costs -> interest ->
  principal), so only the part that reaches the principal lowers the interest-bearing amount. No
  interest on interest (§ 289 BGB): interest never joins the principal.
* Latvia (Civillikums § 1763): interest stops accruing once the interest equals the principal. We
  compare all interest accrued on the claim (paid or not) with the principal still open, so a payment
  can never let more interest accrue (the conservative reading: the creditor never claims too much).
  The segment in which the cap is reached is cut on that day and the rest flagged ``capped``.
* Negative base rates (Germany 2013-2022) are used as published: the segment shows the negative base
  beside the margin. If base + margin is itself negative, the calculation is refused with
  :class:`NegativeRateError` -- a rate is never clamped to zero silently.
* A period the rate table does not cover is refused with :class:`~mahnwerk.core.rates.MissingRateError`
  naming the missing half-year; nothing is extrapolated.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from mahnwerk.core.claims import DE_ORDER, split_by_order
from mahnwerk.core.rates import RATE_SCALE, RateTable, get_table, units_to_percent
from mahnwerk.core.rulesets import (
    Component,
    DayCount,
    DebtorKind,
    DefaultRule,
    InterestRule,
    RuleBook,
    RuleSet,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

_step_start = attrgetter("start")
_DEN = RATE_SCALE * 100  # rate units per 1.0 (100 %)
ONE_DAY = timedelta(days=1)


class InterestError(ValueError):
    """Inputs the interest engine refuses."""


class NegativeRateError(InterestError):
    def __init__(self, start: date, base_units: int | None, margin_units: int) -> None:
        self.start = start
        self.base_units = base_units
        self.margin_units = margin_units
        base = units_to_percent(base_units) if base_units is not None else Decimal(0)
        super().__init__(
            f"the interest rate from {start.isoformat()} would be negative "
            f"(base {base} % + margin {units_to_percent(margin_units)} %); refusing to compute"
        )


@dataclass(frozen=True, slots=True)
class RateStep:
    """From ``start`` on (until the next step) the rate is ``base_units + margin_units``."""

    start: date
    base_units: int | None  # None: a fixed rate, no base
    margin_units: int

    @property
    def units(self) -> int:
        return (self.base_units or 0) + self.margin_units


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch of days with one principal, one rate and one year basis: the unit of explanation."""

    start: date
    end: date  # inclusive
    days: int
    principal_minor: int
    rate_units: int  # base + margin
    base_units: int | None
    margin_units: int
    year_days: int
    amount_minor: int
    capped: bool = False  # the cap at the principal (LV) cut or stopped this segment

    @property
    def rate(self) -> Decimal:
        return units_to_percent(self.rate_units)

    @property
    def base(self) -> Decimal | None:
        return None if self.base_units is None else units_to_percent(self.base_units)

    @property
    def margin(self) -> Decimal:
        return units_to_percent(self.margin_units)


@dataclass(frozen=True, slots=True)
class Payment:
    value_date: date
    amount_minor: int


@dataclass(frozen=True, slots=True)
class PaymentApplication:
    """How one payment was applied (interest accrued up to and including its value date)."""

    value_date: date
    amount_minor: int
    to_costs: int
    to_interest: int
    to_principal: int
    to_penalty: int
    unapplied: int  # overpayment


@dataclass(frozen=True, slots=True)
class InterestResult:
    currency: str
    first_day: date
    last_day: date
    day_count: DayCount
    principal_minor: int  # at the start
    segments: tuple[Segment, ...]
    payments: tuple[PaymentApplication, ...]
    interest_minor: int  # accrued over the whole period
    interest_paid_minor: int
    principal_open_minor: int
    costs_open_minor: int
    penalty_open_minor: int
    description: Mapping[str, Any] = field(default_factory=dict)

    @property
    def interest_open_minor(self) -> int:
        return self.interest_minor - self.interest_paid_minor

    @property
    def total_open_minor(self) -> int:
        return (
            self.principal_open_minor
            + self.interest_open_minor
            + self.costs_open_minor
            + self.penalty_open_minor
        )


def year_days(day: date, day_count: DayCount) -> int:
    if day_count is DayCount.ACT365:
        return 365
    y = day.year
    return 366 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 365


def segment_amount(principal_minor: int, rate_units: int, days: int, year_days_: int) -> int:
    """``principal x rate x days / year_days`` rounded half up to a minor unit, integers only."""
    num = principal_minor * rate_units * days
    den = _DEN * year_days_
    if num >= 0:
        return (2 * num + den) // (2 * den)
    return -((-2 * num + den) // (2 * den))


def rate_steps(
    rule: InterestRule,
    tables: Mapping[str, RateTable],
    first_day: date,
    last_day: date,
    contract_units: int | None = None,
) -> list[RateStep]:
    """The rate steps of ``rule`` over the period; a contract rate replaces the statutory one."""
    if last_day < first_day:
        raise InterestError("the period ends before it starts")
    if contract_units is not None:
        steps = [RateStep(first_day, None, contract_units)]
    elif rule.kind == "fixed":
        steps = [RateStep(first_day, None, rule.fixed_units)]
    else:
        if not rule.rate_table:
            raise InterestError("the rule set names no rate table")
        table = get_table(tables, rule.rate_table)
        steps = [RateStep(d, units, rule.margin_units) for d, units in table.changes(first_day, last_day)]
    for s in steps:
        if s.units < 0:
            raise NegativeRateError(s.start, s.base_units, s.margin_units)
    return steps


def compute_interest(
    principal_minor: int,
    first_day: date,
    last_day: date,
    steps: Sequence[RateStep],
    *,
    day_count: DayCount = DayCount.ACT365,
    payments: Sequence[Payment] = (),
    costs_minor: int = 0,
    penalty_minor: int = 0,
    allocation_order: Sequence[Component] = DE_ORDER,
    cap_at_principal: bool = False,
    currency: str = "EUR",
    description: Mapping[str, Any] | None = None,
) -> InterestResult:
    """Interest on one claim from ``first_day`` to ``last_day`` (both inclusive), with partial payments.

    ``steps`` must start on or before ``first_day`` (see :func:`rate_steps`). Payments dated before
    ``first_day`` are applied before any interest runs; a payment after ``last_day`` is refused.
    """
    if principal_minor < 0 or costs_minor < 0 or penalty_minor < 0:
        raise InterestError("amounts must not be negative")
    if last_day < first_day:
        raise InterestError("the period ends before it starts")
    if not steps or steps[0].start > first_day:
        raise InterestError("the rate steps do not cover the first day")
    # only the steps in force during the period matter (the caller may pass a long table)
    lo = bisect_right(steps, first_day, key=_step_start) - 1
    hi = bisect_right(steps, last_day, key=_step_start)
    steps = steps[lo:hi]
    for s in steps:
        if s.units < 0:
            raise NegativeRateError(s.start, s.base_units, s.margin_units)
    ordered = sorted(payments, key=lambda p: p.value_date)
    for p in ordered:
        if p.amount_minor <= 0:
            raise InterestError("a payment must be a positive amount")
        if p.value_date > last_day:
            raise InterestError(f"the payment of {p.value_date.isoformat()} is after the end of the period")

    cuts = {s.start for s in steps[1:]}
    cuts.update(p.value_date + ONE_DAY for p in ordered if first_day <= p.value_date < last_day)
    if day_count is DayCount.ACTACT:
        cuts.update(date(y, 1, 1) for y in range(first_day.year + 1, last_day.year + 1))
    starts = [first_day, *sorted(cuts)]

    principal = principal_minor
    costs = costs_minor
    penalty = penalty_minor
    accrued = 0
    interest_paid = 0
    applied: list[PaymentApplication] = []
    segments: list[Segment] = []
    pay_i = 0

    def apply_payments_through(day: date) -> None:
        nonlocal pay_i, principal, costs, penalty, interest_paid
        while pay_i < len(ordered) and ordered[pay_i].value_date <= day:
            p = ordered[pay_i]
            shares, left = split_by_order(
                p.amount_minor,
                {
                    Component.COSTS: costs,
                    Component.INTEREST: accrued - interest_paid,
                    Component.PRINCIPAL: principal,
                    Component.PENALTY: penalty,
                },
                allocation_order,
            )
            costs -= shares[Component.COSTS]
            interest_paid += shares[Component.INTEREST]
            principal -= shares[Component.PRINCIPAL]
            penalty -= shares[Component.PENALTY]
            applied.append(
                PaymentApplication(
                    p.value_date,
                    p.amount_minor,
                    shares[Component.COSTS],
                    shares[Component.INTEREST],
                    shares[Component.PRINCIPAL],
                    shares[Component.PENALTY],
                    left,
                )
            )
            pay_i += 1

    apply_payments_through(first_day - ONE_DAY)
    step_i = 0
    for k, seg_start in enumerate(starts):
        seg_end = starts[k + 1] - ONE_DAY if k + 1 < len(starts) else last_day
        while step_i + 1 < len(steps) and steps[step_i + 1].start <= seg_start:
            step_i += 1
        step = steps[step_i]
        if principal > 0:
            days = (seg_end - seg_start).days + 1
            basis = year_days(seg_start, day_count)
            amount = segment_amount(principal, step.units, days, basis)
            headroom = principal - accrued
            if cap_at_principal and amount > headroom:
                headroom = max(headroom, 0)
                # first day on which the exact interest reaches the headroom
                per = principal * step.units
                needed = -(-headroom * _DEN * basis // per) if per > 0 else days
                needed = min(max(needed, 0), days)
                if needed > 0:
                    cut_end = seg_start + timedelta(days=needed - 1)
                    segments.append(
                        Segment(seg_start, cut_end, needed, principal, step.units, step.base_units,
                                step.margin_units, basis, headroom, capped=True)
                    )  # fmt: skip
                if needed < days:
                    rest_start = seg_start + timedelta(days=needed)
                    segments.append(
                        Segment(rest_start, seg_end, days - needed, principal, step.units, step.base_units,
                                step.margin_units, basis, 0, capped=True)
                    )  # fmt: skip
                accrued += headroom
            else:
                segments.append(
                    Segment(seg_start, seg_end, days, principal, step.units, step.base_units,
                            step.margin_units, basis, amount)
                )  # fmt: skip
                accrued += amount
        apply_payments_through(seg_end)

    return InterestResult(
        currency=currency,
        first_day=first_day,
        last_day=last_day,
        day_count=day_count,
        principal_minor=principal_minor,
        segments=tuple(segments),
        payments=tuple(applied),
        interest_minor=accrued,
        interest_paid_minor=interest_paid,
        principal_open_minor=principal,
        costs_open_minor=costs,
        penalty_open_minor=penalty,
        description=description or {},
    )


def statutory_interest(
    rulebook: RuleBook,
    tables: Mapping[str, RateTable],
    jurisdiction: str,
    debtor_kind: str,
    principal_minor: int,
    first_day: date,
    last_day: date,
    *,
    arose: date | None = None,
    payments: Sequence[Payment] = (),
    costs_minor: int = 0,
    penalty_minor: int = 0,
    day_count: DayCount | None = None,
    contract_rate_units: int | None = None,
    currency: str = "EUR",
) -> InterestResult:
    """Interest per the rule set of ``jurisdiction``/``debtor_kind`` in force when the claim arose.

    ``arose`` defaults to the day before ``first_day``; ``day_count`` defaults to the rule set's.
    The result's ``description`` names the rule set, margin, table and day count used.
    """
    arose_on = arose or (first_day - ONE_DAY)
    ruleset = rulebook.get(jurisdiction, debtor_kind, arose_on)
    return interest_for(
        ruleset,
        tables,
        principal_minor,
        first_day,
        last_day,
        payments=payments,
        costs_minor=costs_minor,
        penalty_minor=penalty_minor,
        day_count=day_count,
        contract_rate_units=contract_rate_units,
        currency=currency,
        arose=arose_on,
    )


def interest_for(
    ruleset: RuleSet,
    tables: Mapping[str, RateTable],
    principal_minor: int,
    first_day: date,
    last_day: date,
    *,
    payments: Sequence[Payment] = (),
    costs_minor: int = 0,
    penalty_minor: int = 0,
    day_count: DayCount | None = None,
    contract_rate_units: int | None = None,
    currency: str = "EUR",
    arose: date | None = None,
) -> InterestResult:
    """Interest under an already chosen rule set version (the collection run picks it once per claim)."""
    rule = ruleset.interest
    basis = day_count or rule.day_count
    steps = rate_steps(rule, tables, first_day, last_day, contract_rate_units)
    description = {
        "jurisdiction": ruleset.jurisdiction,
        "debtor_kind": str(ruleset.debtor_kind),
        "ruleset_valid_from": ruleset.valid_from.isoformat(),
        "arose": arose.isoformat() if arose else None,
        "formula": "contract" if contract_rate_units is not None else rule.kind,
        "rate_table": rule.rate_table if contract_rate_units is None and rule.kind != "fixed" else None,
        "margin": str(units_to_percent(rule.margin_units)) if rule.kind != "fixed" else None,
        "day_count": str(basis),
        "cap_at_principal": rule.cap_at_principal,
        "allocation_order": [str(c) for c in ruleset.allocation_order],
    }
    return compute_interest(
        principal_minor,
        first_day,
        last_day,
        steps,
        day_count=basis,
        payments=payments,
        costs_minor=costs_minor,
        penalty_minor=penalty_minor,
        allocation_order=ruleset.allocation_order,
        cap_at_principal=rule.cap_at_principal,
        currency=currency,
        description=description,
    )


def interest_many(
    principal_minor: npt.ArrayLike,
    first_day: npt.ArrayLike,
    last_day: npt.ArrayLike,
    steps: Sequence[RateStep],
    day_count: DayCount = DayCount.ACT365,
    cap_at_principal: bool = False,
) -> np.ndarray:
    """Total interest for many (principal, period) pairs at once, without payments.

    With ``cap_at_principal`` (Latvia) a pair's total is limited to its principal -- without payments
    this is exactly what :func:`compute_interest` arrives at segment by segment.

    ``first_day`` and ``last_day`` are arrays of ``datetime64[D]`` (or anything numpy turns into
    them); ``steps`` must cover ``min(first_day)`` .. ``max(last_day)``. Each pair's result equals
    :func:`compute_interest`'s ``interest_minor`` exactly: the same segments, the same rounding.
    """
    import numpy as np

    p = np.asarray(principal_minor, dtype=np.int64)
    f = np.asarray(first_day, dtype="datetime64[D]").astype(np.int64)
    last = np.asarray(last_day, dtype="datetime64[D]").astype(np.int64)
    if p.shape != f.shape or p.shape != last.shape:
        raise InterestError("principal, first_day and last_day must have the same shape")
    out = np.zeros(p.shape, dtype=np.int64)
    if p.size == 0:
        return out
    if (p < 0).any() or (last < f).any():
        raise InterestError("negative principal or a period that ends before it starts")
    lo = date.fromordinal(int(f.min()) + _EPOCH)
    hi = date.fromordinal(int(last.max()) + _EPOCH)
    if not steps or steps[0].start > lo:
        raise InterestError("the rate steps do not cover the first day")
    # piecewise-constant pieces: (start, end, rate, year_days), split at steps and, for actact, years
    cuts = {s.start for s in steps if lo < s.start <= hi}
    if day_count is DayCount.ACTACT:
        cuts.update(date(y, 1, 1) for y in range(lo.year + 1, hi.year + 1))
    starts = [lo, *sorted(cuts)]
    max_units = max(s.units for s in steps)
    if max_units < 0 or min(s.units for s in steps) < 0:
        bad = next(s for s in steps if s.units < 0)
        raise NegativeRateError(bad.start, bad.base_units, bad.margin_units)
    if int(p.max()) * max(max_units, 1) * 366 * 2 >= 2**62:
        raise InterestError("principal too large for the vectorised path; use compute_interest")
    step_i = max(bisect_right(steps, lo, key=_step_start) - 1, 0)
    for k, s0 in enumerate(starts):
        s1 = starts[k + 1] - ONE_DAY if k + 1 < len(starts) else hi
        while step_i + 1 < len(steps) and steps[step_i + 1].start <= s0:
            step_i += 1
        units = steps[step_i].units
        den = _DEN * year_days(s0, day_count)
        a = s0.toordinal() - _EPOCH
        b = s1.toordinal() - _EPOCH
        days = np.minimum(last, b) - np.maximum(f, a) + 1
        np.maximum(days, 0, out=days)
        num = p * (2 * units) * days + den
        out += num // (2 * den)
    if cap_at_principal:
        np.minimum(out, p, out=out)
    return out


_EPOCH = date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class DefaultStart:
    """When default began: ``first_interest_day`` is the first day interest runs (None: not in default)."""

    first_interest_day: date | None
    rule: str  # "calendar_due_date", "reminder", "days_after_due_and_receipt" or "none"


def default_begins(
    rule: DefaultRule,
    debtor_kind: DebtorKind | str,
    due_date: date,
    *,
    due_date_agreed: bool = False,
    reminder_received: date | None = None,
    invoice_received: date | None = None,
    consumer_notice_given: bool = False,
) -> DefaultStart:
    """Which default rule applies first, and the first day on which interest runs.

    * A due date fixed by the calendar by agreement (or, where the rule set says so, a due date on the
      invoice): interest from the day after the due date.
    * Otherwise a reminder received after the due date: interest from the day after its receipt.
    * Or, at the latest, ``days_after_due_and_receipt`` (30) days after the later of due date and
      receipt of the invoice: interest from the day after the last of those days. For a consumer only
      when the invoice pointed this out, if the rule set requires it (Germany, § 286 (3) BGB).

    The earliest applicable rule wins; ties prefer the order above.
    """
    if due_date_agreed or rule.due_date_on_invoice_suffices:
        return DefaultStart(due_date + ONE_DAY, "calendar_due_date")
    candidates: list[tuple[date, int, str]] = []
    if rule.reminder_after_due and reminder_received is not None and reminder_received > due_date:
        candidates.append((reminder_received + ONE_DAY, 0, "reminder"))
    consumer = DebtorKind(debtor_kind) is DebtorKind.CONSUMER
    notice_ok = not (consumer and rule.thirty_day_rule_needs_notice) or consumer_notice_given
    if rule.days_after_due_and_receipt > 0 and invoice_received is not None and notice_ok:
        last_free = max(due_date, invoice_received) + timedelta(days=rule.days_after_due_and_receipt)
        candidates.append((last_free + ONE_DAY, 1, "days_after_due_and_receipt"))
    if not candidates:
        return DefaultStart(None, "none")
    first, _, name = min(candidates)
    return DefaultStart(first, name)
