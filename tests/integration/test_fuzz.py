"""Fuzzing the ways data comes in: whatever the API or a spreadsheet is given, the answer is a clear refusal or a
complete import — never a traceback, never a 500, never half of it written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mahnwerk.ledger.imports import ImportFailed, import_file
from mahnwerk.ledger.models import Invoice, Payment

pytestmark = pytest.mark.django_db
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# values an outside caller might send for any field
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=60),
    st.sampled_from(
        ["", "0001-01-01", "9999-12-31", "2026-02-30", "1e9", "1_000", "12,3,4", "K1", "EUR", "ZZZ"]
    ),
    st.text(min_size=300, max_size=5000),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
INVOICE_FIELDS = ("number", "debtor", "issue_date", "due_date", "amount_minor", "currency", "reference")
PAYMENT_FIELDS = ("value_date", "amount_minor", "currency", "debtor", "invoice", "reference", "payer")


@pytest.fixture
def api(api_post: Any, make_debtor: Any) -> Any:
    make_debtor(number="K1")
    return api_post


def _body(fields: tuple[str, ...], good: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A good record with some of its fields replaced by anything, some dropped, and unknown ones added."""
    return st.builds(
        lambda changes, dropped, extra: {
            k: v for k, v in (good | changes | extra).items() if k not in dropped
        },
        st.dictionaries(st.sampled_from(fields), ANY_VALUE, max_size=3),
        st.sets(st.sampled_from(fields), max_size=2),
        st.dictionaries(st.text(min_size=1, max_size=8), ANY_VALUE, max_size=1),
    )


GOOD_INVOICE = {
    "number": "R-1",
    "debtor": "K1",
    "issue_date": "2026-03-01",
    "due_date": "2026-03-31",
    "amount_minor": 100,
}
GOOD_PAYMENT = {"value_date": "2026-03-10", "amount_minor": 100, "currency": "EUR", "debtor": "K1"}


@FUZZ
@given(records=st.lists(_body(INVOICE_FIELDS, GOOD_INVOICE), min_size=1, max_size=3))
def test_the_invoices_endpoint_answers_201_or_422_and_all_or_nothing(
    api: Any, records: list[dict[str, Any]]
) -> None:
    before = Invoice.objects.count()
    response = api("invoices", records)
    assert response.status_code in (201, 422), response.content[:500]
    if response.status_code == 422:
        assert Invoice.objects.count() == before
    Invoice.objects.all().delete()


@FUZZ
@given(records=st.lists(_body(PAYMENT_FIELDS, GOOD_PAYMENT), min_size=1, max_size=3))
def test_the_payments_endpoint_answers_201_or_422_and_all_or_nothing(
    api: Any, records: list[dict[str, Any]]
) -> None:
    before = Payment.objects.count()
    response = api("payments", records)
    assert response.status_code in (201, 422), response.content[:500]
    if response.status_code == 422:
        assert Payment.objects.count() == before


CELL = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30),
    st.sampled_from(
        [
            "",
            "1.234,56",
            "1,234.56",
            "1234,56",
            "1e9",
            "1_000",
            "12,3,4",
            "01.02.2026",
            "2/3/2026",
            "0001-01-01",
            "9999-12-31",
            "K1",
            "EUR",
            "ZZZ",
            '"',
            ";",
            "x" * 300,
        ]
    ),
)


@FUZZ
@given(
    rows=st.lists(st.tuples(CELL, CELL, CELL, CELL, CELL), min_size=1, max_size=4),
    separator=st.sampled_from([";", ",", "\t"]),
)
def test_a_spreadsheet_is_imported_whole_or_refused_with_row_and_column(
    company: Any, tmp_path: Path, rows: list[tuple[str, ...]], separator: str
) -> None:
    header = separator.join(("number", "debtor", "issue_date", "due_date", "amount"))
    lines = [header] + [separator.join(row) for row in rows]
    path = tmp_path / "invoices.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = Invoice.objects.count()
    try:
        result = import_file(company, "invoices", path)
    except ImportFailed as exc:
        assert exc.errors and all(e.row >= 1 for e in exc.errors)
        assert Invoice.objects.count() == before
    else:
        assert Invoice.objects.count() == before + result.created
        Invoice.objects.all().delete()


@pytest.mark.django_db
def test_numbers_with_spaces_around_them_are_created_and_their_ids_returned(api: Any) -> None:
    """The import trims a number ("0 " is invoice "0"); the answer names the rows it created all the same."""
    debtors = api("debtors", [{"number": " K9 ", "name": "Leerzeichen GmbH"}])
    assert debtors.status_code == 201, debtors.content
    invoices = api(
        "invoices",
        [
            {
                "number": "0 ",
                "debtor": "K9",
                "issue_date": "2026-03-01",
                "due_date": "2026-03-31",
                "amount_minor": 100,
            }
        ],
    )
    assert invoices.status_code == 201, invoices.content
    assert len(invoices.json()["ids"]) == 1 and len(debtors.json()["ids"]) == 1
