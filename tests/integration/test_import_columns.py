"""Spreadsheets as other people make them: column headers in any spelling and in German or Latvian, customers
named rather than numbered, and open-item lists that say what is still open of each invoice."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from mahnwerk.ledger.claims import statement
from mahnwerk.ledger.imports import ImportFailed, header_key, import_file, resolve_columns
from mahnwerk.ledger.models import Allocation, Debtor, Invoice, Payment, TimelineEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


def write(tmp_path: Path, text: str, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def customer(company: Any, number: str, name: str) -> Debtor:
    return Debtor.objects.create(company=company, number=number, name=name)


def test_header_key_ignores_case_and_punctuation() -> None:
    assert header_key(" Due-Date ") == header_key("DUE_DATE") == header_key("Due Date") == "due_date"
    assert header_key("Rechnungs-Nr.") == "rechnungs_nr"
    assert header_key("Straße") == "strasse"
    assert header_key("Rēķina Nr.") == "rēķina_nr"


@pytest.mark.parametrize(
    "header",
    [
        "Number;Debtor;Issue Date;Due-Date;AMOUNT;Currency",
        "Invoice No.;Customer No;Invoice Date;Due Date;Gross Amount;CCY",
        "Rechnungsnummer;Kundennummer;Rechnungsdatum;Fällig am;Betrag;Währung",
        "Rechnungs-Nr.;Kunden-Nr.;Belegdatum;Fälligkeit;Bruttobetrag;Währung",
        "Rēķina Nr.;Klienta Nr.;Rēķina datums;Apmaksas termiņš;Summa;Valūta",
    ],
)
def test_headers_in_any_spelling_and_language(company: Any, tmp_path: Path, header: str) -> None:
    customer(company, "K1", "Nord GmbH")
    result = import_file(
        company, "invoices", write(tmp_path, f"{header}\nR-1;K1;01.02.2026;03.03.2026;10,50;EUR\n")
    )
    assert result.created == 1 and result.warnings == []
    inv = Invoice.objects.get(number="R-1")
    assert (inv.debtor.number, inv.issue_date, inv.due_date, inv.amount_minor) == (
        "K1",
        date(2026, 2, 1),
        date(2026, 3, 3),
        1050,
    )


def test_a_general_name_gives_way_to_a_specific_one(company: Any, tmp_path: Path) -> None:
    customer(company, "K1", "Nord GmbH")
    path = write(
        tmp_path,
        "Nr;Datum;Rechnungsdatum;Kundennummer;Fällig;Betrag\nR-1;15.03.2026;01.02.2026;K1;03.03.2026;10,00\n",
    )
    result = import_file(company, "invoices", path, mapping={"Nr": "number"})
    assert Invoice.objects.get().issue_date == date(2026, 2, 1)  # "Datum" was left alone
    assert any("'Datum'" in w for w in result.warnings)
    # alone, "Datum" is the invoice date
    assert resolve_columns("invoices", ["Datum", "Betrag"], {}) == ["issue_date", "amount"]


def test_two_columns_equally_named_for_one_field_are_refused(company: Any, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "number;debtor;issue_date;Issue Date;due_date;amount\nR-1;K1;2026-02-01;2026-02-01;2026-03-01;1\n",
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(company, "invoices", path)
    assert [(e.row, e.column) for e in failed.value.errors] == [(1, "Issue Date")]


def test_customers_by_name_are_found_or_created_once(company: Any, tmp_path: Path) -> None:
    nord = customer(company, "K-00001", "Nord  GmbH")  # the number the first new customer would get
    path = write(
        tmp_path,
        "Invoice;Customer;Invoice date;Due date;Amount\n"
        "R-1;nord gmbh;2026-02-01;2026-03-01;100.00\n"
        "R-2;Süd AG;2026-02-01;2026-03-01;200.00\n"
        "R-3;  süd ag ;2026-02-02;2026-03-02;300.00\n",
    )
    dry = import_file(company, "invoices", path, dry_run=True)
    assert dry.details["customers_created"] == 1 and Debtor.objects.count() == 1
    result = import_file(company, "invoices", path)
    assert result.created == 3 and result.details["customers_created"] == 1
    assert Invoice.objects.get(number="R-1").debtor == nord
    sued = Invoice.objects.get(number="R-2").debtor
    assert Invoice.objects.get(number="R-3").debtor == sued
    assert (sued.number, sued.name, sued.kind, sued.language) == ("K-00002", "Süd AG", "business", "de")
    assert TimelineEvent.objects.filter(debtor=sued, kind="debtor_created").count() == 1


def test_names_are_looked_up_also_when_the_first_row_leaves_the_name_out(
    company: Any, tmp_path: Path
) -> None:
    nord = customer(company, "K1", "Nord GmbH")
    # the first row is short (no name cell): the name column still names known customers in later rows
    path = write(
        tmp_path,
        "number;debtor;issue_date;due_date;amount;debtor_name\n"
        "R-1;K1;2026-02-01;2026-03-01;1.00\n"
        "R-2;;2026-02-01;2026-03-01;2.00;Nord GmbH\n",
    )
    result = import_file(company, "invoices", path)
    assert result.created == 2 and "customers_created" not in result.details
    assert Invoice.objects.get(number="R-2").debtor == nord and Debtor.objects.count() == 1


def test_a_new_number_with_a_name_creates_that_customer(company: Any, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "number;debtor;debtor_name;issue_date;due_date;amount\n"
        "R-1;K77;West KG;2026-02-01;2026-03-01;1.00\n"
        "R-2;K78;;2026-02-01;2026-03-01;1.00\n",
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(company, "invoices", path)
    assert [(e.row, e.column) for e in failed.value.errors] == [(3, "debtor")]
    assert "K78" in failed.value.errors[0].message
    path = write(
        tmp_path,
        "number;debtor;debtor_name;issue_date;due_date;amount\nR-1;K77;West KG;2026-02-01;2026-03-01;1.00\n",
    )
    import_file(company, "invoices", path)
    assert Debtor.objects.get(number="K77").name == "West KG"


def test_a_name_two_customers_share_needs_the_number(company: Any, tmp_path: Path) -> None:
    customer(company, "K1", "Meier")
    customer(company, "K2", "meier")
    path = write(
        tmp_path, "number;customer;issue_date;due_date;amount\nR-1;Meier;2026-02-01;2026-03-01;1.00\n"
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(company, "invoices", path)
    (error,) = failed.value.errors
    assert (error.row, error.column) == (2, "debtor_name") and "K1, K2" in error.message
    assert Debtor.objects.count() == 2 and not Invoice.objects.exists()


def test_neither_number_nor_name_column_is_named(company: Any, tmp_path: Path) -> None:
    path = write(tmp_path, "number;issue_date;due_date;amount\nR-1;2026-02-01;2026-03-01;1.00\n")
    with pytest.raises(ImportFailed) as failed:
        import_file(company, "invoices", path)
    assert [(e.row, e.column) for e in failed.value.errors] == [(1, "debtor")]


def test_an_open_item_list_books_what_was_paid_before(company: Any, tmp_path: Path) -> None:
    customer(company, "K1", "Nord GmbH")
    path = write(
        tmp_path,
        "Rechnungsnr;Kundennr;Rechnungsdatum;Fällig;Betrag;Offen\n"
        "R-1;K1;01.02.2026;03.03.2026;1.000,00;400,00\n"
        "R-2;K1;01.02.2026;03.03.2026;500,00;0,00\n"
        "R-3;K1;01.02.2026;03.03.2026;250,00;250,00\n",
    )
    result = import_file(company, "invoices", path)
    assert result.created == 2 and result.details == {"paid_skipped": 1, "partly_paid": 1}
    assert any("paid in full" in w for w in result.warnings)
    partly = Invoice.objects.get(number="R-1")
    assert (partly.amount_minor, partly.open_minor) == (100000, 40000)
    payment = Payment.objects.get()
    assert (payment.amount_minor, payment.value_date, payment.invoice, payment.unallocated_minor) == (
        60000,
        date(2026, 2, 1),
        partly,
        0,
    )
    assert list(Allocation.objects.values_list("invoice_id", "component", "amount_minor")) == [
        (partly.pk, "principal", 60000)
    ]
    assert Invoice.objects.get(number="R-3").open_minor == 25000
    assert not Invoice.objects.filter(number="R-2").exists()
    # interest is claimed on what is open only: as for an invoice of 400.00 from the start
    as_of = date(2026, 6, 30)
    (line,) = [
        x for x in statement(company, partly.debtor_id, "business", as_of)["lines"] if x["number"] == "R-1"
    ]
    assert line["principal_open_minor"] == 40000
    assert {s["principal_minor"] for s in line["segments"]} == {40000}


@pytest.mark.parametrize(
    ("columns", "values", "column", "words"),
    [
        ("Offen", "120,00", "open_amount", "more than"),
        ("Offen", "-1,00", "open_amount", "negative"),
        ("Bezahlt", "101,00", "paid_amount", "more than"),
        ("Offen;Bezahlt", "40,00;50,00", "paid_amount", "does not agree"),
    ],
)
def test_impossible_open_or_paid_amounts_are_refused(
    company: Any, tmp_path: Path, columns: str, values: str, column: str, words: str
) -> None:
    customer(company, "K1", "Nord GmbH")
    path = write(
        tmp_path,
        f"Rechnungsnr;Kundennr;Rechnungsdatum;Fällig;Betrag;{columns}\nR-1;K1;01.02.2026;03.03.2026;100,00;{values}\n",
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(company, "invoices", path)
    (error,) = failed.value.errors
    assert (error.row, error.column) == (2, column) and words in error.message
    assert not Invoice.objects.exists() and not Payment.objects.exists()


def test_a_file_imported_again_changes_nothing_and_a_changed_invoice_is_refused(
    company: Any, tmp_path: Path
) -> None:
    customer(company, "K1", "Nord GmbH")
    text = "number;debtor;issue_date;due_date;amount\nR-1;K1;2026-02-01;2026-03-01;10.00\n"
    import_file(company, "invoices", write(tmp_path, text))
    again = import_file(company, "invoices", write(tmp_path, text + "R-2;K1;2026-02-02;2026-03-02;20.00\n"))
    assert again.created == 1 and again.details["already_imported"] == 1
    assert any("imported before" in w for w in again.warnings)
    assert Invoice.objects.count() == 2
    changed = write(
        tmp_path, "number;debtor;issue_date;due_date;amount\nR-1;K1;2026-02-01;2026-03-05;12.00\n"
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(company, "invoices", changed)
    (error,) = failed.value.errors
    assert (error.row, error.column) == (2, "number")
    assert "due_date, amount" in error.message
    assert Invoice.objects.get(number="R-1").amount_minor == 1000


def test_a_customer_list_imported_again_updates_what_changed(company: Any, tmp_path: Path) -> None:
    header = "Kundennummer;Name;E-Mail;Straße;PLZ;Ort\n"
    first = header + "K1;Nord GmbH;a@nord.example;Hafen 1;20095;Hamburg\nK2;Süd AG;;Berg 2;80331;München\n"
    import_file(company, "debtors", write(tmp_path, first))
    again = import_file(company, "debtors", write(tmp_path, first))
    assert again.created == 0 and again.details == {"updated": 0, "unchanged": 2}
    assert not TimelineEvent.objects.filter(kind="debtor_details_changed").exists()
    # K1 moved and has a new address; K2's empty cells leave its details as they are; K3 is new
    changed = header + "K1;Nord GmbH;b@nord.example;Kai 9;20457;Hamburg\nK2;Süd AG;;;;\nK3;West KG;;;;\n"
    dry = import_file(company, "debtors", write(tmp_path, changed), dry_run=True)
    assert dry.details == {"updated": 1, "unchanged": 1} and Debtor.objects.count() == 2
    result = import_file(company, "debtors", write(tmp_path, changed))
    assert result.created == 1 and result.details == {"updated": 1, "unchanged": 1}
    nord = Debtor.objects.get(number="K1")
    assert (nord.street, nord.postcode) == ("Kai 9", "20457")
    assert nord.contacts.get(is_primary=True, kind="email").value == "b@nord.example"
    assert Debtor.objects.get(number="K2").street == "Berg 2"
    event = TimelineEvent.objects.get(debtor=nord, kind="debtor_details_changed")
    assert {c["field"] for c in event.data["changes"]} == {"street", "postcode"}


def test_a_title_above_the_header_and_a_totals_row_below_the_items(company: Any, tmp_path: Path) -> None:
    customer(company, "K1", "Nord GmbH")
    text = (
        "Offene Posten per 30.11.2026\n"
        "\n"
        "Rechnungsnummer;Kunde;Rechnungsdatum;Fällig am;Betrag\n"
        "R-1;Nord GmbH;01.10.2026;31.10.2026;1.200,00\n"
        "R-2;Nord GmbH;02.10.2026;01.11.2026;300,00\n"
        ";;;Summe;1.500,00\n"
    )
    result = import_file(company, "invoices", write(tmp_path, text))
    assert result.created == 2
    assert "the header is row 3; the rows above it (1) are not read" in result.warnings
    assert "totals row(s) not imported: row 6" in result.warnings
    assert sorted(Invoice.objects.values_list("amount_minor", flat=True)) == [30000, 120000]
    # errors keep the row numbers the spreadsheet shows
    bad = text.replace("R-2;Nord GmbH;02.10.2026", "R-2;Nord GmbH;32.10.2026")
    with pytest.raises(ImportFailed) as failed:
        import_file(company, "invoices", write(tmp_path, bad.replace("R-1", "R-3").replace("R-2", "R-4")))
    assert [(e.row, e.column) for e in failed.value.errors] == [(5, "issue_date")]


def test_a_totals_row_is_only_one_without_the_items_key_columns(company: Any, tmp_path: Path) -> None:
    customer(company, "K1", "Total Energies SE")
    text = (
        "number,debtor_name,issue_date,due_date,amount\n"
        "R-1,Total Energies SE,2026-10-01,2026-10-31,10.00\n"  # a customer named "Total": an invoice
        "Total:,,,,10.00\n"
    )
    result = import_file(company, "invoices", write(tmp_path, text))
    assert result.created == 1 and "totals row(s) not imported: row 3" in result.warnings
    # a row with a date is no totals row: an invoice without its customer
    with pytest.raises(ImportFailed) as failed:
        import_file(company, "invoices", write(tmp_path, text.replace("Total:,,,,", "Total,,2026-10-01,,")))
    assert {(e.row, e.column) for e in failed.value.errors} == {(3, "debtor"), (3, "due_date")}


def test_a_spreadsheet_with_a_title_block_finds_its_header(company: Any, tmp_path: Path) -> None:
    from openpyxl import Workbook

    customer(company, "K1", "Nord GmbH")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Debitorenliste", None, None, "Stand:", date(2026, 11, 30)])
    sheet.append([])
    sheet.append(["Beleg-Nr.", "Kunden-Nr.", "Belegdatum", "Fälligkeit", "Offen"])
    sheet.append(["R-9", "K1", date(2026, 10, 1), date(2026, 10, 31), 99.5])
    sheet.append([None, None, None, "Gesamt", 99.5])
    path = tmp_path / "op.xlsx"
    book.save(path)
    with pytest.raises(ImportFailed) as failed:  # "Offen" is the open amount: the amount itself is missing
        import_file(company, "invoices", path)
    assert [(e.row, e.column) for e in failed.value.errors] == [(3, "amount")]
    sheet.cell(row=3, column=5, value="Betrag")
    book.save(path)
    result = import_file(company, "invoices", path)
    assert result.created == 1 and "totals row(s) not imported: row 5" in result.warnings
    assert Invoice.objects.get(number="R-9").amount_minor == 9950
