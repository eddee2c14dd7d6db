"""Receivables KPIs for one company and one period, from plain records.

All amounts are integer minor units of one currency (mixing currencies raises ``ValueError``). A
period is a closed range of days ``start .. end``; "receivables at day d" (AR(d)) is the amount open at
the *end* of day d: invoices issued on or before d minus payments dated on or before d. An invoice is
*current* on day d when ``due_date >= d`` (not yet past due) and *n days past due* when ``d - due_date = n``.

=========================  ==================================================================================
KPI                        formula
=========================  ==================================================================================
credit sales               S = sum of invoice amounts with issue date in the period
DSO (simple)               AR(end) / S x days(period)
best possible DSO          current AR(end) / S x days(period)
average days delinquent    ADD = DSO - best possible DSO
DSO (count-back)           walk back month by month from ``end`` (the first slice is the month of ``end``
                           up to ``end``): while AR left > that slice's sales, subtract them and add its days;
                           then add days(slice) x AR left / sales(slice)
CEI                        (AR(start - 1) + S - AR(end)) / (AR(start - 1) + S - current AR(end)) x 100
aging                      open amount at ``as_of`` by days past due: current (<= 0), 1-30, 31-60, 61-90, 90+
collected per step         payments in the period credited to the last message (step) on the same invoice
                           (or to the debtor, for messages without an invoice) sent on or before the payment
                           and at most ``window_days`` earlier; the rest to "" (paid without a reminder)
promises kept rate         kept / (kept + broken) among promises whose promised date lies in the period
13-week cash forecast      per open invoice: the share (1 - p) of the open amount on max(due date, as_of) and
                           the share p on max(due date + min(E / p, 365), as_of), where p = P(late) and E =
                           expected days late (E / p: the expected delay of a late payment); summed by week
                           k = 0..12 covering as_of + 7k .. as_of + 7k + 6; what falls later is ``later``;
                           items more than ``doubtful_after_days`` (90) past due are not forecast but
                           reported as ``doubtful`` (their history says nothing about when they will come)
=========================  ==================================================================================
"""

from __future__ import annotations

import calendar
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from mahnwerk.core.behaviour import InvoiceRecord, MessageRecord, PromiseRecord
from mahnwerk.core.money import round_half_up
from mahnwerk.core.prediction import MAX_DAYS_LATE, Prediction


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a period cannot end before it starts")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))


def _one_currency(invoices: Sequence[InvoiceRecord]) -> None:
    currencies = {i.currency for i in invoices}
    if len(currencies) > 1:
        raise ValueError(f"KPIs need one currency; found {', '.join(sorted(currencies))}")


def receivables_at(invoices: Iterable[InvoiceRecord], day: date) -> int:
    """AR(day): open at the end of ``day``."""
    return sum(i.open_at(day) for i in invoices)


def current_receivables_at(invoices: Iterable[InvoiceRecord], day: date) -> int:
    """Open at the end of ``day`` and not past due (``due_date >= day``)."""
    return sum(i.open_at(day) for i in invoices if i.due_date >= day)


def credit_sales(invoices: Iterable[InvoiceRecord], start: date, end: date) -> int:
    return sum(i.amount_minor for i in invoices if start <= i.issue_date <= end)


def dso_simple(invoices: Sequence[InvoiceRecord], period: Period) -> float | None:
    """DSO = AR(end) / credit sales of the period x days of the period; None without sales."""
    _one_currency(invoices)
    sales = credit_sales(invoices, period.start, period.end)
    return receivables_at(invoices, period.end) / sales * period.days if sales else None


def best_possible_dso(invoices: Sequence[InvoiceRecord], period: Period) -> float | None:
    """Best possible DSO = current AR(end) / credit sales x days; None without sales."""
    _one_currency(invoices)
    sales = credit_sales(invoices, period.start, period.end)
    return current_receivables_at(invoices, period.end) / sales * period.days if sales else None


