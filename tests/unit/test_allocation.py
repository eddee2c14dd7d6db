from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from mahnwerk.core.allocation import OpenItem, allocate

D = date.fromisoformat


def test_oldest_due_first_and_remainder_kept() -> None:
    items = [
        OpenItem(2, D("2026-03-01"), 5000),
        OpenItem(1, D("2026-02-01"), 3000),
        OpenItem(3, D("2026-04-01"), 1000),
    ]
    parts, left = allocate(10000, items)
    assert [(p.key, p.amount_minor) for p in parts] == [(1, 3000), (2, 5000), (3, 1000)]
    assert left == 1000


def test_named_item_is_served_first() -> None:
    items = [OpenItem(1, D("2026-02-01"), 3000), OpenItem(2, D("2026-03-01"), 5000)]
    parts, left = allocate(4000, items, named=2)
    assert [(p.key, p.amount_minor) for p in parts] == [(2, 4000)]
    assert left == 0


def test_partial_payment_leaves_the_rest_open_on_the_oldest() -> None:
    parts, left = allocate(1000, [OpenItem(1, D("2026-01-01"), 3000), OpenItem(2, D("2026-02-01"), 3000)])
    assert [(p.key, p.amount_minor) for p in parts] == [(1, 1000)]
    assert left == 0


@given(
    st.integers(0, 10**9),
    st.lists(st.tuples(st.dates(), st.integers(0, 10**7)), max_size=15),
    st.one_of(st.none(), st.integers(0, 20)),
)
def test_allocation_never_loses_a_cent(amount: int, rows: list[tuple[date, int]], named: int | None) -> None:
    items = [OpenItem(i, due, open_) for i, (due, open_) in enumerate(rows)]
    parts, left = allocate(amount, items, named=named)
    assert sum(p.amount_minor for p in parts) + left == amount
    opened = {i.key: i.open_minor for i in items}
    assert all(0 < p.amount_minor <= opened[p.key] for p in parts)
    assert left == 0 or sum(p.amount_minor for p in parts) == sum(opened.values())
