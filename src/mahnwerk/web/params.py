"""Ids and numbers read from an address or a posted field. ``str.isdigit`` is not enough: it takes "²" and
"٣" (which ``int`` refuses or reads as another digit) and any number of digits (which the database cannot
hold: SQLite stores at most 2**63 - 1)."""

from __future__ import annotations

import re

# At most 18 digits: every such number fits the database's 64-bit integer.
ID_PATTERN = "[0-9]{1,18}"
_ID = re.compile(rf"{ID_PATTERN}\Z")


def parse_id(value: object) -> int | None:
    """A positive id from a posted or query value; ``None`` for anything else (empty, signs, exponents,
    non-ASCII digits, more digits than the database holds)."""
    text = str(value if value is not None else "").strip()
    if not _ID.match(text):
        return None
    number = int(text)
    return number if number > 0 else None


def parse_count(value: object) -> int | None:
    """A whole number of at most 18 ASCII digits (zero allowed); ``None`` for anything else."""
    text = str(value if value is not None else "").strip()
    return int(text) if _ID.match(text) else None


class IdConverter:
    """``<id:pk>`` in an address: like ``<int:pk>``, but a number too large for the database is no match
    (a 404), not a server error."""

    regex = ID_PATTERN

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int | str) -> str:
        return str(value)


def register_id_converter() -> None:
    """Make ``<id:...>`` known to the address patterns (once; the web's and the portal's patterns use it)."""
    from django.urls import register_converter
    from django.urls.converters import get_converters

    if "id" not in get_converters():
        register_converter(IdConverter, "id")