def average_days_delinquent(invoices: Sequence[InvoiceRecord], period: Period) -> float | None:
    """ADD = DSO - best possible DSO: the days that past-due receivables add."""
    dso = dso_simple(invoices, period)
    best = best_possible_dso(invoices, period)
    return None if dso is None or best is None else dso - best


def dso_count_back(invoices: Sequence[InvoiceRecord], end: date, max_months: int = 24) -> float | None:
    """Count-back DSO at ``end`` (see the module doc); None if AR exceeds ``max_months`` of sales."""
    _one_currency(invoices)
    left = receivables_at(invoices, end)
    days = 0.0
    if left == 0:
        return 0.0
    slice_end = end
    for _ in range(max_months):
        slice_start = slice_end.replace(day=1)
        length = (slice_end - slice_start).days + 1
        sales = credit_sales(invoices, slice_start, slice_end)
        if left > sales:
            left -= sales
            days += length
        else:
            return days + length * left / sales
        slice_end = slice_start - timedelta(days=1)
    return None


def cei(invoices: Sequence[InvoiceRecord], period: Period) -> float | None:
    """Collection effectiveness index in percent (see the module doc); None when the divisor is 0."""
    _one_currency(invoices)
    beginning = receivables_at(invoices, period.start - timedelta(days=1))
    sales = credit_sales(invoices, period.start, period.end)
    collectible = beginning + sales
    divisor = collectible - current_receivables_at(invoices, period.end)
    if divisor == 0:
        return None
    return (collectible - receivables_at(invoices, period.end)) / divisor * 100


AGING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("current", -(10**9), 0),
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("90+", 91, None),
)


@dataclass(frozen=True, slots=True)
class AgingBucket:
    label: str
    amount_minor: int
    count: int


def aging(invoices: Sequence[InvoiceRecord], as_of: date) -> list[AgingBucket]:
    """Open amount and count at the end of ``as_of`` by days past due."""
    _one_currency(invoices)
    amounts = [0] * len(AGING_BUCKETS)
    counts = [0] * len(AGING_BUCKETS)
    for inv in invoices:
        open_minor = inv.open_at(as_of)
        if open_minor <= 0:
            continue
        past_due = (as_of - inv.due_date).days
        for k, (_, low, high) in enumerate(AGING_BUCKETS):
            if past_due >= low and (high is None or past_due <= high):
                amounts[k] += open_minor
                counts[k] += 1
                break
    return [AgingBucket(label, amounts[k], counts[k]) for k, (label, _, _) in enumerate(AGING_BUCKETS)]


def collected_per_step(
    invoices: Iterable[InvoiceRecord],
    messages: Iterable[MessageRecord],
    period: Period,
    window_days: int = 30,
) -> dict[str, int]:
    """Payments in the period by the playbook step that preceded them ("" = without a reminder)."""
    by_invoice: dict[str, list[MessageRecord]] = defaultdict(list)
    by_debtor: dict[str, list[MessageRecord]] = defaultdict(list)
    for m in messages:
        (by_invoice[m.invoice_id] if m.invoice_id is not None else by_debtor[m.debtor_id]).append(m)
    result: dict[str, int] = defaultdict(int)
    for inv in invoices:
        candidates = by_invoice.get(inv.invoice_id, []) + by_debtor.get(inv.debtor_id, [])
        for when, minor in inv.payment_events():
            if not period.start <= when <= period.end:
                continue
            earlier = [m for m in candidates if when - timedelta(days=window_days) <= m.sent_on <= when]
            step = max(earlier, key=lambda m: (m.sent_on, m.step)).step if earlier else ""
            result[step] += minor
    return dict(sorted(result.items()))


def promises_kept_rate(promises: Iterable[PromiseRecord], period: Period) -> float | None:
    """kept / (kept + broken) among resolved promises falling due in the period; None if none."""
    kept = broken = 0
    for p in promises:
        if period.start <= p.promised_date <= period.end and p.kept is not None:
            kept += p.kept
            broken += not p.kept
    return kept / (kept + broken) if kept + broken else None


