"""Strict spreadsheet cells: dates detected per column, amounts with one decimal separator."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mahnwerk.core.tabular import (
    MAX_ABS_MINOR,
    AmbiguousDates,
    TabularError,
    check_length,
    date_format,
    detect_date_format,
    detect_decimal_separator,
    parse_amount,
    parse_bool,
    parse_currency,
    parse_date,
    parse_decimal,
    split_pairs,
)

D = date.fromisoformat


# --- dates ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "label", "first"),
    [
        (["2026-01-31", "2026-02-01"], "YYYY-MM-DD", "2026-01-31"),
        (["31.01.2026", "1.2.2026"], "DD.MM.YYYY", "2026-01-31"),
        (["1/26/2013", "2/3/2013", "12/31/2013"], "MM/DD/YYYY", "2013-01-26"),  # US: 26 is no month
        (["26/1/2013", "3/2/2013"], "DD/MM/YYYY", "2013-01-26"),
        (["26-Apr-11", "3-May-11"], "DD-Mon-YY", "2011-04-26"),
        (["26-Apr-2011"], "DD-Mon-YYYY", "2011-04-26"),
        (["31-01-2026", "01-02-2026"], "DD-MM-YYYY", "2026-01-31"),
        (["", "2026-01-31", "  "], "YYYY-MM-DD", "2026-01-31"),  # empty cells say nothing
    ],
)
def test_the_one_format_that_reads_every_value_is_found(values: list[str], label: str, first: str) -> None:
    fmt = detect_date_format(values)
    assert fmt is not None and fmt.label == label
    assert parse_date(next(v for v in values if v.strip()), fmt) == D(first)


def test_a_column_readable_both_ways_asks_for_the_format() -> None:
    with pytest.raises(AmbiguousDates, match=r"DD/MM/YYYY or MM/DD/YYYY.*--date-format"):
        detect_date_format(["1/2/2026", "3/4/2026", "12/11/2026"])
    # named, it wins
    us = date_format("MM/DD/YYYY")
    assert parse_date("1/2/2026", us) == D("2026-01-02")
    assert parse_date("1/2/2026", date_format("%d/%m/%Y")) == D("2026-02-01")


def test_values_reading_the_same_either_way_are_not_ambiguous() -> None:
    fmt = detect_date_format(["1/1/2026", "3/3/2026"])
    assert fmt is not None and parse_date("3/3/2026", fmt) == D("2026-03-03")


def test_a_value_not_in_the_column_s_format_is_named() -> None:
    fmt = detect_date_format(["1/26/2013", "2/3/2013", "2013-05-01"])
    assert fmt is not None and fmt.label == "MM/DD/YYYY"
    with pytest.raises(TabularError, match="not a date in the column's format MM/DD/YYYY: '2013-05-01'"):
        parse_date("2013-05-01", fmt)
    assert detect_date_format(["soon", "later"]) is None
    with pytest.raises(TabularError, match="not a date: 'soon'"):
        parse_date("soon", None)


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "1989-12-31", "2101-01-01"])
def test_dates_outside_the_range_are_refused(value: str) -> None:
    with pytest.raises(TabularError, match="outside the accepted range 1990-01-01 to 2100-12-31"):
        parse_date(value, date_format("YYYY-MM-DD"))
    with pytest.raises(TabularError, match="outside"):
        parse_date(D(value), None)  # a real date from a spreadsheet too


def test_the_range_can_be_given_and_real_dates_pass() -> None:
    assert parse_date("1985-05-05", date_format("YYYY-MM-DD"), min_date=D("1980-01-01")) == D("1985-05-05")
    assert parse_date(datetime(2026, 1, 2, 13, 0), None) == D("2026-01-02")
    with pytest.raises(TabularError, match="unknown date format"):
        date_format("whenever")


def test_strptime_s_leniency_is_not_taken() -> None:
    iso = date_format("YYYY-MM-DD")
    for text in ["2026-1-2x", "26-01-02", "2026-13-01", "2026-02-30"]:
        with pytest.raises(TabularError):
            parse_date(text, iso)


# --- amounts -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sep", "minor"),
    [
        ("1234.56", ".", 123456),
        ("1234,56", ",", 123456),
        ("1,234.56", ".", 123456),
        ("1.234,56", ",", 123456),
        ("1 234,56", ",", 123456),
        ("1\u00a0234,56", ",", 123456),
        ("1'234.56", ".", 123456),
        ("1,234,567.8", ".", 123456780),
        ("50", ".", 5000),
        ("50", ",", 5000),
        ("€1,234.56", ".", 123456),
        ("1.234,56 €", ",", 123456),
        ("EUR 12,50", ",", 1250),
        ("+7.5", ".", 750),
    ],
)
def test_good_amounts_with_either_separator(text: str, sep: str, minor: int) -> None:
    assert parse_amount(text, "EUR", sep) == minor


@pytest.mark.parametrize(
    ("text", "sep", "why"),
    [
        ("12,3,4", ".", "three digits"),  # was read as 1,234.00
        ("12,3,4", ",", "more than one decimal separator"),
        ("1e9", ".", "no exponents"),  # was one billion
        ("1E9", ",", "no exponents"),
        ("1_000", ".", "no underscores"),  # was 1,000
        ("1234,56", ".", "three digits"),
        ("1.234,56", ".", "not an amount"),
        ("1,234.56", ",", "not an amount"),
        ("12€34", ".", "not an amount"),
        ("12 EUR 34", ".", "not an amount"),
        ("1,23,456.00", ".", "three digits"),
        (".5", ".", "digits on both sides"),
        ("5.", ".", "digits on both sides"),
        ("1,234 567.00", ".", "three digits"),  # one kind of group separator per value
        ("GBP 5", ".", "written in GBP, but the currency is EUR"),
        ("NaN", ".", "not an amount"),
        ("Infinity", ".", "not an amount"),
        ("0x10", ".", "not an amount"),
        ("1" * 50, ".", "too long"),
        ("", ".", "is required"),
    ],
)
def test_bad_amounts_are_refused(text: str, sep: str, why: str) -> None:
    with pytest.raises(TabularError, match=why):
        parse_amount(text, "EUR", sep)


def test_amount_limits_and_places() -> None:
    assert parse_amount("9999999999.99", "EUR") == MAX_ABS_MINOR - 1
    with pytest.raises(TabularError, match="too large"):
        parse_amount("10000000000.00", "EUR")
    with pytest.raises(TabularError, match="too large"):
        parse_amount(str(2**63 - 1), "EUR")
    with pytest.raises(TabularError, match="more decimal places than EUR allows"):
        parse_amount("1.005", "EUR")
    assert parse_amount("1.005", "KWD") == 1005  # three places
    with pytest.raises(TabularError, match="must be positive"):
        parse_amount("0", "EUR")
    assert parse_amount("-5", "EUR", positive=False) == -500
    assert parse_amount(Decimal("12.5"), "EUR") == 1250
    assert parse_amount(12.34, "EUR") == 1234  # a spreadsheet number
    with pytest.raises(TabularError, match="too large"):
        parse_amount(1e300, "EUR")


@pytest.mark.parametrize(
    ("values", "sep"),
    [
        (["1.234,56", "7"], ","),
        (["12,5", "1.234"], ","),
        (["1,234.56", "12"], "."),
        (["1,234,567"], "."),
        (["1.234.567"], ","),
        (["1,234", "12,345"], "."),  # groups only: read as thousands
        (["1.234"], ","),
        (["12", "7"], "."),
        (["", "1 234,5"], ","),
    ],
)
def test_the_decimal_separator_is_inferred_per_column(values: list[str], sep: str) -> None:
    assert detect_decimal_separator(values) == sep


def test_a_column_mixing_separators_is_refused() -> None:
    with pytest.raises(TabularError, match=r"mixes decimal separators.*--decimal"):
        detect_decimal_separator(["1.234,56", "1,234.56"])
    with pytest.raises(TabularError, match="mixes decimal separators"):
        detect_decimal_separator(["1,234", "1.234"])


def _group(digits: str, sep: str) -> str:
    head = len(digits) % 3 or 3
    return sep.join([digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)])


STYLES = [(".", ""), (",", ""), (".", ","), (",", "."), (",", " "), (".", "'"), (",", "\u00a0")]


@given(
    st.decimals(min_value=Decimal("-999999999.999"), max_value=Decimal("999999999.999"), places=3),
    st.sampled_from(STYLES),
    st.integers(min_value=0, max_value=3),
)
def test_any_decimal_in_a_supported_style_parses_back_exactly(
    value: Decimal, style: tuple[str, str], places: int
) -> None:
    decimal_sep, group_sep = style
    value = value.quantize(Decimal(1).scaleb(-places))
    sign = "-" if value < 0 else ""
    whole, _, fraction = f"{abs(value):f}".partition(".")
    text = sign + (_group(whole, group_sep) if group_sep else whole)
    if fraction:
        text += decimal_sep + fraction
    assert parse_decimal(text, decimal_sep) == value
    if places == 2 and (fraction or group_sep):
        # a column of such values says its separator by itself
        assert detect_decimal_separator([text]) in {decimal_sep, "." if decimal_sep == "," else ","}
        assert parse_amount(
            text, "EUR", detect_decimal_separator([text, "1" + decimal_sep + "50"]), positive=False
        ) == int(value * 100)


# --- other cells ---------------------------------------------------------------------------------------


def test_currency_bool_length_and_pairs() -> None:
    assert parse_currency("eur", "USD") == "EUR"
    assert parse_currency("", "USD") == "USD"
    for bad in ["ZZZ", "EURO", "€"]:
        with pytest.raises(TabularError, match="ISO 4217"):
            parse_currency(bad, "EUR")
    assert parse_bool("ja") is True and parse_bool("no") is False and parse_bool("") is False
    with pytest.raises(TabularError, match="not yes or no"):
        parse_bool("maybe")
    assert check_length("x" * 200, 200)
    with pytest.raises(TabularError, match="is 5000 characters long, at most 200"):
        check_length("x" * 5000, 200)
    assert split_pairs(["a=number b=amount", "Kunde Nr=debtor"]) == [
        ("a", "number"),
        ("b", "amount"),
        ("Kunde Nr", "debtor"),
    ]
    with pytest.raises(TabularError, match="COLUMN=FIELD"):
        split_pairs(["nonsense"])


# --------------------------------------------------------------------------------------------------
# Whole columns: the same values and the same errors as cell by cell


def _cellwise_amount(value: str, currency: str, sep: str) -> int | str:
    try:
        return parse_amount(value, currency, sep)
    except TabularError as exc:
        return f"error: {exc}"


def _columnwise(values: list[str], currencies: list[str], sep: str) -> list[int | str]:
    from mahnwerk.core.tabular import parse_amounts

    return [
        f"error: {r}" if isinstance(r, TabularError) else r for r in parse_amounts(values, currencies, sep)
    ]


AMOUNT_TEXTS = st.one_of(
    st.text(alphabet="0123456789.,-+ '€EURJPY_e", max_size=16),
    st.builds(
        lambda sign, whole, frac, sep, group: (
            sign + (f"{whole:,}".replace(",", group) if group else str(whole)) + (sep + frac if frac else "")
        ),
        st.sampled_from(["", "-", "+"]),
        st.integers(0, 10**13),
        st.text(alphabet="0123456789", max_size=4),
        st.sampled_from([",", "."]),
        st.sampled_from(["", ".", ",", " "]),
    ),
)


@given(
    st.lists(st.tuples(AMOUNT_TEXTS, st.sampled_from(["EUR", "JPY", "BHD"])), max_size=30),
    st.sampled_from(".,"),
)
def test_amount_column_reads_as_cell_by_cell(cells: list[tuple[str, str]], sep: str) -> None:
    values = [v for v, _c in cells]
    currencies = [c for _v, c in cells]
    assert _columnwise(values, currencies, sep) == [_cellwise_amount(v, c, sep) for v, c in cells]


def test_amount_column_examples() -> None:
    values = ["1.234,56", "99,9", "1.000.000", "0,00", "-5", "12,345", "1e3", "10.000.000.000,00", "€ 7,50"]
    assert _columnwise(values, ["EUR"] * len(values), ",") == [
        123456,
        9990,
        100000000,
        "error: must be positive: '0,00'",
        "error: must be positive: '-5'",
        "error: 12,345 has more decimal places than EUR allows (2)",
        "error: not an amount: '1e3' (no exponents)",
        "error: 10.000.000.000,00 is too large (at most 9,999,999,999.99 in EUR)",
        750,
    ]


def test_date_column_reads_each_distinct_value_once_with_the_cell_errors() -> None:
    from mahnwerk.core.tabular import parse_dates

    fmt = date_format("DD.MM.YYYY")
    values: list[str | date] = ["31.01.2026", "31.01.2026", "30.02.2026", "", "01.01.1980", D("2026-05-01")]
    read = parse_dates(values, fmt)
    assert read[:2] == [D("2026-01-31"), D("2026-01-31")]
    assert [str(r) for r in read[2:5]] == [
        "not a date in the column's format DD.MM.YYYY: '30.02.2026'",
        "is required",
        "1980-01-01 is outside the accepted range 1990-01-01 to 2100-12-31",
    ]
    assert read[5] == D("2026-05-01")


def test_no_leading_zero_group_and_ascii_digits_only() -> None:
    from mahnwerk.core.tabular import TabularError, parse_amounts, parse_decimal

    for text in ("0,001", "00,100", "١٢٣", "０１２", "1,2345"):
        with pytest.raises(TabularError):
            parse_decimal(text, ".")
    assert parse_decimal("1,001", ".") == Decimal("1001")
    assert parse_decimal("0.001", ".") == Decimal("0.001")
    # the column reader agrees with the cell reader
    found = parse_amounts(["0,001", "1,001.50", "١٢٣"], ["EUR"] * 3, ".")
    assert [r for r in found if not isinstance(r, TabularError)] == [100150]
