"""The fast paths of the spreadsheet import give what the cell-by-cell ones give: amounts read a column at
once, rules worked out per group of alike invoices, large SQLite loads with their shared values written into
the statement, rows held a column at a time."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from mahnwerk.core import tabular
from mahnwerk.core.tabular import TabularError
from mahnwerk.ledger import bulk, services
from mahnwerk.ledger.bulk import bulk_insert_columns, bulk_insert_rows
from mahnwerk.ledger.imports import Records, import_file
from mahnwerk.ledger.models import Invoice

D = date.fromisoformat


def _as_read(found: list[int | TabularError]) -> list[object]:
    return [f"error: {r}" if isinstance(r, TabularError) else r for r in found]


@pytest.mark.parametrize("sep", [",", "."])
@pytest.mark.parametrize("currency", ["EUR", "JPY", "KWD"])
def test_amounts_at_once_as_one_by_one(sep: str, currency: str) -> None:
    other = "." if sep == "," else ","
    values = [
        f"1{other}234{sep}56",
        f"12{sep}5",
        "100",
        "0",
        f"-5{sep}00",
        f"+7{sep}00",
        f"12{other}345",
        f"1{other}234{other}567{sep}891",
        "9" * 12,
        "9" * 41,
        f"{'0' * 38}1{sep}00",
        f"1 234{sep}00",
        f"€ 12{sep}00",
        "abc",
        f"12{sep}000",
        "٣٤٥",
    ]
    for positive in (True, False):
        at_once = tabular.parse_amounts(values, [currency] * len(values), sep, positive=positive)
        one_by_one = [
            tabular.parse_amounts([value], [currency, "EUR"][:1], sep, positive=positive)[0]
            for value in values
        ]
        single: list[int | TabularError] = []
        for value in values:
            try:
                single.append(tabular.parse_amount(value, currency, sep, positive=positive))
            except TabularError as exc:
                single.append(exc)
        assert _as_read(at_once) == _as_read(one_by_one) == _as_read(single)


def test_decimal_separator_names_the_first_values_of_each_kind() -> None:
    with pytest.raises(TabularError) as caught:
        tabular.detect_decimal_separator(["7", "1.234,56", "2.345,67", "1,234.56", "9,876.54"])
    assert "'1,234.56'" in str(caught.value) and "'1.234,56'" in str(caught.value)
    # a value with a line break in it (a quoted cell) is read as it is
    assert tabular.detect_decimal_separator(["1.234\n", "12,5\u00a0", " 3,5 "]) == ","
    assert tabular.detect_decimal_separator([]) == "."


def test_dates_read_once_per_text() -> None:
    fmt = tabular.date_format("DD.MM.YYYY")
    read = tabular.parse_dates(["01.02.2026", "", "31.02.2026", "01.02.2026", D("2026-03-01")], fmt)
    assert read[0] == read[3] == D("2026-02-01") and read[4] == D("2026-03-01")
    assert isinstance(read[1], TabularError) and isinstance(read[2], TabularError)


@pytest.mark.django_db
def test_rules_by_group_as_one_by_one(company: Any, make_debtor: Any) -> None:
    debtors = [make_debtor().pk, make_debtor(kind="consumer").pk]
    book = services.RuleBook(company, debtors)
    rows = [
        (
            debtors[n % 2],
            D("2026-01-01") + timedelta(days=n % 5),
            D("2026-02-01") + timedelta(days=n % 3),
            n % 4 == 0,
            None if n % 3 else D("2026-01-10"),
            n % 7 == 0,
        )
        for n in range(60)
    ]
    columns = [list(column) for column in zip(*rows, strict=True)]
    assert services.RuleBook(company, debtors).column(*columns) == [book(*row) for row in rows]
    alike = [[column[0]] * 5 for column in columns]  # every field alike: one group
    assert book.column(*alike) == [book(*rows[0])] * 5
    assert book.column([], [], [], [], [], []) == []


@pytest.mark.django_db
def test_a_large_load_stores_what_binding_stores(
    company: Any, make_debtor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shared values and columns of one value written into the statement: the same rows as bound."""
    debtor = make_debtor()
    odd = 'it\'s 100% %s "quoted" – ünïcödé'
    columns: tuple[str, ...] = ("company_id", "debtor_id", "number", "issue_date", "due_date", "amount_minor")
    columns += ("open_minor",)
    columns += (
        "currency",
        "reference",
        "due_date_agreed",
        "received_on",
        "hold_reason",
        "contract_rate_percent",
    )

    def rows(prefix: str) -> list[tuple[Any, ...]]:
        return [
            (
                *(company.pk, debtor.pk, f"{prefix}{n}", D("2026-01-01"), D("2026-01-31"), 500, 500, "EUR"),
                *(odd, True, None, odd if n % 2 else "", None),
            )
            for n in range(4)
        ]

    monkeypatch.setattr(bulk, "INLINE_FROM", 10**9)
    bound = bulk_insert_rows(Invoice, columns, rows("A-"))
    monkeypatch.setattr(bulk, "INLINE_FROM", 2)
    inline = bulk_insert_rows(Invoice, columns, rows("B-"))
    by_columns = bulk_insert_columns(Invoice, columns, list(zip(*rows("C-"), strict=True)))
    assert len(bound) == len(inline) == len(by_columns) == 4
    fields = [
        str(f.column) for f in Invoice._meta.concrete_fields if f.column not in {"id", "number", "created_at"}
    ]
    # SQLite stores what a value is per row: the inlined ones must be stored as the bound ones
    types = ", typeof(due_date_agreed), typeof(amount_minor)" if connection.vendor == "sqlite" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT number, {', '.join(fields)}{types} FROM ledger_invoice ORDER BY id")
        stored = cursor.fetchall()
    first = [row[1:] for row in stored[:4]]
    assert [row[1:] for row in stored[4:8]] == first == [row[1:] for row in stored[8:]]
    assert [row[0] for row in stored] == [f"{p}-{n}" for p in "ABC" for n in range(4)]
    assert Invoice.objects.filter(reference=odd).count() == 12


@pytest.mark.django_db
def test_records_read_as_rows(company: Any, make_debtor: Any, tmp_path: Path) -> None:
    """A file's rows held a column at a time read as (row number, row) pairs, short rows included."""
    from mahnwerk.ledger.imports import read_table

    path = tmp_path / "invoices.csv"
    path.write_text(
        "number;debtor;issue_date;due_date;amount;reference\n"
        "RE-1; K1 ;01.02.2026;15.03.2026;1,00;x\n\nRE-2;K1;01.02.2026;15.03.2026;2,00\n"
        "Summe;;;;3,00\n",
        encoding="utf-8",
    )
    table = read_table(path, "invoices")
    assert isinstance(table.rows, Records) and len(table.rows) == 2
    assert list(table.rows) == [
        (
            2,
            {"number": "RE-1", "debtor": "K1", "issue_date": "01.02.2026", "due_date": "15.03.2026"}
            | {"amount": "1,00", "reference": "x"},
        ),
        (
            4,
            {"number": "RE-2", "debtor": "K1", "issue_date": "01.02.2026", "due_date": "15.03.2026"}
            | {"amount": "2,00", "reference": ""},
        ),
    ]
    assert table.rows[-1] == table.rows[1] and table.rows[:1] == [table.rows[0]]
    assert table.warnings == ["totals row(s) not imported: row 5"]
    make_debtor(number="K1")
    assert import_file(company, "invoices", path).created == 2
    assert Records.of(list(table.rows)).columns == table.rows.columns
