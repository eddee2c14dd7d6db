"""Fees a creditor may add to a late claim: flat compensation, reminder fees, a contractual penalty.

* Flat compensation (Germany § 288 (5) BGB, Latvia Civillikums § 1668.9, Directive 2011/7/EU Art. 6):
  40 EUR per late payment -- each invoice or instalment (CJEU C-370/21) -- for business debtors only;
  the amount comes from the rule set (0 where none is due). It is credited against later collection
  costs (agency or lawyer) in so far as those are claimed for the same claim.
* Reminder fees: none for the first, default-causing reminder where the rule set says so (Germany);
  otherwise the actual cost of a reminder (the rule set's amount, or the caller's own figure); Latvia,
  consumers (Cabinet Regulation 61/2013): at most 7 EUR for the first notice, 10 EUR for all further
  actions together, 17 EUR per debt in total.
* A contractual penalty is capped at a share of the principal where the rule set says so (Latvia 10 %).
"""

from __future__ import annotations

from dataclasses import dataclass

from mahnwerk.core.rates import RATE_SCALE
from mahnwerk.core.rulesets import FeePolicy


@dataclass(frozen=True, slots=True)
class FeeDecision:
    amount_minor: int
    reason: str  # "fee", "default_causing_reminder_free", "capped", "cap_reached", "no_fee"


def flat_compensation_minor(policy: FeePolicy, late_items: int = 1) -> int:
    """Flat compensation for ``late_items`` late invoices or instalments, in ``policy.currency``."""
    if late_items < 0:
        raise ValueError("late_items must not be negative")
    return policy.flat_compensation_minor * late_items


def collection_costs_after_credit(agency_costs_minor: int, compensation_minor: int) -> int:
    """The part of agency or lawyer costs still claimable once the flat compensation is credited."""
    if agency_costs_minor < 0 or compensation_minor < 0:
        raise ValueError("amounts must not be negative")
    return max(agency_costs_minor - compensation_minor, 0)


def reminder_fee(
    policy: FeePolicy,
    *,
    first_notice: bool,
    default_causing: bool,
    charged_first_minor: int = 0,
    charged_further_minor: int = 0,
    cost_minor: int | None = None,
) -> FeeDecision:
    """The fee one reminder may carry for one claim.

    ``first_notice``: this is the first reminder or notice for the claim. ``default_causing``: this
    reminder puts the debtor in default. ``charged_first_minor`` / ``charged_further_minor``: fees
    already charged on this claim for the first notice and for all later actions. ``cost_minor``:
    the actual cost of this reminder if the caller knows it (else the rule set's amount).
    """
    if min(charged_first_minor, charged_further_minor) < 0 or (cost_minor is not None and cost_minor < 0):
        raise ValueError("amounts must not be negative")
    if default_causing and policy.first_reminder_free:
        return FeeDecision(0, "default_causing_reminder_free")
    wanted = policy.reminder_fee_minor if cost_minor is None else cost_minor
    if wanted == 0:
        return FeeDecision(0, "no_fee")
    room = wanted
    if first_notice and policy.first_notice_cap_minor is not None:
        room = min(room, max(policy.first_notice_cap_minor - charged_first_minor, 0))
    if not first_notice and policy.further_total_cap_minor is not None:
        room = min(room, max(policy.further_total_cap_minor - charged_further_minor, 0))
    if policy.total_cap_minor is not None:
        room = min(room, max(policy.total_cap_minor - charged_first_minor - charged_further_minor, 0))
    if room == wanted:
        return FeeDecision(wanted, "fee")
    return FeeDecision(room, "capped" if room > 0 else "cap_reached")


def penalty_cap_minor(policy: FeePolicy, principal_minor: int) -> int | None:
    """The largest contractual penalty allowed on ``principal_minor`` (rounded down), None if uncapped."""
    if policy.penalty_cap_units is None:
        return None
    return principal_minor * policy.penalty_cap_units // (100 * RATE_SCALE)
