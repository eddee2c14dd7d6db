#!/usr/bin/env python3
"""The daily collection run on PostgreSQL: one worker against two, printed as one table.

    python scripts/with_postgres.py -- python benchmarks/postgres.py [--sizes 10000 100000] [--repeat 3]

(`make bench-pg` does exactly that.) The ledger of ``benchmarks/run.py`` (seed 7: N open invoices, N/5
debtors) is generated once into a template database; every measurement gets its own copy of it
(``CREATE DATABASE ... TEMPLATE``), so the repeats measure the same work. "1 worker" is one process running
the whole run; "2 workers" are two processes started together, each taking its share of the debtors
(``mahnwerk run --partition 1/2`` and ``2/2``), timed until the slower one ends. After each measurement the
table checks that the actions are the same number as with one worker and that no debtor got two actions
on the day. Then the outbox writes the run's messages with as many processes (``mahnwerk outbox render``;
``SKIP LOCKED`` gives each its own rows): the second table shows messages per second, per process, and checks
that every message was rendered and got exactly one "queued" timeline event.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import AS_OF, generate, last_json, setup_django


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def admin(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def worker(url: str, data_dir: str, part: str) -> dict[str, float]:
    """One worker process: the run of AS_OF for its share of the debtors (``part`` is "I/N")."""
    setup_django(Path(data_dir), url)
    from mahnwerk.collection.services import run_collection
    from mahnwerk.ledger.models import Company

    index, parts = (int(x) for x in part.split("/"))
    company = Company.objects.get(slug="bench")
    start = time.perf_counter()
    result = run_collection(company, AS_OF, send=False, partition=(index - 1, parts))
    return {"seconds": time.perf_counter() - start, "created": result.actions_created}


def check(url: str, data_dir: str) -> dict[str, float]:
    """Actions of the day and debtors with more than one of them; messages not rendered, and "queued"
    events beyond one per message."""
    setup_django(Path(data_dir), url)
    from django.db.models import Count

    from mahnwerk.collection.models import Action
    from mahnwerk.comms.models import OutboundMessage
    from mahnwerk.ledger.models import TimelineEvent

    actions = Action.objects.filter(as_of=AS_OF)
    doubled = actions.values("debtor_id").annotate(n=Count("id")).filter(n__gt=1).count()
    messages = OutboundMessage.objects.filter(business_date=AS_OF)
    events = TimelineEvent.objects.filter(kind="message_queued", business_date=AS_OF).count()
    return {
        "actions": actions.count(),
        "doubled": doubled,
        # the run's messages (the outbox renders them); thank-yous and statements are written when queued
        "messages": messages.filter(action__isnull=False).count(),
        "unrendered": messages.filter(render_pending=True).count(),
        "extra_events": events - messages.count(),
    }


def renderer(url: str, data_dir: str) -> dict[str, float]:
    """One rendering process: the outbox writes what it can take of the run's messages."""
    setup_django(Path(data_dir), url)
    from mahnwerk.comms.compose import render_pending

    start = time.perf_counter()
    rendered = render_pending()
    return {"seconds": time.perf_counter() - start, "created": rendered}


def child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)


def result(process: subprocess.Popen[str]) -> dict[str, float]:
    out, _ = process.communicate()
    if process.returncode:
        raise SystemExit(f"a benchmark process failed (exit {process.returncode})")
    return last_json(out)


def measure(url: str, data_dir: Path, template: str, workers: int, label: str) -> dict[str, float]:
    name = f"bench_{label}"
    admin(url, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name} TEMPLATE {template}")
    target = with_database(url, name)
    try:
        start = time.perf_counter()
        processes = [
            child("--_worker", target, str(data_dir), f"{i}/{workers}") for i in range(1, workers + 1)
        ]
        created = sum(result(p)["created"] for p in processes)
        wall = time.perf_counter() - start
        start = time.perf_counter()
        renderers = [child("--_render", target, str(data_dir)) for _ in range(workers)]
        rendered = sum(result(p)["created"] for p in renderers)
        render_wall = time.perf_counter() - start
        verdict = result(child("--_check", target, str(data_dir)))
    finally:
        admin(url, f"DROP DATABASE IF EXISTS {name}")
    return {"seconds": wall, "created": created, "render_s": render_wall, "rendered": rendered} | verdict


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--_worker", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--_check", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--_render", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--_generate", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._worker:
        print(json.dumps(worker(*args._worker)))
        return
    if args._check:
        print(json.dumps(check(*args._check)))
        return
    if args._render:
        print(json.dumps(renderer(*args._render)))
        return
    if args._generate:
        generate(Path(args._generate[1]), int(args._generate[2]), args._generate[0])
        print("{}")
        return

    url = os.environ.get("MAHNWERK_DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("needs PostgreSQL: python scripts/with_postgres.py -- python benchmarks/postgres.py")
    data_dir = Path(tempfile.mkdtemp(prefix="mahnwerk-bench-pg-"))
    rows = []
    renders = []
    for n in args.sizes:
        template = f"bench_seed_{n}"
        admin(url, f"DROP DATABASE IF EXISTS {template}", f"CREATE DATABASE {template}")
        started = time.perf_counter()
        result(child("--_generate", with_database(url, template), str(data_dir), str(n)))
        print(f"generated N={n} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        for workers in (1, 2):
            runs = [
                measure(url, data_dir, template, workers, f"{n}_{workers}_{r}") for r in range(args.repeat)
            ]
            rows.append(
                (
                    n,
                    workers,
                    statistics.median(r["seconds"] for r in runs),
                    {int(r["created"]) for r in runs},
                    {int(r["actions"]) for r in runs},
                    max(int(r["doubled"]) for r in runs),
                )
            )
            renders.append(
                (
                    n,
                    workers,
                    statistics.median(r["render_s"] for r in runs),
                    statistics.median(r["rendered"] for r in runs),
                    all(r["rendered"] == r["messages"] and not r["unrendered"] for r in runs),
                    max(int(r["extra_events"]) for r in runs),
                )
            )
        admin(url, f"DROP DATABASE IF EXISTS {template}")

    one = {n: s for n, workers, s, *_ in rows if workers == 1}
    actions = {n: a for n, workers, _s, _c, a, _d in rows if workers == 1}
    print(
        f"{'N open':>9} {'workers':>8} {'median s':>9} {'x 1 worker':>11} {'actions':>8} {'same':>5} {'doubled':>8}"
    )
    for n, workers, seconds, created, counted, doubled in rows:
        same = "yes" if counted == actions[n] and created == counted else "NO"
        shown = "/".join(str(c) for c in sorted(counted))
        print(
            f"{n:>9} {workers:>8} {seconds:>9.3f} {seconds / one[n]:>11.2f} {shown:>8} {same:>5} {doubled:>8}"
        )
    print()
    print(
        f"{'N open':>9} {'renderers':>10} {'median s':>9} {'messages':>9} {'msg/s':>8} {'per process':>12} "
        f"{'all once':>9}"
    )
    for n, workers, seconds, rendered, complete, extra in renders:
        rate = rendered / seconds if seconds else 0.0
        once = "yes" if complete and extra == 0 else "NO"
        print(
            f"{n:>9} {workers:>10} {seconds:>9.3f} {rendered:>9.0f} {rate:>8.0f} {rate / workers:>12.0f} {once:>9}"
        )


if __name__ == "__main__":
    main()
