"""Limitation: end of year + 3 years in Germany, restarts, suspensions, LV periods, the warning window."""

from __future__ import annotations

from datetime import date

from mahnwerk.core.limitation import add_years, time_bar
from mahnwerk.core.rulesets import packaged_rulebook

BOOK = packaged_rulebook()
DE = BOOK.get("DE", "business", date(2023, 1, 1)).limitation
LV_B2B = BOOK.get("LV", "business", date(2024, 1, 1)).limitation
LV_CONSUMER = BOOK.get("LV", "consumer", date(2024, 1, 1)).limitation


def test_de_end_of_year_plus_three_years_and_warning() -> None:
    lim = time_bar(DE, date(2023, 5, 10))
    assert (lim.expires_on, lim.rule) == (date(2026, 12, 31), "year_end")
    # 90 days before 31 Dec: 30 (Dec) + 30 (Nov) + 30 of October -> 2 Oct
    assert lim.warn_from == date(2026, 10, 2)
    assert lim.status(date(2026, 10, 1)) == "running"
    assert lim.status(date(2026, 10, 2)) == "warning"
    assert lim.status(date(2026, 12, 31)) == "warning"
    assert lim.status(date(2027, 1, 1)) == "time_barred"


def test_de_part_payment_restarts_the_period() -> None:
    lim = time_bar(DE, date(2023, 5, 10), part_payments=[date(2025, 3, 1)])
    assert (lim.expires_on, lim.rule, lim.restarted_on) == (
        date(2028, 3, 1),
        "restart:part_payment",
        date(2025, 3, 1),
    )


def test_de_acknowledgement_before_the_regular_start_does_not_shorten() -> None:
    lim = time_bar(DE, date(2023, 5, 10), acknowledgements=[date(2023, 8, 1)])
    assert (lim.expires_on, lim.rule) == (date(2026, 12, 31), "year_end")


def test_events_after_expiry_do_not_revive_the_claim() -> None:
    lim = time_bar(DE, date(2023, 5, 10), acknowledgements=[date(2027, 1, 5)])
    assert lim.expires_on == date(2026, 12, 31)


def test_suspension_adds_its_days() -> None:
    # court payment order pending 1 Nov 2026 .. 30 Apr 2027 = 30 + 31 + 31 + 28 + 31 + 30 = 181 days;
    # 31 Dec 2026 + 181 days = 30 Jun 2027
    lim = time_bar(DE, date(2023, 5, 10), suspensions=[(date(2026, 11, 1), date(2027, 4, 30))])
    assert (lim.expires_on, lim.suspended_days) == (date(2027, 6, 30), 181)


def test_latvia_commercial_and_general() -> None:
    assert time_bar(LV_B2B, date(2024, 3, 15)).expires_on == date(2027, 3, 15)
    assert time_bar(LV_B2B, date(2024, 2, 29)).expires_on == date(2027, 2, 28)
    assert time_bar(LV_CONSUMER, date(2024, 3, 15)).expires_on == date(2034, 3, 15)


def test_add_years_leap_day() -> None:
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
