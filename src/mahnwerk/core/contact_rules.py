"""When a debtor may be contacted: time windows, weekdays, public holidays, frequency caps, opt-outs.

A proposed contact is never dropped for being at the wrong time: it is deferred to the earliest instant,
at or after the proposal, that every rule allows. Only a channel the debtor refused (opt-out) or a
do-not-contact flag blocks it for good; the caller then falls back to another channel or a person.

Times are judged on the debtor's wall clock (``time_zone``), so a window of 08:00-21:00 means 08:00 to
21:00 where the debtor is, whatever the daylight-saving offset. The window is half-open: 08:00:00 is
inside, 21:00:00 is not. Frequency caps and quiet days count calendar days on the debtor's wall clock,
as Regulation F does (12 CFR 1006.14(b)(2): "seven consecutive days", the day of a telephone conversation
being the first of the seven).

Rule values belong in versioned rule-set data; the presets below are defaults to start from, with the
source of each figure beside it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

import holidays


def gettext_noop(message: str) -> str:
    """Marks a message for translation catalogues without importing Django into the core."""
    return message


REASON_DO_NOT_CONTACT = "contact.do_not_contact"
REASON_OPTED_OUT = "contact.opted_out"
REASON_AFTER_CONVERSATION = "contact.after_conversation"
REASON_FREQUENCY_CAP = "contact.frequency_cap"
REASON_WEEKDAY = "contact.weekday"
REASON_PUBLIC_HOLIDAY = "contact.public_holiday"
REASON_OUTSIDE_HOURS = "contact.outside_hours"

REASONS: dict[str, str] = {
    REASON_DO_NOT_CONTACT: gettext_noop("The debtor must not be contacted."),
    REASON_OPTED_OUT: gettext_noop("The debtor refused this channel."),
    REASON_AFTER_CONVERSATION: gettext_noop("Too soon after the last conversation with the debtor."),
    REASON_FREQUENCY_CAP: gettext_noop(
        "The debtor was already contacted as often as allowed in this period."
    ),
    REASON_WEEKDAY: gettext_noop("No contact on this day of the week."),
    REASON_PUBLIC_HOLIDAY: gettext_noop("No contact on a public holiday."),
    REASON_OUTSIDE_HOURS: gettext_noop("Outside the hours when contact is allowed."),
}

MONDAY_TO_SATURDAY = frozenset(range(6))
EVERY_DAY = frozenset(range(7))
_SEARCH_DAYS = 400


class ContactRuleError(ValueError):
    """A rule that cannot be applied (no allowed day, no country for the holiday calendar...)."""


@dataclass(frozen=True, slots=True)
class ContactRule:
    """Contact limits of one jurisdiction. Weekdays are ``date.weekday()`` numbers: Monday 0 .. Sunday 6.

    ``allowed_start == allowed_end`` means no limit on the hour; ``allowed_start > allowed_end`` is a window
    across midnight. ``holiday_country`` None means the debtor's country (passed to :func:`check_contact`).
    ``max_contacts`` None means no frequency cap. ``capped_channels`` None means the cap and the quiet days
    apply to every channel; otherwise only to the channels named (Regulation F counts telephone calls).
    """

    allowed_start: time
    allowed_end: time
    allowed_weekdays: frozenset[int]
    no_public_holidays: bool
    holiday_country: str | None
    max_contacts: int | None
    window_days: int
    quiet_days_after_conversation: int
    opt_out_line_required: bool
    first_notice_objection_days: int
    holiday_subdivision: str | None = None
    capped_channels: frozenset[str] | None = field(default=None)

    def __post_init__(self) -> None:
        weekdays = frozenset(self.allowed_weekdays)
        object.__setattr__(self, "allowed_weekdays", weekdays)
        if self.capped_channels is not None:
            object.__setattr__(self, "capped_channels", frozenset(self.capped_channels))
        if not weekdays or not weekdays <= EVERY_DAY:
            raise ContactRuleError("allowed_weekdays must name at least one day, numbered 0 (Monday) to 6")
        if self.allowed_start.tzinfo is not None or self.allowed_end.tzinfo is not None:
            raise ContactRuleError("allowed_start and allowed_end are wall-clock times without a time zone")
        if self.max_contacts is not None and self.max_contacts < 1:
            raise ContactRuleError("max_contacts must be at least 1 (or None for no cap)")
        if self.window_days < 1:
            raise ContactRuleError("window_days must be at least 1")
        if self.quiet_days_after_conversation < 0 or self.first_notice_objection_days < 0:
            raise ContactRuleError("day counts must not be negative")

    def intervals(self) -> tuple[tuple[time, time | None], ...]:
        """The allowed part of each day as half-open wall-clock intervals; None as the end is midnight."""
        start, end = self.allowed_start, self.allowed_end
        if start == end:
            return ((time(0), None),)
        if start < end:
            return ((start, end),)
        return ((time(0), end), (start, None))


# Latvia, Debt Recovery Law (consumers): no contact 21:00-08:00, on Sundays or on public holidays;
# the first written notice gives at least 21 days to object. No statutory frequency cap.
LV = ContactRule(
    allowed_start=time(8),
    allowed_end=time(21),
    allowed_weekdays=MONDAY_TO_SATURDAY,
    no_public_holidays=True,
    holiday_country="LV",
    max_contacts=None,
    window_days=7,
    quiet_days_after_conversation=0,
    opt_out_line_required=False,
    first_notice_objection_days=21,
)
# Germany: no statutory contact window; Sundays and public holidays are days of rest (Art. 140 GG with
# Art. 139 WRV) and calls after 20:00 are widely held to be a nuisance. A business default, configurable.
DE = ContactRule(
    allowed_start=time(8),
    allowed_end=time(20),
    allowed_weekdays=MONDAY_TO_SATURDAY,
    no_public_holidays=True,
    holiday_country="DE",
    max_contacts=None,
    window_days=7,
    quiet_days_after_conversation=0,
    opt_out_line_required=False,
    first_notice_objection_days=0,
)
# EU default: the same business hours, public holidays of the debtor's country.
EU = ContactRule(
    allowed_start=time(8),
    allowed_end=time(20),
    allowed_weekdays=MONDAY_TO_SATURDAY,
    no_public_holidays=True,
    holiday_country=None,
    max_contacts=None,
    window_days=7,
    quiet_days_after_conversation=0,
    opt_out_line_required=False,
    first_notice_objection_days=0,
)
# United States, FDCPA / Regulation F: 8:00-21:00 local time (12 CFR 1006.6(b)(1)(i)); at most 7 calls in
# 7 consecutive days and none within 7 days after a telephone conversation (1006.14(b)(2)); an opt-out in
# every email and text message (1006.6(e)); 30-day validation period (1006.34).
US = ContactRule(
    allowed_start=time(8),
    allowed_end=time(21),
    allowed_weekdays=EVERY_DAY,
    no_public_holidays=False,
    holiday_country=None,
    max_contacts=7,
    window_days=7,
    quiet_days_after_conversation=7,
    opt_out_line_required=True,
    first_notice_objection_days=30,
    capped_channels=frozenset({"call"}),
)

PRESETS: dict[str, ContactRule] = {"LV": LV, "DE": DE, "EU": EU, "US": US}


@dataclass(frozen=True, slots=True)
class ContactDecision:
    """``allowed``: contact at the proposed instant is fine. ``earliest``: the earliest allowed instant at
    or after the proposal (the proposal itself when allowed; None when blocked for good). ``reason``: the
    text key (see :data:`REASONS`) of the first rule that stopped the proposal, None when allowed."""

    allowed: bool
    earliest: datetime | None
    reason: str | None


@cache
def _holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year).keys())


def is_public_holiday(day: date, country: str, subdivision: str | None = None) -> bool:
    return day in _holiday_dates(country, subdivision, day.year)


def _holiday_country(rule: ContactRule, country: str | None) -> str | None:
    if not rule.no_public_holidays:
        return None
    chosen = rule.holiday_country or country
    if not chosen:
        raise ContactRuleError("the rule excludes public holidays but names no country, and none was given")
    return chosen


def _zone(time_zone: str | ZoneInfo) -> ZoneInfo:
    return time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ContactRuleError("instants must carry a time zone (UTC)")
    return instant.astimezone(UTC)


def _window_reason(
    rule: ContactRule, zone: ZoneInfo, instant: datetime, holiday_country: str | None
) -> str | None:
    wall = instant.astimezone(zone)
    day = wall.date()
    if day.weekday() not in rule.allowed_weekdays:
        return REASON_WEEKDAY
    if holiday_country and is_public_holiday(day, holiday_country, rule.holiday_subdivision):
        return REASON_PUBLIC_HOLIDAY
    clock = wall.time().replace(tzinfo=None)
    for start, end in rule.intervals():
        if start <= clock and (end is None or clock < end):
            return None
    return REASON_OUTSIDE_HOURS


def _first_instants_at(day: date, clock: time, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants at which the wall clock reaches ``day clock``: one, two (clocks set back), or, when
    that wall time does not exist (clocks set forward), the instant of the jump, where it is first passed."""
    naive = datetime.combine(day, clock)
    found = []
    for fold in (0, 1):
        instant = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == naive and instant not in found:
            found.append(instant)
    if found:
        return sorted(found)
    a = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    b = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = int(min(a, b).timestamp()), int(max(a, b).timestamp())
    while lo < hi:  # smallest second whose wall clock is at or past the missing time
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(zone).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid + 1
    return [datetime.fromtimestamp(lo, UTC)]


