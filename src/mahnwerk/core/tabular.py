"""Strict reading of spreadsheet cells: dates detected per column, amounts with one decimal separator.

Plain Python (no Django): the ledger's CSV/XLSX imports and the API call these functions.

**Dates.** A column's format is the one format that reads *every* value of the column
(:func:`detect_date_format`): ISO ``2026-01-31``, ``31.01.2026``, ``31/01/2026`` (day first),
``1/31/2026`` (month first), ``31-01-2026``, ``26-Apr-11``/``26-Apr-2011`` and a few more. A column whose
every value reads both day-first and month-first (``1/2/2026``, ``3/4/2026``) is ambiguous: the caller must
name the format. Every date must lie in :data:`MIN_DATE` .. :data:`MAX_DATE` (or the range given).

**Amounts.** :func:`parse_decimal` accepts digits with one decimal separator (``.`` or ``,``, per column:
:func:`detect_decimal_separator`), thousands groups of exactly three digits separated by the other one (or
a space or an apostrophe), a leading sign and a currency code or symbol at either end; no exponents, no
underscores, nothing in the middle. :func:`parse_amount` turns the result into minor units and refuses
more decimals than the currency has and amounts of :data:`MAX_ABS_MINOR` minor units or more.

Errors are :class:`TabularError`: an English message marked for translation plus its parameters, rendered
by the caller with its own ``gettext`` (:meth:`TabularError.render`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from operator import itemgetter
from typing import Any, cast

from babel.numbers import list_currencies

from mahnwerk.core.money import digits

MIN_DATE = date(1990, 1, 1)
MAX_DATE = date(2100, 12, 31)
# |amount| < 10**12 minor units (10 thousand million euros): far below the 64-bit columns' limit, so
# that sums over a whole ledger cannot overflow either
MAX_ABS_MINOR = 10**12
# a cell longer than this is not an amount (and would only make Decimal work hard)
MAX_AMOUNT_TEXT = 40


def gettext_noop(message: str) -> str:
    """Mark ``message`` for the translation catalogues without importing Django into the core."""
    return message


class TabularError(ValueError):
    """A cell (or a column) that cannot be read: ``message`` (English, translatable) with ``params``."""

    def __init__(self, message: str, **params: Any) -> None:
        self.message = message
        self.params = params
        super().__init__(self.render())

    def render(self, gettext: Callable[[str], str] | None = None) -> str:
        template = gettext(self.message) if gettext is not None else self.message
        return template.format(**self.params)


class AmbiguousDates(TabularError):
    """Every value of a date column reads in more than one format, giving different dates."""


# --------------------------------------------------------------------------------------------------
# Dates


@dataclass(frozen=True, slots=True)
class DateFormat:
    pattern: str  # for strptime
    label: str  # for people
    shape: str  # regular expression the whole value must match (strptime alone is lenient)

    def read(self, text: str) -> date | None:
        if not re.fullmatch(self.shape, text):
            return None
        try:
            return datetime.strptime(text, self.pattern).date()
        except ValueError:
            return None


_D = r"(0?[1-9]|[12][0-9]|3[01])"
_M = r"(0?[1-9]|1[0-2])"
_MON = r"[A-Za-z]{3}"

DATE_FORMATS: tuple[DateFormat, ...] = (
    DateFormat("%Y-%m-%d", "YYYY-MM-DD", rf"\d{{4}}-{_M}-{_D}"),
    DateFormat("%d.%m.%Y", "DD.MM.YYYY", rf"{_D}\.{_M}\.\d{{4}}\.?"),
    DateFormat("%d.%m.%y", "DD.MM.YY", rf"{_D}\.{_M}\.\d{{2}}"),
    DateFormat("%d/%m/%Y", "DD/MM/YYYY", rf"{_D}/{_M}/\d{{4}}"),
    DateFormat("%m/%d/%Y", "MM/DD/YYYY", rf"{_M}/{_D}/\d{{4}}"),
    DateFormat("%d/%m/%y", "DD/MM/YY", rf"{_D}/{_M}/\d{{2}}"),
    DateFormat("%m/%d/%y", "MM/DD/YY", rf"{_M}/{_D}/\d{{2}}"),
    DateFormat("%d-%m-%Y", "DD-MM-YYYY", rf"{_D}-{_M}-\d{{4}}"),
    DateFormat("%m-%d-%Y", "MM-DD-YYYY", rf"{_M}-{_D}-\d{{4}}"),
    DateFormat("%Y/%m/%d", "YYYY/MM/DD", rf"\d{{4}}/{_M}/{_D}"),
    DateFormat("%Y%m%d", "YYYYMMDD", r"\d{8}"),
    DateFormat("%d-%b-%y", "DD-Mon-YY", rf"{_D}-{_MON}-\d{{2}}"),
    DateFormat("%d-%b-%Y", "DD-Mon-YYYY", rf"{_D}-{_MON}-\d{{4}}"),
    DateFormat("%d %b %Y", "DD Mon YYYY", rf"{_D} {_MON} \d{{4}}"),
)
_BY_NAME = {f.label.upper(): f for f in DATE_FORMATS} | {f.pattern: f for f in DATE_FORMATS}


def date_format(name: str) -> DateFormat:
    """A format by its label (``MM/DD/YYYY``) or strptime pattern (``%m/%d/%Y``); any other pattern with
    ``%`` is used as it is."""
    found = _BY_NAME.get(name.strip().upper()) or _BY_NAME.get(name.strip())
    if found is not None:
        return found
    if "%" in name:
        try:
            datetime.strptime(datetime(2001, 2, 3).strftime(name), name)
        except ValueError:
            pass
        else:
            return DateFormat(name, name, r".+")
    raise TabularError(
        gettext_noop("unknown date format {name!r} (known: {known})"),
        name=name,
        known=", ".join(f.label for f in DATE_FORMATS),
    )


def _clean(text: str) -> str:
    return text.strip().replace("\u00a0", " ")


def detect_date_format(values: Iterable[str]) -> DateFormat | None:
    """The format that reads every non-empty value; the (first) one reading most of them when none reads all
    (the others are then errors); ``None`` when no format reads any value (or there are none).

    Raises :class:`AmbiguousDates` when several formats read every value and give different dates.
    """
    texts = list(dict.fromkeys(t for t in map(_clean, dict.fromkeys(values)) if t))
    if not texts:
        return None
    counts = [(sum(1 for t in texts if f.read(t) is not None), f) for f in DATE_FORMATS]
    best = max(n for n, _f in counts)
    if best == 0:
        return None
    winners = [f for n, f in counts if n == best]
    if len(winners) > 1:
        readings = {f.label: [f.read(t) for t in texts] for f in winners}
        if best == len(texts) and len({tuple(r) for r in readings.values()}) > 1:
            raise AmbiguousDates(
                gettext_noop(
                    "the dates in this column can be read as {formats}: name the format with "
                    "--date-format (e.g. --date-format {example})"
                ),
                formats=" or ".join(readings),
                example=winners[0].label,
            )
    return winners[0]


def parse_date(
    value: str | date,
    fmt: DateFormat | None,
    min_date: date = MIN_DATE,
    max_date: date = MAX_DATE,
) -> date:
    """A cell as a date in the column's format (a real date, from a spreadsheet, as it is), in range."""
    if isinstance(value, datetime):
        found = value.date()
    elif isinstance(value, date):
        found = value
    else:
        text = _clean(str(value))
        if not text:
            raise TabularError(gettext_noop("is required"))
        if fmt is None:
            raise TabularError(
                gettext_noop("not a date: {value!r} (known formats: {known})"),
                value=text,
                known=", ".join(f.label for f in DATE_FORMATS),
            )
        read = fmt.read(text)
        if read is None:
            raise TabularError(
                gettext_noop("not a date in the column's format {format}: {value!r}"),
                format=fmt.label,
                value=text,
            )
        found = read
    if not min_date <= found <= max_date:
        raise TabularError(
            gettext_noop("{value} is outside the accepted range {min} to {max}"),
            value=found.isoformat(),
            min=min_date.isoformat(),
            max=max_date.isoformat(),
        )
    return found


