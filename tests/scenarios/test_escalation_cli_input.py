"""The escalation, court and partner commands refuse a date outside 1990..2100 and a percentage outside 0..100 as
a usage error (argparse), never with a traceback from a date beyond the calendar."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        ("court", "mahnantrag", "K1", "--date", "9999-12-31"),
        ("court", "lv-bridinajums", "K1", "--date", "9999-12-31"),
        ("court", "small-claims", "K1", "--date", "1900-01-01"),
        ("escalate", "advise", "K1", "--date", "9999-12-31"),
        ("handover", "K1", "--partner", "P", "--date", "9999-12-31"),
        ("recall", "K1", "--reason", "r", "--date", "2101-01-01"),
        ("research", "show", "K1", "--date", "1989-12-31"),
        ("court", "mahnantrag", "K1", "--date", "2025-02-30"),
    ],
)
def test_a_date_beyond_the_business_calendar_is_a_usage_error(company: Any, args: tuple[str, ...]) -> None:
    with pytest.raises(CommandError, match=r"a date YYYY-MM-DD within 1990\.\.2100"):
        call_command(*args)


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["150", "-1", "NaN", "Infinity", "abc"])
def test_an_agency_share_outside_0_to_100_percent_is_a_usage_error(company: Any, value: str) -> None:
    with pytest.raises(CommandError, match="percentage"):
        call_command("escalate", "advise", "K1", "--agency-fee-percent", value)