@lru_cache(maxsize=16384)
def _offset_change(day: date, zone: ZoneInfo) -> datetime | None:
    """The instant the zone's UTC offset changes during wall day ``day`` (scanned with an hour's margin
    before and three after, which covers any jump whose new wall time falls on that day), or None."""
    lo = int(datetime.combine(day, time(0)).replace(tzinfo=zone).astimezone(UTC).timestamp()) - 3600
    hi = lo + 28 * 3600
    offset = datetime.fromtimestamp(lo, UTC).astimezone(zone).utcoffset()
    if datetime.fromtimestamp(hi, UTC).astimezone(zone).utcoffset() == offset:
        return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(zone).utcoffset() == offset:
            lo = mid
        else:
            hi = mid
    return datetime.fromtimestamp(hi, UTC)


@lru_cache(maxsize=16384)
def _day_candidates(
    rule: ContactRule, zone: ZoneInfo, day: date, holiday_country: str | None
) -> tuple[datetime, ...]:
    """The instants of wall day ``day`` where contact may become allowed: the wall clock reaching midnight or
    a window start, or a daylight-saving jump. Allowed stretches begin at one of these or at the proposal.
    A day without contact (weekday, holiday) has none. Cached: a run asks about the same few days often."""
    if day.weekday() not in rule.allowed_weekdays:
        return ()
    if holiday_country and is_public_holiday(day, holiday_country, rule.holiday_subdivision):
        return ()
    found: set[datetime] = set()
    for start, _end in rule.intervals():
        found.update(_first_instants_at(day, start, zone))
    found.update(_first_instants_at(day, time(0), zone))
    change = _offset_change(day, zone)
    if change is not None:
        found.add(change)
    return tuple(sorted(found))


