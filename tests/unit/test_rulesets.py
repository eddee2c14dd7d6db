"""Rule sets: every jurisdiction and debtor kind loads, versions resolve, overlays add versions."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest

from mahnwerk.core.rulesets import (
    Component,
    DayCount,
    RuleSetError,
    contact_allowed_at,
    load_rulebook,
    packaged_rulebook,
)

BOOK = packaged_rulebook()


@pytest.mark.parametrize("jurisdiction", ["DE", "LV", "EU", "US"])
@pytest.mark.parametrize("kind", ["business", "consumer"])
def test_every_rule_set_loads(jurisdiction: str, kind: str) -> None:
    rs = BOOK.get(jurisdiction, kind, date(2025, 1, 1))
    assert rs.jurisdiction == jurisdiction and rs.debtor_kind == kind
    assert set(rs.allocation_order) == set(Component)
    assert rs.interest.day_count is DayCount.ACT365
    assert rs.limitation.warning_days == 90
    assert rs.sources


def test_de_margins_and_compensation_by_date_the_claim_arose() -> None:
    old = BOOK.get("DE", "business", date(2014, 7, 28))
    new = BOOK.get("DE", "business", date(2014, 7, 29))
    assert (old.interest.margin_units, old.fees.flat_compensation_minor) == (80000, 0)
    assert (new.interest.margin_units, new.fees.flat_compensation_minor) == (90000, 4000)
    # a later version inherits what it does not change
    assert new.allocation_order == old.allocation_order == (
        Component.COSTS, Component.INTEREST, Component.PRINCIPAL, Component.PENALTY,
    )  # fmt: skip
    assert new.limitation == old.limitation
    assert BOOK.get("DE", "consumer", date(2020, 1, 1)).interest.margin_units == 50000


def test_lv_rules() -> None:
    b2b = BOOK.get("LV", "business", date(2024, 1, 1))
    consumer = BOOK.get("LV", "consumer", date(2024, 1, 1))
    assert (b2b.interest.rate_table, b2b.interest.margin_units) == ("eu_reference_rate", 80000)
    assert (consumer.interest.kind, consumer.interest.fixed_units) == ("fixed", 60000)
    assert b2b.interest.cap_at_principal and consumer.interest.cap_at_principal
    assert b2b.allocation_order[:3] == (Component.INTEREST, Component.PRINCIPAL, Component.PENALTY)
    assert (b2b.limitation.years, consumer.limitation.years) == (3, 10)
    fees = consumer.fees
    assert (fees.first_notice_cap_minor, fees.further_total_cap_minor, fees.total_cap_minor) == (
        700,
        1000,
        1700,
    )
    c = consumer.contact
    assert (c.quiet_from, c.quiet_until) == (time(21, 0), time(8, 0))
    assert c.no_sundays and c.no_public_holidays
    assert (c.first_notice_objection_days, c.postal_receipt_days) == (21, 7)


def test_us_contact_rules_and_configurable_rate() -> None:
    us = BOOK.get("US", "consumer", date(2024, 1, 1))
    c = us.contact
    assert (c.quiet_until, c.quiet_from) == (time(8, 0), time(21, 0))
    assert (c.max_calls_per_7_days, c.no_call_days_after_conversation) == (7, 7)
    assert c.opt_out_line_required
    assert us.interest.kind == "fixed"
    assert any("configurable" in u for u in us.unconfirmed)


def test_unknown_jurisdiction_or_kind_or_date() -> None:
    with pytest.raises(RuleSetError, match="no rule set"):
        BOOK.get("FR", "business", date(2024, 1, 1))
    with pytest.raises(RuleSetError, match="debtor kind"):
        BOOK.get("DE", "robot", date(2024, 1, 1))
    with pytest.raises(RuleSetError, match="starts on"):
        BOOK.get("DE", "business", date(2001, 12, 31))


def test_overlay_adds_a_version(tmp_path: Path) -> None:
    (tmp_path / "us_consumer_california.toml").write_text(
        'jurisdiction = "US"\ndebtor_kind = "consumer"\n\n'
        "[[versions]]\nvalid_from = 2024-01-01\n\n"
        '[versions.interest]\nfixed_percent = "10"\n'
    )
    book = load_rulebook(tmp_path)
    assert book.get("US", "consumer", date(2023, 12, 31)).interest.fixed_units == 90000
    assert book.get("US", "consumer", date(2024, 1, 1)).interest.fixed_units == 100000
    # untouched jurisdictions are the packaged ones
    assert book.get("DE", "business", date(2024, 1, 1)) == BOOK.get("DE", "business", date(2024, 1, 1))


def test_broken_overlay_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text(
        'jurisdiction = "DE"\ndebtor_kind = "business"\n[[versions]]\nvalid_from = 2025-01-01\n'
        'allocation_order = ["costs", "interest"]\n'
    )
    with pytest.raises(RuleSetError, match="allocation_order"):
        load_rulebook(tmp_path)


def test_contact_windows() -> None:
    lv = BOOK.get("LV", "consumer", date(2024, 1, 1)).contact
    us = BOOK.get("US", "consumer", date(2024, 1, 1)).contact
    de = BOOK.get("DE", "business", date(2024, 1, 1)).contact
    tuesday = datetime(2024, 3, 12, 7, 59)
    assert not contact_allowed_at(lv, tuesday)
    assert contact_allowed_at(lv, tuesday.replace(hour=8, minute=0))
    assert contact_allowed_at(lv, tuesday.replace(hour=20, minute=59))
    assert not contact_allowed_at(lv, tuesday.replace(hour=21, minute=0))
    assert not contact_allowed_at(lv, datetime(2024, 3, 17, 12, 0))  # a Sunday
    assert not contact_allowed_at(lv, tuesday.replace(hour=12), public_holiday=True)
    assert contact_allowed_at(us, datetime(2024, 3, 17, 12, 0))  # Sundays are not barred in the US
    assert not contact_allowed_at(us, tuesday.replace(hour=22))
    assert contact_allowed_at(de, tuesday.replace(hour=22))  # no statutory window in Germany