def check_date_range(value: date, min_date: date = MIN_DATE, max_date: date = MAX_DATE) -> date:
    """A real date within the range (else :class:`TabularError`)."""
    return parse_date(value, None, min_date, max_date)


# --------------------------------------------------------------------------------------------------
# Amounts

_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "₽": "RUB", "zł": "PLN", "Kč": "CZK"}
_AFFIX = re.compile(
    r"^(?P<pre>(?:[A-Z]{3}|" + "|".join(map(re.escape, _SYMBOLS)) + r")\s?)?"
    r"(?P<num>[^A-Z€$£¥₽]*?)"
    r"(?P<post>\s?(?:[A-Z]{3}|" + "|".join(map(re.escape, _SYMBOLS)) + r"))?$"
)
_SPACES = "\u00a0\u202f\u2009"


def _hint(text: str) -> str | None:
    """``","`` or ``"."`` where one value alone says which is the decimal separator, else ``None``.

    ``1.234,56`` and ``12,5`` say ``,``; ``1,234.56``, ``12.5`` and ``1,234,567`` say ``.``;
    ``1,234`` and ``1.234`` say nothing for sure (a thousands group or three decimals).
    """
    body = re.sub(r"[^0-9.,]", "", text)
    commas, dots = body.count(","), body.count(".")
    if commas and dots:
        return "," if body.rfind(",") > body.rfind(".") else "."
    for sep, other in ((",", "."), (".", ",")):
        n = commas if sep == "," else dots
        if n > 1:
            return other  # repeated: only a thousands separator repeats
        if n == 1 and not re.search(rf"\{sep}\d{{3}}$", body):
            return sep
    return None


