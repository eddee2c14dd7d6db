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
