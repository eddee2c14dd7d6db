"""Bank statements end to end: import, matching, payments applied, review queue, reversals, idempotency.

The expected figures were worked out by hand from the files in tests/data/bank/.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mahnwerk.ledger.models import (
    BankAccount,
    BankStatement,
    Invoice,
    Payment,
    PaymentReversal,
    StatementEntry,
    TimelineEvent,
)
from mahnwerk.ledger.services import LedgerError
from mahnwerk.ledger.statements import (
    add_bank_account,
    confirm_entry,
    import_statements,
    newest_statement_date,
    reverse_payment,
    review_queue,
    set_entry_status,
    split_entry,
)
from mahnwerk.ledger.timeline import describe

DATA = Path(__file__).parent.parent / "data" / "bank"
CAMT053 = DATA / "handmade_camt053.001.08.xml"
CAMT054 = DATA / "handmade_camt054.001.08.xml"
MALFORMED = DATA / "handmade_camt053.001.02_malformed.xml"
KONTIST = DATA / "phpmt940_kontist.sta"
CP1252 = DATA / "handmade_mt940_cp1252.sta"

pytestmark = pytest.mark.django_db


def open_minor(number: str) -> int:
    return Invoice.objects.get(number=number).open_minor


@pytest.fixture
def ledger(company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> dict[str, Any]:
    """Debtors and invoices the hand-made camt files pay (due shortly before: no default interest yet)."""
    schulz = make_debtor("Bäckerei Schulz GmbH")
    berzins = make_debtor("Jānis Bērziņš", language="lv")
    mueller = make_debtor("Müller Bau GmbH")
    ozols = make_debtor("Ozols SIA")
    eiche = make_debtor("Eiche OHG")
    make_invoice(schulz, "RE-2026-01452", "100.00", "2026-03-05")
    make_invoice(schulz, "RE-2026-01453", "50.00", "2026-03-05")
    make_invoice(berzins, "2026/17", "200.00", "2026-03-05")
    make_invoice(mueller, "R-300", "777.00", "2026-03-05")
    Invoice.objects.filter(number="R-300").update(reference="RF18539007547034")
    make_invoice(ozols, "INV-0400", "300.00", "2026-03-05")
    make_invoice(eiche, "INV-0500", "40.00", "2026-03-05")
    make_invoice(eiche, "INV-0600", "25.00", "2026-03-05")
    return {"schulz": schulz, "berzins": berzins, "mueller": mueller, "ozols": ozols, "eiche": eiche}


def test_camt053_matches_pays_and_queues(company: Any, ledger: dict[str, Any]) -> None:
    result = import_statements(company, [CAMT053], actor="test")
    assert result.errors == []
    assert (result.statements, result.entries) == (1, 9)
    assert (result.matched, result.review, result.ignored, result.reversed, result.duplicates) == (
        6,
        1,
        2,
        0,
        0,
    )
    # "RE-2026-01452 u. 01453": 150.00 split 100.00 + 50.00
    assert open_minor("RE-2026-01452") == 0 and open_minor("RE-2026-01453") == 0
    assert open_minor("2026/17") == 0  # "rēķins Nr. 2026/17"
    assert open_minor("R-300") == 0  # RF18 5390 0754 7034
    assert open_minor("INV-0400") == 300_00 - 120_00  # a partial payment
    assert open_minor("INV-0500") == 0 and open_minor("INV-0600") == 0  # a batch of two: text, end-to-end id
    assert Payment.objects.filter(company=company).count() == 7
    split = StatementEntry.objects.get(position="1")
    assert split.status == "matched" and split.debtor == ledger["schulz"]
    assert sorted(split.payments.values_list("amount_minor", flat=True)) == [5000, 10000]
    assert sorted(str(x) for x in split.payments.values_list("external_id", flat=True)) == [
        f"{split.key}#1",
        f"{split.key}#2",
    ]
    unknown = StatementEntry.objects.get(position="5")
    assert unknown.status == "review" and unknown.candidates == []
    assert [e.pk for e in review_queue(company)] == [unknown.pk]
    assert set(StatementEntry.objects.filter(status="ignored").values_list("position", flat=True)) == {
        "6",
        "7",
    }
    statement = BankStatement.objects.get()
    assert (statement.from_date, statement.to_date) == (date(2026, 3, 9), date(2026, 3, 10))
    assert newest_statement_date(company) == date(2026, 3, 10)
    # the company's own IBAN was registered as its main account
    assert BankAccount.objects.get(company=company).iban == company.iban
    # the payer's IBAN is known from now on
    assert StatementEntry.objects.get(position="2").counterparty_iban == "LV80BANK0000435195001"


def test_importing_the_same_statement_twice_changes_nothing(company: Any, ledger: dict[str, Any]) -> None:
    import_statements(company, [CAMT053])
    payments = Payment.objects.count()
    again = import_statements(company, [CAMT053])
    assert (again.entries, again.duplicates, again.matched, again.review, again.ignored) == (9, 9, 0, 0, 0)
    assert Payment.objects.count() == payments == 7
    assert StatementEntry.objects.count() == 9
    assert BankStatement.objects.count() == 1
    assert open_minor("INV-0400") == 18000


def test_reversal_reopens_the_invoice_and_says_so(company: Any, ledger: dict[str, Any]) -> None:
    import_statements(company, [CAMT053])
    assert open_minor("2026/17") == 0
    result = import_statements(company, [CAMT054], actor="test")
    assert (result.entries, result.reversed, result.matched, result.review) == (1, 1, 0, 0)
    invoice = Invoice.objects.get(number="2026/17")
    assert (invoice.open_minor, invoice.settled_on) == (20000, None)
    returned = StatementEntry.objects.get(statement__statement_id="MW-NTFCTN-2026-03-12")
    original = StatementEntry.objects.get(position="2", statement__statement_id="MW-STMT-2026-03-10")
    assert returned.status == "reversed" and returned.reverses == original
    payment = original.payments.get()
    reversal = PaymentReversal.objects.get(payment=payment)
    assert (reversal.reversed_on, reversal.reason, reversal.entry) == (date(2026, 3, 12), "MD06", returned)
    assert payment.allocations.count() == 0
    event = TimelineEvent.objects.get(debtor=ledger["berzins"], kind="payment_reversed")
    text = describe(event)
    assert "taken back by the bank (MD06)" in text and "2026/17" in text and "200.00" in text
    assert newest_statement_date(company) == date(2026, 3, 12)
    # the same return again: a duplicate, nothing reversed twice
    again = import_statements(company, [CAMT054])
    assert (again.duplicates, again.reversed) == (1, 0)
    with pytest.raises(LedgerError):
        reverse_payment(company, payment)


def test_unknown_account_is_an_error_naming_it_then_mt940_imports(
    company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    putz = make_debtor("DM Putz + Stuck UG (haftungsbeschränkt)")
    wcm = make_debtor("WCM UG")
    lucien = make_debtor("Lucien Schünke", kind="consumer")
    make_invoice(putz, "INV-00002", "95.95", "2021-02-10")
    make_invoice(putz, "INV-00009", "75.00", "2021-02-10")
    make_invoice(wcm, "INV-00003", "250.00", "2021-02-10")
    make_invoice(lucien, "R-7", "120.00", "2021-02-10")

    refused = import_statements(company, [KONTIST])
    assert (refused.statements, refused.entries) == (0, 0)
    [error] = refused.errors
    assert "DE85110101002482488293" in error and "not an account of Acme Werkzeug GmbH" in error
    assert StatementEntry.objects.count() == 0

    add_bank_account(company, iban="DE85 1101 0100 2482 4882 93", name="Kontist")
    result = import_statements(company, [KONTIST])
    assert result.errors == []
    assert (result.entries, result.matched, result.review, result.ignored) == (6, 3, 1, 2)
    assert open_minor("INV-00002") == 0  # "Rechnung-Nr.: INV-00002 v. 13.02.21"
    assert open_minor("INV-00003") == 0  # "INV-00003"
    assert open_minor("R-7") == 0  # no text: the amount and the payer's name "Lucien Schünke"
    [bendt] = review_queue(company)
    assert (bendt.amount_minor, bendt.counterparty_name) == (5000, "CHRISTIAN BENDT")

    # Windows-1252; the payer's IBAN paid INV-00002 before and 75.00 is what INV-00009 has open; then the
    # bank takes it back (RC, "RUECKLASTSCHRIFT"): INV-00009 is open again
    result = import_statements(company, [CP1252])
    assert (result.entries, result.matched, result.reversed, result.review) == (2, 1, 1, 0)
    paid = StatementEntry.objects.get(statement__statement_id="MWCP1252/2021/03", credit=True)
    assert paid.candidates[0]["rules"][0] == "known_iban"
    assert paid.remittance == "Danke für die Lieferung"
    assert open_minor("INV-00009") == 7500
    assert TimelineEvent.objects.filter(debtor=putz, kind="payment_reversed").count() == 1


def repaired(tmp_path: Path) -> Path:
    """The malformed statement with its entry 2 given the credit/debit indicator it lacks (a debit)."""
    path = tmp_path / "repaired.xml"
    text = MALFORMED.read_text(encoding="utf-8")
    fixed = text.replace(
        '<Amt Ccy="EUR">20.00</Amt><Sts>', '<Amt Ccy="EUR">20.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>'
    )
    assert fixed != text
    path.write_text(fixed, encoding="utf-8")
    return path


def test_malformed_entry_among_good_ones_refuses_the_file(company: Any, ledger: dict[str, Any]) -> None:
    result = import_statements(company, [MALFORMED])
    assert (result.statements, result.entries, result.review, result.ignored) == (0, 0, 0, 0)
    [error] = result.errors
    assert "statement MW-STMT-2026-03-11, entry 2" in error and "CdtDbtInd" in error
    assert error.startswith(f"{MALFORMED.name}: refused") and "\n" not in error
    assert result.refused == [str(MALFORMED)]
    assert StatementEntry.objects.count() == 0 and BankStatement.objects.count() == 0


def test_dry_run_saves_nothing(company: Any, ledger: dict[str, Any]) -> None:
    result = import_statements(company, [CAMT053], dry_run=True)
    assert (result.matched, result.review, result.ignored, result.dry_run) == (6, 1, 2, True)
    assert StatementEntry.objects.count() == 0 and Payment.objects.count() == 0
    assert open_minor("RE-2026-01452") == 10000


def test_unreadable_file_is_reported(company: Any, tmp_path: Path) -> None:
    bad = tmp_path / "payments.csv"
    bad.write_text("value_date,amount\n2026-01-01,1.00\n", encoding="utf-8")
    result = import_statements(company, [bad, tmp_path / "missing.xml"])
    assert len(result.errors) == 2 and "neither a camt" in result.errors[0]


def test_review_decisions(company: Any, ledger: dict[str, Any], tmp_path: Path) -> None:
    import_statements(company, [CAMT053, repaired(tmp_path)])
    unknown = StatementEntry.objects.get(position="5", statement__statement_id="MW-STMT-2026-03-10")
    gift = StatementEntry.objects.get(position="1", statement__statement_id="MW-STMT-2026-03-11")
    assert {e.pk for e in review_queue(company)} == {unknown.pk, gift.pk}
    # 60.00 confirmed for INV-0400 (180.00 open after the partial payment)
    confirm_entry(company, unknown.pk, ["INV-0400"], actor="clerk")
    assert open_minor("INV-0400") == 12000
    unknown.refresh_from_db()
    assert (unknown.status, unknown.decided_by, unknown.debtor) == ("matched", "clerk", ledger["ozols"])
    with pytest.raises(LedgerError, match="already"):
        confirm_entry(company, unknown.pk, ["INV-0400"])
    # 10.00 split over two invoices; the amounts must add up to the entry
    with pytest.raises(LedgerError, match="add up"):
        split_entry(company, gift.pk, {"INV-0400": 400})
    split_entry(company, gift.pk, {"INV-0400": 400, "R-300": 600})
    assert open_minor("INV-0400") == 11600
    assert review_queue(company) == []
    debit = StatementEntry.objects.get(position="7")
    with pytest.raises(LedgerError, match="no payment received"):
        confirm_entry(company, debit.pk, ["INV-0400"])
    with pytest.raises(LedgerError, match="no statement entry"):
        set_entry_status(company, 999999, "parked")


def test_commands(company: Any, ledger: dict[str, Any], tmp_path: Path) -> None:
    shutil.copy(CAMT053, tmp_path / "s.xml")
    out = io.StringIO()
    call_command("statement_import", str(tmp_path / "s.xml"), "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert (data["entries"], data["matched"], data["review"], data["ignored"]) == (9, 6, 1, 2)
    out = io.StringIO()
    call_command("statement_import", str(tmp_path / "s.xml"), stdout=out)
    assert "9 already imported" in out.getvalue()

    out = io.StringIO()
    call_command("payments", "review", "--json", stdout=out)
    [row] = json.loads(out.getvalue())
    assert (row["amount_minor"], row["counterparty"], row["remittance"]) == (
        6000,
        "Unbekannt Handel KG",
        "Rechnung Nr 999",
    )
    call_command("payments", "park", str(row["id"]), stdout=io.StringIO())
    out = io.StringIO()
    call_command("payments", "review", stdout=out)
    assert "(parked)" in out.getvalue()
    call_command(
        "payments", "split", str(row["id"]), "INV-0400=20,00", "INV-0400=40.00", stdout=io.StringIO()
    )
    assert open_minor("INV-0400") == 12000
    with pytest.raises(CommandError, match="already"):
        call_command("payments", "ignore", str(row["id"]), stdout=io.StringIO())

    out = io.StringIO()
    call_command("accounts", "add", "--blz", "50880050", "--account-number", "0194774600888", stdout=out)
    out = io.StringIO()
    call_command("accounts", "list", "--json", stdout=out)
    assert [a["iban"] or a["account_number"] for a in json.loads(out.getvalue())] == [
        company.iban,
        "0194774600888",
    ]
    with pytest.raises(CommandError, match="already registered"):
        call_command("accounts", "add", "DE89370400440532013000", stdout=io.StringIO())


def test_a_payment_matched_from_the_statement_stops_the_reminder_waiting_in_the_outbox(
    company: Any, ledger: dict[str, Any]
) -> None:
    from mahnwerk.collection.services import run_collection
    from mahnwerk.comms.models import OutboundMessage

    schulz = ledger["schulz"]
    Invoice.objects.filter(debtor=schulz).update(due_date=date(2026, 2, 20))
    # the reminder for both of Schulz's invoices is written on 03-02 and waits to be sent
    run_collection(company, date(2026, 3, 2), send=False)
    from mahnwerk.comms.compose import render_pending

    render_pending(company)
    queued = OutboundMessage.objects.get(debtor=schulz)
    assert queued.status == "queued" and "RE-2026-01452" in queued.body_text
    # the statement of 03-10 pays both ("RE-2026-01452 u. 01453"): the reminder is withdrawn, not sent
    import_statements(company, [CAMT053], actor="test")
    queued.refresh_from_db()
    assert queued.status == "cancelled"
    assert schulz.actions.get().status == "cancelled"