@lru_cache(maxsize=16384)
def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return _first_instants_at(day, time(0), zone)[0]


def earliest_in_window(
    rule: ContactRule, time_zone: str | ZoneInfo, at: datetime, country: str | None = None
) -> datetime:
    """The earliest instant at or after ``at`` inside the rule's hours, weekdays and non-holidays (UTC)."""
    zone = _zone(time_zone)
    at = _utc(at)
    holiday_country = _holiday_country(rule, country)
    if _window_reason(rule, zone, at, holiday_country) is None:
        return at
    return _earliest_deferral(rule, zone, at, holiday_country)


@lru_cache(maxsize=4096)
def _earliest_deferral(
    rule: ContactRule, zone: ZoneInfo, at: datetime, holiday_country: str | None
) -> datetime:
    """Cached: a collection run proposes the same instant for every debtor of a time zone."""
    first = at.astimezone(zone).date() - timedelta(days=1)
    pending: list[datetime] = []
    for offset in range(_SEARCH_DAYS + 1):
        day = first + timedelta(days=offset)
        pending.extend(c for c in _day_candidates(rule, zone, day, holiday_country) if c >= at)
        # Candidates of later days all lie after the start of this day: the earlier ones are complete.
        horizon = _day_start(day, zone)
        pending.sort()
        while pending and pending[0] < horizon:
            candidate = pending.pop(0)
            if _window_reason(rule, zone, candidate, holiday_country) is None:
                return candidate
    raise ContactRuleError(f"no allowed moment for contact within {_SEARCH_DAYS} days of {at.isoformat()}")


