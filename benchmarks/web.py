#!/usr/bin/env python3
"""Server time of the clerk's pages with a large ledger, printed as one table.

    python benchmarks/web.py [--invoices 100000] [--requests 40] [--keep DIR]

Generates a deterministic ledger (seed 7: N invoices over N/5 debtors, DE and LV, due dates over the last
180 days and the next 30, about 15 % part-paid, 10 % already settled) into a fresh SQLite database with bulk
inserts, runs the collection run once (so items have steps), then requests each page in-process through
Django's test client as a signed-in collector: a few warm-up requests, then --requests timed ones. The time
is the whole server side of a request (middleware, session, queries, template), without the network.
The first row, the sign-in page (middleware, session, a template; no ledger query), is the floor of any page
and a reference for the machine's speed at that moment.
The home page's company-wide figures are read once per business date and process, then patched with the
debtors a change touched: "home, after a payment" records a payment (untimed) before every request, "home,
first of the day" clears the cache before every request, so everything is read again.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def setup(data_dir: Path) -> None:
    os.environ["MAHNWERK_DATA_DIR"] = str(data_dir)
    os.environ.pop("MAHNWERK_DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mahnwerk.settings")
    (data_dir / "static").mkdir(parents=True, exist_ok=True)  # static files come from the apps (finders)
    import django

    django.setup()


def generate(n: int) -> dict[str, float]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from mahnwerk.collection.services import run_collection
    from mahnwerk.demo import make_company, make_debtors
    from mahnwerk.ledger.models import Invoice
    from mahnwerk.ledger.services import company_today
    from mahnwerk.web.models import Membership

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    rng = random.Random(7)
    company = make_company("bench")
    today = company_today(company)
    debtors = [d.pk for d, _ in make_debtors(company, max(1, n // 5), rng)]
    batch: list[Invoice] = []
    for i in range(n):
        due = today + timedelta(days=rng.randint(-180, 30))
        amount = rng.randint(2_000, 2_000_000)
        roll = rng.random()
        open_minor = 0 if roll < 0.10 else amount // 2 if roll < 0.25 else amount
        batch.append(
            Invoice(
                company=company,
                debtor_id=debtors[rng.randrange(len(debtors))],
                number=f"B{i:08d}",
                issue_date=due - timedelta(days=30),
                due_date=due,
                amount_minor=amount,
                open_minor=open_minor,
                settled_on=due + timedelta(days=rng.randint(-5, 40)) if open_minor == 0 else None,
                currency="EUR",
                reference=f"B{i:08d}",
            )
        )
        if len(batch) == 10_000:
            Invoice.objects.bulk_create(batch)
            batch = []
    Invoice.objects.bulk_create(batch)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    run_collection(company, today, send=False)
    ran = time.perf_counter() - started
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    Membership.objects.create(user=user, company=company, role="collector")
    return {"generate": generated, "run": ran}


def measure(requests: int) -> list[tuple[str, float, float, float, int]]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from mahnwerk.ledger.models import Company, Debtor, Invoice
    from mahnwerk.ledger.services import Receipt, company_today, record_payment

    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(username="bench"))
    rng = random.Random(11)
    debtor_ids = list(Debtor.objects.values_list("id", flat=True))
    some_invoice = Invoice.objects.order_by("id").values_list("number", flat=True)[len(debtor_ids) // 2]
    from django.core.cache import cache

    def cold_home() -> str:
        cache.clear()  # the first request of a business date (or of a fresh process): everything is read
        return "/"

    company = Company.objects.get()
    open_items = list(
        Invoice.objects.filter(open_minor__gt=100).values_list("id", "debtor_id", "currency").order_by("id")
    )

    def home_after_payment() -> str:
        # a payment on a random open item (not timed): the company-wide amounts are patched for its debtor
        invoice_id, debtor_id, currency = open_items.pop(rng.randrange(len(open_items)))
        record_payment(
            company, Receipt(debtor_id, 100, currency, company_today(company), invoice_id=invoice_id)
        )
        return "/"

    pages: list[tuple[str, object]] = [
        ("reference: sign-in page", "/accounts/login/"),
        ("home", "/"),
        ("home, after a payment", home_after_payment),
        ("home, first of the day", cold_home),
        ("debtors list", "/debtors/"),
        ("debtors, page 50", "/debtors/?page=50"),
        ("debtors, most overdue", "/debtors/?sort=-overdue"),
        ("debtors, 61-90 days", "/debtors/?bucket=61-90"),
        ("debtors, search name", "/debtors/?q=M%C3%BCller"),
        ("debtors, search invoice", f"/debtors/?q={some_invoice}"),
        ("debtor page", lambda: f"/debtors/{rng.choice(debtor_ids)}/"),
    ]
    rows = []
    for name, url in pages:

        def next_url(url: object = url) -> str:
            return url() if callable(url) else str(url)  # type: ignore[no-any-return]

        for _ in range(3):
            assert client.get(next_url()).status_code == 200
        times = []
        queries = 0
        for _ in range(requests):
            path = next_url()
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (name, response.status_code)
            queries = max(queries, len(ctx.captured_queries))
        times.sort()
        p95 = times[max(0, round(0.95 * len(times)) - 1)]
        rows.append((name, statistics.median(times), p95, times[-1], queries))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--keep", type=Path, help="use (or keep) the database in this folder")
    args = parser.parse_args()
    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="mahnwerk-web-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    fresh = not (data_dir / "mahnwerk.sqlite3").exists()
    setup(data_dir)
    if fresh:
        timing = generate(args.invoices)
        print(
            f"generated {args.invoices} invoices in {timing['generate']:.1f} s, collection run {timing['run']:.1f} s",
            file=sys.stderr,
        )
    from mahnwerk.ledger.models import Debtor, Invoice

    n, d = Invoice.objects.count(), Debtor.objects.count()
    rows = measure(args.requests)
    print(
        f"Clerk pages, SQLite, {n} invoices, {d} debtors, {args.requests} requests each (target p95 <= 150 ms)"
    )
    print(f"{'page':<26} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'queries':>8} {'p95 x ref':>10}")
    reference = rows[0][2] or 1.0
    for name, median, p95, worst, queries in rows:
        print(f"{name:<26} {median:>10.1f} {p95:>8.1f} {worst:>8.1f} {queries:>8} {p95 / reference:>10.1f}")
    if not args.keep:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
