"""Contact windows, holidays, frequency caps and opt-outs; deferral to the earliest allowed moment."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mahnwerk.core.contact_rules import (
    DE,
    EU,
    LV,
    PRESETS,
    REASON_AFTER_CONVERSATION,
    REASON_DO_NOT_CONTACT,
    REASON_FREQUENCY_CAP,
    REASON_OPTED_OUT,
    REASON_OUTSIDE_HOURS,
    REASON_PUBLIC_HOLIDAY,
    REASON_WEEKDAY,
    REASONS,
    US,
    ContactRule,
    ContactRuleError,
    check_contact,
    earliest_in_window,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- worked examples (offsets: Riga EET = UTC+2 / EEST = UTC+3, Berlin CET = UTC+1, New York EST = UTC-5) --


def test_lv_early_morning_is_deferred_to_eight_local() -> None:
    # Monday 23 Nov 2026, 05:00 UTC = 07:00 in Riga -> 08:00 Riga = 06:00 UTC.
    decision = check_contact(LV, channel="sms", at=utc(2026, 11, 23, 5, 0), time_zone="Europe/Riga")
    assert decision.allowed is False
    assert decision.earliest == utc(2026, 11, 23, 6, 0)
    assert decision.reason == REASON_OUTSIDE_HOURS


def test_lv_saturday_evening_skips_sunday() -> None:
    # Saturday 21 Nov 2026, 19:00 UTC = 21:00 Riga: the window has closed; Sunday is not allowed in Latvia;
    # Monday 23 Nov 08:00 Riga = 06:00 UTC.
    decision = check_contact(LV, channel="letter", at=utc(2026, 11, 21, 19, 0), time_zone="Europe/Riga")
    assert decision.earliest == utc(2026, 11, 23, 6, 0)
    # One minute earlier, 20:59 Riga, is still inside the window.
    assert check_contact(LV, channel="sms", at=utc(2026, 11, 21, 18, 59), time_zone="Europe/Riga").allowed


def test_lv_public_holiday_is_skipped() -> None:
    # 18 November is the Proclamation Day of the Republic of Latvia (a Wednesday in 2026).
    decision = check_contact(LV, channel="sms", at=utc(2026, 11, 18, 10, 0), time_zone="Europe/Riga")
    assert decision.reason == REASON_PUBLIC_HOLIDAY
    assert decision.earliest == utc(2026, 11, 19, 6, 0)


def test_de_christmas_and_sunday() -> None:
    # Thursday 24 Dec 2026 is a working day; 25 and 26 Dec are holidays, 27 Dec a Sunday:
    # 24 Dec 20:30 Berlin (19:30 UTC) -> Monday 28 Dec 08:00 Berlin = 07:00 UTC.
    decision = check_contact(DE, channel="call", at=utc(2026, 12, 24, 19, 30), time_zone="Europe/Berlin")
    assert decision.reason == REASON_OUTSIDE_HOURS
    assert decision.earliest == utc(2026, 12, 28, 7, 0)


def test_eu_uses_the_debtors_country_for_holidays() -> None:
    # 23 June 2027 (Wednesday) is Līgo Day in Latvia but not a holiday in Germany.
    at = utc(2027, 6, 23, 9, 0)
    lv = check_contact(EU, channel="sms", at=at, time_zone="Europe/Riga", country="LV")
    de = check_contact(EU, channel="sms", at=at, time_zone="Europe/Berlin", country="DE")
    assert lv.reason == REASON_PUBLIC_HOLIDAY
    assert de.allowed
    with pytest.raises(ContactRuleError):
        check_contact(EU, channel="sms", at=at, time_zone="Europe/Riga")


def test_window_follows_daylight_saving() -> None:
    # Riga in summer is UTC+3: 08:00 local = 05:00 UTC on Monday 6 July 2026.
    assert earliest_in_window(LV, "Europe/Riga", utc(2026, 7, 6, 4, 0)) == utc(2026, 7, 6, 5, 0)


def test_us_seven_calls_in_seven_days() -> None:
    # Calls on 17..23 Nov 2026 (local dates in New York): seven in the seven days 17..23 Nov.
    calls = [utc(2026, 11, 17 + i, 15, 0) for i in range(7)]
    decision = check_contact(
        US, channel="call", at=utc(2026, 11, 23, 18, 0), time_zone="America/New_York", past_contacts=calls
    )
    # The call of 17 Nov leaves the window on 24 Nov: 08:00 New York = 13:00 UTC.
    assert decision.reason == REASON_FREQUENCY_CAP
    assert decision.earliest == utc(2026, 11, 24, 13, 0)
    # Six calls (18..23 Nov) leave room for a seventh.
    assert check_contact(
        US, channel="call", at=utc(2026, 11, 23, 18, 0), time_zone="America/New_York", past_contacts=calls[1:]
    ).allowed
    # The cap counts calls only: an email is fine.
    assert check_contact(
        US, channel="email", at=utc(2026, 11, 23, 18, 0), time_zone="America/New_York", past_contacts=calls
    ).allowed


def test_us_no_call_within_seven_days_after_a_conversation() -> None:
    # Conversation on Friday 20 Nov 2026 (15:00 New York): that day is day 1 of 7, so 20..26 Nov are quiet;
    # the next call may be placed on 27 Nov at 08:00 New York = 13:00 UTC.
    decision = check_contact(
        US,
        channel="call",
        at=utc(2026, 11, 23, 15, 0),
        time_zone="America/New_York",
        last_conversation=utc(2026, 11, 20, 20, 0),
    )
    assert decision.reason == REASON_AFTER_CONVERSATION
    assert decision.earliest == utc(2026, 11, 27, 13, 0)


def test_us_evening_limit_is_nine_pm_local() -> None:
    # 20:59 New York (01:59 UTC next day) allowed; 21:00 deferred to 08:00 the next morning.
    assert check_contact(US, channel="sms", at=utc(2026, 11, 24, 1, 59), time_zone="America/New_York").allowed
    late = check_contact(US, channel="sms", at=utc(2026, 11, 24, 2, 0), time_zone="America/New_York")
    assert late.earliest == utc(2026, 11, 24, 13, 0)


def test_opt_out_and_do_not_contact_block_without_deferral() -> None:
    at = utc(2026, 11, 23, 10, 0)
    opted = check_contact(LV, channel="sms", at=at, time_zone="Europe/Riga", opted_out_channels={"sms"})
    assert (opted.allowed, opted.earliest, opted.reason) == (False, None, REASON_OPTED_OUT)
    assert check_contact(
        LV, channel="email", at=at, time_zone="Europe/Riga", opted_out_channels={"sms"}
    ).allowed
    dnc = check_contact(LV, channel="email", at=at, time_zone="Europe/Riga", do_not_contact=True)
    assert (dnc.earliest, dnc.reason) == (None, REASON_DO_NOT_CONTACT)


def test_presets_and_reason_texts() -> None:
    assert set(PRESETS) == {"LV", "DE", "EU", "US"}
    assert LV.first_notice_objection_days == 21
    assert US.opt_out_line_required and not LV.opt_out_line_required
    assert (US.max_contacts, US.window_days, US.quiet_days_after_conversation) == (7, 7, 7)
    assert 6 not in LV.allowed_weekdays and 6 in US.allowed_weekdays
    for key in (REASON_WEEKDAY, REASON_OUTSIDE_HOURS, REASON_PUBLIC_HOLIDAY, REASON_FREQUENCY_CAP):
        assert REASONS[key]


def test_invalid_rules_are_refused() -> None:
    with pytest.raises(ContactRuleError):
        ContactRule(time(8), time(20), frozenset(), False, None, None, 7, 0, False, 0)
    with pytest.raises(ContactRuleError):
        ContactRule(time(8), time(20), frozenset({7}), False, None, None, 7, 0, False, 0)
    with pytest.raises(ContactRuleError):
        check_contact(LV, channel="sms", at=datetime(2026, 11, 23, 10, 0), time_zone="Europe/Riga")


def test_window_across_midnight_and_whole_day() -> None:
    night = ContactRule(time(22), time(6), frozenset(range(7)), False, None, None, 7, 0, False, 0)
    # Berlin CET: 12:00 local (11:00 UTC) -> 22:00 local = 21:00 UTC; 02:00 local is inside.
    assert earliest_in_window(night, "Europe/Berlin", utc(2026, 11, 23, 11, 0)) == utc(2026, 11, 23, 21, 0)
    assert earliest_in_window(night, "Europe/Berlin", utc(2026, 11, 23, 1, 0)) == utc(2026, 11, 23, 1, 0)
    always = ContactRule(time(0), time(0), frozenset({0}), False, None, None, 7, 0, False, 0)
    # Tuesday 24 Nov 2026 -> Monday 30 Nov 00:00 Berlin = 29 Nov 23:00 UTC.
    assert earliest_in_window(always, "Europe/Berlin", utc(2026, 11, 24, 12, 0)) == utc(2026, 11, 29, 23, 0)


def test_start_inside_the_spring_forward_gap() -> None:
    # Berlin, 29 March 2026: 02:00 CET jumps to 03:00 CEST (01:00 UTC). A window from 02:30 opens at the jump.
    rule = ContactRule(time(2, 30), time(5), frozenset(range(7)), False, None, None, 7, 0, False, 0)
    assert earliest_in_window(rule, "Europe/Berlin", utc(2026, 3, 29, 0, 0)) == utc(2026, 3, 29, 1, 0)


def test_window_reopens_when_clocks_go_back() -> None:
    # Berlin, 25 Oct 2026: 03:00 CEST (01:00 UTC) goes back to 02:00 CET. A window 00:00-02:30 closes at
    # 02:30 CEST (00:30 UTC) and opens again at 02:00 CET (01:00 UTC) until 02:30 CET (01:30 UTC).
    rule = ContactRule(time(0), time(2, 30), frozenset(range(7)), False, None, None, 7, 0, False, 0)
    assert earliest_in_window(rule, "Europe/Berlin", utc(2026, 10, 25, 0, 40)) == utc(2026, 10, 25, 1, 0)


# --- properties --------------------------------------------------------------------------------------------

ZONES = ["Europe/Riga", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "UTC"]


@cache
def _holiday_set(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, years=year))


def reference_allowed(
    rule: ContactRule,
    zone: str,
    instant: datetime,
    country: str,
    contacts: list[datetime],
    conversation: datetime | None,
) -> bool:
    """An independent, literal reading of the rules for one instant."""
    wall = instant.astimezone(ZoneInfo(zone))
    day, clock = wall.date(), wall.time().replace(tzinfo=None)
    if day.weekday() not in rule.allowed_weekdays:
        return False
    if rule.no_public_holidays and day in _holiday_set(rule.holiday_country or country, day.year):
        return False
    start, end = rule.allowed_start, rule.allowed_end
    if start < end and not start <= clock < end:
        return False
    if start > end and end <= clock < start:
        return False
    if conversation is not None and rule.quiet_days_after_conversation:
        conversation_day = conversation.astimezone(ZoneInfo(zone)).date()
        if conversation_day <= day < conversation_day + timedelta(days=rule.quiet_days_after_conversation):
            return False
    if rule.max_contacts is not None:
        first_day = day - timedelta(days=rule.window_days - 1)
        count = sum(1 for c in contacts if first_day <= c.astimezone(ZoneInfo(zone)).date() <= day)
        if count >= rule.max_contacts:
            return False
    return True


quarter_hours = st.integers(min_value=0, max_value=95).map(lambda q: time(q // 4, q % 4 * 15))
rules = st.builds(
    ContactRule,
    allowed_start=quarter_hours,
    allowed_end=quarter_hours,
    allowed_weekdays=st.frozensets(st.integers(0, 6), min_size=1),
    no_public_holidays=st.booleans(),
    holiday_country=st.sampled_from([None, "LV", "DE"]),
    max_contacts=st.one_of(st.none(), st.integers(1, 4)),
    window_days=st.integers(1, 7),
    quiet_days_after_conversation=st.integers(0, 3),
    opt_out_line_required=st.just(False),
    first_notice_objection_days=st.just(0),
)
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rule=rules,
    zone=st.sampled_from(ZONES),
    at=instants,
    contact_offsets=st.lists(st.integers(1, 10 * 24 * 60), max_size=6),
    conversation_offset=st.one_of(st.none(), st.integers(0, 5 * 24 * 60)),
)
def test_deferral_is_allowed_and_earliest(
    rule: ContactRule, zone: str, at: datetime, contact_offsets: list[int], conversation_offset: int | None
) -> None:
    contacts = [at - timedelta(minutes=m) for m in contact_offsets]
    conversation = None if conversation_offset is None else at - timedelta(minutes=conversation_offset)
    decision = check_contact(
        rule,
        channel="call",
        at=at,
        time_zone=zone,
        country="LV",
        past_contacts=contacts,
        last_conversation=conversation,
    )
    assert decision.earliest is not None
    earliest = decision.earliest
    # The returned moment is allowed, and "allowed" means allowed at the proposal itself.
    assert earliest >= at
    assert reference_allowed(rule, zone, earliest, "LV", contacts, conversation)
    assert decision.allowed == (earliest == at)
    assert decision.allowed == reference_allowed(rule, zone, at, "LV", contacts, conversation)
    assert (decision.reason is None) == decision.allowed
    # Nothing strictly between the proposal and the returned moment is allowed: step minute by minute
    # over the first and the last two days of the gap (every window boundary lies on a whole minute).
    if earliest > at:
        assert not reference_allowed(
            rule, zone, earliest - timedelta(seconds=1), "LV", contacts, conversation
        )
        first_minute = at.replace(second=0) + timedelta(minutes=1)
        limit = timedelta(days=2)
        probe = first_minute
        while probe < earliest:
            if probe - first_minute > limit and earliest - probe > limit:
                probe = earliest - limit
                continue
            assert not reference_allowed(rule, zone, probe, "LV", contacts, conversation), probe
            probe += timedelta(minutes=1)


@settings(max_examples=100, deadline=None)
@given(rule=rules, zone=st.sampled_from(ZONES), at=instants)
def test_no_allowed_moment_falls_in_a_forbidden_window(rule: ContactRule, zone: str, at: datetime) -> None:
    decision = check_contact(rule, channel="sms", at=at, time_zone=zone, country="DE")
    for instant in (at, decision.earliest):
        assert instant is not None
        verdict = check_contact(rule, channel="sms", at=instant, time_zone=zone, country="DE")
        assert verdict.allowed == reference_allowed(rule, zone, instant, "DE", [], None)
    assert decision.earliest is not None
    assert reference_allowed(rule, zone, decision.earliest, "DE", [], None)
