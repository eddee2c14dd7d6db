from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mahnwerk.ledger.imports import ImportFailed, import_file
from mahnwerk.ledger.models import Contact, Debtor, Invoice, Payment, TimelineEvent


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


DEBTORS = """number,name,kind,language,email,phone,street,postcode,city,country
10001,Bäckerei Schulz GmbH,business,de,ap@schulz.example;chef@schulz.example,+49 30 123456,Hauptstr. 1,10115,Berlin,DE
10002,Jānis Bērziņš,consumer,lv,janis@example.lv,,Brīvības iela 1,LV-1050,Rīga,LV
"""


@pytest.mark.django_db
def test_debtors_then_invoices_then_payments(company: Any, tmp_path: Path) -> None:
    assert import_file(company, "debtors", write(tmp_path, "d.csv", DEBTORS)).created == 2
    schulz = Debtor.objects.get(number="10001")
    assert list(
        Contact.objects.filter(debtor=schulz, kind="email").order_by("id").values_list("value", "is_primary")
    ) == [("ap@schulz.example", True), ("chef@schulz.example", False)]
    assert Debtor.objects.get(number="10002").kind == "consumer"

    invoices = """Rechnungsnr;Kunde;Datum;Fällig;Betrag
RE-1;10001;01.02.2026;03.03.2026;1.234,56
RE-2;10001;10.02.2026;12.03.2026;99,90
RE-3;10002;10.02.2026;12.03.2026;50
"""
    result = import_file(
        company,
        "invoices",
        write(tmp_path, "i.csv", invoices),
        mapping={
            "Rechnungsnr": "number",
            "Kunde": "debtor",
            "Datum": "issue_date",
            "Fällig": "due_date",
            "Betrag": "amount",
        },
    )
    assert result.created == 3
    assert Invoice.objects.get(number="RE-1").amount_minor == 123456
    assert Invoice.objects.get(number="RE-2").open_minor == 9990

    payments = """value_date,amount,reference,payer,external_id
2026-03-05,1300.00,Rechnung RE-1,Schulz,TX-1
2026-03-06,50.00,RE-3,Bērziņš,TX-2
"""
    result = import_file(company, "payments", write(tmp_path, "p.csv", payments))
    assert result.created == 2
    # 1300.00 pays RE-1 (1234.56) in full; the rest (65.44) goes to the next oldest item of the debtor, RE-2
    assert Invoice.objects.get(number="RE-1").open_minor == 0
    assert Invoice.objects.get(number="RE-2").open_minor == 9990 - 6544
    assert Invoice.objects.get(number="RE-3").open_minor == 0
    assert TimelineEvent.objects.filter(debtor=schulz, kind="payment_recorded").count() == 1


@pytest.mark.django_db
def test_bad_rows_are_all_reported_by_row_and_column_and_nothing_is_written(
    company: Any, tmp_path: Path
) -> None:
    import_file(company, "debtors", write(tmp_path, "d.csv", DEBTORS))
    invoices = """number,debtor,issue_date,due_date,amount
RE-1,10001,2026-02-01,2026-03-03,100.00
RE-2,99999,2026-02-01,2026-03-03,100.00
RE-3,10001,2026-02-30,2026-03-03,100.00
RE-4,10001,2026-02-01,2026-01-03,100.00
RE-5,10001,2026-02-01,2026-03-03,-5
RE-1,10001,2026-02-01,2026-03-03,1.005
"""
    with pytest.raises(ImportFailed) as failed:
        import_file(company, "invoices", write(tmp_path, "i.csv", invoices))
    found = {(e.row, e.column) for e in failed.value.errors}
    assert found == {
        (3, "debtor"),
        (4, "issue_date"),
        (5, "due_date"),
        (6, "amount"),
        (7, "number"),
        (7, "amount"),
    }
    assert "row 3, column 'debtor'" in str(failed.value)
    assert Invoice.objects.count() == 0


