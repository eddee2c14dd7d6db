"""The interest engine's refusals and edge cases, and when default begins."""

from __future__ import annotations

from datetime import date

import pytest

from mahnwerk.core.interest import (
    InterestError,
    NegativeRateError,
    Payment,
    RateStep,
    compute_interest,
    default_begins,
    rate_steps,
    segment_amount,
    statutory_interest,
)
from mahnwerk.core.rates import MissingRateError, load_tables, percent_to_units
from mahnwerk.core.rulesets import DayCount, packaged_rulebook

TABLES = load_tables(None)
BOOK = packaged_rulebook()


def test_uncovered_half_year_is_refused_and_named() -> None:
    with pytest.raises(MissingRateError) as err:
        statutory_interest(BOOK, TABLES, "DE", "business", 100000, date(2026, 6, 1), date(2026, 7, 15))
    assert err.value.period_start == date(2026, 7, 1)
    assert str(err.value) == (
        "no de_basiszinssatz rate for the half-year from 2026-07-01; "
        "add it with: mahnwerk rates add de_basiszinssatz 2026-07-01 <percent>"
    )


def test_period_before_the_table_is_refused() -> None:
    with pytest.raises(MissingRateError) as err:
        statutory_interest(
            BOOK,
            TABLES,
            "EU",
            "business",
            100000,
            date(2013, 12, 1),
            date(2014, 1, 5),
            arose=date(2013, 11, 1),
        )
    assert (err.value.table, err.value.period_start) == ("eu_reference_rate", date(2013, 7, 1))


def test_negative_total_rate_is_refused_not_clamped() -> None:
    steps = [RateStep(date(2020, 1, 1), -8800, 5000)]  # base -0.88 % + 0.5 pp = -0.38 %
    with pytest.raises(NegativeRateError) as err:
        compute_interest(100000, date(2020, 1, 1), date(2020, 1, 31), steps)
    assert err.value.start == date(2020, 1, 1)


def test_negative_contract_rate_is_refused() -> None:
    rule = BOOK.get("DE", "business", date(2020, 1, 1)).interest
    with pytest.raises(NegativeRateError):
        rate_steps(rule, TABLES, date(2020, 1, 1), date(2020, 2, 1), contract_units=percent_to_units("-1"))


def test_single_day_counts_once() -> None:
    # 36500.00 at 10 % for one day = 36500 x 0.10 / 365 = 10.00
    r = compute_interest(
        3650000, date(2023, 3, 1), date(2023, 3, 1), [RateStep(date(2023, 1, 1), None, 100000)]
    )
    assert [(s.days, s.amount_minor) for s in r.segments] == [(1, 1000)]


def test_rejects_bad_inputs() -> None:
    steps = [RateStep(date(2023, 1, 1), None, 100000)]
    with pytest.raises(InterestError):
        compute_interest(100, date(2023, 3, 2), date(2023, 3, 1), steps)
    with pytest.raises(InterestError):
        compute_interest(-1, date(2023, 3, 1), date(2023, 3, 2), steps)
    with pytest.raises(InterestError):
        compute_interest(100, date(2022, 12, 1), date(2023, 3, 2), steps)  # steps start too late
    with pytest.raises(InterestError):
        compute_interest(
            100, date(2023, 3, 1), date(2023, 3, 2), steps, payments=[Payment(date(2023, 3, 3), 1)]
        )
    with pytest.raises(InterestError):
        compute_interest(
            100, date(2023, 3, 1), date(2023, 3, 2), steps, payments=[Payment(date(2023, 3, 2), 0)]
        )


def test_payment_before_the_first_day_reduces_the_principal_from_the_start() -> None:
    # 1000.00 less 400.00 paid before default = 600.00; 600 x 10 % x 73/365 = 12.00
    steps = [RateStep(date(2023, 1, 1), None, 100000)]
    r = compute_interest(
        100000, date(2023, 3, 1), date(2023, 5, 12), steps, payments=[Payment(date(2023, 2, 1), 40000)]
    )
    assert [(s.principal_minor, s.days, s.amount_minor) for s in r.segments] == [(60000, 73, 1200)]


def test_full_payment_stops_interest() -> None:
    # 1000.00 at 10 %: 1 .. 10 Mar = 10 days = 2.74 (1000 x 0.1 x 10/365 = 2.7397); paid in full on 10 Mar
    steps = [RateStep(date(2023, 1, 1), None, 100000)]
    r = compute_interest(
        100000, date(2023, 3, 1), date(2023, 12, 31), steps, payments=[Payment(date(2023, 3, 10), 100274)]
    )
    assert r.interest_minor == 274
    assert r.principal_open_minor == 0 and r.interest_open_minor == 0
    assert [s.end for s in r.segments] == [date(2023, 3, 10)]