def _weak_hint(text: str) -> str | None:
    """For ``1,234``/``1.234`` (nothing sure): the reading as a thousands group."""
    body = re.sub(r"[^0-9.,]", "", text)
    if re.fullmatch(r"\d{1,3},\d{3}", body):
        return "."
    if re.fullmatch(r"\d{1,3}\.\d{3}", body):
        return ","
    return None


_DIGITS_ALIKE = str.maketrans("0123456789", "0000000000")


def detect_decimal_separator(values: Iterable[str]) -> str:
    """The decimal separator of a column of amounts: what the values say for sure; else what ``1,234``-like
    values say read as thousands groups; else ``.``. Raises :class:`TabularError` when the values
    disagree (a column mixing ``1.234,56`` and ``1,234.56``)."""
    sure: dict[str, str] = {}
    weak: dict[str, str] = {}
    # what a value says depends only on its shape (every digit alike): each shape is looked at once, with the
    # first value of that shape (the one whose vote counts)
    for text in _shapes(values).values():
        if not text:
            continue
        hint = _hint(text)
        if hint is not None:
            sure.setdefault(hint, text)
        elif (guess := _weak_hint(text)) is not None:
            weak.setdefault(guess, text)
    for votes in (sure, weak):
        if len(votes) > 1:
            raise TabularError(
                gettext_noop(
                    "the column mixes decimal separators ({first} and {second}): name the separator with "
                    "--decimal , or --decimal ."
                ),
                first=repr(votes["."]),
                second=repr(votes[","]),
            )
        if votes:
            return next(iter(votes))
    return "."


def _shapes(values: Iterable[str]) -> dict[str, str]:
    """Each shape of the values (cleaned, every digit alike), in the order they first appear -> the first value
    of that shape (cleaned)."""
    texts = list(map(str.strip, values))
    joined = "\n".join(texts).replace("\u00a0", " ")
    if joined.count("\n") == max(len(texts) - 1, 0):  # (no value holds a line break: one translation)
        shapes = joined.translate(_DIGITS_ALIKE).split("\n") if texts else []
    else:
        shapes = [_clean(text).translate(_DIGITS_ALIKE) for text in texts]
    # the first position of each shape: the last one written wins, so they are written back to front
    first = dict(zip(reversed(shapes), range(len(shapes) - 1, -1, -1), strict=True))
    return {shape: _clean(texts[at]) for shape, at in sorted(first.items(), key=itemgetter(1))}


