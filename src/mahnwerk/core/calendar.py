"""Business dates: 'today' in a time zone, and dates written the way each language writes them."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime

from babel.dates import format_date as babel_format_date

from mahnwerk.core.money import babel_locale

_PATTERNS = {"de": "dd.MM.yyyy", "lv": "dd.MM.yyyy.", "en": "d MMM yyyy"}


def today_in(time_zone: str, now: datetime | None = None) -> date:
    """The calendar date in ``time_zone`` at the instant ``now`` (default: the current instant)."""
    instant = now or datetime.now(UTC)
    return instant.astimezone(zoneinfo.ZoneInfo(time_zone)).date()


def format_date(value: date, language: str) -> str:
    if language not in _PATTERNS:
        language = "en"
    return babel_format_date(value, format=_PATTERNS[language], locale=babel_locale(language))
