"""Exact money: integer minor units with the currency beside them.

Amounts are stored and computed as ``int`` minor units (cents). Conversion from and to decimal text
uses the currency's number of digits (ISO 4217, via Babel), so EUR has 2 and JPY 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from babel import Locale
from babel.numbers import format_currency, get_currency_precision, get_currency_symbol


class MoneyError(ValueError):
    """An amount or currency that cannot be used."""


@cache
def digits(currency: str) -> int:
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise MoneyError(f"not an ISO 4217 currency code: {currency!r}")
    return int(get_currency_precision(currency))


def to_minor(value: str | Decimal | int, currency: str) -> int:
    """Parse an amount in major units ("1234.50", Decimal) into minor units; refuse sub-cent precision."""
    try:
        amount = Decimal(value.strip().replace(" ", "")) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise MoneyError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise MoneyError(f"not an amount: {value!r}")
    scaled = amount.scaleb(digits(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{value} has more decimal places than {currency} allows ({digits(currency)})")
    return int(scaled)


def to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-digits(currency))


def round_half_up(value: Decimal) -> int:
    """Round a fractional amount of minor units to a whole minor unit, half away from zero."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_money(minor: int, currency: str, locale: str = "en") -> str:
    """``minor`` units of ``currency`` as the language writes them ("1.234,56 €", "€1,234.56")."""
    fast = _formatter(currency, locale)
    if fast is None:
        return _babel_format(minor, currency, locale)
    return fast(minor)


def _babel_format(minor: int, currency: str, locale: str) -> str:
    return format_currency(to_decimal(minor, currency), currency, locale=babel_locale(locale))


# Babel builds every amount from its pattern anew (about 60 microseconds); reminders format thousands of
# amounts per run. _formatter takes the pieces of the locale's pattern once and joins them with string
# operations; it is only used where it gives Babel's own result for a set of sample amounts, else Babel is.
_SAMPLES = (0, 1, 7, 99, 100, 1_005, 123_456, 1_234_567_891, 10**15 + 7, -1, -123_456, -1_234_567_891)


@cache
def _formatter(currency: str, locale: str) -> Callable[[int], str] | None:
    babel = babel_locale(locale)
    pattern = babel.currency_formats.get("standard")
    symbols = babel.number_symbols.get(babel.default_numbering_system, {})
    if pattern is None or pattern.grouping != (3, 3) or pattern.int_prec[0] != 1 or not symbols:
        return None
    symbol = get_currency_symbol(currency, babel)
    prefixes = [p.replace("¤", symbol) for p in pattern.prefix]
    suffixes = [s.replace("¤", symbol) for s in pattern.suffix]
    group, decimal, places = symbols["group"], symbols["decimal"], digits(currency)
    scale = 10**places

    def fast(minor: int) -> str:
        negative = minor < 0
        whole, fraction = divmod(-minor if negative else minor, scale)
        number = f"{whole:,}".replace(",", group)
        if places:
            number = f"{number}{decimal}{fraction:0{places}d}"
        return f"{prefixes[negative]}{number}{suffixes[negative]}"

    if any(fast(n) != _babel_format(n, currency, locale) for n in _SAMPLES):
        return None
    return fast


@cache
def babel_locale(language: str) -> Locale:
    """The Babel locale used for a language (parsed once: parsing dominates formatting cost)."""
    return Locale.parse({"de": "de_DE", "lv": "lv_LV", "en": "en_IE"}.get(language, language))


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        digits(self.currency)

    @classmethod
    def parse(cls, value: str | Decimal, currency: str) -> Money:
        return cls(to_minor(value, currency), currency)

    @property
    def amount(self) -> Decimal:
        return to_decimal(self.minor, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __str__(self) -> str:
        return f"{self.amount:f} {self.currency}"

    def format(self, language: str = "en") -> str:
        return format_money(self.minor, self.currency, language)


def split_largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` minor units in proportion to ``weights`` so that the parts add up exactly.

    Each part gets the floor of its share; the cents left over go to the parts with the largest
    remainders (ties to the earlier part). Works for negative totals by symmetry.
    """
    if not weights:
        raise MoneyError("cannot split over no parts")
    if any(w < 0 for w in weights):
        raise MoneyError("weights must not be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise MoneyError("weights must not all be zero")
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    parts = [magnitude * w // weight_sum for w in weights]
    remainders = [magnitude * w % weight_sum for w in weights]
    left = magnitude - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        parts[i] += 1
    return [sign * p for p in parts]
