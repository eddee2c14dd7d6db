"""``mahnwerk interest`` and ``mahnwerk rates`` through Django's call_command (no database)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path
    return tmp_path


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


BASE = ["interest", "--jurisdiction", "DE", "--debtor-kind", "business", "--principal", "1000.00",
        "--currency", "EUR", "--from", "2023-01-15", "--to", "2024-03-01"]  # fmt: skip


def test_interest_json_lists_every_segment() -> None:
    data = json.loads(run(*BASE, "--json"))
    # 48.59 + 61.10 + 21.09 (worked example 1 in tests/unit/test_interest_examples.py)
    assert data["interest"] == "130.78"
    assert [(s["from"], s["to"], s["days"], s["base"], s["rate"], s["amount"]) for s in data["segments"]] == [
        ("2023-01-15", "2023-06-30", 167, "1.62", "10.62", "48.59"),
        ("2023-07-01", "2023-12-31", 184, "3.12", "12.12", "61.10"),
        ("2024-01-01", "2024-03-01", 61, "3.62", "12.62", "21.09"),
    ]
    assert data["rule"]["margin"] == "9.00"


def test_interest_text_with_payment_and_actact() -> None:
    text = run(*BASE, "--payment", "2023-06-01=300.00", "--costs", "40.00")
    assert "Total interest: 110.85 EUR" in text
    assert "Payment 2023-06-01 300.00: costs 40.00, interest 40.15, principal 219.85" in text
    assert "2023-06-02  2023-06-30" in text
    text = run(*BASE, "--day-count", "actact")
    assert "Total interest: 130.72 EUR" in text


def test_arose_before_2014_uses_eight_points_and_contract_rate_overrides() -> None:
    data = json.loads(run(*BASE[:-4], "--from", "2014-06-10", "--to", "2014-12-31", "--principal", "2000.00",
                          "--arose", "2014-05-10", "--json"))  # fmt: skip
    assert data["interest"] == "81.78"
    data = json.loads(run(*BASE, "--contract-rate", "12", "--json"))
    assert data["rule"]["formula"] == "contract"
    assert {s["rate"] for s in data["segments"]} == {"12.00"}


def test_missing_half_year_refused_then_added(data_dir: Path) -> None:
    args = [*BASE[:-4], "--from", "2026-06-01", "--to", "2026-07-31", "--json"]
    with pytest.raises(CommandError) as err:
        run(*args)
    assert str(err.value) == (
        "no de_basiszinssatz rate for the half-year from 2026-07-01; "
        "add it with: mahnwerk rates add de_basiszinssatz 2026-07-01 <percent>"
    )
    out = run("rates", "add", "de_basiszinssatz", "2026-07-01", "1.50", "--source", "Bundesbank")
    assert "1.50 % from 2026-07-01" in out
    assert (data_dir / "rates" / "de_basiszinssatz.csv").exists()
    data = json.loads(run(*args))
    # June: 1000 x 10.27 % x 30/365 = 8.4411 -> 8.44; July: 1000 x 10.50 % x 31/365 = 8.9178 -> 8.92
    assert [s["amount"] for s in data["segments"]] == ["8.44", "8.92"]
    listed = json.loads(run("rates", "list", "--table", "de_basiszinssatz", "--json"))
    (table,) = listed["tables"]
    assert table["covered_until"] == "2026-12-31"
    assert table["entries"][-1] == {
        "valid_from": "2026-07-01",
        "rate_percent": "1.50",
        "source": "Bundesbank",
    }


def test_rates_list_all_tables_text() -> None:
    text = run("rates", "list")
    for name in ("de_basiszinssatz", "ecb_mro", "eu_reference_rate"):
        assert name + ":" in text
    assert "2016-07-01   -0.88 %" in text


@pytest.mark.parametrize(
    "args",
    [
        ["rates", "add", "de_basiszinssatz", "2026-08-01", "1.5"],
        ["rates", "add", "nope", "2026-07-01", "1.5"],
        ["rates", "add", "de_basiszinssatz", "01.07.2026", "1.5"],
        ["rates", "list", "--table", "nope"],
        [*BASE, "--payment", "2023-06-01"],
        [*BASE[:-4], "--from", "2024-03-01", "--to", "2023-01-15"],
        [*BASE, "--principal", "10.001"],
        [
            "interest",
            "--jurisdiction",
            "FR",
            "--debtor-kind",
            "business",
            "--principal",
            "1",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-02",
        ],
    ],
)
def test_bad_input_is_a_clear_error(args: list[str]) -> None:
    with pytest.raises(CommandError):
        run(*args)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--currency", "XYZ"], "--currency: not an ISO 4217 currency code: 'XYZ'"),
        (["--principal", "1e9"], "--principal: not an amount: '1e9'"),
        (["--principal", "1_000"], "--principal: not an amount: '1_000'"),
        (["--principal", "-5"], "--principal: must be positive"),
        (["--principal", "1000000000000000"], "--principal: 1000000000000000 is too large"),
        (["--costs", "-3"], "--costs: cannot be negative"),
        (["--payment", "2023-06-01=1e3"], "--payment: not an amount: '1e3'"),
    ],
)
def test_amounts_and_currencies_are_read_as_strictly_as_a_spreadsheet(
    change: list[str], message: str
) -> None:
    with pytest.raises(CommandError) as raised:
        run(*BASE, *change)
    assert str(raised.value).startswith(message), str(raised.value)


def test_a_lower_case_currency_is_read() -> None:
    assert run(*BASE[:-6], "--currency", "usd", *BASE[-4:]).strip().endswith("USD")
