"""Values that look right but are not: a country code no country has, a currency that is no money (gold,
"no currency"), a phone number of zeros, ``true`` as an amount. Refused alike by a file, the API and the
customer's own page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mahnwerk.core.sms import is_phone_number
from mahnwerk.core.tabular import TabularError, parse_currency
from mahnwerk.ledger.imports import ImportFailed, import_file
from mahnwerk.ledger.models import Debtor

pytestmark = pytest.mark.django_db


def test_phone_numbers() -> None:
    assert (
        is_phone_number("+49 30 1234567")
        and is_phone_number("030/1234567")
        and is_phone_number("+371 2000 0000")
    )
    assert not is_phone_number("0" * 40) and not is_phone_number("00000") and not is_phone_number("+1 234")
    assert not is_phone_number("1" * 16) and not is_phone_number("call me")


def test_currencies_that_are_no_money_are_refused() -> None:
    assert parse_currency("eur", "EUR") == "EUR" and parse_currency("XOF", "EUR") == "XOF"
    for code in ("XXX", "XAU", "XTS", "XDR"):
        with pytest.raises(TabularError):
            parse_currency(code, "EUR")


def test_a_file_with_an_unknown_country_or_a_zero_phone_is_refused(company: Any, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(
        "number;name;country;phone\nN1;Eins GmbH;ZZ;+49 30 123456\nN2;Zwei GmbH;LV;00000000\nN3;Drei;DE;\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(company, "debtors", path)
    assert [(e.row, e.column) for e in failed.value.errors] == [(2, "country"), (3, "phone")]
    assert not Debtor.objects.exists()


def test_the_api_takes_no_true_as_an_amount(api_post: Callable[[str, Any], Any], make_debtor: Any) -> None:
    make_debtor(number="K1")
    for amount in (True, 1.5, "100"):
        response = api_post(
            "payments", [{"debtor": "K1", "amount_minor": amount, "value_date": "2026-03-01"}]
        )
        assert response.status_code == 422, (amount, response.content)


def test_the_api_names_a_field_it_does_not_know_and_an_id_out_of_range(
    api_post: Callable[[str, Any], Any],
) -> None:
    from mahnwerk.collection.models import Run

    misspelt = api_post("runs", {"date": "2026-03-01", "dry_run": True})  # the field is as_of
    assert misspelt.status_code == 422, misspelt.content
    assert misspelt.json()["detail"][0]["loc"][-1] == "date"
    huge = api_post("runs", {"dry_run": True, "exclude_debtors": [10**30]})
    assert huge.status_code == 422, huge.content
    assert not Run.objects.exists()
