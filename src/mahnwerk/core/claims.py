"""Allocation of a payment over the components of one or several claims.

A claim (one invoice or instalment) owes up to four components: costs (reminder fees, the flat
compensation, agency costs), interest, principal and a contractual penalty. A payment is applied
claim by claim -- the claim the payment names first, then the oldest due date first -- and within a
claim in the rule set's order: Germany (§ 367 BGB) costs -> interest -> principal; Latvia interest ->
principal -> penalty. Nothing is lost: the allocations plus the unapplied remainder always add up to
the payment, and no component receives more than is open on it.

The debtor's own designation (§ 367(2) BGB): a payment that names a claim and pays at least its open
principal settles that principal first -- the debtor paid *that invoice*, and the creditor accepts the
designation by keeping the money. What is left of the payment then goes by the rule set's order (the
named claim's costs and interest, then the other claims, oldest first); interest and costs the payment
does not cover stay open as a claim of their own. A payment that names a claim but pays less than its
open principal is applied in the rule set's order like any other.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from mahnwerk.core.rulesets import Component

DE_ORDER: tuple[Component, ...] = (
    Component.COSTS,
    Component.INTEREST,
    Component.PRINCIPAL,
    Component.PENALTY,
)


@dataclass(frozen=True, slots=True)
class ClaimBalance:
    """What is open on one claim, in minor units of one currency."""

    key: Hashable
    due_date: date
    principal_minor: int = 0
    interest_minor: int = 0
    costs_minor: int = 0
    penalty_minor: int = 0

    def __post_init__(self) -> None:
        if min(self.principal_minor, self.interest_minor, self.costs_minor, self.penalty_minor) < 0:
            raise ValueError("open amounts must not be negative")

    def open(self, component: Component) -> int:
        return {
            Component.COSTS: self.costs_minor,
            Component.INTEREST: self.interest_minor,
            Component.PRINCIPAL: self.principal_minor,
            Component.PENALTY: self.penalty_minor,
        }[component]

    @property
    def total_minor(self) -> int:
        return self.principal_minor + self.interest_minor + self.costs_minor + self.penalty_minor


@dataclass(frozen=True, slots=True)
class ComponentAllocation:
    key: Hashable
    component: Component
    amount_minor: int


def split_by_order(
    amount_minor: int, open_by_component: Mapping[Component, int], order: Sequence[Component]
) -> tuple[dict[Component, int], int]:
    """Serve the components of one claim in ``order``; return the shares and what is left of the amount."""
    if amount_minor < 0:
        raise ValueError("cannot allocate a negative amount")
    if len(set(order)) != len(order):
        raise ValueError("the allocation order names a component twice")
    shares: dict[Component, int] = {}
    left = amount_minor
    for component in order:
        share = min(left, max(open_by_component.get(component, 0), 0))
        shares[component] = share
        left -= share
    # components the order does not name are served last, in a fixed order, so no cent is stranded
    for component in DE_ORDER:
        if component not in shares:
            share = min(left, max(open_by_component.get(component, 0), 0))
            shares[component] = share
            left -= share
    return shares, left


def allocate_payment(
    amount_minor: int,
    claims: Iterable[ClaimBalance],
    order: Sequence[Component] = DE_ORDER,
    named: Hashable | None = None,
) -> tuple[list[ComponentAllocation], int]:
    """Spread a payment over claims and their components; return the allocations and the remainder.

    The claim ``named`` by the payment goes first, then the oldest due date first (ties by the order
    given). When the payment covers the named claim's open principal, that principal is served before
    anything else (§ 367(2) BGB, see the module doc). The remainder is an overpayment the caller books
    as a credit.
    """
    if amount_minor < 0:
        raise ValueError("cannot allocate a negative amount")
    indexed = list(enumerate(claims))
    indexed.sort(key=lambda ic: (named is None or ic[1].key != named, ic[1].due_date, ic[0]))
    result: list[ComponentAllocation] = []
    left = amount_minor
    designated: ClaimBalance | None = None
    if named is not None and indexed and indexed[0][1].key == named:
        first = indexed[0][1]
        if 0 < first.principal_minor <= amount_minor:
            designated = first
            result.append(ComponentAllocation(first.key, Component.PRINCIPAL, first.principal_minor))
            left -= first.principal_minor
    for _, claim in indexed:
        if left == 0:
            break
        open_by_component = {c: claim.open(c) for c in Component}
        if claim is designated:
            open_by_component[Component.PRINCIPAL] = 0  # already settled by the designation
        shares, left = split_by_order(left, open_by_component, order)
        result.extend(ComponentAllocation(claim.key, c, a) for c, a in shares.items() if a > 0)
    return result, left


def apply_allocations(
    claims: Iterable[ClaimBalance], allocations: Iterable[ComponentAllocation]
) -> list[ClaimBalance]:
    """The claims after the allocations were paid (for a statement or the next run)."""
    paid: dict[tuple[Hashable, Component], int] = {}
    for a in allocations:
        paid[(a.key, a.component)] = paid.get((a.key, a.component), 0) + a.amount_minor
    out: list[ClaimBalance] = []
    for c in claims:
        out.append(
            ClaimBalance(
                key=c.key,
                due_date=c.due_date,
                principal_minor=c.principal_minor - paid.get((c.key, Component.PRINCIPAL), 0),
                interest_minor=c.interest_minor - paid.get((c.key, Component.INTEREST), 0),
                costs_minor=c.costs_minor - paid.get((c.key, Component.COSTS), 0),
                penalty_minor=c.penalty_minor - paid.get((c.key, Component.PENALTY), 0),
            )
        )
    return out
