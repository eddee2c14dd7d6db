"""Ids and numbers read from an address or a posted field: the rules of :mod:`mahnwerk.ids` (shared with the
REST API and the commands), and the ``<id:...>`` converter of the web's address patterns."""

from __future__ import annotations

from mahnwerk.ids import ID_PATTERN, parse_count, parse_id

__all__ = ["ID_PATTERN", "IdConverter", "parse_count", "parse_id", "register_id_converter"]


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
