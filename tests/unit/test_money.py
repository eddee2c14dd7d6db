from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mahnwerk.core.money import Money, MoneyError, format_money, split_largest_remainder, to_decimal, to_minor


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("1234.50", "EUR", 123450),
        ("0.01", "EUR", 1),
        ("1000", "JPY", 1000),
        ("12.345", "BHD", 12345),
        ("7", "EUR", 700),
    ],
)
def test_to_minor_uses_the_currency_digits(text: str, currency: str, minor: int) -> None:
    assert to_minor(text, currency) == minor
    assert to_decimal(minor, currency) == Decimal(text)


@pytest.mark.parametrize(
    ("text", "currency"), [("1.005", "EUR"), ("10.5", "JPY"), ("abc", "EUR"), ("NaN", "EUR")]
)
def test_to_minor_refuses_what_it_cannot_represent(text: str, currency: str) -> None:
    with pytest.raises(MoneyError):
        to_minor(text, currency)


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(MoneyError):
        Money(100, "eur")


def test_money_does_not_mix_currencies() -> None:
    assert Money(150, "EUR") + Money(50, "EUR") == Money(200, "EUR")
    with pytest.raises(MoneyError):
        Money(1, "EUR") + Money(1, "USD")


def test_format_money_per_language() -> None:
    assert format_money(123456, "EUR", "de") == "1.234,56\xa0€"
    assert format_money(123456, "EUR", "lv") == "1\xa0234,56\xa0€"
    assert format_money(123456, "EUR", "en") == "€1,234.56"


def test_split_examples() -> None:
    # 100 cents in three equal parts: 33.33.. each, the one cent left goes to the first (ties: earlier part)
    assert split_largest_remainder(100, [1, 1, 1]) == [34, 33, 33]
    # 1000 split 1:2:3 -> 166.67, 333.33, 500 -> floors 166, 333, 500 (sum 999); largest remainder is part 1
    assert split_largest_remainder(1000, [1, 2, 3]) == [167, 333, 500]
    assert split_largest_remainder(-100, [1, 1, 1]) == [-34, -33, -33]


@given(st.integers(-(10**12), 10**12), st.lists(st.integers(0, 10**6), min_size=1, max_size=20).filter(any))
def test_split_never_loses_or_creates_a_cent(total: int, weights: list[int]) -> None:
    parts = split_largest_remainder(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    for part, w in zip(parts, weights, strict=True):
        exact = Decimal(abs(total)) * w / sum(weights)
        assert abs(abs(part) - exact) < 1


@given(
    minor=st.integers(min_value=-(10**16), max_value=10**16),
    currency=st.sampled_from(["EUR", "USD", "GBP", "JPY", "BHD", "SEK", "CHF", "PLN"]),
    language=st.sampled_from(["de", "lv", "en", "fr", "hi"]),
)
def test_format_money_writes_what_babel_writes(minor: int, currency: str, language: str) -> None:
    from mahnwerk.core.money import _babel_format

    assert format_money(minor, currency, language) == _babel_format(minor, currency, language)


def test_a_grouping_other_than_thousands_is_left_to_babel() -> None:
    from mahnwerk.core.money import _formatter

    for language in ("de", "lv", "en"):  # the product's languages take the fast path for these currencies
        for currency in ("EUR", "USD", "GBP", "JPY"):
            assert _formatter(currency, language) is not None, (currency, language)
    assert _formatter("INR", "hi") is None  # 12,34,567: groups of two after the first three
    assert format_money(123456789, "INR", "hi") == "₹12,34,567.89"
