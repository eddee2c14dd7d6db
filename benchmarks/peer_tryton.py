#!/usr/bin/env python3
"""The peer side by side: Tryton's dunning against Mahnwerk's collection run on the same overdue items.

    python benchmarks/peer_tryton.py [--items 10000] [--venv /tmp/mahnwerk-peer-tryton] [--seed 3]

Tryton (``trytond``, ``trytond-account-dunning``, ``trytond-account-dunning-fee`` and ``proteus``, all of the
8.2 series, pinned below) is installed with pip into a throw-away virtual environment (kept in ``--venv`` for
the next time; delete the folder to start afresh), since it does not belong among Mahnwerk's dependencies.

The same N items are built in both, not timed: N/5 customers, amounts of 20 to 20,000 EUR, due 1 to 60 days
before the business date D (today). Tryton (its SQLite back end) gets a company with the standard chart of
accounts, one receivable line per item (a draft move on the revenue journal) and a dunning procedure with three
levels (1, 15 and 29 days overdue), each with a fee (5 EUR, 10 EUR, 5 %). Mahnwerk (SQLite) gets the demo
company's customers with the shipped default playbook. Then, on D, D+14 and D+28, each system does its daily
work and is timed: Tryton creates the dunnings (``generate_dunnings``, the "create dunnings" wizard) and
processes them (``process``: fee moves created and posted, dunnings waiting); Mahnwerk runs
``run_collection`` (decides, writes actions with their items, fees and interest, renders and queues each
message; nothing sent). Printed: both times per date and in total, what each did, and the ratio.

Tryton duns each overdue line on its own; Mahnwerk writes one consolidated message per customer, so their
counts differ by design. Not part of ``make test``: it needs PyPI and takes minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEER_PACKAGES = [
    "trytond==8.2.*",
    "trytond_account_dunning==8.2.*",
    "trytond_account_dunning_fee==8.2.*",
    "proteus==8.2.*",
]
OFFSETS = (0, 14, 28)

TRYTON_SIDE = r"""
import datetime as dt
import json
import os
import sys
import time
from decimal import Decimal

work, items_file = sys.argv[1], sys.argv[2]
os.environ["TRYTOND_DATABASE__URI"] = "sqlite://"
os.environ["TRYTOND_DATABASE__PATH"] = work
os.environ["DB_NAME"] = "peer"

from proteus import Model  # noqa: E402
from trytond.modules.account.tests.tools import create_chart, create_fiscalyear, get_accounts  # noqa: E402
from trytond.modules.company.tests.tools import create_company  # noqa: E402
from trytond.tests.tools import activate_modules  # noqa: E402

spec = json.load(open(items_file))
day = dt.date.fromisoformat(spec["day"])
started = time.perf_counter()
config = activate_modules(["account_dunning_fee"], create_company, create_chart)
User = Model.get("res.user")
config._context = User.get_preferences(True, config.context)
fiscalyear = create_fiscalyear(today=(day - dt.timedelta(days=100), day + dt.timedelta(days=60)))
fiscalyear.click("create_period")
period = fiscalyear.periods[0]
accounts = get_accounts()
Journal = Model.get("account.journal")
journal, = Journal.find([("code", "=", "REV")])
Category = Model.get("product.category")
category = Category(name="Fees", accounting=True, account_revenue=accounts["revenue"])
category.save()
Uom = Model.get("product.uom")
unit, = Uom.find([("name", "=", "Unit")])
Template = Model.get("product.template")
Fee = Model.get("account.dunning.fee")
fees = []
for name, method, value in (("Fee 1", "list_price", "5"), ("Fee 2", "list_price", "10"), ("Fee 3", "percentage", ".05")):
    template = Template(name=name, default_uom=unit, type="service", list_price=Decimal(value if method == "list_price" else "0"))
    template.account_category = category
    template.save()
    fee = Fee(name=name, product=template.products[0], journal=journal, compute_method=method)
    if method == "percentage":
        fee.percentage = Decimal(value)
    fee.save()
    fees.append(fee)
