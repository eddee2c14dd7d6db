#!/usr/bin/env python3
"""The channel each customer answers: the learned channel choice against the fixed playbook, printed as a table.

    python benchmarks/channels.py [--debtors 120] [--months 12] [--seed 5]

Synthetic customers (seed 5), each with an email address, a mobile number and a postal address, and each
answering one channel: a third email, a third text messages, a third letters. After a reminder on its channel
a customer pays the invoice within 1-4 days with a chance of 60 %, after one on another channel with 6 %;
a fifth pay on their own some days after the due date whatever happens. Every customer gets an invoice
each month; the company's playbook is the shipped default (every step an email). The real collection run
decides every second day; what it queues counts as sent the same day. The same customers, invoices and
random draws are played twice: with channel learning switched off (the fixed playbook) and on.

Printed per mode: the share of reminders that went on the customer's own channel (all months, and the last
three), the share of customers whose last reminder went there and whose next one would (the channel an email
step takes for them at the end), the reminders by channel, the money collected and what was still overdue at
the end. A customer whose oldest item has run through the playbook gets no more reminders (a person decides
then), so late in the year the reminders go mostly to customers who answer them.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

from run import setup_django  # the benchmarks' shared set-up

START = date(2025, 1, 6)
CHANNELS = ("email", "sms", "letter")
P_OWN, P_OTHER, P_ALONE = 0.60, 0.06, 0.20


@dataclass
class Outcome:
    mode: str
    reminders: Counter[str] = field(default_factory=Counter)
    own: int = 0
    own_late: int = 0
    late: int = 0
    last_own: int = 0
    next_own: int = 0
    customers: int = 0
    collected_minor: int = 0
    overdue_minor: int = 0
    seconds: float = 0.0


def simulate(mode: str, n_debtors: int, months: int, seed: int) -> Outcome:
    from django.core.management import call_command
    from django.db import connection

    from mahnwerk.collection.services import ensure_default_playbook, run_collection
    from mahnwerk.comms.models import MessageStatus, OutboundMessage, Purpose
    from mahnwerk.core.channel_learning import learn_channel
    from mahnwerk.core.playbook import Channel
    from mahnwerk.experiments.channels import response_profiles, set_learning
    from mahnwerk.ledger.models import Company, Contact, Debtor, Invoice, Payment
    from mahnwerk.ledger.services import Receipt, create_invoices, record_payment

    call_command("flush", interactive=False, verbosity=0)
    started = time.perf_counter()
    company = Company.objects.create(
        slug=f"bench-{mode}",
        name="Muster Werkzeughandel GmbH",
        street="Industriestraße 12",
        postcode="10115",
        city="Berlin",
        country="DE",
        iban="DE89370400440532013000",
        bic="COBADEFFXXX",
        jurisdiction="DE",
        time_zone="Europe/Berlin",
        default_language="de",
        currency="EUR",
        email="buchhaltung@muster.example",
        sms_sender="Muster",
        claim_interest=False,
    )
    ensure_default_playbook(company)
    set_learning(company.pk, mode == "learned")
    rng = random.Random(seed)
    own: dict[int, str] = {}
    for n in range(n_debtors):
        debtor = Debtor.objects.create(
            company=company,
            number=f"K{n:05d}",
            name=f"Kunde {n} GmbH",
            language="de",
            jurisdiction="DE",
            time_zone="Europe/Berlin",
            street=f"Lindenallee {n + 1}",
            postcode="04109",
            city="Leipzig",
            country="DE",
        )
        Contact.objects.create(debtor=debtor, kind="email", value=f"ap@{n}.example", is_primary=True)
        Contact.objects.create(debtor=debtor, kind="phone", value=f"+49 170 {5550000 + n}")
        own[debtor.pk] = CHANNELS[n % 3]
    draws = random.Random(seed + 1)  # the customers' answers: the same sequence in both modes
    due_payments: dict[date, list[tuple[int, int]]] = defaultdict(list)  # day -> (invoice, amount)
    end = START + timedelta(days=30 * months)
    number = 0
    day = START
    result = Outcome(mode, customers=n_debtors)
    late_from = end - timedelta(days=90)
    last_channel: dict[int, str] = {}
    while day <= end:
        if (day - START).days % 30 == 0:  # the month's invoices, due in 14 days
            invoices = []
            for debtor_id in own:
                number += 1
                amount = rng.randint(100, 900) * 100
                invoices.append(
                    Invoice(
                        company=company,
                        debtor_id=debtor_id,
                        number=f"R-{number}",
                        issue_date=day,
                        due_date=day + timedelta(days=14),
                        amount_minor=amount,
                        open_minor=amount,
                        currency="EUR",
                        reference=f"R-{number}",
                    )
                )
            for invoice in create_invoices(company, invoices):
                if draws.random() < P_ALONE:
                    due_payments[invoice.due_date + timedelta(days=draws.randint(3, 40))].append(
                        (invoice.pk, invoice.amount_minor)
                    )
        for invoice_id, _amount in due_payments.pop(day, []):
            invoice = Invoice.objects.get(pk=invoice_id)
            if invoice.open_minor > 0:
                record_payment(
                    company,
                    Receipt(
                        invoice.debtor_id, invoice.open_minor, "EUR", day, invoice.number, "", invoice.pk
                    ),
                )
        if (day - START).days % 2 == 0:
            run_collection(
                company, day, send=False, approved=True, now=datetime.combine(day, clock(9), tzinfo=UTC)
            )
            queued = list(
                OutboundMessage.objects.filter(
                    company=company, business_date=day, status=MessageStatus.QUEUED
                ).values_list("pk", "debtor_id", "channel", "purpose")
            )
            OutboundMessage.objects.filter(pk__in=[q[0] for q in queued]).update(
                status=MessageStatus.SENT, sent_at=datetime.combine(day, clock(9), tzinfo=UTC)
            )
            queued = [q for q in queued if q[3] == Purpose.COLLECTION]  # thank-yous and confirmations aside
            open_by_debtor: dict[int, list[int]] = defaultdict(list)
            for pk, debtor_id in Invoice.objects.filter(
                company=company, open_minor__gt=0, due_date__lt=day, debtor_id__in=[q[1] for q in queued]
            ).values_list("pk", "debtor_id"):
                open_by_debtor[debtor_id].append(pk)
            for _pk, debtor_id, channel, _purpose in queued:
                result.reminders[channel] += 1
                hit = channel == own[debtor_id]
                result.own += hit
                if day >= late_from:
                    result.late += 1
                    result.own_late += hit
                last_channel[debtor_id] = channel
                if draws.random() < (P_OWN if hit else P_OTHER):
                    when = day + timedelta(days=draws.randint(1, 4))
                    for invoice_id in open_by_debtor[debtor_id]:
                        due_payments[when].append((invoice_id, 0))
        day += timedelta(days=1)
    result.last_own = sum(1 for d, c in last_channel.items() if c == own[d])
    # the channel the next email step would take for each customer (the fixed playbook: email)
    profiles = response_profiles(company.pk, list(own))
    for debtor_id, channel in own.items():
        profile = profiles.get(debtor_id)
        learned = (
            learn_channel(Channel.EMAIL, [Channel.EMAIL, Channel.LETTER, Channel.SMS], profile)
            if profile is not None and mode == "learned"
            else None
        )
        result.next_own += (learned.channel.value if learned else "email") == channel
    result.collected_minor = sum(
        Payment.objects.filter(company=company).values_list("amount_minor", flat=True)
    )
    result.overdue_minor = sum(
        Invoice.objects.filter(company=company, open_minor__gt=0, due_date__lt=end).values_list(
            "open_minor", flat=True
        )
    )
    result.seconds = time.perf_counter() - started
    connection.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--debtors", type=int, default=120)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(Path(tmp))
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        results = [simulate(mode, args.debtors, args.months, args.seed) for mode in ("fixed", "learned")]

    def pct(a: int, b: int) -> str:
        return f"{a / b:.0%}" if b else "-"

    print(
        f"Channel choice: {args.debtors} customers answering email, SMS or letter (a third each), "
        f"{args.months} months, seed {args.seed}"
    )
    header = f"{'':<36}" + "".join(f"{r.mode:>16}" for r in results)
    print(header)
    print("-" * len(header))
    rows = [
        ("reminders", [str(sum(r.reminders.values())) for r in results]),
        *[(f"  by {c}", [str(r.reminders[c]) for r in results]) for c in ("email", "sms", "letter", "call")],
        ("on the customer's channel", [pct(r.own, sum(r.reminders.values())) for r in results]),
        ("  in the last three months", [pct(r.own_late, r.late) for r in results]),
        ("last reminder on the customer's channel", [pct(r.last_own, r.customers) for r in results]),
        ("next reminder on the customer's channel", [pct(r.next_own, r.customers) for r in results]),
        ("collected (EUR)", [f"{r.collected_minor / 100:,.0f}" for r in results]),
        ("overdue at the end (EUR)", [f"{r.overdue_minor / 100:,.0f}" for r in results]),
        ("seconds", [f"{r.seconds:.1f}" for r in results]),
    ]
    for label, values in rows:
        print(f"{label:<36}" + "".join(f"{v:>16}" for v in values))
    fixed, learned = results
    ok = learned.collected_minor > fixed.collected_minor and learned.next_own > learned.customers / 2
    print(
        "learned choice reaches most customers on their own channel and collects more: "
        + ("yes" if ok else "NO")
    )
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
