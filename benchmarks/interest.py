"""Interest throughput: (principal, period) pairs per second across German base-rate changes.

Run: ``.venv/bin/python benchmarks/interest.py [--pairs 1000000] [--repeat 5] [--seed 7]``

A seeded generator draws principals of 10.00 .. 100,000.00 EUR and default periods of 1 .. 730 days
starting between 2016 and 2025 (so most cross one or more 1 January / 1 July changes, many in the
negative base-rate years). Prints one table: the vectorised path (``interest_many``) for act365 and
actact, and the scalar engine (``compute_interest``, one claim at a time with a segment breakdown) on
a sample, with medians over ``--repeat`` runs. Before timing, the vectorised result is checked against
the scalar engine on the sample: they must agree to the cent.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date
from functools import partial

import numpy as np

from mahnwerk.core.interest import compute_interest, interest_many, rate_steps
from mahnwerk.core.rates import load_tables
from mahnwerk.core.rulesets import DayCount, packaged_rulebook

TARGET = 1_000_000  # pairs per second (design/benchmarks.md)


def generate(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    principal = rng.integers(1_000, 10_000_001, size=n, dtype=np.int64)
    lo = np.datetime64("2016-01-01")
    hi = np.datetime64("2026-06-30")
    first = lo + rng.integers(0, (np.datetime64("2025-12-31") - lo).astype(int), size=n).astype(
        "timedelta64[D]"
    )
    last = first + rng.integers(0, 730, size=n).astype("timedelta64[D]")
    last = np.minimum(last, hi)
    return principal, first, last


def timed(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--pairs", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--sample", type=int, default=20_000, help="pairs for the scalar engine and the cross-check"
    )
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    tables = load_tables(None)
    rule = packaged_rulebook().get("DE", "business", date(2020, 1, 1)).interest
    principal, first, last = generate(args.pairs, args.seed)
    lo = date.fromisoformat(str(first.min()))
    hi = date.fromisoformat(str(last.max()))
    steps = rate_steps(rule, tables, lo, hi)

    # correctness first: the vectorised path equals the scalar engine on a sample
    k = min(args.sample, args.pairs)
    firsts = [date.fromisoformat(str(d)) for d in first[:k]]
    lasts = [date.fromisoformat(str(d)) for d in last[:k]]
    pl = principal[:k].tolist()
    for dc in (DayCount.ACT365, DayCount.ACTACT):
        vec = interest_many(principal[:k], first[:k], last[:k], steps, dc).tolist()
        scalar = [
            compute_interest(p, a, b, steps, day_count=dc).interest_minor
            for p, a, b in zip(pl, firsts, lasts, strict=True)
        ]
        if vec != scalar:
            raise SystemExit(f"vectorised and scalar results differ ({dc})")

    rows = []
    for dc in (DayCount.ACT365, DayCount.ACTACT):
        secs = timed(partial(interest_many, principal, first, last, steps, dc), args.repeat)
        rows.append((f"interest_many ({dc})", args.pairs, secs))

    def scalar_run() -> None:
        for p, a, b in zip(pl, firsts, lasts, strict=True):
            compute_interest(p, a, b, steps)

    secs = timed(scalar_run, max(1, args.repeat // 2))
    rows.append(("compute_interest (act365, with segments)", k, secs))

    mean_days = float((last - first).astype(int).mean()) + 1
    segs = sum(
        len(compute_interest(p, a, b, steps).segments) for p, a, b in zip(pl, firsts, lasts, strict=True)
    )
    print(f"interest benchmark: seed {args.seed}, mean period {mean_days:.0f} days, "
          f"{segs / k:.2f} segments per pair, median of {args.repeat} runs")  # fmt: skip
    print(f"{'path':44} {'pairs':>10} {'seconds':>9} {'pairs/s':>12} {'target':>10} {'ok':>4}")
    for name, n, s in rows:
        rate = n / s
        ok = "yes" if rate >= TARGET else "no"
        target = f"{TARGET:,}" if name.startswith("interest_many") else "-"
        if target == "-":
            ok = "-"
        print(f"{name:44} {n:>10,} {s:>9.3f} {rate:>12,.0f} {target:>10} {ok:>4}")


if __name__ == "__main__":
    main()