def test_no_interest_on_interest() -> None:
    # interest accrued in H1 does not bear interest in H2: the principal of every segment stays 1000.00
    r = statutory_interest(BOOK, TABLES, "DE", "business", 100000, date(2023, 1, 1), date(2024, 12, 31))
    assert {s.principal_minor for s in r.segments} == {100000}


def test_actact_splits_at_every_new_year_even_without_a_rate_change() -> None:
    r = statutory_interest(
        BOOK, TABLES, "US", "consumer", 100000, date(2023, 6, 1), date(2025, 2, 1), day_count=DayCount.ACTACT
    )
    assert [(s.start, s.year_days) for s in r.segments] == [
        (date(2023, 6, 1), 365),
        (date(2024, 1, 1), 366),
        (date(2025, 1, 1), 365),
    ]


def test_segment_amount_rounds_half_up() -> None:
    assert segment_amount(105000, 36500, 1, 365) == 11  # exactly 10.5 cents
    assert segment_amount(104999, 36500, 1, 365) == 10  # 10.4999 cents


def test_margin_follows_the_date_the_claim_arose() -> None:
    before = statutory_interest(
        BOOK, TABLES, "DE", "business", 100000, date(2015, 1, 1), date(2015, 1, 1), arose=date(2014, 7, 28)
    )
    after = statutory_interest(
        BOOK, TABLES, "DE", "business", 100000, date(2015, 1, 1), date(2015, 1, 1), arose=date(2014, 7, 29)
    )
    assert before.segments[0].margin_units == 80000
    assert after.segments[0].margin_units == 90000
    assert before.description["margin"] == "8.00" and after.description["margin"] == "9.00"


# --- when default begins -------------------------------------------------------------------------


DE_B2B_DEFAULT = BOOK.get("DE", "business", date(2024, 1, 1)).default
DE_CONSUMER_DEFAULT = BOOK.get("DE", "consumer", date(2024, 1, 1)).default
LV_B2B_DEFAULT = BOOK.get("LV", "business", date(2024, 1, 1)).default


def test_calendar_due_date_agreed_starts_interest_the_next_day() -> None:
    start = default_begins(DE_B2B_DEFAULT, "business", date(2024, 3, 15), due_date_agreed=True)
    assert (start.first_interest_day, start.rule) == (date(2024, 3, 16), "calendar_due_date")


def test_invoice_due_date_alone_does_not_start_default_in_germany() -> None:
    start = default_begins(DE_B2B_DEFAULT, "business", date(2024, 3, 15))
    assert (start.first_interest_day, start.rule) == (None, "none")


def test_invoice_due_date_suffices_for_lv_commercial() -> None:
    start = default_begins(LV_B2B_DEFAULT, "business", date(2024, 3, 15))
    assert (start.first_interest_day, start.rule) == (date(2024, 3, 16), "calendar_due_date")


def test_reminder_after_due_date() -> None:
    start = default_begins(
        DE_B2B_DEFAULT, "business", date(2024, 3, 15), reminder_received=date(2024, 3, 25),
        invoice_received=date(2024, 3, 1),
    )  # fmt: skip
    assert (start.first_interest_day, start.rule) == (date(2024, 3, 26), "reminder")


def test_reminder_before_due_date_does_not_count() -> None:
    start = default_begins(DE_B2B_DEFAULT, "business", date(2024, 3, 15), reminder_received=date(2024, 3, 10))
    assert start.rule == "none"


def test_thirty_day_rule_for_business() -> None:
    # due 15 Mar, received 20 Mar: 30 days after the later date = 19 Apr; interest from 20 Apr
    start = default_begins(
        DE_B2B_DEFAULT, "business", date(2024, 3, 15), invoice_received=date(2024, 3, 20),
        reminder_received=date(2024, 5, 2),
    )  # fmt: skip
    assert (start.first_interest_day, start.rule) == (date(2024, 4, 20), "days_after_due_and_receipt")


def test_thirty_day_rule_binds_a_consumer_only_with_notice() -> None:
    without = default_begins(
        DE_CONSUMER_DEFAULT, "consumer", date(2024, 3, 15), invoice_received=date(2024, 3, 1)
    )
    assert without.rule == "none"
    with_notice = default_begins(
        DE_CONSUMER_DEFAULT, "consumer", date(2024, 3, 15), invoice_received=date(2024, 3, 1),
        consumer_notice_given=True,
    )  # fmt: skip
    assert (with_notice.first_interest_day, with_notice.rule) == (
        date(2024, 4, 15),
        "days_after_due_and_receipt",
    )