Procedure = Model.get("account.dunning.procedure")
procedure = Procedure(name="Three levels")
for overdue, fee in zip((1, 15, 29), fees):
    level = procedure.levels.new()
    level.overdue = dt.timedelta(days=overdue)
    level.fee = fee
procedure.save()
context = dict(config.context)
start_date = period.start_date
ids = {"journal": journal.id, "period": period.id, "procedure": procedure.id,
       "revenue": accounts["revenue"].id, "receivable": accounts["receivable"].id}

from trytond.pool import Pool  # noqa: E402
from trytond.transaction import Transaction  # noqa: E402

from trytond.transaction import TransactionError  # noqa: E402

db = os.environ["DB_NAME"]


def in_transaction(work):
    # run work in a committed transaction, as Tryton's own dispatcher does: started again with the tables
    # locked that it asked for
    extras = {}
    while True:
        with Transaction().start(db, config.user, context=context, **extras) as transaction:
            try:
                result = work(Pool())
            except TransactionError as e:
                transaction.rollback()
                e.fix(extras)
                continue
            transaction.commit()
            return result

def build(pool):
    Party, Move = pool.get("party.party"), pool.get("account.move")
    parties = Party.create([{"name": f"Customer {n}", "dunning_procedure": ids["procedure"]}
                            for n in range(spec["customers"])])
    moves = []
    for customer, amount_cents, due in spec["items"]:
        amount = Decimal(amount_cents) / 100
        moves.append({
            "period": ids["period"], "journal": ids["journal"], "date": start_date,
            "lines": [("create", [
                {"account": ids["revenue"], "credit": amount, "debit": Decimal(0)},
                {"account": ids["receivable"], "debit": amount, "credit": Decimal(0),
                 "party": parties[customer].id, "maturity_date": dt.date.fromisoformat(due)},
            ])],
        })
    for start in range(0, len(moves), 1000):
        Move.create(moves[start:start + 1000])


in_transaction(build)
setup = time.perf_counter() - started

results = []
for offset in spec["offsets"]:
    on = day + dt.timedelta(days=offset)
    def dun(pool):
        Dunning = pool.get("account.dunning")
        begin = time.perf_counter()
        Dunning.generate_dunnings(on)
        created = time.perf_counter() - begin
        drafts = Dunning.search([("state", "=", "draft")])
        Dunning.process(drafts)
        return begin, created, len(drafts), pool.get("account.dunning.fee.dunning_level").search_count([])

    first = time.perf_counter()
    _begin, created, dunnings, fee_count = in_transaction(dun)
    seconds = time.perf_counter() - first  # retries and the commit included
    results.append({"day": on.isoformat(), "create": created, "seconds": seconds, "dunnings": dunnings,
                    "fees": fee_count})
