#!/usr/bin/env python3
"""Importing and matching a bank statement, printed as one table.

    python benchmarks/statements.py [--entries 10000] [--debtors 5000] [--repeat 3]

A deterministic company (seed 5) with D debtors and 2 x N open invoices is generated into a fresh SQLite
database; a camt.053.001.08 statement of N credits is written for it: 60 % name their invoice in the
transfer text (some with prefixes, spaces or two invoices), 10 % carry only a structured RF reference, 15 %
pay an exact open amount under the debtor's name, 15 % are unknown (they go to review). Measured, median of
--repeat runs (each on a fresh copy of the database):

- parse:  ``core.bank_statements.parse_statement`` (lxml) on the file
- import: ``ledger.statements.import_statements`` — parse, match against every open invoice, apply the sure
  matches through ``record_payments``, store every entry (target: 10,000 entries in under 5 s)
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from run import setup_django  # the benchmarks' shared set-up

AS_OF = date(2026, 3, 10)
IBAN = "DE89370400440532013000"


def rf_reference(base: str) -> str:
    """An ISO 11649 creditor reference for ``base`` (alphanumeric)."""
    digits = "".join(str(int(c, 36)) for c in (base + "RF00").upper())
    check = 98 - int(digits) % 97
    return f"RF{check:02d}{base}"


def generate(n_entries: int, n_debtors: int, out: Path) -> None:
    from django.core.management import call_command

    from mahnwerk.demo import make_company
    from mahnwerk.ledger.models import Debtor, Invoice

    call_command("migrate", verbosity=0)
    rng = random.Random(5)
    company = make_company("bench")
    company.iban = IBAN
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
    debtors = list(Debtor.objects.filter(company=company).values_list("id", "name"))
    invoices = []
    for i in range(2 * n_entries):
        debtor_id, _ = debtors[rng.randrange(len(debtors))]
        amount = rng.randint(5_000, 500_000)
        issue = AS_OF - timedelta(days=rng.randint(20, 120))
        number = f"RE-2026-{i:06d}"
        invoices.append(
            Invoice(
                company=company,
                debtor_id=debtor_id,
                number=number,
                issue_date=issue,
                due_date=issue + timedelta(days=14),
                amount_minor=amount,
                open_minor=amount,
                currency="EUR",
                reference=rf_reference(f"{i:010d}") if i % 10 == 1 else number,
            )
        )
    Invoice.objects.bulk_create(invoices, batch_size=5000)
    names = dict(debtors)
    entries = []
    for n, inv in enumerate(rng.sample(invoices, n_entries)):
        kind = rng.random()
        amount = inv.amount_minor
        name = names[inv.debtor_id]
        if kind < 0.6:
            text = rng.choice(
                (inv.number, f"Rechnung {inv.number}", f"re {inv.number.lower()}", f"RE {inv.number[8:]}")
            )
            ref = ""
        elif kind < 0.7:
            text, ref = "", inv.reference if inv.reference.startswith("RF") else ""
        elif kind < 0.85:
            text, ref = "Zahlung", ""
        else:
            text, ref, name, amount = "Spende", "", f"Unbekannt {n}", rng.randint(100, 9_999)
        strd = (
            f"<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{ref}</Ref></CdtrRefInf></Strd>"
            if ref
            else ""
        )
        ustrd = f"<Ustrd>{text}</Ustrd>" if text else ""
        entries.append(
            f'<Ntry><Amt Ccy="EUR">{amount // 100}.{amount % 100:02d}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
            f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{AS_OF}</Dt></BookgDt><ValDt><Dt>{AS_OF}</Dt></ValDt>"
            f'<AcctSvcrRef>B-{n:08d}</AcctSvcrRef><NtryDtls><TxDtls><Amt Ccy="EUR">{amount // 100}.'
            f"{amount % 100:02d}</Amt><RltdPties><Dbtr><Pty><Nm>{name}</Nm></Pty></Dbtr></RltdPties>"
            f"<RmtInf>{ustrd}{strd}</RmtInf></TxDtls></NtryDtls></Ntry>"
        )
    out.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2026-03-10T18:00:00</CreDtTm></GrpHdr><Stmt><Id>BENCH-1</Id>"
        f"<Acct><Id><IBAN>{IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>{''.join(entries)}</Stmt></BkToCstmrStmt></Document>",
        encoding="utf-8",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--debtors", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mahnwerk-bench-statements-"))
    try:
        seed_dir = root / "seed"
        seed_dir.mkdir()
        setup_django(seed_dir)
        statement_file = root / "statement.xml"
        generate(args.entries, args.debtors, statement_file)
        from django.db import connection

        connection.close()
        from mahnwerk.core.bank_statements import parse_statement
        from mahnwerk.ledger.models import Company, StatementEntry
        from mahnwerk.ledger.statements import import_statements

        parse_times, import_times = [], []
        counts: dict[str, int] = {}
        database = seed_dir / "mahnwerk.sqlite3"
        pristine = root / "pristine.sqlite3"
        shutil.copy(database, pristine)
        data = statement_file.read_bytes()
        for _ in range(args.repeat):
            started = time.perf_counter()
            parse_statement(data, statement_file.name)
            parse_times.append(time.perf_counter() - started)
            connection.close()
            shutil.copy(pristine, database)
            company = Company.objects.get(slug="bench")
            started = time.perf_counter()
            import_statements(company, [statement_file], actor="bench")
            import_times.append(time.perf_counter() - started)
            counts = {
                status: StatementEntry.objects.filter(status=status).count()
                for status in ("matched", "review", "ignored")
            }
        median_import = statistics.median(import_times)
        print(f"Statement of {args.entries:,} credits against {2 * args.entries:,} open invoices (SQLite)")
        print("| step | median | per entry | entries/s |")
        print("|---|---|---|---|")
        for label, times in (("parse", parse_times), ("import and match", import_times)):
            median = statistics.median(times)
            print(
                f"| {label} | {median:.2f} s | {median / args.entries * 1e6:.0f} µs | "
                f"{args.entries / median:,.0f} |"
            )
        print(f"\nmatched {counts.get('matched', 0):,}, to review {counts.get('review', 0):,}")
        target = "met" if median_import < 5 * args.entries / 10_000 else "NOT met"
        print(f"target (10,000 entries in under 5 s): {target} ({median_import:.2f} s for {args.entries:,})")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