def _local_days(instants: Iterable[datetime], zone: ZoneInfo) -> list[date]:
    return sorted(_utc(i).astimezone(zone).date() for i in instants)


def _cap_free_from(
    rule: ContactRule, zone: ZoneInfo, at: datetime, contact_days: list[date], conversation_day: date | None
) -> tuple[datetime, str | None]:
    """The first instant at or after ``at`` that the frequency cap and the quiet days allow."""
    day = at.astimezone(zone).date()
    free_day, reason = day, None
    if conversation_day is not None and rule.quiet_days_after_conversation > 0:
        quiet_until = conversation_day + timedelta(days=rule.quiet_days_after_conversation)
        if day < quiet_until:
            free_day, reason = quiet_until, REASON_AFTER_CONVERSATION
    if rule.max_contacts is not None:
        # Contacts on the days [day - window + 1, day] count; the cap allows one more while fewer than max.
        lo = bisect.bisect_left(contact_days, day - timedelta(days=rule.window_days - 1))
        hi = bisect.bisect_right(contact_days, day)
        in_window = contact_days[lo:hi]
        if len(in_window) >= rule.max_contacts:
            # The window must lose its oldest contacts until max - 1 remain.
            leaves = in_window[len(in_window) - rule.max_contacts] + timedelta(days=rule.window_days)
            if leaves > free_day:
                free_day = leaves
            reason = reason or REASON_FREQUENCY_CAP
    if free_day == day:
        return at, reason
    return max(at, _day_start(free_day, zone)), reason


def check_contact(
    rule: ContactRule,
    *,
    channel: str,
    at: datetime,
    time_zone: str | ZoneInfo,
    country: str | None = None,
    past_contacts: Iterable[datetime] = (),
    last_conversation: datetime | None = None,
    opted_out_channels: Iterable[str] = (),
    do_not_contact: bool = False,
) -> ContactDecision:
    """May ``channel`` be used at ``at`` (UTC) for a debtor in ``time_zone`` / ``country``?

    ``past_contacts``: earlier contacts of this debtor on this channel (for the frequency cap);
    ``last_conversation``: the last telephone conversation (for the quiet days).
    """
    if do_not_contact:
        return ContactDecision(False, None, REASON_DO_NOT_CONTACT)
    if channel in set(opted_out_channels):
        return ContactDecision(False, None, REASON_OPTED_OUT)
    zone = _zone(time_zone)
    at = _utc(at)
    holiday_country = _holiday_country(rule, country)
    capped = rule.capped_channels is None or channel in rule.capped_channels
    contact_days = _local_days(past_contacts, zone) if capped else []
    conversation_day = None
    if capped and last_conversation is not None and _utc(last_conversation) <= at:
        conversation_day = _utc(last_conversation).astimezone(zone).date()

    if not contact_days and (conversation_day is None or rule.quiet_days_after_conversation == 0):
        # No cap can bite: only the window decides (the common case, kept short for the daily run).
        window_reason = _window_reason(rule, zone, at, holiday_country)
        if window_reason is None:
            return ContactDecision(True, at, None)
        return ContactDecision(False, _earliest_deferral(rule, zone, at, holiday_country), window_reason)

    first_reason: str | None = None
    candidate = at
    for _ in range(100):
        free, cap_reason = _cap_free_from(rule, zone, candidate, contact_days, conversation_day)
        window_reason = _window_reason(rule, zone, free, holiday_country)
        if candidate == at:
            first_reason = cap_reason or window_reason
        settled = earliest_in_window(rule, zone, free, holiday_country) if window_reason else free
        if settled == candidate:
            return ContactDecision(candidate == at, candidate, first_reason)
        candidate = settled
    raise ContactRuleError("contact rules did not settle on an allowed moment")  # pragma: no cover
