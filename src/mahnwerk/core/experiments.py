"""Experiments in the core: balanced random assignment stratified by segment, outcomes per arm with their
confidence intervals, and the verdict against the control arm. Plain data in and out.

Proportions (share collected within 30 days, opt-outs, disputes) get Wilson score intervals, the difference
of two proportions Newcombe's hybrid score interval (method 10); means (days to pay, amount collected) a
seeded percentile bootstrap. An arm with fewer than ``min_n`` debtors whose 30 days have passed is "not enough
data yet", whatever its interval says.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

Z95 = 1.959963984540054
MIN_N = 30
WINDOW_DAYS = 30
BOOTSTRAP_ROUNDS = 2000


# --------------------------------------------------------------------------------------------------
# Assignment


def assign_balanced(
    new: Mapping[str, Sequence[int]],
    arms: Sequence[int],
    seed: int | str,
    existing: Mapping[str, Mapping[int, int]] | None = None,
) -> dict[int, int]:
    """Unit id -> arm for the ``new`` units of each stratum (segment -> unit ids), at random and balanced
    within the stratum: each unit in a seeded random order goes to the arm with the fewest units so far
    (``existing``: per stratum, the count per arm already assigned), ties broken by a seeded random order of
    the arms. The same seed, strata and units give the same assignment."""
    if len(arms) < 2:
        raise ValueError("an experiment needs at least two arms")
    out: dict[int, int] = {}
    for stratum in sorted(new):
        rng = random.Random(f"{seed}:{stratum}")
        units = sorted(new[stratum])
        rng.shuffle(units)
        counts = {arm: (existing or {}).get(stratum, {}).get(arm, 0) for arm in arms}
        for unit in units:
            order = list(arms)
            rng.shuffle(order)
            arm = min(order, key=lambda a: counts[a])
            counts[arm] += 1
            out[unit] = arm
    return out


# --------------------------------------------------------------------------------------------------
# Intervals


@dataclass(frozen=True, slots=True)
class Estimate:
    value: float | None  # None: nothing to estimate (no observations)
    low: float | None
    high: float | None
    n: int

    def as_dict(self) -> dict[str, float | int | None]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {"value": r(self.value), "low": r(self.low), "high": r(self.high), "n": self.n}


def wilson(successes: int, n: int, z: float = Z95) -> Estimate:
    """The share with its Wilson score interval."""
    if n == 0:
        return Estimate(None, None, None, 0)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half), n)


def newcombe(s1: int, n1: int, s2: int, n2: int, z: float = Z95) -> Estimate:
    """Difference of two shares (first minus second) with Newcombe's hybrid score interval."""
    if n1 == 0 or n2 == 0:
        return Estimate(None, None, None, min(n1, n2))
    a, b = wilson(s1, n1, z), wilson(s2, n2, z)
    assert a.value is not None and a.low is not None and a.high is not None
    assert b.value is not None and b.low is not None and b.high is not None
    d = a.value - b.value
    low = d - math.sqrt((a.value - a.low) ** 2 + (b.high - b.value) ** 2)
    high = d + math.sqrt((a.high - a.value) ** 2 + (b.value - b.low) ** 2)
    return Estimate(d, low, high, min(n1, n2))


def _quantile(ordered: Sequence[float], q: float) -> float:
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def bootstrap_mean(values: Sequence[float], seed: int | str = 0, rounds: int = BOOTSTRAP_ROUNDS) -> Estimate:
    """The mean with a seeded 95 % percentile bootstrap interval."""
    n = len(values)
    if n == 0:
        return Estimate(None, None, None, 0)
    mean = sum(values) / n
    if n == 1:
        return Estimate(mean, None, None, 1)
    rng = random.Random(f"mean:{seed}")
    means = sorted(sum(rng.choices(values, k=n)) / n for _ in range(rounds))
    return Estimate(mean, _quantile(means, 0.025), _quantile(means, 0.975), n)


def bootstrap_difference(
    first: Sequence[float], second: Sequence[float], seed: int | str = 0, rounds: int = BOOTSTRAP_ROUNDS
) -> Estimate:
    """Difference of two means (first minus second) with a seeded percentile bootstrap interval."""
    if not first or not second:
        return Estimate(None, None, None, min(len(first), len(second)))
    d = sum(first) / len(first) - sum(second) / len(second)
    if len(first) < 2 or len(second) < 2:
        return Estimate(d, None, None, min(len(first), len(second)))
    rng = random.Random(f"diff:{seed}")
    diffs = sorted(
        sum(rng.choices(first, k=len(first))) / len(first)
        - sum(rng.choices(second, k=len(second))) / len(second)
        for _ in range(rounds)
    )
    return Estimate(d, _quantile(diffs, 0.025), _quantile(diffs, 0.975), min(len(first), len(second)))


# --------------------------------------------------------------------------------------------------
# Outcomes and verdict