print(json.dumps({"setup": setup, "days": results}))
"""


def items(n: int, seed: int, day: date) -> dict[str, object]:
    """The N items both systems get: (customer index, amount in cents, due date)."""
    rng = random.Random(seed)
    customers = max(1, n // 5)
    rows = [
        (
            rng.randrange(customers),
            rng.randint(2_000, 2_000_000),
            (day - timedelta(days=rng.randint(1, 60))).isoformat(),
        )
        for _ in range(n)
    ]
    return {"day": day.isoformat(), "customers": customers, "items": rows, "offsets": list(OFFSETS)}


def ensure_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    marker = venv / ".mahnwerk-peer"
    if python.exists() and marker.exists() and marker.read_text() == " ".join(PEER_PACKAGES):
        return python
    base = os.environ.get("PEER_PYTHON") or sys.executable
    print(f"creating {venv} and installing {' '.join(PEER_PACKAGES)} ...", file=sys.stderr)
    subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PEER_PACKAGES],
        check=True,
    )
    marker.write_text(" ".join(PEER_PACKAGES))
    return python


def tryton_side(python: Path, spec: dict[str, object], work: Path) -> dict[str, object]:
    (work / "items.json").write_text(json.dumps(spec))
    (work / "tryton_side.py").write_text(TRYTON_SIDE)
    out = subprocess.run(
        [str(python), str(work / "tryton_side.py"), str(work), str(work / "items.json")],
        capture_output=True,
        text=True,
        cwd=work,
    )
    if out.returncode != 0:
        raise SystemExit(f"Tryton side failed:\n{out.stderr[-4000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def mahnwerk_side(spec_file: Path, data_dir: Path) -> dict[str, object]:
    """Run in its own process: build the items into a fresh SQLite database and time the three runs."""
    from run import setup_django  # the benchmarks' shared set-up

    spec = json.loads(spec_file.read_text())
    setup_django(data_dir)
    from django.core.management import call_command

    from mahnwerk.collection.services import run_collection
    from mahnwerk.demo import make_company, make_debtors
    from mahnwerk.ledger.models import Invoice

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    company = make_company("peer")
    debtors = make_debtors(company, int(spec["customers"]), random.Random(7))
    day = date.fromisoformat(spec["day"])
    Invoice.objects.bulk_create(
        [
            Invoice(
                company=company,
                debtor=debtors[customer][0],
                number=f"P{i:08d}",
                issue_date=date.fromisoformat(due) - timedelta(days=30),
                due_date=date.fromisoformat(due),
                amount_minor=cents,
                open_minor=cents,
                currency="EUR",
                reference=f"P{i:08d}",
            )
            for i, (customer, cents, due) in enumerate(spec["items"])
        ],
        batch_size=5000,
    )
    setup = time.perf_counter() - started
    results = []
    for offset in spec["offsets"]:
        on = day + timedelta(days=offset)
        begin = time.perf_counter()
        result = run_collection(company, on, send=False)
        results.append(
            {
                "day": on.isoformat(),
                "seconds": time.perf_counter() - begin,
                "actions": result.actions_created,
                "messages": result.messages_queued,
            }
        )
    return {"setup": setup, "days": results}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "mahnwerk-peer-tryton")
    parser.add_argument("--_mahnwerk", nargs=2, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options._mahnwerk:
        print(json.dumps(mahnwerk_side(Path(options._mahnwerk[0]), Path(options._mahnwerk[1]))))
        return
    python = ensure_venv(options.venv)
    spec = items(options.items, options.seed, date.today())
    with tempfile.TemporaryDirectory(prefix="mahnwerk-peer-") as tmp:
        work = Path(tmp)
        (work / "tryton").mkdir()
        (work / "mahnwerk").mkdir()
        tryton = tryton_side(python, spec, work / "tryton")
        (work / "items.json").write_text(json.dumps(spec))
        out = subprocess.run(
            [sys.executable, __file__, "--_mahnwerk", str(work / "items.json"), str(work / "mahnwerk")],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise SystemExit(f"Mahnwerk side failed:\n{out.stderr[-4000:]}")
        ours = dict(json.loads(out.stdout.strip().splitlines()[-1]))
    version = subprocess.run(
        [str(python), "-c", "import trytond; print(trytond.__version__)"], capture_output=True, text=True
    ).stdout.strip()
    print(
        f"\nTryton {version} (account_dunning, account_dunning_fee) against Mahnwerk, {options.items:,} overdue "
        f"items, {spec['customers']:,} customers, SQLite, {os.cpu_count()} cores\n"
    )
    print(
        "| business date | Tryton s (create + process) | dunnings | Mahnwerk s | actions | messages | Tryton / Mahnwerk |"
    )
    print("|---|---|---|---|---|---|---|")
    total_t = total_m = 0.0
    for t, m in zip(tryton["days"], ours["days"], strict=True):  # type: ignore[call-overload]
        total_t += t["seconds"]
        total_m += m["seconds"]
        ratio = t["seconds"] / m["seconds"] if m["seconds"] else float("nan")
        print(
            f"| {t['day']} | {t['seconds']:.2f} ({t['create']:.2f} + {t['seconds'] - t['create']:.2f}) | "
            f"{t['dunnings']:,} | {m['seconds']:.2f} | {m['actions']:,} | {m['messages']:,} | {ratio:.1f}x |"
        )
    ratio = total_t / total_m if total_m else float("nan")
    print(f"| all three | {total_t:.2f} | | {total_m:.2f} | | | {ratio:.1f}x |")
    print(
        f"\nset-up, not timed above: Tryton {tryton['setup']:.0f} s, Mahnwerk {ours['setup']:.0f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
