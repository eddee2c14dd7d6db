"""Imports a bookkeeper can trust: CSV and XLSX files read strictly, every problem named by row and column,
nothing written unless everything is right; saved mappings; bank statements through ``mahnwerk import``."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from mahnwerk.ledger.imports import ImportFailed, ImportOptions, import_file
from mahnwerk.ledger.models import Debtor, Invoice, Payment

pytestmark = pytest.mark.django_db

BANK = Path(__file__).parent.parent / "data" / "bank"


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def xlsx(tmp_path: Path, name: str, rows: Sequence[Sequence[Any]], sheet: str = "Sheet1") -> Path:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    for row in rows:
        ws.append(list(row))
    path = tmp_path / name
    book.save(path)
    return path


def cli(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def errors(failed: pytest.ExceptionInfo[ImportFailed]) -> set[tuple[int, str]]:
    return {(e.row, e.column) for e in failed.value.errors}


@pytest.fixture
def debtors(make_debtor: Callable[..., Any]) -> list[Any]:
    return [make_debtor(number="10001"), make_debtor(number="10002")]


# --- dates ---------------------------------------------------------------------------------------------

# the shape of a public AR export (US dates, an extra column nobody asked for)
US_EXPORT = """customerID,invoiceNumber,InvoiceDate,DueDate,InvoiceAmount,Disputed
10001,611365,1/2/2013,2/1/2013,55.94,No
10001,7900770,1/26/2013,2/25/2013,61.74,No
10002,9231909,7/3/2013,8/2/2013,65.88,No
"""
US_MAP = [
    "customerID=debtor",
    "invoiceNumber=number",
    "InvoiceDate=issue_date",
    "DueDate=due_date",
    "InvoiceAmount=amount",
]


def test_a_us_dated_export_is_read_and_its_extra_column_ignored(
    company: Any, debtors: list[Any], tmp_path: Path
) -> None:
    path = write(tmp_path, "ar.csv", US_EXPORT)
    out, err = cli("invoices", str(path), "--company", "acme", "--map", *US_MAP)
    assert "3 invoices imported" in out
    assert "unknown column(s) ignored: 'Disputed'" in err
    inv = Invoice.objects.get(number="7900770")
    assert (inv.issue_date, inv.due_date, inv.amount_minor) == (date(2013, 1, 26), date(2013, 2, 25), 6174)
    assert Invoice.objects.get(number="611365").issue_date == date(2013, 1, 2)  # month first, like the rest


def test_strict_refuses_the_extra_column(company: Any, debtors: list[Any], tmp_path: Path) -> None:
    path = write(tmp_path, "ar.csv", US_EXPORT)
    with pytest.raises(CommandError, match="row 1, column 'Disputed': unknown column"):
        cli("invoices", str(path), "--strict", "--map", " ".join(US_MAP))
    assert Invoice.objects.count() == 0


def test_ambiguous_dates_ask_for_the_format_which_then_wins(
    company: Any, debtors: list[Any], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "i.csv",
        "number,debtor,issue_date,due_date,amount\nA-1,10001,1/2/2026,3/4/2026,10\nA-2,10001,5/6/2026,7/8/2026,10\n",
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(company, "invoices", path)
    assert errors(failed) == {(1, "issue_date"), (1, "due_date")}
    assert "--date-format" in str(failed.value)
    cli("invoices", str(path), "--date-format", "DD/MM/YYYY")
    assert Invoice.objects.get(number="A-1").issue_date == date(2026, 2, 1)


@pytest.mark.parametrize("bad", ["0001-01-01", "9999-12-31"])
def test_dates_outside_the_range_are_refused(
    company: Any, debtors: list[Any], tmp_path: Path, bad: str
) -> None:
    path = write(
        tmp_path,
        "i.csv",
        f"number,debtor,issue_date,due_date,amount\nA-1,10001,{min(bad, '2026-01-01')},{max(bad, '2026-01-31')},10\n",
    )
    with pytest.raises(ImportFailed, match="outside the accepted range 1990-01-01 to 2100-12-31"):
        import_file(company, "invoices", path)
    assert Invoice.objects.count() == 0
    old = write(
        tmp_path, "old.csv", "number,debtor,issue_date,due_date,amount\nA-1,10001,2005-01-01,2005-01-31,10\n"
    )
    with pytest.raises(CommandError, match="row 2, column 'issue_date'"):
        cli("invoices", str(old), "--min-date", "2010-01-01")
    cli("invoices", str(old), "--min-date", "2000-01-01")  # overridable
    early = write(
        tmp_path,
        "early.csv",
        "number,debtor,issue_date,due_date,amount\nA-2,10001,1995-01-01,1995-01-31,10\n",
    )
    with pytest.raises(
        ImportFailed,
        match="row 2, column 'due_date': 1995-01-01 is before 2002-01-01, the first day the rules",
    ):
        import_file(company, "invoices", early)
    assert Invoice.objects.get().issue_date == date(2005, 1, 1)


# --- amounts, lengths, atomicity ---------------------------------------------------------------------


def test_bad_amounts_are_named_by_row(company: Any, debtors: list[Any], tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "i.csv",
        "number;debtor;issue_date;due_date;amount\n"
        "A-1;10001;2026-01-01;2026-01-31;12,3,4\n"
        "A-2;10001;2026-01-01;2026-01-31;1e9\n"
        "A-3;10001;2026-01-01;2026-01-31;1_000\n"
        "A-4;10001;2026-01-01;2026-01-31;1.234,56\n"
        "A-5;10001;2026-01-01;2026-01-31;10000000000,00\n"
        "A-6;10001;2026-01-01;2026-01-31;12,50\n",
    )
    with pytest.raises(ImportFailed, match=r"mixes decimal separators \('12,3,4' and '1.234,56'\)"):
        import_file(company, "invoices", path)
    with pytest.raises(ImportFailed) as failed:
        import_file(company, "invoices", path, options=ImportOptions(decimal=","))
    assert errors(failed) == {(2, "amount"), (3, "amount"), (4, "amount"), (6, "amount")}
    assert Invoice.objects.count() == 0


def test_an_unquoted_decimal_comma_in_a_comma_file_is_named(
    company: Any, debtors: list[Any], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "i.csv",
        'number,debtor,issue_date,due_date,amount\nA-1,10001,2026-01-01,2026-01-31,"1234,56"\n'
        "A-2,10001,2026-01-01,2026-01-31,1234,56\n",
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(company, "invoices", path)
    assert errors(failed) == {(3, "-")}
    assert "decimal comma unquoted" in str(failed.value)
    assert Invoice.objects.count() == 0


def test_a_name_too_long_for_its_column_is_a_row_error_and_nothing_is_written(
    company: Any, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "d.csv",
        f"number,name,city,title\nK1,Good GmbH,Berlin,\nK2,{'N' * 5000},Berlin,\nK3,Ok,{'B' * 101},{'T' * 41}\n",
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(company, "debtors", path)
    assert errors(failed) == {(3, "name"), (4, "city"), (4, "title")}
    assert "row 3, column 'name': is 5000 characters long, at most 200 are allowed" in str(failed.value)
    assert Debtor.objects.count() == 0


def test_the_new_debtor_and_invoice_columns(company: Any, tmp_path: Path) -> None:
    debtors = write(
        tmp_path,
        "d.csv",
        "number;name;kind;jurisdiction;salutation;title;family_name;contact_person;agreed_channels;vat_id\n"
        "K1;Dr. Erika Muster;consumer;de;ms;Dr.;Muster;;email, letter;\n"
        "K2;Baltic SIA;business;LV;;;;Anna Ozola;;lv 40003123456\n",
    )
    import_file(company, "debtors", debtors)
    erika = Debtor.objects.get(number="K1")
    assert (erika.jurisdiction, erika.salutation, erika.title, erika.family_name, erika.agreed_channels) == (
        "DE",
        "ms",
        "Dr.",
        "Muster",
        "email, letter",
    )
    baltic = Debtor.objects.get(number="K2")
    assert (baltic.contact_person, baltic.vat_id) == ("Anna Ozola", "LV40003123456")
    invoices = write(
        tmp_path,
        "i.csv",
        "number;debtor;issue_date;due_date;amount;currency;due_date_agreed;received_on;consumer_notice\n"
        "R-1;K1;01.02.2026;03.03.2026;1.234,56;eur;ja;02.02.2026;yes\n"
        "R-2;K2;01.02.2026;03.03.2026;99,90;;;;\n",
    )
    import_file(company, "invoices", invoices)
    r1 = Invoice.objects.get(number="R-1")
    assert (r1.amount_minor, r1.currency, r1.due_date_agreed, r1.received_on, r1.consumer_notice) == (
        123456,
        "EUR",
        True,
        date(2026, 2, 2),
        True,
    )
    bad = write(
        tmp_path,
        "bad.csv",
        "number;debtor;issue_date;due_date;amount;currency;due_date_agreed\nR-3;K1;01.02.2026;03.03.2026;5;ZZZ;vielleicht\n",
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(company, "invoices", bad)
    assert errors(failed) == {(2, "currency"), (2, "due_date_agreed")}


# --- XLSX ----------------------------------------------------------------------------------------------


def _with_cached_value(path: Path, cell: str, value: str) -> None:
    """openpyxl saves a formula without its result; a spreadsheet program saves both: add the result."""
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    start = sheet.index(f'<c r="{cell}"')
    end = sheet.index("</c>", start)
    sheet = sheet[:end].replace("<v></v>", "").replace("<v />", "") + f"<v>{value}</v>" + sheet[end:]
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)


def test_xlsx_real_dates_numbers_and_formulas(company: Any, debtors: list[Any], tmp_path: Path) -> None:
    path = xlsx(
        tmp_path,
        "i.xlsx",
        [
            ["Rechnung", "Kunde", "Datum", "Fällig", "Betrag", "Notiz"],
            ["R-1", 10001, datetime(2026, 2, 1), datetime(2026, 3, 3), 1234.56, "x"],
            ["R-2", "10002", "01.02.2026", "03.03.2026", "99,90", None],
            [None, None, None, None, None, None],
            ["R-3", 10001, date(2026, 2, 10), date(2026, 3, 12), "=E2*2", None],
        ],
        sheet="Rechnungen",
    )
    _with_cached_value(path, "E5", "2469.12")
    mapping = {
        "Rechnung": "number",
        "Kunde": "debtor",
        "Datum": "issue_date",
        "Fällig": "due_date",
        "Betrag": "amount",
    }
    result = import_file(company, "invoices", path, mapping=mapping)
    assert result.created == 3
    assert result.warnings and "'Notiz'" in result.warnings[0]
    got = {i.number: (i.issue_date, i.amount_minor, i.debtor.number) for i in Invoice.objects.all()}
    assert got == {
        "R-1": (date(2026, 2, 1), 123456, "10001"),
        "R-2": (date(2026, 2, 1), 9990, "10002"),
        "R-3": (date(2026, 2, 10), 246912, "10001"),
    }


def test_xlsx_is_checked_the_same_way(company: Any, debtors: list[Any], tmp_path: Path) -> None:
    path = xlsx(
        tmp_path,
        "i.xlsx",
        [
            ["number", "debtor", "issue_date", "due_date", "amount"],
            ["R-1", 10001, datetime(1, 1, 1), datetime(2026, 3, 3), 10],
            ["R-2", 10001, datetime(2026, 2, 1), datetime(9999, 12, 31), 10],
            ["R-3", 10001, datetime(2026, 2, 1), datetime(2026, 3, 3), 2**63 - 1],
            ["R-" + "4" * 60, 10001, datetime(2026, 2, 1), datetime(2026, 3, 3), 0.001],
        ],
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(company, "invoices", path)
    assert errors(failed) == {(2, "issue_date"), (3, "due_date"), (4, "amount"), (5, "number"), (5, "amount")}
    assert Invoice.objects.count() == 0
    with pytest.raises(CommandError, match="no sheet 'Other'"):
        cli("invoices", str(path), "--sheet", "Other")


# --- mappings, dry run, several files ------------------------------------------------------------------


def test_saved_mappings(company: Any, debtors: list[Any], tmp_path: Path, data_dir: Path) -> None:
    first = write(tmp_path, "jan.csv", US_EXPORT)
    out, _err = cli("invoices", str(first), "--map", *US_MAP, "--save-mapping", "bank-export", "--dry-run")
    assert "Dry run: 3 invoices would be imported" in out and Invoice.objects.count() == 0
    saved = data_dir / "mappings" / "acme-bank-export.json"
    assert json.loads(saved.read_text())["columns"]["InvoiceDate"] == "issue_date"
    cli("invoices", str(first), "--mapping", "bank-export")
    assert Invoice.objects.count() == 3
    with pytest.raises(CommandError, match="is for invoices, not payments"):
        cli("payments", str(first), "--mapping", "bank-export")
    with pytest.raises(CommandError, match="no saved mapping 'nothing'"):
        cli("invoices", str(first), "--mapping", "nothing")
    with pytest.raises(CommandError, match="mapping name"):
        cli("invoices", str(first), "--map", *US_MAP, "--save-mapping", "../evil")


def test_dry_run_of_payments_writes_nothing(company: Any, debtors: list[Any], tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "value_date,amount,debtor,external_id\n2026-03-05,40.00,10001,TX-1\n")
    out, _err = cli("payments", str(path), "--dry-run", "--json")
    assert json.loads(out) | {"warnings": []} == {
        "ok": True,
        "kind": "payments",
        "created": 1,
        "dry_run": True,
        "warnings": [],
        "unallocated_minor": None,
    }
    assert Payment.objects.count() == 0


def test_spreadsheet_kinds_take_one_file(company: Any, tmp_path: Path) -> None:
    a, b = write(tmp_path, "a.csv", "number,name\n"), write(tmp_path, "b.csv", "number,name\n")
    with pytest.raises(CommandError, match="exactly one CSV or XLSX file, not 2"):
        cli("debtors", str(a), str(b))
    with pytest.raises(CommandError, match="name the file"):
        cli("debtors")
    with pytest.raises(CommandError, match="no such file"):
        cli("debtors", str(tmp_path / "missing.csv"))


# --- bank statements -----------------------------------------------------------------------------------


def test_import_statement_reads_several_files(
    company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    schulz = make_debtor("Bäckerei Schulz GmbH")
    make_invoice(schulz, "RE-2026-01452", "100.00", "2026-03-05")
    make_invoice(schulz, "RE-2026-01453", "50.00", "2026-03-05")
    files = [str(BANK / "handmade_camt053.001.08.xml"), str(BANK / "handmade_camt054.001.08.xml")]
    out, _err = cli("statement", *files, "--dry-run")
    assert "Dry run: nothing was saved." in out and "statement(s)" in out
    assert Payment.objects.count() == 0
    out, _err = cli("statement", *files, "--json")
    result = json.loads(out)
    assert result["statements"] >= 2 and result["matched"] >= 1
    assert Invoice.objects.get(number="RE-2026-01452").open_minor == 0
    with pytest.raises(CommandError, match="--strict is for spreadsheets"):
        cli("statement", *files, "--strict")
    with pytest.raises(CommandError, match="nothing imported"):
        cli("statement", str(BANK / "SOURCES.md"))


def test_map_takes_several_pairs_and_options_read_them(
    company: Any, debtors: list[Any], tmp_path: Path
) -> None:
    path = write(tmp_path, "i.csv", "Nr;Kunde;Datum;Fällig;Betrag\nR-1;10001;2026-02-01;2026-03-03;1.234\n")
    cli(
        "invoices",
        "--map",
        "Nr=number",
        "Kunde=debtor",
        "--map",
        "Datum=issue_date Fällig=due_date Betrag=amount",
        str(path),
    )
    assert Invoice.objects.get().amount_minor == 123400  # "1.234" alone: a thousands group
    # the options of the call are read: a date format the file does not follow is every date's error
    options = ImportOptions(mapping={"Nr": "number"}, date_format="%d.%m.%Y", decimal=",")
    with pytest.raises(ImportFailed, match="issue_date"):
        import_file(company, "invoices", path, options=options)


def test_common_other_names_of_columns_are_understood(company: Any, tmp_path: Path) -> None:
    debtors = write(tmp_path, "d.csv", "customer_number;name;vat\nK9;Nord GmbH;DE 811 907 980\n")
    import_file(company, "debtors", debtors)
    assert Debtor.objects.get(number="K9").vat_id == "DE811907980"
    invoices = write(
        tmp_path,
        "i.csv",
        "invoice_number;customer_number;issue_date;due_date;amount;receipt_date;default_notice\n"
        "R-9;K9;2026-02-01;2026-03-03;10.00;2026-02-04;no\n",
    )
    import_file(company, "invoices", invoices)
    assert Invoice.objects.get(number="R-9").received_on == date(2026, 2, 4)


def test_the_kind_imported_is_named_in_the_readers_language(
    company: Any, debtors: list[Any], tmp_path: Path
) -> None:
    from django.utils import translation

    path = write(tmp_path, "jan.csv", US_EXPORT)
    with translation.override("de"):
        out, _err = cli("invoices", str(path), "--map", *US_MAP, "--dry-run")
        expected = translation.ngettext(
            "Dry run: {count} invoice would be imported into {company}; nothing was saved.",
            "Dry run: {count} invoices would be imported into {company}; nothing was saved.",
            3,
        ).format(count=3, company=company.name)
        assert out.strip() == expected
        with pytest.raises(CommandError) as refused:
            cli("payments", str(path), str(path))
        label = translation.gettext("payments")
        assert str(refused.value) == translation.gettext(
            "{kind} are imported from exactly one CSV or XLSX file, not {count}"
        ).format(kind=label, count=2)
