"""Experiments in the core: assignment, intervals, verdicts — on seeded simulated data with a known answer."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from mahnwerk.core.experiments import (
    DebtorOutcome,
    Verdict,
    assign_balanced,
    bootstrap_difference,
    bootstrap_mean,
    evaluate,
    newcombe,
    wilson,
)

CONTROL, VARIANT = 1, 2


def simulate(n: int, p_control: float, p_variant: float, seed: int) -> list[DebtorOutcome]:
    """``n`` debtors per arm; each pays in full within 30 days with its arm's chance (then 500.00 after 3 to
    20 days), else a quarter of that."""
    rng = random.Random(seed)
    out = []
    for arm, p in ((CONTROL, p_control), (VARIANT, p_variant)):
        for _ in range(n):
            paid = rng.random() < p
            out.append(
                DebtorOutcome(
                    arm=arm,
                    mature=True,
                    collected_in_window=paid,
                    days_to_pay=rng.randint(3, 20) if paid else None,
                    collected_minor=50_000 if paid else 12_500 * rng.randint(0, 1),
                    opted_out=rng.random() < 0.02,
                    disputed=rng.random() < 0.03,
                )
            )
    return out


def test_wilson_interval_known_values() -> None:
    e = wilson(5, 10)
    assert (
        e.value == 0.5
        and e.low == pytest.approx(0.2366, abs=1e-4)
        and e.high == pytest.approx(0.7634, abs=1e-4)
    )
    zero = wilson(0, 10)
    assert zero.low == 0.0 and zero.high == pytest.approx(0.2775, abs=1e-4)  # never below 0, unlike Wald
    assert wilson(0, 0).value is None


def test_newcombe_difference_known_values() -> None:
    # Newcombe (1998), example (a): 56/70 against 48/80: difference 0.2, interval 0.0524 to 0.3339
    e = newcombe(56, 70, 48, 80)
    assert e.value == pytest.approx(0.2) and e.low == pytest.approx(0.0524, abs=1e-3)
    assert e.high == pytest.approx(0.3339, abs=1e-3)


def test_a_known_uplift_is_recovered_within_its_interval() -> None:
    report = evaluate(simulate(600, 0.30, 0.45, seed=7), [CONTROL, VARIANT], seed=7)
    variant = report.arms[1]
    assert variant.uplift.low is not None and variant.uplift.high is not None
    assert variant.uplift.low <= 0.15 <= variant.uplift.high
    assert variant.uplift.low > 0 and variant.verdict is Verdict.BETTER
    assert report.enough_data and report.winner == VARIANT
    # more paid in full, so more collected per debtor: the amount interval says so too
    assert variant.amount_uplift.low is not None and variant.amount_uplift.low > 0
    assert report.arms[0].verdict is Verdict.CONTROL


def test_no_uplift_says_no_difference() -> None:
    report = evaluate(simulate(600, 0.35, 0.35, seed=11), [CONTROL, VARIANT], seed=11)
    variant = report.arms[1]
    assert variant.uplift.low is not None and variant.uplift.high is not None
    assert variant.uplift.low < 0 < variant.uplift.high
    assert variant.verdict is Verdict.NO_DIFFERENCE and report.winner is None


def test_a_worse_variant_leaves_the_control_the_winner() -> None:
    report = evaluate(simulate(600, 0.45, 0.30, seed=3), [CONTROL, VARIANT], seed=3)
    assert report.arms[1].verdict is Verdict.WORSE and report.winner == CONTROL


def test_too_few_debtors_is_not_enough_data_yet() -> None:
    outcomes = simulate(20, 0.2, 0.9, seed=5)  # a huge difference, but 20 per arm
    report = evaluate(outcomes, [CONTROL, VARIANT], min_n=30)
    assert not report.enough_data and report.winner is None
    assert {a.verdict for a in report.arms} == {Verdict.NOT_ENOUGH_DATA}
    # debtors whose 30 days have not passed do not count
    young = [
        DebtorOutcome(o.arm, False, o.collected_in_window, o.days_to_pay, 0, False, False) for o in outcomes
    ]
    assert evaluate(young * 3, [CONTROL, VARIANT], min_n=30).arms[1].mature == 0


def test_the_interval_covers_the_true_uplift_about_95_percent_of_the_time() -> None:
    covered = 0
    for seed in range(200):
        outcomes = simulate(150, 0.30, 0.40, seed=seed)
        hits = Counter(o.arm for o in outcomes if o.collected_in_window)
        u = newcombe(hits[VARIANT], 150, hits[CONTROL], 150)
        assert u.low is not None and u.high is not None
        covered += u.low <= 0.10 <= u.high
    assert 0.90 <= covered / 200 <= 0.99


def test_bootstrap_means_are_seeded_and_cover_the_mean() -> None:
    rng = random.Random(1)
    values = [rng.gauss(12.0, 4.0) for _ in range(200)]
    first, again = bootstrap_mean(values, seed=3), bootstrap_mean(values, seed=3)
    assert first == again
    assert first.low is not None and first.high is not None and first.low < 12.0 < first.high
    d = bootstrap_difference([v + 5 for v in values], values, seed=3)
    assert d.value == pytest.approx(5.0) and d.low is not None and d.high is not None and d.low < 5.0 < d.high
    assert bootstrap_mean([]).value is None and bootstrap_mean([4.0]).low is None


def test_assignment_is_random_balanced_per_segment_and_reproducible() -> None:
    strata = {"good": list(range(1, 101)), "risky": list(range(101, 132))}
    chosen = assign_balanced(strata, [CONTROL, VARIANT, 3], seed=42)
    assert set(chosen) == set(range(1, 132))
    for ids in strata.values():
        counts = Counter(chosen[i] for i in ids)
        assert max(counts.values()) - min(counts.values()) <= 1
    assert chosen == assign_balanced(strata, [CONTROL, VARIANT, 3], seed=42)
    assert chosen != assign_balanced(strata, [CONTROL, VARIANT, 3], seed=43)
    # newcomers fill the arms that have fewer so far
    later = assign_balanced({"good": [200, 201]}, [CONTROL, VARIANT], seed=1, existing={"good": {CONTROL: 5}})
    assert set(later.values()) == {VARIANT}
    with pytest.raises(ValueError):
        assign_balanced(strata, [CONTROL], seed=1)
