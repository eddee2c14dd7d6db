"""Allocation of a payment or credit to open items: the named item first, then oldest due first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class OpenItem:
    key: int
    due_date: date
    open_minor: int


@dataclass(frozen=True, slots=True)
class Allocation:
    key: int
    amount_minor: int


def allocate(
    amount_minor: int, items: Iterable[OpenItem], named: int | None = None
) -> tuple[list[Allocation], int]:
    """Spread ``amount_minor`` over ``items``; return the allocations and the unallocated remainder.

    The item named by the payment (its reference or invoice number) is served first; the rest go
    oldest due date first (ties by key, so the order is deterministic). Nothing is lost: the sum of
    the allocations plus the remainder always equals the amount.
    """
    if amount_minor < 0:
        raise ValueError("cannot allocate a negative amount")
    ordered = sorted((i for i in items if i.open_minor > 0), key=lambda i: (i.key != named, i.due_date, i.key))
    left = amount_minor
    result: list[Allocation] = []
    for item in ordered:
        if left == 0:
            break
        share = min(left, item.open_minor)
        result.append(Allocation(item.key, share))
        left -= share
    return result, left
