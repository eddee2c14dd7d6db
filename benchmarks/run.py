#!/usr/bin/env python3
"""Performance of the daily collection run, printed as one table.

    python benchmarks/run.py [--sizes 10000 100000] [--repeat 3]

For each size N a deterministic synthetic ledger (seed 7: N open invoices, N/5 debtors, DE and LV, due dates
over the last 180 days and the next 30, part-paid items) is generated into a fresh SQLite database. Each
figure is measured in its own process (so peak RSS is that step's alone), median of --repeat runs:

- floor:    reading the open items once (the cost the run cannot go below)
- first:    the first run on day D (decide, write actions, items, messages, timeline; no sending)
- again:    a second run on the same day (must create nothing)
- escalate: the run 14 days later (the next step for everything still open)
- render:   the outbox writing the first run's messages (subject, text, letter, payment code) after the run
            committed; "created" is the number of messages, and the table ends with messages per second

Each run works on a copy of the generated database, so the repeats measure the same work.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

AS_OF = date(2026, 6, 1)


def setup_django(data_dir: Path, database_url: str | None = None) -> None:
    """Django on ``data_dir`` with its SQLite database, or with the database at ``database_url``."""
    os.environ["MAHNWERK_DATA_DIR"] = str(data_dir)
    if database_url:
        os.environ["MAHNWERK_DATABASE_URL"] = database_url
    else:
        os.environ.pop("MAHNWERK_DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mahnwerk.settings")
    import django

    django.setup()


def generate(data_dir: Path, n: int, database_url: str | None = None) -> None:
    setup_django(data_dir, database_url)
    import random

    from django.core.management import call_command

    from mahnwerk.demo import make_company, make_debtors
    from mahnwerk.ledger.models import Invoice

    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    company = make_company("bench")
    debtors = make_debtors(company, max(1, n // 5), rng)
    batch: list[Invoice] = []
    for i in range(n):
        debtor = debtors[rng.randrange(len(debtors))][0]
        due = AS_OF + timedelta(days=rng.randint(-180, 30))
        amount = rng.randint(2_000, 2_000_000)
        open_minor = amount if rng.random() > 0.15 else amount // 2
        batch.append(
            Invoice(
                company=company,
                debtor=debtor,
                number=f"B{i:08d}",
                issue_date=due - timedelta(days=30),
                due_date=due,
                amount_minor=amount,
                open_minor=open_minor,
                currency="EUR",
                reference=f"B{i:08d}",
            )
        )
        if len(batch) == 5000:
            Invoice.objects.bulk_create(batch)
            batch = []
    Invoice.objects.bulk_create(batch)


def measure(data_dir: Path, what: str) -> dict[str, float]:
    setup_django(data_dir)
    from django.db import connection

    from mahnwerk.collection.services import run_collection
    from mahnwerk.ledger.models import Company, Invoice

    company = Company.objects.get(slug="bench")
    queries = 0

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    created = 0
    with connection.execute_wrapper(count):
        if what == "again":
            run_collection(company, AS_OF, send=False)
            queries = 0
        if what in ("escalate", "render"):
            run_collection(company, AS_OF, send=False)
            queries = 0
        start = time.perf_counter()
        if what == "floor":
            rows = list(
                Invoice.objects.filter(company=company, open_minor__gt=0).values_list(
                    "id", "debtor_id", "due_date", "open_minor", "on_hold"
                )
            )
            created = len(rows)
        elif what == "render":
            from mahnwerk.comms.compose import render_pending

            created = render_pending(company)
        else:
            day = AS_OF + timedelta(days=14) if what == "escalate" else AS_OF
            created = run_collection(company, day, send=False).actions_created
        seconds = time.perf_counter() - start
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "queries": queries, "rss_mib": rss_mib, "created": created}


def last_json(stdout: str) -> dict[str, float]:
    """What a measuring process reports: a JSON object on its last line of output."""
    return dict(json.loads(stdout.strip().splitlines()[-1]))


def child(args: list[str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    return last_json(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--_generate", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--_measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._generate:
        generate(Path(args._generate[0]), int(args._generate[1]))
        print("{}")
        return
    if args._measure:
        print(json.dumps(measure(Path(args._measure[0]), args._measure[1])))
        return

    rows = []
    for n in args.sizes:
        base = Path(tempfile.mkdtemp(prefix=f"mahnwerk-bench-{n}-"))
        try:
            started = time.perf_counter()
            child(["--_generate", str(base / "seed"), str(n)])
            generated = time.perf_counter() - started
            for what in ("floor", "first", "again", "escalate", "render"):
                results = []
                for r in range(args.repeat):
                    work = base / f"{what}-{r}"
                    shutil.copytree(base / "seed", work)
                    results.append(child(["--_measure", str(work), what]))
                    shutil.rmtree(work)
                rows.append(
                    (
                        n,
                        what,
                        statistics.median(x["seconds"] for x in results),
                        max(x["queries"] for x in results),
                        statistics.median(x["rss_mib"] for x in results),
                        int(results[0]["created"]),
                    )
                )
            print(f"generated N={n} in {generated:.1f} s", file=sys.stderr)
        finally:
            shutil.rmtree(base, ignore_errors=True)

    floor = {n: s for n, what, s, *_ in rows if what == "floor"}
    print(
        f"{'N open':>9} {'measure':<9} {'median s':>9} {'x floor':>8} {'queries':>8} {'peak MiB':>9} {'created':>8}"
    )
    for n, what, seconds, queries, rss, created in rows:
        ratio = seconds / floor[n] if floor[n] else float("nan")
        print(f"{n:>9} {what:<9} {seconds:>9.3f} {ratio:>8.1f} {queries:>8} {rss:>9.0f} {created:>8}")
    for n, what, seconds, _queries, _rss, created in rows:
        if what == "render" and seconds:
            print(f"rendered at N={n}: {created / seconds:,.0f} messages/s on one core")


if __name__ == "__main__":
    main()
