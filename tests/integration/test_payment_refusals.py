"""Receipts the ledger cannot record are refused with the field named, by every way in alike (a file, the API,
the case file's form): a value date before the customer's rules begin (2002 for German claims) or more than a
week after today, an invoice named in another currency, an id of the payer's system recorded before or given
twice. Nothing of a refused call is written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from mahnwerk.ledger.imports import ImportFailed, import_file
from mahnwerk.ledger.models import Invoice, Payment, TimelineEvent
from mahnwerk.ledger.services import (
    VALUE_DATE_AHEAD_DAYS,
    PaymentRefused,
    Receipt,
    company_today,
    record_payments,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> dict[str, Any]:
    debtor = make_debtor(number="K1")
    return {
        "debtor": debtor,
        "eur": make_invoice(debtor, "R1", "100.00", "2026-03-31", issue="2026-03-01"),
        "other": make_debtor(number="K2"),
    }


def test_the_service_refuses_all_of_a_call_with_a_bad_receipt(company: Any, story: dict[str, Any]) -> None:
    debtor = story["debtor"]
    today = company_today(company)
    good = Receipt(debtor.pk, 10_00, "EUR", today, reference="R1")
    for bad, field in [
        (Receipt(debtor.pk, 10_00, "EUR", date(1995, 11, 1)), "value_date"),
        (Receipt(debtor.pk, 10_00, "EUR", date(2001, 12, 31)), "value_date"),
        (Receipt(debtor.pk, 10_00, "EUR", today + timedelta(days=VALUE_DATE_AHEAD_DAYS + 1)), "value_date"),
        (Receipt(debtor.pk, 30_00, "USD", today, invoice_id=story["eur"].pk), "currency"),
        (Receipt(story["other"].pk, 10_00, "EUR", today, invoice_id=story["eur"].pk), "invoice"),
    ]:
        with pytest.raises(PaymentRefused) as refused:
            record_payments(company, [good, bad])
        assert [(p.position, p.field) for p in refused.value.problems] == [(1, field)]
    assert not Payment.objects.exists()
    assert not TimelineEvent.objects.filter(kind="payment_recorded").exists()
    # the edges themselves are fine: the first day of the rules, a week ahead
    ahead = today + timedelta(days=VALUE_DATE_AHEAD_DAYS)
    made = record_payments(
        company,
        [Receipt(debtor.pk, 1_00, "EUR", date(2002, 1, 1)), Receipt(debtor.pk, 1_00, "EUR", ahead)],
    )
    assert [p.value_date for p in made] == [date(2002, 1, 1), ahead]


def test_an_id_of_the_payers_system_is_recorded_once(company: Any, story: dict[str, Any]) -> None:
    debtor = story["debtor"]
    today = company_today(company)
    twice = [Receipt(debtor.pk, 1_00, "EUR", today, external_id="T1")] * 2
    with pytest.raises(PaymentRefused) as refused:
        record_payments(company, twice)
    assert [(p.position, p.field) for p in refused.value.problems] == [(1, "external_id")]
    record_payments(company, twice[:1])
    with pytest.raises(PaymentRefused, match="T1 was recorded before"):
        record_payments(company, twice[:1])
    assert Payment.objects.count() == 1


def test_a_file_names_the_row_and_field_and_writes_nothing(
    company: Any, story: dict[str, Any], tmp_path: Path
) -> None:
    soon = company_today(company) + timedelta(days=1)
    later = company_today(company) + timedelta(days=400)
    path = tmp_path / "p.csv"
    path.write_text(
        "debtor;invoice;amount;currency;value_date\n"
        f"K1;R1;10,00;EUR;{soon:%d.%m.%Y}\n"
        "K1;;10,00;EUR;01.11.1995\n"
        f"K1;R1;30,00;USD;{soon:%d.%m.%Y}\n"
        f"K1;;10,00;EUR;{later:%d.%m.%Y}\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(company, "payments", path)
    assert [(e.row, e.column) for e in failed.value.errors] == [
        (3, "value_date"),
        (4, "currency"),
        (5, "value_date"),
    ]
    assert "2002-01-01" in failed.value.errors[0].message
    assert "USD" in failed.value.errors[1].message and "EUR" in failed.value.errors[1].message
    assert not Payment.objects.exists()
    assert Invoice.objects.get(number="R1").open_minor == 100_00


def test_the_api_answers_422_naming_the_field(
    api_post: Callable[[str, Any], Any], company: Any, story: dict[str, Any]
) -> None:
    def post(body: list[dict[str, Any]]) -> Any:
        return api_post("payments", body)

    today = company_today(company)
    body = [
        {"debtor": "K1", "amount_minor": 100, "value_date": today.isoformat(), "external_id": "T1"},
        {"debtor": "K1", "amount_minor": 100, "value_date": "1995-01-01"},
        {
            "debtor": "K1",
            "amount_minor": 100,
            "value_date": today.isoformat(),
            "invoice": "R1",
            "currency": "USD",
        },
        {"debtor": "K1", "amount_minor": 100, "value_date": today.isoformat(), "external_id": "T1"},
    ]
    refused = post(body)
    assert refused.status_code == 422, refused.content
    assert [d["loc"] for d in refused.json()["detail"]] == [
        ["body", 1, "value_date"],
        ["body", 2, "currency"],
        ["body", 3, "external_id"],
    ]
    assert not Payment.objects.exists()
    assert post(body[:1]).status_code == 201
    again = post(body[:1])
    assert again.status_code == 422
    assert again.json()["detail"][0]["loc"] == ["body", 0, "external_id"]
    assert Payment.objects.count() == 1
