#!/usr/bin/env python3
"""Bulk invoice creation through the REST API, printed as one table.

    python benchmarks/api.py [--sizes 1000 5000 10000] [--debtors 5000] [--repeat 3]

A fresh SQLite database per run: a company with --debtors debtors (the demo generator, seed 7) and a
collector's API token. For each size, one ``POST /api/invoices`` with that many invoices (random debtors,
amounts and dates; seed 11) is sent in-process through Django's test client with the bearer token, after one
single-invoice request has warmed up the process (URLs, rule tables). The time is the whole server side of the
request (authentication, JSON parsing and schema validation, the import's row checks, the inserts, the
timeline events), without the network and without encoding the request body. The floor is
``ledger.services.create_invoices`` alone, warmed up the same way, on the same invoices already built: the
difference is what the API adds (parsing, validation, the lookup of debtor and invoice numbers). Median of
--repeat runs, each in its own process on its own fresh database.
Target (``shared/design/benchmarks.md``): >= 10,000 invoices per second.
One request body of 10,000 invoices is about 1.7 MB, within Django's default DATA_UPLOAD_MAX_MEMORY_SIZE
(2.5 MB); larger batches need that setting raised.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def setup(data_dir: Path) -> None:
    os.environ["MAHNWERK_DATA_DIR"] = str(data_dir)
    os.environ.pop("MAHNWERK_DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mahnwerk.settings")
    import django

    django.setup()


def prepare(debtors: int) -> tuple[str, list[str]]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from mahnwerk.api.models import ApiToken
    from mahnwerk.demo import make_company, make_debtors
    from mahnwerk.web.models import Membership

    call_command("migrate", verbosity=0)
    company = make_company("bench")
    numbers = [d.number for d, _ in make_debtors(company, debtors, random.Random(7))]
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    Membership.objects.create(user=user, company=company, role="collector")
    _token, key = ApiToken.issue(user, company, "benchmark")
    return key, numbers


def invoices(size: int, debtor_numbers: list[str]) -> list[dict[str, object]]:
    rng = random.Random(11)
    start = date(2026, 1, 1)
    rows = []
    for i in range(size):
        issue = start + timedelta(days=rng.randint(0, 300))
        rows.append(
            {
                "number": f"API{i:08d}",
                "debtor": debtor_numbers[rng.randrange(len(debtor_numbers))],
                "issue_date": issue.isoformat(),
                "due_date": (issue + timedelta(days=rng.choice((14, 30, 60)))).isoformat(),
                "amount_minor": rng.randint(1_000, 5_000_000),
                "reference": f"API{i:08d}",
            }
        )
    return rows


def one(size: int, debtors: int, mode: str) -> float:
    """Seconds for one bulk creation of ``size`` invoices on a fresh database (``mode``: api or service)."""
    data_dir = Path(tempfile.mkdtemp(prefix="mahnwerk-api-bench-"))
    try:
        setup(data_dir)
        key, numbers = prepare(debtors)
        rows = invoices(size + 1, numbers)
        warm, rows = rows[0], rows[1:]  # one invoice first: the process, URLs and rule tables are loaded
        if mode == "service":
            from mahnwerk.ledger.models import Company, Debtor, Invoice
            from mahnwerk.ledger.services import create_invoices

            company = Company.objects.get(slug="bench")
            ids = dict(Debtor.objects.filter(company=company).values_list("number", "id"))
            built = [
                Invoice(
                    company=company,
                    debtor_id=ids[str(r["debtor"])],
                    number=str(r["number"]),
                    issue_date=date.fromisoformat(str(r["issue_date"])),
                    due_date=date.fromisoformat(str(r["due_date"])),
                    amount_minor=int(str(r["amount_minor"])),
                    open_minor=int(str(r["amount_minor"])),
                    currency="EUR",
                    reference=str(r["reference"]),
                )
                for r in [warm, *rows]
            ]
            create_invoices(company, built[:1], actor="bench")
            started = time.perf_counter()
            create_invoices(company, built[1:], actor="bench")
            return time.perf_counter() - started
        from django.test import Client

        client = Client(HTTP_HOST="localhost")
        headers = {"Authorization": f"Bearer {key}"}
        warmed = client.post(
            "/api/invoices", json.dumps([warm]), content_type="application/json", headers=headers
        )
        assert warmed.status_code == 201, warmed.content[:500]
        body = json.dumps(rows)
        started = time.perf_counter()
        response = client.post("/api/invoices", body, content_type="application/json", headers=headers)
        seconds = time.perf_counter() - started
        assert response.status_code == 201, response.content[:500]
        assert response.json()["created"] == size
        return seconds
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 5_000, 10_000])
    parser.add_argument("--debtors", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", nargs=2, metavar=("SIZE", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # a child process: one measurement, printed as a number
        print(one(int(args.one[0]), args.debtors, args.one[1]))
        return

    def measure(size: int, mode: str) -> float:
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(size), mode, "--debtors", str(args.debtors)],
                check=True,
                capture_output=True,
                text=True,
            )
            runs.append(float(out.stdout.strip().splitlines()[-1]))
        return statistics.median(runs)

    print(
        f"POST /api/invoices, SQLite, {args.debtors} debtors, median of {args.repeat} fresh databases "
        "(target >= 10,000 invoices/s)"
    )
    print(f"{'invoices':>9} {'API s':>8} {'invoices/s':>11} {'service s':>10} {'API x service':>14}")
    for size in args.sizes:
        api = measure(size, "api")
        service = measure(size, "service")
        print(f"{size:>9} {api:>8.2f} {size / api:>11,.0f} {service:>10.2f} {api / service:>14.2f}")


if __name__ == "__main__":
    main()
