"""Properties of the interest engine that must hold for any input (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mahnwerk.core.interest import Payment, compute_interest, interest_many, rate_steps
from mahnwerk.core.rates import load_tables
from mahnwerk.core.rulesets import Component, DayCount, packaged_rulebook

TABLES = load_tables(None)
DE_B2B = packaged_rulebook().get("DE", "business", date(2020, 1, 1)).interest
LV_CONSUMER = packaged_rulebook().get("LV", "consumer", date(2020, 1, 1))
FIRST = date(2002, 1, 1)
LAST = date(2026, 6, 30)  # the last day the packaged DE table covers

principals = st.integers(min_value=0, max_value=10**9)
day_counts = st.sampled_from([DayCount.ACT365, DayCount.ACTACT])


@st.composite
def periods(draw: st.DrawFn, min_days: int = 1) -> tuple[date, date]:
    start = draw(st.dates(min_value=FIRST, max_value=LAST - timedelta(days=min_days)))
    length = draw(st.integers(min_value=min_days - 1, max_value=min(2500, (LAST - start).days)))
    return start, start + timedelta(days=length)


def total(principal: int, first: date, last: date, day_count: DayCount = DayCount.ACT365, **kw) -> int:
    steps = rate_steps(DE_B2B, TABLES, first, last)
    return compute_interest(principal, first, last, steps, day_count=day_count, **kw).interest_minor


@settings(max_examples=300, deadline=None)
@given(principals, periods(min_days=2), day_counts, st.data())
def test_splitting_a_period_changes_the_total_by_at_most_one_cent(principal, period, day_count, data) -> None:
    first, last = period
    cut = first + timedelta(days=data.draw(st.integers(min_value=0, max_value=(last - first).days - 1)))
    whole = total(principal, first, last, day_count)
    parts = total(principal, first, cut, day_count) + total(
        principal, cut + timedelta(days=1), last, day_count
    )
    assert abs(whole - parts) <= 1


@settings(max_examples=200, deadline=None)
@given(principals, periods(), st.integers(min_value=0, max_value=400), day_counts)
def test_interest_grows_with_time(principal, period, extra, day_count) -> None:
    first, last = period
    longer = min(last + timedelta(days=extra), LAST)
    assert total(principal, first, last, day_count) <= total(principal, first, longer, day_count)


@settings(max_examples=200, deadline=None)
@given(principals, principals, periods(), day_counts)
def test_interest_grows_with_principal(p1, p2, period, day_count) -> None:
    low, high = sorted((p1, p2))
    assert total(low, *period, day_count) <= total(high, *period, day_count)


@given(periods(), day_counts)
def test_zero_principal_gives_zero(period, day_count) -> None:
    assert total(0, *period, day_count) == 0


@st.composite
def payments_in(draw: st.DrawFn, first: date, last: date) -> list[Payment]:
    n = draw(st.integers(min_value=1, max_value=4))
    days = (last - first).days
    return [
        Payment(first + timedelta(days=draw(st.integers(0, days))), draw(st.integers(1, 10**8)))
        for _ in range(n)
    ]


@settings(max_examples=300, deadline=None)
@given(principals, periods(), st.integers(0, 10**6), st.data())
def test_a_payment_never_increases_interest(principal, period, costs, data) -> None:
    """Up to rounding: each payment adds one segment end, i.e. at most one cent of rounding."""
    first, last = period
    pays = data.draw(payments_in(first, last))
    without = total(principal, first, last, costs_minor=costs)
    with_payments = total(principal, first, last, costs_minor=costs, payments=pays)
    assert with_payments <= without + len(pays)


@settings(max_examples=200, deadline=None)
@given(principals, periods(), st.integers(0, 10**6), st.data())
def test_payments_are_fully_accounted_for(principal, period, costs, data) -> None:
    first, last = period
    pays = data.draw(payments_in(first, last))
    steps = rate_steps(DE_B2B, TABLES, first, last)
    r = compute_interest(principal, first, last, steps, payments=pays, costs_minor=costs)
    for p in r.payments:
        assert p.to_costs + p.to_interest + p.to_principal + p.to_penalty + p.unapplied == p.amount_minor
    paid_principal = sum(p.to_principal for p in r.payments)
    assert r.principal_open_minor == principal - paid_principal >= 0
    assert r.costs_open_minor == costs - sum(p.to_costs for p in r.payments) >= 0
    assert 0 <= r.interest_paid_minor <= r.interest_minor
    # the days on which interest ran are exactly the period while principal was open
    assert sum(s.days for s in r.segments) <= (last - first).days + 1
    for a, b in zip(r.segments, r.segments[1:], strict=False):
        assert a.end < b.start


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**8), periods(), st.data())
def test_lv_interest_never_exceeds_the_principal(principal, period, data) -> None:
    first, last = period
    pays = data.draw(st.one_of(st.just([]), payments_in(first, last)))
    steps = rate_steps(LV_CONSUMER.interest, TABLES, first, last)
    r = compute_interest(
        principal, first, last, steps, payments=pays, cap_at_principal=True,
        allocation_order=LV_CONSUMER.allocation_order,
    )  # fmt: skip
    assert r.interest_minor <= principal
    assert LV_CONSUMER.allocation_order[0] is Component.INTEREST


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(principals, periods()), min_size=1, max_size=40),
    day_counts,
)
def test_vectorised_path_equals_the_scalar_engine(pairs, day_count) -> None:
    p = np.array([x[0] for x in pairs], dtype=np.int64)
    f = np.array([x[1][0] for x in pairs], dtype="datetime64[D]")
    last = np.array([x[1][1] for x in pairs], dtype="datetime64[D]")
    lo, hi = min(x[1][0] for x in pairs), max(x[1][1] for x in pairs)
    got = interest_many(p, f, last, rate_steps(DE_B2B, TABLES, lo, hi), day_count)
    expected = [total(pr, a, b, day_count) for pr, (a, b) in pairs]
    assert got.tolist() == expected


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**6), periods()), min_size=1, max_size=20))
def test_vectorised_cap_equals_the_scalar_engine(pairs) -> None:
    rule = LV_CONSUMER.interest
    p = np.array([x[0] for x in pairs], dtype=np.int64)
    f = np.array([x[1][0] for x in pairs], dtype="datetime64[D]")
    last = np.array([x[1][1] for x in pairs], dtype="datetime64[D]")
    lo, hi = min(x[1][0] for x in pairs), max(x[1][1] for x in pairs)
    steps = rate_steps(rule, TABLES, lo, hi)
    got = interest_many(p, f, last, steps, cap_at_principal=True)
    expected = [
        compute_interest(pr, a, b, steps, cap_at_principal=True).interest_minor for pr, (a, b) in pairs
    ]
    assert got.tolist() == expected


def test_vectorised_cap_example() -> None:
    # 100.00 at 6 % over 18 years would be 108.07; capped at the principal: 100.00
    steps = rate_steps(LV_CONSUMER.interest, TABLES, date(2014, 1, 1), date(2031, 12, 31))
    got = interest_many(
        np.array([10000]), np.array(["2014-01-01"]), np.array(["2031-12-31"]), steps, cap_at_principal=True
    )
    assert got.tolist() == [10000]
