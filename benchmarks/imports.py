#!/usr/bin/env python3
"""Spreadsheet import throughput, printed as one table.

    python benchmarks/imports.py [--invoices 100000] [--debtors 10000] [--repeat 1]
    python scripts/with_postgres.py -- python benchmarks/imports.py ...   (the same on PostgreSQL)

A deterministic CSV (seed 3, semicolon-separated, German dates and amounts) of D debtors and N invoices is
written and imported into a fresh SQLite database with ``ledger.imports.import_file`` — every cell checked,
then written in one transaction (default start and limitation date per invoice, one timeline event per
debtor). Measured, median of --repeat runs: the debtors file, the invoices file as a dry run (reading and
checking only) and as a real import. Target: 100,000 invoice rows per second (1M in 10 s).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from run import setup_django  # the benchmarks' shared set-up


def write_files(root: Path, n_debtors: int, n_invoices: int) -> tuple[Path, Path]:
    rng = random.Random(3)
    debtors = root / "debtors.csv"
    with debtors.open("w", encoding="utf-8") as fh:
        fh.write("number;name;kind;language;city;country\n")
        for n in range(n_debtors):
            fh.write(f"K{n:07d};Kunde {n} GmbH;business;de;Berlin;DE\n")
    invoices = root / "invoices.csv"
    start = date(2026, 1, 1)
    with invoices.open("w", encoding="utf-8") as fh:
        fh.write("number;debtor;issue_date;due_date;amount\n")
        for n in range(n_invoices):
            issue = start + timedelta(days=rng.randint(0, 300))
            due = issue + timedelta(days=30)
            minor = rng.randint(1_000, 5_000_000)
            amount = f"{minor // 100:,}".replace(",", ".") + f",{minor % 100:02d}"
            fh.write(f"RE-{n:08d};K{rng.randrange(n_debtors):07d};{issue:%d.%m.%Y};{due:%d.%m.%Y};{amount}\n")
    return debtors, invoices


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--debtors", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mahnwerk-bench-imports-"))
    try:
        data = root / "data"
        data.mkdir()
        # with MAHNWERK_DATABASE_URL (scripts/with_postgres.py) the database named there, else SQLite
        setup_django(data, os.environ.get("MAHNWERK_DATABASE_URL"))
        from django.core.management import call_command
        from django.db import connection

        from mahnwerk.demo import make_company
        from mahnwerk.ledger.imports import import_file
        from mahnwerk.ledger.models import Company, Invoice

        call_command("migrate", verbosity=0)
        sqlite = connection.vendor == "sqlite"
        database = data / "mahnwerk.sqlite3"
        pristine = root / "pristine.sqlite3"
        if sqlite:
            make_company("bench")
            connection.close()
            shutil.copy(database, pristine)
        debtors_file, invoices_file = write_files(root, args.debtors, args.invoices)
        times: dict[str, list[float]] = {"debtors": [], "invoices (dry run)": [], "invoices": []}
        for _ in range(args.repeat):
            if sqlite:
                connection.close()
                shutil.copy(pristine, database)
            else:  # each repeat from an empty database
                call_command("flush", interactive=False, verbosity=0)
                make_company("bench")
            company = Company.objects.get(slug="bench")
            started = time.perf_counter()
            import_file(company, "debtors", debtors_file, actor="bench")
            times["debtors"].append(time.perf_counter() - started)
            started = time.perf_counter()
            import_file(company, "invoices", invoices_file, actor="bench", dry_run=True)
            times["invoices (dry run)"].append(time.perf_counter() - started)
            started = time.perf_counter()
            import_file(company, "invoices", invoices_file, actor="bench")
            times["invoices"].append(time.perf_counter() - started)
            assert Invoice.objects.filter(company=company).count() == args.invoices
        rows = {"debtors": args.debtors, "invoices (dry run)": args.invoices, "invoices": args.invoices}
        engine = "SQLite" if sqlite else f"PostgreSQL {connection.pg_version // 10000}"
        print(f"CSV import into {engine}: {args.debtors:,} debtors, {args.invoices:,} invoices")
        print("| file | rows | median | rows/s |")
        print("|---|---|---|---|")
        for label, values in times.items():
            median = statistics.median(values)
            print(f"| {label} | {rows[label]:,} | {median:.2f} s | {rows[label] / median:,.0f} |")
        rate = args.invoices / statistics.median(times["invoices"])
        print(f"\ntarget 100,000 invoice rows/s: {'met' if rate >= 100_000 else 'NOT met'} ({rate:,.0f})")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