def parse_decimal(text: str, decimal_sep: str, currency: str | None = None) -> Decimal:
    """``text`` as a Decimal, strictly (see the module doc); ``currency`` checks a code or symbol written
    beside the number."""
    if decimal_sep not in {".", ","}:
        raise ValueError(f"decimal separator must be '.' or ',', not {decimal_sep!r}")
    raw = _clean(text)
    for space in _SPACES:
        raw = raw.replace(space, " ")
    if not raw:
        raise TabularError(gettext_noop("is required"))
    if len(raw) > MAX_AMOUNT_TEXT:
        raise TabularError(gettext_noop("not an amount (too long): {value!r}"), value=raw[:20] + "…")
    match = _AFFIX.match(raw)
    if match is None or re.search(r"\d[eE][+-]?\d", raw):
        raise TabularError(_why_not(raw, decimal_sep), value=raw, decimal=decimal_sep)
    if match is None:
        raise TabularError(gettext_noop("not an amount: {value!r}"), value=raw)
    for affix in (match["pre"], match["post"]):
        if affix:
            code = _SYMBOLS.get(affix.strip(), affix.strip())
            if currency is not None and code != currency:
                raise TabularError(
                    gettext_noop("{value!r} is written in {written}, but the currency is {currency}"),
                    value=raw,
                    written=code,
                    currency=currency,
                )
    number = match["num"].strip()
    group_seps = ("," if decimal_sep == "." else ".") + " '’"
    pattern = (
        # ASCII digits only (an Arabic-Indic "١٢٣" is no amount a person typed here); a number with thousands
        # groups does not begin with 0 ("0,001" is no thousand)
        r"(?P<sign>[+-]?)(?P<int>[0-9]+|[1-9][0-9]{0,2}(?:(?P<g>[" + re.escape(group_seps) + r"])[0-9]{3})"
        r"(?:(?P=g)[0-9]{3})*)"
        r"(?:" + re.escape(decimal_sep) + r"(?P<frac>[0-9]+))?"
    )
    found = re.fullmatch(pattern, number)
    if found is None:
        raise TabularError(_why_not(number, decimal_sep), value=raw, decimal=decimal_sep)
    digits_only = re.sub(r"\D", "", found["int"])
    literal = f"{found['sign']}{digits_only}" + (f".{found['frac']}" if found["frac"] is not None else "")
    try:
        return Decimal(literal)
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        raise TabularError(gettext_noop("not an amount: {value!r}"), value=raw) from None


def _why_not(number: str, decimal_sep: str) -> str:
    if re.search(r"\d[eE][+-]?\d", number):
        return gettext_noop("not an amount: {value!r} (no exponents)")
    if "_" in number:
        return gettext_noop("not an amount: {value!r} (no underscores)")
    if number.count(decimal_sep) > 1:
        return gettext_noop("not an amount: {value!r} (more than one decimal separator {decimal!r})")
    if re.search(r"(^|\D)[.,]|[.,](\D|$)", number):
        return gettext_noop("not an amount: {value!r} (a separator needs digits on both sides)")
    if re.fullmatch(r"[+-]?[\d.,' ]+", number):
        return gettext_noop(
            "not an amount: {value!r} (thousands groups must have three digits; the decimal separator "
            "of this column is {decimal!r})"
        )
    return gettext_noop("not an amount: {value!r}")


def parse_amount(
    value: str | Decimal | int | float,
    currency: str,
    decimal_sep: str = ".",
    *,
    positive: bool = True,
) -> int:
    """A cell as minor units of ``currency``: strict (see :func:`parse_decimal`), no more decimals than the
    currency has, ``|minor| < MAX_ABS_MINOR``, above zero when ``positive``."""
    if isinstance(value, bool):
        raise TabularError(gettext_noop("not an amount: {value!r}"), value=str(value))
    if isinstance(value, float):
        amount = Decimal(repr(value))
    elif isinstance(value, int | Decimal):
        amount = Decimal(value)
    else:
        amount = parse_decimal(value, decimal_sep, currency)
    if not amount.is_finite():
        raise TabularError(gettext_noop("not an amount: {value!r}"), value=str(value))
    places = digits(currency)
    if abs(amount) >= Decimal(MAX_ABS_MINOR).scaleb(-places):
        raise TabularError(
            gettext_noop("{value} is too large (at most {limit} in {currency})"),
            value=str(value).strip(),
            limit=f"{Decimal(MAX_ABS_MINOR - 1).scaleb(-places):,}",
            currency=currency,
        )
    scaled = amount.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise TabularError(
            gettext_noop("{value} has more decimal places than {currency} allows ({places})"),
            value=str(value).strip(),
            currency=currency,
            places=places,
        )
    minor = int(scaled)
    if positive and minor <= 0:
        raise TabularError(gettext_noop("must be positive: {value!r}"), value=str(value).strip())
    return minor