@pytest.mark.django_db
def test_errors_are_listed_row_by_row_in_the_order_of_the_row_s_cells(company: Any, tmp_path: Path) -> None:
    """The cells are checked a column at a time; the list still reads like a row-by-row check."""
    import_file(company, "debtors", write(tmp_path, "d.csv", DEBTORS))
    invoices = """number,debtor,issue_date,due_date,amount,received_on
,99999,2026-02-30,2026-03-03,abc,
RE-1,10001,2026-02-01,2026-03-03,100.00,2026-01-01
RE-2,,2026-03-01,2026-02-01,-5,
RE-1,10001,2026-02-01,2026-03-03,1.005,x
"""
    with pytest.raises(ImportFailed) as failed:
        import_file(company, "invoices", write(tmp_path, "i.csv", invoices))
    assert [(e.row, e.column) for e in failed.value.errors] == [
        (2, "number"),
        (2, "debtor"),
        (2, "issue_date"),
        (2, "amount"),
        (3, "received_on"),
        (4, "debtor"),
        (4, "due_date"),
        (4, "amount"),
        (5, "number"),
        (5, "received_on"),
        (5, "amount"),
    ]


@pytest.mark.django_db
def test_unknown_or_missing_columns_are_refused_before_reading_rows(company: Any, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed) as failed:
        import_file(
            company,
            "invoices",
            write(tmp_path, "i.csv", "nummer,debtor,issue_date,due_date\nX,1,2026-01-01,2026-01-02\n"),
        )
    messages = [str(e) for e in failed.value.errors]
    assert any("'nummer': unknown column" in m for m in messages)
    assert any("'number': required column is missing" in m for m in messages)
    assert any("'amount': required column is missing" in m for m in messages)


@pytest.mark.django_db
def test_a_payment_imported_twice_is_refused(company: Any, tmp_path: Path) -> None:
    import_file(company, "debtors", write(tmp_path, "d.csv", DEBTORS))
    import_file(
        company,
        "invoices",
        write(
            tmp_path,
            "i.csv",
            "number,debtor,issue_date,due_date,amount\nRE-1,10001,2026-02-01,2026-03-03,100\n",
        ),
    )
    pay = write(tmp_path, "p.csv", "value_date,amount,invoice,external_id\n2026-03-05,40,RE-1,TX-9\n")
    import_file(company, "payments", pay)
    with pytest.raises(ImportFailed, match="row 2, column 'external_id': payment TX-9 was recorded before"):
        import_file(company, "payments", pay)
    assert Payment.objects.count() == 1
    assert Invoice.objects.get().open_minor == 6000


@pytest.mark.django_db
def test_a_payment_nobody_can_be_matched_to_is_an_error(company: Any, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="row 2, column 'reference': cannot tell whose payment"):
        import_file(
            company,
            "payments",
            write(tmp_path, "p.csv", "value_date,amount,reference\n2026-03-05,40,unknown\n"),
        )


@pytest.mark.django_db(transaction=True)
def test_a_large_import_is_written_with_the_table_s_indexes_built_again(
    company: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load that doubles the invoice table (three rows count as large here) is written without the non-unique
    indexes, which are there again afterwards (a failing load: tests/integration/test_bulk_insert.py)."""
    from django.db import connection

    from mahnwerk.ledger import bulk

    monkeypatch.setattr(bulk, "LARGE_LOAD", 3)
    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 3)

    def indexes() -> set[str]:
        with connection.cursor() as cursor:
            return set(connection.introspection.get_constraints(cursor, Invoice._meta.db_table))

    before = indexes()
    import_file(company, "debtors", write(tmp_path, "d.csv", DEBTORS))
    rows = "".join(f"RE-{n},10001,2026-02-01,2026-03-03,{n}.00\n" for n in range(1, 6))
    result = import_file(
        company, "invoices", write(tmp_path, "i.csv", "number,debtor,issue_date,due_date,amount\n" + rows)
    )
    assert result.created == 5 and indexes() == before
    assert set(
        Invoice.objects.filter(company=company, open_minor__gt=0).values_list("number", flat=True)
    ) == {f"RE-{n}" for n in range(1, 6)}
    assert TimelineEvent.objects.filter(kind="invoices_imported").count() == 1


@pytest.mark.django_db
def test_a_cell_with_a_nul_character_is_refused_by_row_and_column(company: Any, tmp_path: Path) -> None:
    """No text holds a NUL character (PostgreSQL refuses it); a file with one is damaged: its cells are errors."""
    path = write(tmp_path, "d.csv", "number,name\n10001,Bäckerei\x00 Schulz\n10002,Ok GmbH\n")
    with pytest.raises(ImportFailed) as failed:
        import_file(company, "debtors", path)
    assert [(e.row, e.column) for e in failed.value.errors] == [(2, "name")]
    assert "NUL" in failed.value.errors[0].message and not Debtor.objects.exists()
