#!/usr/bin/env python3
"""Performance of the customer insights on the ledger, printed as one table.

    python benchmarks/insights.py [--debtors 20000] [--invoices 100000] [--repeat 3]

A deterministic synthetic history (seed 11) is generated into a fresh SQLite database: D debtors, N
invoices issued over the two years before the business date, about 80 % settled (a tenth of those
with a part payment first, and each debtor paying with its own typical delay), the rest open, and one
sent reminder per five invoices. Measured, median of --repeat runs in one process:

- floor:     reading the invoices once (id, debtor, dates, amounts) - the cost nothing can go below
- records:   ``records_for`` (invoices, principal allocations, messages as plain records)
- refresh-1: ``refresh_insights`` on a database without insights (profiles, rating, segment, insert)
- refresh-2: ``refresh_insights`` 30 days later (update every row; segment changes on the timeline)
- playbooks: ``segment_playbooks``
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from run import setup_django  # the benchmarks' shared set-up

AS_OF = date(2026, 6, 1)


def generate(n_debtors: int, n_invoices: int) -> None:
    from django.core.management import call_command

    from mahnwerk.comms.models import OutboundMessage
    from mahnwerk.demo import make_company
    from mahnwerk.ledger.models import Allocation, Debtor, Invoice, Payment

    call_command("migrate", verbosity=0)
    rng = random.Random(11)
    company = make_company("bench")
    company.claim_interest = False
    company.save()
    Debtor.objects.bulk_create(
        (
            Debtor(
                company=company,
                number=f"K{n:06d}",
                name=f"Kunde {n} GmbH",
                language="de",
                jurisdiction="DE",
                time_zone="Europe/Berlin",
            )
            for n in range(n_debtors)
        ),
        batch_size=5000,
    )
    debtors = list(Debtor.objects.filter(company=company).values_list("id", flat=True))
    habit = {d: rng.choice((-5, 0, 0, 3, 10, 25, 60)) for d in debtors}
    invoices: list[Invoice] = []
    paid: list[tuple[int, int, date, int, date | None]] = []  # (index, debtor, settled, amount, part day)
    for i in range(n_invoices):
        debtor = debtors[rng.randrange(len(debtors))]
        issue = AS_OF - timedelta(days=rng.randint(0, 730))
        due = issue + timedelta(days=rng.choice((14, 30, 30, 30, 60)))
        amount = rng.randint(5_000, 2_000_000)
        settled = due + timedelta(days=max(-10, habit[debtor] + rng.randint(-5, 10)))
        is_paid = settled <= AS_OF and rng.random() < 0.95
        part = issue + timedelta(days=(settled - issue).days // 2) if is_paid and rng.random() < 0.1 else None
        invoices.append(
            Invoice(
                company=company,
                debtor_id=debtor,
                number=f"R{i:08d}",
                issue_date=issue,
                due_date=due,
                amount_minor=amount,
                open_minor=0 if is_paid else amount,
                settled_on=settled if is_paid else None,
                currency="EUR",
            )
        )
        if is_paid:
            paid.append((i, debtor, settled, amount, part))
    Invoice.objects.bulk_create(invoices, batch_size=5000)
    payments: list[Payment] = []
    targets: list[tuple[int, int, date]] = []
    for i, debtor, settled, amount, part in paid:
        steps = [(part, amount // 2), (settled, amount - amount // 2)] if part else [(settled, amount)]
        for day, minor in steps:
            payments.append(
                Payment(company=company, debtor_id=debtor, value_date=day, amount_minor=minor, currency="EUR")
            )
            targets.append((invoices[i].pk, minor, day))
    Payment.objects.bulk_create(payments, batch_size=5000)
    Allocation.objects.bulk_create(
        (
            Allocation(invoice_id=inv, payment=p, amount_minor=minor, value_date=day)
            for p, (inv, minor, day) in zip(payments, targets, strict=True)
        ),
        batch_size=5000,
    )
    OutboundMessage.objects.bulk_create(
        (
            OutboundMessage(
                company=company,
                debtor_id=inv.debtor_id,
                channel="email",
                recipient="ap@example.com",
                language="de",
                subject="Zahlungserinnerung",
                body_text="...",
                message_id=f"<bench-{k}@example>",
                status="sent",
                sent_at=datetime.combine(inv.due_date + timedelta(days=7), datetime.min.time(), UTC),
            )
            for k, inv in enumerate(invoices[::5])
            if inv.due_date + timedelta(days=7) <= AS_OF
        ),
        batch_size=5000,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--debtors", type=int, default=20_000)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    setup_django(Path(tempfile.mkdtemp(prefix="mahnwerk-bench-insights-")))
    from django.db import connection

    from mahnwerk.insights.models import DebtorInsight
    from mahnwerk.insights.services import records_for, refresh_insights, segment_playbooks
    from mahnwerk.ledger.models import Company, Invoice, TimelineEvent

    started = time.perf_counter()
    generate(args.debtors, args.invoices)
    print(
        f"generated {args.debtors} debtors, {args.invoices} invoices in {time.perf_counter() - started:.1f} s"
    )
    company = Company.objects.get(slug="bench")
    queries = 0

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    def floor() -> int:
        return len(
            list(
                Invoice.objects.filter(company=company).values_list(
                    "id", "debtor_id", "issue_date", "due_date", "amount_minor", "open_minor", "settled_on"
                )
            )
        )

    def refresh_first() -> int:
        DebtorInsight.objects.filter(company=company).delete()
        before = queries
        started = time.perf_counter()
        debtors = refresh_insights(company, AS_OF).debtors
        timings.append((time.perf_counter() - started, queries - before))
        return debtors

    def refresh_again() -> int:
        DebtorInsight.objects.filter(company=company).delete()
        refresh_insights(company, AS_OF)
        before = queries
        started = time.perf_counter()
        changed = refresh_insights(company, AS_OF + timedelta(days=30)).changed
        timings.append((time.perf_counter() - started, queries - before))
        return changed

    cases = [
        ("floor", floor),
        ("records", lambda: len(records_for(company, AS_OF).invoices)),
        ("refresh-1", refresh_first),
        ("refresh-2", refresh_again),
        ("playbooks", lambda: len(segment_playbooks(company))),
    ]
    rows = []
    for name, fn in cases:
        seconds: list[float] = []
        counted: list[int] = []
        result = 0
        for _ in range(args.repeat):
            timings: list[tuple[float, int]] = []
            queries = 0
            with connection.execute_wrapper(count):
                start = time.perf_counter()
                result = fn()
                elapsed = time.perf_counter() - start
            if timings:  # the refreshes: only the refresh itself counts, not the clean-up before it
                elapsed, q = timings[0]
                counted.append(q)
            else:
                counted.append(queries)
            seconds.append(elapsed)
        rows.append((name, statistics.median(seconds), max(counted), result))
    base = rows[0][1]
    print(f"{'measure':<10} {'median s':>9} {'x floor':>8} {'queries':>8} {'rows':>8}")
    for name, secs, q, result in rows:
        print(f"{name:<10} {secs:>9.3f} {secs / base:>8.1f} {q:>8} {result:>8}")
    events = TimelineEvent.objects.filter(company=company, kind="segment_changed").count()
    print(f"segment_changed events on the timeline: {events}", file=sys.stderr)


if __name__ == "__main__":
    main()