def check_minor(minor: int) -> int:
    """An amount in minor units within ``|minor| < MAX_ABS_MINOR``."""
    if abs(minor) >= MAX_ABS_MINOR:
        raise TabularError(
            gettext_noop("{value} is too large (less than {limit} minor units)"),
            value=minor,
            limit=MAX_ABS_MINOR,
        )
    return minor


# --------------------------------------------------------------------------------------------------
# Other cells


# ISO 4217 codes that are no money a customer pays in: precious metals, units of account, the testing and
# "no currency" codes, and the funds codes beside a country's currency
NOT_MONEY = frozenset(
    {"XAU", "XAG", "XPT", "XPD", "XDR", "XXX", "XTS", "XBA", "XBB", "XBC", "XBD", "XSU", "XUA"}
    | {"BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "USS", "UYI", "UYW"}
)


@cache
def iso_currencies() -> frozenset[str]:
    """The ISO 4217 codes of money (see :data:`NOT_MONEY`)."""
    return frozenset(list_currencies()) - NOT_MONEY


def parse_currency(text: str, default: str) -> str:
    """An ISO 4217 code (any case), ``default`` when empty."""
    code = _clean(text).upper() or default
    if code not in iso_currencies() or len(code) != 3:
        raise TabularError(gettext_noop("not an ISO 4217 currency code: {value!r}"), value=_clean(text))
    return code


_TRUE = {"1", "yes", "y", "true", "x", "ja", "j", "jā", "wahr"}
_FALSE = {"0", "no", "n", "false", "nein", "nē", "ne", "falsch", "-"}


def parse_bool(value: str | int | bool | Decimal, default: bool = False) -> bool:
    if isinstance(value, bool):
        return value
    text = _clean(str(value)).lower()
    if not text:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise TabularError(gettext_noop("not yes or no: {value!r}"), value=_clean(str(value)))


def check_length(value: str, max_length: int) -> str:
    if len(value) > max_length:
        raise TabularError(
            gettext_noop("is {length} characters long, at most {max} are allowed"),
            length=len(value),
            max=max_length,
        )
    return value


def split_pairs(items: Sequence[str]) -> list[tuple[str, str]]:
    """``["a=number", "b=amount c=debtor"]`` -> pairs; each item may hold several whitespace-separated pairs
    (a column name with spaces must then be given on its own)."""
    pairs: list[tuple[str, str]] = []
    for item in items:
        parts = [item] if item.count("=") <= 1 else item.split()
        for part in parts:
            column, sep, target = part.partition("=")
            if not sep or not column.strip() or not target.strip():
                raise TabularError(gettext_noop("expected COLUMN=FIELD, got {value!r}"), value=part)
            pairs.append((column.strip(), target.strip()))
    return pairs


# --------------------------------------------------------------------------------------------------
# Whole columns at once
#
# The imports read a column in one pass: every distinct text is read once (a column of 100,000 dates has a
# few hundred), and an amount written the usual way (digits, thousands groups of three, the column's decimal
# separator) is read by one compiled pattern per column. Anything else goes through the cell functions
# above, so a value is accepted, and an error worded, exactly as cell by cell.


def parse_dates(
    values: Sequence[str | date],
    fmt: DateFormat | None,
    min_date: date = MIN_DATE,
    max_date: date = MAX_DATE,
) -> list[date | TabularError]:
    """Each cell of a column as :func:`parse_date` reads it: its date, or the :class:`TabularError`."""
    found: dict[str | date, date | TabularError] = {}
    for value in dict.fromkeys(values):
        try:
            found[value] = parse_date(value, fmt, min_date, max_date)
        except TabularError as exc:
            found[value] = exc
    return list(map(found.__getitem__, values))


@cache
def _plain_amount(decimal_sep: str) -> re.Pattern[str]:
    """Digits with optional thousands groups (the other separator) and decimals: the usual spelling."""
    group = "," if decimal_sep == "." else "."
    return re.compile(
        r"(?P<sign>[+-]?)(?P<int>[0-9]+|[1-9][0-9]{0,2}(?:" + re.escape(group) + r"[0-9]{3})+)"
        r"(?:" + re.escape(decimal_sep) + r"(?P<frac>[0-9]+))?"
    )


@cache
def _exact_amount(decimal_sep: str, places: int) -> re.Pattern[str]:
    """The usual spelling with exactly the currency's decimals (none for a currency without minor units): the
    minor units are then the digits as they stand."""
    group = "," if decimal_sep == "." else "."
    decimals = re.escape(decimal_sep) + r"[0-9]{" + str(places) + "}" if places else ""
    return re.compile(r"[+-]?(?:[0-9]+|[1-9][0-9]{0,2}(?:" + re.escape(group) + r"[0-9]{3})+)" + decimals)


def parse_amounts(
    values: Sequence[str | Decimal | int | float],
    currencies: Sequence[str],
    decimal_sep: str = ".",
    *,
    positive: bool = True,
) -> list[int | TabularError]:
    """Each cell of a column (with its row's currency) as :func:`parse_amount` reads it: the minor units, or
    the :class:`TabularError`."""
    if decimal_sep not in {".", ","}:
        raise ValueError(f"decimal separator must be '.' or ',', not {decimal_sep!r}")
    if len(values) != len(currencies):
        raise ValueError("parse_amounts needs a currency for each value")
    codes = set(currencies)
    if len(codes) == 1 and set(map(type, values)) == {str}:
        texts = cast("Sequence[str]", values)
        if max(map(len, texts)) <= MAX_AMOUNT_TEXT:
            return _amounts_at_once(texts, codes.pop(), decimal_sep, positive)
    places_of: dict[str, int] = {}
    return [
        _read_amount(value, currency, decimal_sep, positive, places_of)
        for value, currency in zip(values, currencies, strict=True)
    ]


def _amounts_at_once(
    texts: Sequence[str], currency: str, decimal_sep: str, positive: bool
) -> list[int | TabularError]:
    """:func:`parse_amounts` of a column of text in one currency: the values written the usual way with
    exactly the currency's decimals (nearly all) read at once, as their digits; the others one by one."""
    matches = list(map(_exact_amount(decimal_sep, digits(currency)).fullmatch, texts))
    odd = [k for k, match in enumerate(matches) if match is None] if None in matches else []
    usual = list(texts)
    for k in odd:
        usual[k] = "0"
    group = "," if decimal_sep == "." else "."
    # (the usual values are digits, a sign and separators: no line breaks)
    joined = "\n".join(usual).replace(group, "").replace(decimal_sep, "")
    minors = list(map(int, joined.split("\n")))
    out = list[int | TabularError](minors)
    low = 1 if positive else 1 - MAX_ABS_MINOR
    if odd or min(minors) < low or max(minors) >= MAX_ABS_MINOR:
        for k in [k for k, minor in enumerate(minors) if not low <= minor < MAX_ABS_MINOR] + odd:
            out[k] = _read_amount(texts[k], currency, decimal_sep, positive, {})
    return out


def _read_amount(
    value: str | Decimal | int | float,
    currency: str,
    decimal_sep: str,
    positive: bool,
    places_of: dict[str, int],
) -> int | TabularError:
    """One cell of :func:`parse_amounts`: the usual spelling by the column's pattern, any other by
    :func:`parse_amount`."""
    if type(value) is str and len(value) <= MAX_AMOUNT_TEXT:
        found = _plain_amount(decimal_sep).fullmatch(value)
        if found is not None:
            places = places_of.get(currency)
            if places is None:
                places = places_of[currency] = digits(currency)
            frac = found["frac"] or ""
            if len(frac) <= places:
                whole = int(
                    found["int"].replace("," if decimal_sep == "." else ".", "") + frac.ljust(places, "0")
                )
                minor = -whole if found["sign"] == "-" else whole
                if abs(minor) < MAX_ABS_MINOR and (minor > 0 or not positive):
                    return minor
                # (else worded by parse_amount)
    try:
        return parse_amount(value, currency, decimal_sep, positive=positive)
    except TabularError as exc:
        return exc
