#!/usr/bin/env python3
"""Every clerk page against the page budget (p95 <= 150 ms at 1M invoices), printed as one table.

    python benchmarks/pages.py [--invoices 1000000] [--debtors N] [--requests 20] [--run-share 10] [--keep DIR]

Builds a company with N invoices over N/5 debtors (200k for 1M) in a fresh SQLite database by bulk inserts
without model instances (``ledger.bulk.bulk_insert_rows``; seed 7: German and Latvian names, one email address
each, due dates over the last 180 days and the next 30, about 15 % part-paid, 10 % settled), then the collection
run for one debtor in ``--run-share`` (steps, messages, tasks and the timeline for them; the whole run at 1M is
``benchmarks/run.py``'s subject), and signs in as the company's administrator with Django's test client. Each
page of ``web/urls.py`` a clerk opens with GET — home, debtors (list, search, sorted, filtered), a case file
(each tab), the work queue, the run preview, payments review, KPIs, playbooks, templates, settings, users,
partners, a message — is requested three times untimed, then ``--requests`` times timed, in-process: the time
is the server side of a request (middleware, session, queries, template) without the network. The table gives
p50, p95 and the largest number of SQL queries of one request, and whether p95 is within the target. The
first row, the sign-in page, is the floor of any page on this machine at that moment.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

TARGET_MS = 150.0
FIRST = ["Anna", "Jonas", "Lena", "Paul", "Marta", "Jānis", "Ilze", "Kārlis", "Sophie", "Felix"]
SURNAMES = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Bērziņš",
    "Kalniņš",
    "Ozols",
    "Krüger",
    "Wagner",
]
TRADES = ["Bäckerei", "Metallbau", "Autohaus", "Druckerei", "Elektro", "Tischlerei", "Gartenbau", "Optik"]


def setup(data_dir: Path) -> None:
    os.environ["MAHNWERK_DATA_DIR"] = str(data_dir)
    os.environ.pop("MAHNWERK_DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mahnwerk.settings")
    (data_dir / "static").mkdir(parents=True, exist_ok=True)  # static files come from the apps (finders)
    import django

    django.setup()


def generate(invoices: int, debtors: int, run_share: int) -> dict[str, float]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction

    from mahnwerk.collection.services import run_collection
    from mahnwerk.demo import make_company
    from mahnwerk.ledger.bulk import bulk_insert_rows
    from mahnwerk.ledger.models import Contact, Debtor, Invoice
    from mahnwerk.ledger.services import company_today
    from mahnwerk.web.models import Membership

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    rng = random.Random(7)
    company = make_company("bench")
    today = company_today(company)
    with transaction.atomic():
        rows = []
        for n in range(debtors):
            latvian = rng.random() < 0.35
            surname = rng.choice(SURNAMES)
            business = rng.random() < 0.75
            name = f"{rng.choice(TRADES)} {surname} {n + 1}" if business else f"{rng.choice(FIRST)} {surname}"
            rows.append(
                (
                    company.pk,
                    f"K{10001 + n}",
                    name,
                    "business" if business else "consumer",
                    "lv" if latvian else "de",
                    "LV" if latvian else "DE",
                    "LV" if latvian else "DE",
                    "Europe/Riga" if latvian else "Europe/Berlin",
                    f"Hauptstraße {rng.randint(1, 200)}",
                    "10115",
                    "Rīga" if latvian else "Berlin",
                    "email",
                )
            )
        columns = [
            "company_id",
            "number",
            "name",
            "kind",
            "language",
            "jurisdiction",
            "country",
            "time_zone",
            "street",
            "postcode",
            "city",
            "preferred_channel",
        ]
        debtor_ids = bulk_insert_rows(Debtor, columns, rows)
        bulk_insert_rows(
            Contact,
            ["debtor_id", "kind", "value", "is_primary"],
            [(pk, "email", f"ap-{pk}@kunde.example", True) for pk in debtor_ids],
        )
        columns = [
            "company_id",
            "debtor_id",
            "number",
            "reference",
            "issue_date",
            "due_date",
            "amount_minor",
            "open_minor",
            "settled_on",
            "currency",
        ]
        batch: list[tuple[object, ...]] = []
        for i in range(invoices):
            due = today + timedelta(days=rng.randint(-180, 30))
            amount = rng.randint(2_000, 2_000_000)
            roll = rng.random()
            open_minor = 0 if roll < 0.10 else amount // 2 if roll < 0.25 else amount
            settled = due + timedelta(days=rng.randint(-5, 40)) if open_minor == 0 else None
            number = f"RE-{2026 if due.year >= 2026 else due.year}-{i + 1:07d}"
            debtor = debtor_ids[rng.randrange(len(debtor_ids))]
            issue = due - timedelta(days=30)
            batch.append((company.pk, debtor, number, number, issue, due, amount, open_minor, settled, "EUR"))
            if len(batch) == 50_000:
                bulk_insert_rows(Invoice, columns, batch)
                batch = []
        bulk_insert_rows(Invoice, columns, batch)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    # one debtor in run_share gets its steps; the first partition of a run refreshes the insights (segments,
    # ratings) for every debtor, as each day's run does
    if run_share:
        run_collection(company, today, send=False, partition=(0, run_share))
    ran = time.perf_counter() - started
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    Membership.objects.create(user=user, company=company, role="admin")
    return {"generate": generated, "run": ran}


Page = tuple[str, Callable[[], str]]


def pages() -> list[Page]:
    """The pages a clerk opens with GET, from ``web/urls.py`` (forms posted and downloads are left out)."""
    from mahnwerk.collection.models import Playbook
    from mahnwerk.comms.models import OutboundMessage
    from mahnwerk.ledger.models import Debtor, Invoice

    rng = random.Random(11)
    stepped = list(OutboundMessage.objects.order_by("id").values_list("debtor_id", "id")[:2000]) or [
        (Debtor.objects.order_by("id").values_list("id", flat=True).first(), None)
    ]
    debtor_ids = list(Debtor.objects.order_by("id").values_list("id", flat=True)[:: max(1, 200)])
    invoice = Invoice.objects.order_by("id").values_list("number", flat=True)[Invoice.objects.count() // 2]
    playbook = Playbook.objects.order_by("id").values_list("id", flat=True).first()

    def fixed(path: str) -> Callable[[], str]:
        return lambda: path

    def cold(path: str) -> Callable[[], str]:
        """The page as the first request of a business date in a process that was not warmed: nothing kept."""

        def forget() -> str:
            from django.core.cache import cache

            from mahnwerk.ledger import figures
            from mahnwerk.web import services

            cache.clear()
            figures._BOOKS.clear()
            services._PREVIEWS.clear()
            return path

        forget.cold = True  # type: ignore[attr-defined]
        return forget

    open_items = list(
        Invoice.objects.filter(open_minor__gt=100)
        .order_by("id")
        .values_list("id", "debtor_id", "currency")[:: max(1, Invoice.objects.count() // 500)]
    )

    def after_payment(path: str) -> Callable[[], str]:
        """The page right after a payment of 1.00 on a random open invoice (recorded before the timing)."""

        def pay() -> str:
            from mahnwerk.ledger.models import Company
            from mahnwerk.ledger.services import Receipt, company_today, record_payments

            company = Company.objects.order_by("id").first()
            assert company is not None
            invoice_id, debtor_id, currency = rng.choice(open_items)
            receipt = Receipt(debtor_id, 100, currency, company_today(company), invoice_id=invoice_id)
            record_payments(company, [receipt])
            return path

        return pay

    def case_file(tab: str = "") -> Callable[[], str]:
        # a debtor the run wrote to (a timeline, a message), else any
        return lambda: f"/debtors/{rng.choice(stepped)[0]}/" + (f"?tab={tab}" if tab else "")

    found: list[Page] = [
        ("reference: sign-in page", fixed("/accounts/login/")),
        ("home", fixed("/")),
        ("home, first of the day", cold("/")),
        ("debtors", fixed("/debtors/")),
        ("debtors, page 50", fixed("/debtors/?page=50")),
        ("debtors, search name", fixed("/debtors/?q=M%C3%BCller")),
        ("debtors, search invoice", fixed(f"/debtors/?q={invoice}")),
        ("debtors, search part", fixed(f"/debtors/?q={invoice[-5:]}")),
        ("debtors, most overdue", fixed("/debtors/?sort=-overdue")),
        ("debtors, 61-90 days", fixed("/debtors/?bucket=61-90")),
        ("case file", case_file()),
        ("case file, any debtor", lambda: f"/debtors/{rng.choice(debtor_ids)}/"),
        ("case file, items", case_file("items")),
        ("case file, conversation", case_file("conversation")),
        ("case file, agreements", case_file("agreements")),
        ("case file, documents", case_file("documents")),
        ("case file, details", case_file("details")),
        ("work queue", fixed("/work/")),
        ("work counts", fixed("/work/counts")),
        ("run preview", fixed("/run/")),
        ("run preview, first", cold("/run/")),
        ("run preview, after a payment", after_payment("/run/")),
        ("run preview, held", fixed("/run/?show=held")),
        ("payments review", fixed("/payments/review/")),
        ("kpi", fixed("/kpi/")),
        ("playbooks", fixed("/playbooks/")),
        ("playbook", fixed(f"/playbooks/{playbook}/")),
        ("templates", fixed("/templates/")),
        ("settings", fixed("/settings/")),
        ("users", fixed("/users/")),
        ("partners", fixed("/partners/")),
    ]
    debtor_id, message_id = stepped[0]
    if message_id is not None:
        found.append(("message", fixed(f"/debtors/{debtor_id}/messages/{message_id}/")))
    return found


def measure(requests: int, only: list[str] | None = None) -> list[tuple[str, float, float, float, int]]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(username="bench"))
    rows = []
    for name, url in pages():
        if only and not any(word in name for word in only):
            continue
        cold = getattr(url, "cold", False)
        for _ in range(0 if cold else 3):
            response = client.get(url())
            assert response.status_code == 200, (name, response.status_code)
        times = []
        queries = 0
        for _ in range(min(3, requests) if cold else requests):  # each takes a whole read of the ledger
            path = url()
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (name, path, response.status_code)
            queries = max(queries, len(ctx.captured_queries))
        times.sort()
        p95 = times[max(0, round(0.95 * len(times)) - 1)]
        rows.append((name, statistics.median(times), p95, times[-1], queries))
        print(f"  {name}: p95 {p95:.1f} ms", file=sys.stderr, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--debtors", type=int, help="default: one per five invoices")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument(
        "--run-share", type=int, default=10, help="the run writes to one debtor in N (0: none)"
    )
    parser.add_argument("--keep", type=Path, help="use (or keep) the database in this folder")
    parser.add_argument("--only", nargs="*", help="only the pages whose name contains one of these words")
    args = parser.parse_args()
    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="mahnwerk-pages-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    fresh = not (data_dir / "mahnwerk.sqlite3").exists()
    setup(data_dir)
    if not fresh:  # a kept database gets the migrations added since (indexes)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    if fresh:
        timing = generate(args.invoices, args.debtors or max(1, args.invoices // 5), args.run_share)
        print(
            f"built {args.invoices} invoices in {timing['generate']:.1f} s, "
            f"collection run for one debtor in {args.run_share} in {timing['run']:.1f} s",
            file=sys.stderr,
        )
    from mahnwerk.collection.models import Action
    from mahnwerk.ledger.models import Debtor, Invoice

    n, d, a = Invoice.objects.count(), Debtor.objects.count(), Action.objects.count()
    rows = measure(args.requests, args.only)
    print(
        f"Clerk pages, SQLite, {n:,} invoices, {d:,} debtors, {a:,} actions, {args.requests} requests each "
        f"(target p95 <= {TARGET_MS:.0f} ms)"
    )
    print(f"{'page':<26} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8}  target")
    for name, median, p95, worst, queries in rows:
        verdict = "" if name.startswith("reference") else ("ok" if p95 <= TARGET_MS else "OVER")
        print(f"{name:<26} {median:>8.1f} {p95:>8.1f} {worst:>8.1f} {queries:>8}  {verdict}")
    if not args.keep:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
