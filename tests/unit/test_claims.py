"""Allocation of payments over claim components (§ 367 BGB; Latvia) across several invoices."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from mahnwerk.core.claims import ClaimBalance, allocate_payment, apply_allocations
from mahnwerk.core.rulesets import Component, packaged_rulebook

DE_ORDER = packaged_rulebook().get("DE", "business", date(2024, 1, 1)).allocation_order
LV_ORDER = packaged_rulebook().get("LV", "business", date(2024, 1, 1)).allocation_order
C = Component


def test_de_367_oldest_invoice_first() -> None:
    old = ClaimBalance("R-1", date(2024, 1, 31), principal_minor=50000, interest_minor=1234, costs_minor=4100)
    new = ClaimBalance("R-2", date(2024, 2, 29), principal_minor=30000, interest_minor=500, costs_minor=4000)
    # 600.00: R-1 costs 41.00, interest 12.34, principal 500.00 (= 553.34); 46.66 left for R-2: costs 40.00,
    # interest 5.00, principal 1.66
    allocs, left = allocate_payment(60000, [new, old], DE_ORDER)
    assert [(a.key, a.component, a.amount_minor) for a in allocs] == [
        ("R-1", C.COSTS, 4100),
        ("R-1", C.INTEREST, 1234),
        ("R-1", C.PRINCIPAL, 50000),
        ("R-2", C.COSTS, 4000),
        ("R-2", C.INTEREST, 500),
        ("R-2", C.PRINCIPAL, 166),
    ]
    assert left == 0
    after = apply_allocations([old, new], allocs)
    assert after[1].principal_minor == 29834 and after[0].total_minor == 0


def test_lv_interest_then_principal_then_penalty() -> None:
    claim = ClaimBalance("A", date(2024, 1, 31), principal_minor=10000, interest_minor=300, costs_minor=700,
                         penalty_minor=1000)  # fmt: skip
    allocs, left = allocate_payment(10500, [claim], LV_ORDER)
    assert [(a.component, a.amount_minor) for a in allocs] == [
        (C.INTEREST, 300),
        (C.PRINCIPAL, 10000),
        (C.PENALTY, 200),
    ]
    assert left == 0


def test_named_claim_first_and_overpayment_returned() -> None:
    a = ClaimBalance("A", date(2024, 1, 1), principal_minor=100)
    b = ClaimBalance("B", date(2024, 2, 1), principal_minor=100)
    allocs, left = allocate_payment(250, [a, b], DE_ORDER, named="B")
    assert [(x.key, x.amount_minor) for x in allocs] == [("B", 100), ("A", 100)]
    assert left == 50


claims_strategy = st.lists(
    st.builds(
        ClaimBalance,
        key=st.uuids(),
        due_date=st.dates(min_value=date(2020, 1, 1), max_value=date(2025, 1, 1)),
        principal_minor=st.integers(0, 10**7),
        interest_minor=st.integers(0, 10**6),
        costs_minor=st.integers(0, 10**4),
        penalty_minor=st.integers(0, 10**5),
    ),
    max_size=8,
)


@given(st.integers(0, 3 * 10**7), claims_strategy, st.sampled_from([DE_ORDER, LV_ORDER]))
def test_allocation_never_loses_a_cent(amount, claims, order) -> None:
    allocs, left = allocate_payment(amount, claims, order)
    assert sum(a.amount_minor for a in allocs) + left == amount
    assert left >= 0
    total_open = sum(c.total_minor for c in claims)
    assert left == max(amount - total_open, 0)
    after = apply_allocations(claims, allocs)  # raises if a component went negative
    # oldest first, and within a claim in the rule set's order
    by_key = {c.key: c for c in after}
    ordered = sorted(claims, key=lambda c: c.due_date)
    served = [a.key for a in allocs]
    for i, claim in enumerate(ordered):
        if claim.key in served:
            for earlier in ordered[:i]:
                if earlier.due_date < claim.due_date:
                    assert by_key[earlier.key].total_minor == 0
    for key in set(served):
        rest = by_key[key]
        comps = [a.component for a in allocs if a.key == key]
        for c in comps[:-1]:
            assert rest.open(c) == 0


@given(st.integers(1, 10**6), st.integers(0, 10))
def test_same_due_date_keeps_input_order(amount, n) -> None:
    day = date(2024, 1, 1) + timedelta(days=n)
    a = ClaimBalance(1, day, principal_minor=amount)
    b = ClaimBalance(2, day, principal_minor=amount)
    allocs, _ = allocate_payment(amount, [a, b])
    assert [x.key for x in allocs] == [1]


# § 367(2) BGB: the debtor's own designation. A payment that names an invoice and pays at least its open
# principal settles that principal first; the rest goes by the rule set's order.


def test_named_exact_payment_settles_the_principal_interest_and_costs_stay_open() -> None:
    claim = ClaimBalance(
        "R-1", date(2024, 1, 31), principal_minor=10000, interest_minor=123, costs_minor=4100
    )
    # 100.00 naming R-1 = its open principal: all of it goes to the principal (not 41.00 costs, 1.23 interest
    # and 57.77 principal as § 367(1) alone would have it); 1.23 interest and 41.00 costs stay open
    allocs, left = allocate_payment(10000, [claim], DE_ORDER, named="R-1")
    assert [(a.key, a.component, a.amount_minor) for a in allocs] == [("R-1", C.PRINCIPAL, 10000)]
    assert left == 0
    (after,) = apply_allocations([claim], allocs)
    assert (after.principal_minor, after.interest_minor, after.costs_minor) == (0, 123, 4100)


def test_named_payment_beyond_the_principal_then_follows_the_rule_set_order() -> None:
    claim = ClaimBalance(
        "R-1", date(2024, 1, 31), principal_minor=10000, interest_minor=123, costs_minor=4100
    )
    # 105.00: principal 100.00 first, then 5.00 in the § 367(1) order: costs 5.00 (36.00 costs and 1.23 interest
    # stay open)
    allocs, left = allocate_payment(10500, [claim], DE_ORDER, named="R-1")
    assert [(a.component, a.amount_minor) for a in allocs] == [(C.PRINCIPAL, 10000), (C.COSTS, 500)]
    assert left == 0
    # 150.00: principal 100.00, costs 41.00, interest 1.23 = 142.23; 7.77 is an overpayment
    allocs, left = allocate_payment(15000, [claim], DE_ORDER, named="R-1")
    assert [(a.component, a.amount_minor) for a in allocs] == [
        (C.PRINCIPAL, 10000),
        (C.COSTS, 4100),
        (C.INTEREST, 123),
    ]
    assert left == 777


def test_named_newer_invoice_then_its_own_costs_then_the_oldest_claim() -> None:
    old = ClaimBalance("R-1", date(2024, 1, 31), principal_minor=5000, interest_minor=200)
    new = ClaimBalance("R-2", date(2024, 2, 29), principal_minor=3000, costs_minor=100)
    # 32.50 naming R-2: R-2 principal 30.00, R-2 costs 1.00 (= 31.00); 1.50 left for R-1: interest 1.50
    allocs, left = allocate_payment(3250, [old, new], DE_ORDER, named="R-2")
    assert [(a.key, a.component, a.amount_minor) for a in allocs] == [
        ("R-2", C.PRINCIPAL, 3000),
        ("R-2", C.COSTS, 100),
        ("R-1", C.INTEREST, 150),
    ]
    assert left == 0


def test_named_payment_below_the_principal_keeps_the_367_1_order() -> None:
    claim = ClaimBalance(
        "R-1", date(2024, 1, 31), principal_minor=10000, interest_minor=123, costs_minor=4100
    )
    # 99.99 < 100.00 open principal: no designation to honour; costs 41.00, interest 1.23, principal
    # 99.99 - 42.23 = 57.76 (42.24 principal stays open)
    allocs, left = allocate_payment(9999, [claim], DE_ORDER, named="R-1")
    assert [(a.component, a.amount_minor) for a in allocs] == [
        (C.COSTS, 4100),
        (C.INTEREST, 123),
        (C.PRINCIPAL, 5776),
    ]
    assert left == 0


def test_named_payment_latvian_order_after_the_principal() -> None:
    claim = ClaimBalance(
        "A", date(2024, 1, 31), principal_minor=10000, interest_minor=300, penalty_minor=1000
    )
    # 105.00 naming A: principal 100.00, then interest 3.00, penalty 2.00 (8.00 penalty stays open)
    allocs, left = allocate_payment(10500, [claim], LV_ORDER, named="A")
    assert [(a.component, a.amount_minor) for a in allocs] == [
        (C.PRINCIPAL, 10000),
        (C.INTEREST, 300),
        (C.PENALTY, 200),
    ]
    assert left == 0


def test_named_claim_without_open_principal_or_unknown_goes_by_the_order() -> None:
    fees_only = ClaimBalance("R-1", date(2024, 1, 31), interest_minor=123, costs_minor=4100)
    other = ClaimBalance("R-2", date(2024, 3, 31), principal_minor=2000)
    # R-1 has no principal open: costs 41.00, interest 1.23, then R-2 principal 7.77 (50.00 - 42.23)
    allocs, left = allocate_payment(5000, [other, fees_only], DE_ORDER, named="R-1")
    assert [(a.key, a.component, a.amount_minor) for a in allocs] == [
        ("R-1", C.COSTS, 4100),
        ("R-1", C.INTEREST, 123),
        ("R-2", C.PRINCIPAL, 777),
    ]
    # a name that is not among the open claims: oldest first, § 367(1) within each
    allocs, left = allocate_payment(5000, [other, fees_only], DE_ORDER, named="R-9")
    assert [(a.key, a.component) for a in allocs][:2] == [("R-1", C.COSTS), ("R-1", C.INTEREST)]
    assert left == 0


@given(
    st.integers(0, 3 * 10**7),
    claims_strategy.filter(bool),
    st.sampled_from([DE_ORDER, LV_ORDER]),
    st.data(),
)
def test_named_allocation_never_loses_a_cent(amount, claims, order, data) -> None:
    named = data.draw(st.sampled_from([c.key for c in claims]))
    allocs, left = allocate_payment(amount, claims, order, named=named)
    assert sum(a.amount_minor for a in allocs) + left == amount
    assert left == max(amount - sum(c.total_minor for c in claims), 0)
    after = {c.key: c for c in apply_allocations(claims, allocs)}  # raises if a component went negative
    target = next(c for c in claims if c.key == named)
    if amount >= target.principal_minor:
        assert after[named].principal_minor == 0
    else:  # no designation: the rule set's order on the named claim first
        assert [a.key for a in allocs] == [named] * len(allocs)
        comps = [a.component for a in allocs]
        for c in comps[:-1]:
            assert after[named].open(c) == 0