@dataclass(frozen=True, slots=True)
class ForecastWeek:
    start: date
    end: date
    expected_minor: int


@dataclass(frozen=True, slots=True)
class CashForecast:
    weeks: list[ForecastWeek]
    later_minor: int  # expected after the last week
    unpredicted_minor: int  # open amounts without a probability (no history at all)
    doubtful_minor: int = 0  # items more than ``doubtful_after_days`` past due: not forecast

    @property
    def total_minor(self) -> int:
        weeks = sum(w.expected_minor for w in self.weeks)
        return weeks + self.later_minor + self.unpredicted_minor + self.doubtful_minor


def cash_forecast(
    predictions: Iterable[Prediction], as_of: date, weeks: int = 13, doubtful_after_days: int = 90
) -> CashForecast:
    """Expected receipts per week from predictions (see the module doc). No cent is lost: the on-time
    share is rounded half up and the late share is the rest, so the total equals the open amount."""
    buckets = [0] * weeks
    later = unpredicted = doubtful = 0

    def put(day: date, minor: int, delay_days: int = 0) -> None:
        nonlocal later
        # in whole days, not as a date: a due date near date.max plus a delay must not overflow
        k = max(0, (day - as_of).days + delay_days) // 7
        if k < weeks:
            buckets[k] += minor
        else:
            later += minor

    for p in predictions:
        if p.open_minor <= 0:
            continue
        if (as_of - p.due_date).days > doubtful_after_days:
            doubtful += p.open_minor
            continue
        if p.p_late is None:
            unpredicted += p.open_minor
            continue
        share = min(1.0, max(0.0, p.p_late))
        late_minor = round_half_up(Decimal(p.open_minor) * Decimal(repr(share)))
        put(p.due_date, p.open_minor - late_minor)
        if late_minor:
            # E / p is the delay of a late payment; capped like the regressor (a tiny p would explode it)
            delay = min(MAX_DAYS_LATE, (p.expected_days_late or 0.0) / share) if share > 0 else 0.0
            put(p.due_date, late_minor, math.ceil(delay))
    return CashForecast(
        [
            ForecastWeek(as_of + timedelta(days=7 * k), as_of + timedelta(days=7 * k + 6), buckets[k])
            for k in range(weeks)
        ],
        later,
        unpredicted,
        doubtful,
    )


@dataclass(frozen=True, slots=True)
class KpiReport:
    period: Period
    credit_sales_minor: int
    receivables_minor: int
    current_receivables_minor: int
    dso: float | None
    dso_count_back: float | None
    best_possible_dso: float | None
    average_days_delinquent: float | None
    cei: float | None
    aging: list[AgingBucket]
    collected_per_step: dict[str, int]
    promises_kept_rate: float | None
    forecast: CashForecast | None


def kpi_report(
    invoices: Sequence[InvoiceRecord],
    period: Period,
    messages: Iterable[MessageRecord] = (),
    promises: Iterable[PromiseRecord] = (),
    predictions: Iterable[Prediction] | None = None,
) -> KpiReport:
    """All KPIs of one company for ``period``; aging and forecast as of ``period.end``."""
    return KpiReport(
        period=period,
        credit_sales_minor=credit_sales(invoices, period.start, period.end),
        receivables_minor=receivables_at(invoices, period.end),
        current_receivables_minor=current_receivables_at(invoices, period.end),
        dso=dso_simple(invoices, period),
        dso_count_back=dso_count_back(invoices, period.end),
        best_possible_dso=best_possible_dso(invoices, period),
        average_days_delinquent=average_days_delinquent(invoices, period),
        cei=cei(invoices, period),
        aging=aging(invoices, period.end),
        collected_per_step=collected_per_step(invoices, messages, period),
        promises_kept_rate=promises_kept_rate(promises, period),
        forecast=None if predictions is None else cash_forecast(predictions, period.end),
    )
