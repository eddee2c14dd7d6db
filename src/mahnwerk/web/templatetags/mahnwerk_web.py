from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import get_language, gettext

from mahnwerk.core.money import format_money

register = template.Library()


@register.filter
def money(minor: int | None, currency: str = "EUR") -> str:
    """Minor units as money in the page's language: ``{{ item.open_minor|money:item.currency }}``."""
    language = (get_language() or "en")[:2]
    return format_money(int(minor or 0), currency, language)


@register.filter
def totals(value: dict[str, tuple[int, int]], which: str = "open") -> str:
    """A DebtorRow's per-currency totals: ``{{ row.totals|totals:"overdue" }}``."""
    language = (get_language() or "en")[:2]
    index = 0 if which == "open" else 1
    parts = [format_money(v[index], c, language) for c, v in sorted(value.items()) if v[index]]
    return " + ".join(parts) or "–"


@register.filter
def get(mapping: dict[Any, Any], key: Any) -> Any:
    return mapping.get(key, "") if mapping else ""


@register.simple_tag(takes_context=True)
def query_with(context: dict[str, Any], **changes: Any) -> str:
    """The current query string with some parameters changed (for sorting and paging links)."""
    request = context["request"]
    query = request.GET.copy()
    for key, value in changes.items():
        query[key] = value
    return "?" + query.urlencode()


@register.filter
def days_overdue(row: Any, today: Any) -> int:
    return int(row.days_overdue(today))


@register.filter
def label(value: Any) -> str:
    """A choice's name kept in English in the data (a segment's, a reason's), in the page's language."""
    text = str(value or "")
    return gettext(text) if text else ""


@register.filter
def iso_date(value: Any) -> Any:
    """A date kept as ISO text (``"2026-11-30"``) as the page's language writes dates; other values as they
    are."""
    from datetime import date

    from django.utils.formats import date_format

    if isinstance(value, str):
        try:
            return date_format(date.fromisoformat(value), "SHORT_DATE_FORMAT")
        except ValueError:
            return value
    if isinstance(value, date):
        return date_format(value, "SHORT_DATE_FORMAT")
    return value
