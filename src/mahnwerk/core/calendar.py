"""Business dates: 'today' in a time zone, and dates written the way each language writes them."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta

from babel.dates import format_date as babel_format_date

from mahnwerk.core.money import babel_locale

_PATTERNS = {"de": "dd.MM.yyyy", "lv": "dd.MM.yyyy.", "en": "d MMM yyyy"}


def today_in(time_zone: str, now: datetime | None = None) -> date:
    """The calendar date in ``time_zone`` at the instant ``now`` (default: the current instant)."""
    instant = now or datetime.now(UTC)
    return instant.astimezone(zoneinfo.ZoneInfo(time_zone)).date()


def add_business_days(start: date, days: int, country: str | None = None) -> date:
    """The date ``days`` business days after ``start``: Saturdays, Sundays and, with ``country``, its
    nationwide public holidays are not counted (``start`` itself never is)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    while days:
        day += timedelta(days=1)
        if day.weekday() < 5 and not (country and _is_holiday(day, country)):
            days -= 1
    return day


def period_end(day: date, country: str) -> date:
    """The last day of a legal period that would end on ``day``: a Saturday, Sunday or nationwide public
    holiday of ``country`` moves it to the next working day (§ 222 (2) ZPO, § 193 BGB; Latvian
    Civilprocesa likums 48. pants (3))."""
    while day.weekday() >= 5 or _is_holiday(day, country):
        day += timedelta(days=1)
    return day


def _is_holiday(day: date, country: str) -> bool:
    from mahnwerk.core.contact_rules import is_public_holiday

    try:
        return is_public_holiday(day, country)
    except (KeyError, NotImplementedError):  # a country the holiday calendar does not know
        return False


def format_date(value: date, language: str) -> str:
    if language not in _PATTERNS:
        language = "en"
    return babel_format_date(value, format=_PATTERNS[language], locale=babel_locale(language))
