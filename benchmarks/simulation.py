#!/usr/bin/env python3
"""A simulated year of collection and its audit, printed as one table.

    python benchmarks/simulation.py [--debtors 2000] [--days 365] [--seed 7] [--pdfs] [--keep DIR]

``mahnwerk.simulation.simulate`` builds a company in a fresh SQLite database and replays the period day by
day: invoices, payments (exact, partial, over, late, a few cents short, and some recorded while the run is
between its decision and its write), promises, instalment plans, disputes, offers, call outcomes, hard
bounces, the daily run and the daily print batch. Then ``mahnwerk.comms.audit.audit_messages`` checks
every message against the rules. Printed: the time of the simulation and of the audit (with its number of
SQL queries), how many messages were audited and how many violations were found, per rule, and how often
each kind of event happened. Without ``--pdfs`` letters and PDF attachments are rendered as HTML only.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from run import setup_django  # the benchmarks' shared set-up


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--debtors", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pdfs", action="store_true", help="render letters and attachments as real PDFs")
    parser.add_argument(
        "--keep", type=Path, help="simulate into this directory and keep it (default: a temp dir)"
    )
    parser.add_argument("--echo", action="store_true", help="print a line per simulated day (to stderr)")
    args = parser.parse_args()

    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="mahnwerk-simulation-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        setup_django(data_dir)
        from django.core.management import call_command
        from django.db import connection

        from mahnwerk.comms.audit import audit_messages
        from mahnwerk.simulation import EVENT_KINDS, simulate

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        result = simulate(
            args.debtors,
            args.days,
            args.seed,
            render_pdfs=args.pdfs,
            echo=(lambda line: print(line, file=sys.stderr)) if args.echo else None,
        )
        simulated = time.perf_counter() - started
        queries = 0

        def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            started = time.perf_counter()
            report = audit_messages(result.company)
            audited = time.perf_counter() - started
    finally:
        if args.keep is None:
            shutil.rmtree(data_dir, ignore_errors=True)

    print(
        f"{'debtors':>8} {'days':>5} {'invoices':>9} {'messages':>9} {'calls':>6} "
        f"{'simulate s':>11} {'audit s':>8} {'queries':>8} {'violations':>11}"
    )
    print(
        f"{result.debtors:>8} {args.days:>5} {result.invoices:>9} {report.messages:>9} {report.calls:>6} "
        f"{simulated:>11.1f} {audited:>8.2f} {queries:>8} {len(report.violations):>11}"
    )
    for rule, n in sorted(report.by_rule.items()):
        print(f"  violations {rule:<28} {n:>8}")
    print("  events: " + ", ".join(f"{kind} {result.events[kind]}" for kind in EVENT_KINDS))
    missing = result.missing_kinds()
    if missing:
        print("  never happened: " + ", ".join(missing))


if __name__ == "__main__":
    main()
