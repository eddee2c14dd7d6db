"""An incomplete bank statement is refused as a whole: a file cut off (no MT940 closing balance after the
entries), a record that does not parse, balances that do not add up. Nothing of it is stored; the complete
file then imports once."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mahnwerk.core.bank_statements import parse_statement
from mahnwerk.ledger.models import BankStatement, Invoice, Payment, StatementEntry
from mahnwerk.ledger.statements import add_bank_account, import_statements
from tests.integration.test_statement_import import CAMT053, DATA, KONTIST

pytestmark = pytest.mark.django_db

SAMPLES = Path("/work/shared/data/samples")


def nothing_stored() -> bool:
    return not (StatementEntry.objects.exists() or BankStatement.objects.exists() or Payment.objects.exists())


@pytest.fixture
def kontist(company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> Any:
    add_bank_account(company, iban="DE85110101002482488293", name="Kontist")
    putz = make_debtor("DM Putz + Stuck UG (haftungsbeschränkt)")
    other = make_debtor("Andere GmbH")
    make_invoice(putz, "INV-00002", "95.95", "2021-02-10")
    make_invoice(other, "INV-00077", "95.95", "2021-02-10")  # the same amount, nobody paid it
    return company


def test_cut_mt940_is_refused_then_the_full_file_imports_once(kontist: Any, tmp_path: Path) -> None:
    cut = tmp_path / "cut.sta"
    cut.write_bytes(KONTIST.read_bytes()[:416])  # three entries, the last :86: cut off, no :62F:
    with pytest.raises(CommandError) as caught:
        call_command("statement_import", str(cut), stdout=io.StringIO(), stderr=io.StringIO())
    message = str(caught.value)
    assert message.startswith("cut.sta: refused") and ":62F:" in message and "\n" not in message
    assert nothing_stored()

    result = import_statements(kontist, [KONTIST])
    assert (result.errors, result.refused, result.entries) == ([], [], 6)
    assert StatementEntry.objects.filter(amount_minor=9595).count() == 1
    assert Invoice.objects.get(number="INV-00002").open_minor == 0
    assert Invoice.objects.get(number="INV-00077").open_minor == 9595

    payments = Payment.objects.count()
    again = import_statements(kontist, [KONTIST, KONTIST])
    assert (again.duplicates, again.errors) == (12, [])
    assert StatementEntry.objects.count() == 6 and Payment.objects.count() == payments


def test_damaged_statement_line_is_a_balance_that_does_not_add_up(kontist: Any, tmp_path: Path) -> None:
    garbled = tmp_path / "garbled.sta"
    garbled.write_bytes(KONTIST.read_bytes().replace(b":61:2102150215C50,00", b":6X:2102150215C50,00"))
    result = import_statements(kontist, [garbled])
    [error] = result.errors
    assert error.startswith("garbled.sta: refused") and "do not add up" in error
    assert "395.91" in error  # the closing balance the bank gave
    assert result.refused == [str(garbled)] and nothing_stored()


def test_a_refused_file_does_not_stop_the_others(kontist: Any, tmp_path: Path) -> None:
    cut = tmp_path / "cut.sta"
    cut.write_bytes(KONTIST.read_bytes()[:416])
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match=r"^cut\.sta: refused"):  # the one line, exit code 1
        call_command("statement_import", str(cut), str(KONTIST), stdout=out, stderr=err)
    assert "1 statement(s), 6 entries" in out.getvalue() and err.getvalue() == ""
    assert StatementEntry.objects.count() == 6
    assert not StatementEntry.objects.filter(statement__file_name="cut.sta").exists()


def test_nul_bytes_in_an_mt940_are_a_damaged_file() -> None:
    data = KONTIST.read_bytes().replace(b"?20Rechnung-Nr.", b"?20\x00\x00\x00\x00Nr.")
    [problem] = parse_statement(data).refusals
    assert "NUL" in str(problem)


def _with_balances(opening: str, closing: str) -> bytes:
    """The hand-made camt.053 with an opening (OPBD) and a closing (CLBD) balance, both credit."""

    def bal(code: str, amount: str) -> str:
        return (
            f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{amount}</Amt>'
            f"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-10</Dt></Dt></Bal>"
        )

    text = CAMT053.read_text(encoding="utf-8")
    return text.replace("<Ntry>", bal("OPBD", opening) + bal("CLBD", closing) + "<Ntry>", 1).encode()


def _camt053_closing() -> str:
    entries = parse_statement(CAMT053.read_bytes()).entries
    total = sum(e.amount_minor if e.credit else -e.amount_minor for e in entries if e.booked)
    return f"{1000 + total / 100:.2f}"


def test_camt_balance_mismatch_is_imported_with_a_warning(company: Any, tmp_path: Path) -> None:
    # XML cannot be cut off unnoticed, and banks' camt exports differ in what they list: the entries are
    # imported, and the import says that the balances do not add up
    closing = _camt053_closing()
    wrong = tmp_path / "wrong.xml"
    wrong.write_bytes(_with_balances("1000.00", f"{float(closing) + 0.01:.2f}"))
    result = import_statements(company, [wrong])
    assert (result.errors, result.entries) == ([], 9)
    [warning] = result.warnings
    assert warning.startswith("wrong.xml: ") and "OPBD" in warning and "CLBD" in warning

    right = tmp_path / "right.xml"
    right.write_bytes(_with_balances("1000.00", closing))
    result = import_statements(company, [right])
    assert (result.errors, result.warnings, result.duplicates) == ([], [], 9)


def test_import_words_the_parsers_messages_with_gettext(
    company: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the parser's problems are templates: the import words them in the reader's language (a fake gettext
    # that brackets every text it is given stands in for a catalogue)
    monkeypatch.setattr("mahnwerk.ledger.statements._", lambda message: f"[{message}]")
    wrong = tmp_path / "wrong.xml"
    wrong.write_bytes(_with_balances("1000.00", f"{float(_camt053_closing()) + 0.01:.2f}"))
    [warning] = import_statements(company, [wrong]).warnings
    assert warning.startswith("wrong.xml: [statement ")
    assert ": [the balances do not add up: opening " in warning
    assert "(OPBD) €1,000.00" in warning and "(CLBD)" in warning

    cut = tmp_path / "cut.sta"
    cut.write_bytes(KONTIST.read_bytes()[:416])
    [error] = import_statements(company, [cut]).errors
    assert error.startswith("[cut.sta: refused, nothing imported: [statement ")
    assert ": [no closing balance (:62F: or :62M:) after its entries" in error

    other = tmp_path / "other.xml"
    other.write_bytes(b"<Invoice/>")
    [error] = import_statements(company, [other]).errors
    assert "[an XML file, but not an ISO 20022 camt.052" in error


def test_formats_without_balances_are_not_checked() -> None:
    # a camt.054 notification has no balances; an MT942 interim report neither
    assert parse_statement((DATA / "handmade_camt054.001.08.xml").read_bytes()).refusals == []
    mt942 = (
        ":20:ST170119CYC/0001\n:25:PL29114010810000267002001002\n:28C:1/1\n:34F:PLN0\n"
        ":13D:1701191815+0100\n:61:1701190119CN0,01NTRFNONREF//MB170119012058\n:86:x\n"
    )
    assert parse_statement(mt942.encode()).refusals == []


def test_intermediate_page_closes_with_62M() -> None:
    page = (
        ":20:P\n:25:DE85110101002482488293\n:28C:1/1\n:60F:C210131EUR10,00\n"
        ":61:2102150215C5,00NTRFNONREF\n:86:166?20a\n:62M:C210215EUR15,00\n-\n"
    )
    assert parse_statement(page.encode()).refusals == []
    # an :86: after the closing balance is information for the account owner, not a cut-off entry
    closing_info = page.replace("-\n", ":64:C210215EUR15,00\n:86:Kontoinformation\n-\n")
    assert parse_statement(closing_info.encode()).refusals == []
    off = page.replace(":62M:C210215EUR15,00", ":62M:C210215EUR15,01")
    [problem] = parse_statement(off.encode()).refusals
    assert ":62M:" in str(problem)


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="the shared samples are not here")
@pytest.mark.parametrize(
    "name",
    [
        "mt940/betterplace_de_sepa_mt940.sta",
        "mt940/phpmt940_kontist.sta",
        "camt/hbci4java_de_camt052.001.08_lastschrift.xml",
        "camt/iso20022_business_sample_camt053.001.04.xml",
        "camt/oca_abnamro_camt053.001.02.xml",
    ],
)
def test_shared_samples_are_complete(name: str) -> None:
    result = parse_statement((SAMPLES / name).read_bytes())
    assert result.entries and result.refusals == []
    assert all(s.closing_minor is not None for s in result.statements)
