"""Flat compensation, reminder fees and their caps, the penalty cap."""

from __future__ import annotations

from datetime import date

import pytest

from mahnwerk.core.fees import (
    collection_costs_after_credit,
    flat_compensation_minor,
    penalty_cap_minor,
    reminder_fee,
)
from mahnwerk.core.rulesets import packaged_rulebook

BOOK = packaged_rulebook()
DE_B2B = BOOK.get("DE", "business", date(2024, 1, 1)).fees
DE_CONSUMER = BOOK.get("DE", "consumer", date(2024, 1, 1)).fees
LV_CONSUMER = BOOK.get("LV", "consumer", date(2024, 1, 1)).fees


def test_flat_compensation_per_late_item_for_businesses_only() -> None:
    assert flat_compensation_minor(DE_B2B, 3) == 12000  # 3 late instalments x 40.00
    assert flat_compensation_minor(DE_CONSUMER, 3) == 0
    assert flat_compensation_minor(BOOK.get("LV", "business", date(2024, 1, 1)).fees) == 4000
    assert flat_compensation_minor(BOOK.get("EU", "business", date(2024, 1, 1)).fees) == 4000
    # claims that arose before 2014-07-29 carry no flat fee in Germany
    assert flat_compensation_minor(BOOK.get("DE", "business", date(2014, 7, 1)).fees) == 0


def test_compensation_is_credited_against_agency_costs() -> None:
    assert collection_costs_after_credit(11160, 4000) == 7160
    assert collection_costs_after_credit(3000, 4000) == 0


def test_de_first_default_causing_reminder_is_free_then_actual_cost() -> None:
    first = reminder_fee(DE_B2B, first_notice=True, default_causing=True)
    assert (first.amount_minor, first.reason) == (0, "default_causing_reminder_free")
    second = reminder_fee(DE_B2B, first_notice=False, default_causing=False)
    assert (second.amount_minor, second.reason) == (100, "fee")  # 1.00 EUR from the rule set
    own_cost = reminder_fee(DE_B2B, first_notice=False, default_causing=False, cost_minor=76)
    assert own_cost.amount_minor == 76


def test_lv_consumer_caps_7_10_17() -> None:
    first = reminder_fee(LV_CONSUMER, first_notice=True, default_causing=False, cost_minor=900)
    assert (first.amount_minor, first.reason) == (700, "capped")
    # further actions share 10.00: 7.00, then 3.00, then nothing
    a = reminder_fee(LV_CONSUMER, first_notice=False, default_causing=False, charged_first_minor=700)
    b = reminder_fee(
        LV_CONSUMER,
        first_notice=False,
        default_causing=False,
        charged_first_minor=700,
        charged_further_minor=700,
    )
    c = reminder_fee(
        LV_CONSUMER,
        first_notice=False,
        default_causing=False,
        charged_first_minor=700,
        charged_further_minor=1000,
    )
    assert [a.amount_minor, b.amount_minor, c.amount_minor] == [700, 300, 0]
    assert c.reason == "cap_reached"
    assert 700 + a.amount_minor + b.amount_minor == 1700  # the 17.00 total cap


def test_penalty_cap() -> None:
    lv = BOOK.get("LV", "business", date(2024, 1, 1)).fees
    assert penalty_cap_minor(lv, 123456) == 12345  # 10 % of 1234.56, rounded down
    assert penalty_cap_minor(DE_B2B, 123456) is None


def test_negative_inputs_refused() -> None:
    with pytest.raises(ValueError):
        flat_compensation_minor(DE_B2B, -1)
    with pytest.raises(ValueError):
        reminder_fee(DE_B2B, first_notice=False, default_causing=False, cost_minor=-1)