@dataclass(frozen=True, slots=True)
class DebtorOutcome:
    """What followed one debtor's assignment. ``mature``: its 30 days have passed (only those count for the
    30-day measures)."""

    arm: int
    mature: bool
    collected_in_window: bool  # everything it owed when assigned was paid within 30 days
    days_to_pay: int | None  # days from assignment until it had paid that much (None: not yet)
    collected_minor: int  # paid within 30 days of the assignment
    opted_out: bool
    disputed: bool


class Verdict(StrEnum):
    NOT_ENOUGH_DATA = "not_enough_data"
    BETTER = "better"
    WORSE = "worse"
    NO_DIFFERENCE = "no_difference"
    CONTROL = "control"


@dataclass(frozen=True, slots=True)
class ArmResult:
    arm: int
    assigned: int
    mature: int
    collected_share: Estimate  # share collected within 30 days
    days_to_pay: Estimate  # mean days to pay, among those who paid within 30 days
    collected_minor: Estimate  # mean amount collected within 30 days per debtor
    opt_outs: Estimate
    disputes: Estimate
    uplift: Estimate  # share collected minus the control's (Newcombe)
    amount_uplift: Estimate  # mean amount collected minus the control's (bootstrap)
    verdict: Verdict

    def as_dict(self) -> dict[str, object]:
        return {
            "arm": self.arm,
            "assigned": self.assigned,
            "mature": self.mature,
            "collected_share": self.collected_share.as_dict(),
            "days_to_pay": self.days_to_pay.as_dict(),
            "collected_minor": self.collected_minor.as_dict(),
            "opt_outs": self.opt_outs.as_dict(),
            "disputes": self.disputes.as_dict(),
            "uplift": self.uplift.as_dict(),
            "amount_uplift": self.amount_uplift.as_dict(),
            "verdict": self.verdict.value,
        }


@dataclass(frozen=True, slots=True)
class Report:
    arms: list[ArmResult]
    enough_data: bool
    winner: int | None  # the arm to promote: better than the control on the share collected, or the control
    # when every other arm is worse; None while the data do not say
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "arms": [a.as_dict() for a in self.arms],
            "enough_data": self.enough_data,
            "winner": self.winner,
        }


def _verdict(uplift: Estimate) -> Verdict:
    if uplift.low is None or uplift.high is None:
        return Verdict.NOT_ENOUGH_DATA
    if uplift.low > 0:
        return Verdict.BETTER
    if uplift.high < 0:
        return Verdict.WORSE
    return Verdict.NO_DIFFERENCE


def evaluate(
    outcomes: Sequence[DebtorOutcome], arms: Sequence[int], min_n: int = MIN_N, seed: int | str = 0
) -> Report:
    """Outcomes per arm against the first arm (the control), with intervals and a verdict per arm."""
    if len(arms) < 2:
        raise ValueError("an experiment needs at least two arms")
    by_arm: dict[int, list[DebtorOutcome]] = defaultdict(list)
    for o in outcomes:
        by_arm[o.arm].append(o)
    control = arms[0]

    def mature(arm: int) -> list[DebtorOutcome]:
        return [o for o in by_arm[arm] if o.mature]

    enough = all(len(mature(a)) >= min_n for a in arms)
    base = mature(control)
    base_hits = sum(o.collected_in_window for o in base)
    base_amounts = [float(o.collected_minor) for o in base]
    results = []
    for arm in arms:
        done = mature(arm)
        hits = sum(o.collected_in_window for o in done)
        amounts = [float(o.collected_minor) for o in done]
        days = [float(o.days_to_pay) for o in done if o.collected_in_window and o.days_to_pay is not None]
        if arm == control:
            uplift = Estimate(0.0, None, None, len(done))
            amount_uplift = Estimate(0.0, None, None, len(done))
            verdict = Verdict.CONTROL if enough else Verdict.NOT_ENOUGH_DATA
        else:
            uplift = newcombe(hits, len(done), base_hits, len(base))
            amount_uplift = bootstrap_difference(amounts, base_amounts, f"{seed}:{arm}")
            verdict = _verdict(uplift) if enough else Verdict.NOT_ENOUGH_DATA
        everyone = by_arm[arm]
        results.append(
            ArmResult(
                arm=arm,
                assigned=len(everyone),
                mature=len(done),
                collected_share=wilson(hits, len(done)),
                days_to_pay=bootstrap_mean(days, f"{seed}:{arm}:days"),
                collected_minor=bootstrap_mean(amounts, f"{seed}:{arm}:amount"),
                opt_outs=wilson(sum(o.opted_out for o in everyone), len(everyone)),
                disputes=wilson(sum(o.disputed for o in everyone), len(everyone)),
                uplift=uplift,
                amount_uplift=amount_uplift,
                verdict=verdict,
            )
        )
    winner = None
    if enough:
        better = [r for r in results if r.verdict is Verdict.BETTER]
        if better:
            winner = max(better, key=lambda r: r.collected_share.value or 0.0).arm
        elif all(r.verdict is Verdict.WORSE for r in results if r.arm != control):
            winner = control
    return Report(results, enough, winner)
