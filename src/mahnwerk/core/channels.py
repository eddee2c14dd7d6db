"""Choosing the channel for a step: the step's channel, the debtor's preferred written channel, and the
fallback when a contact is missing or invalid. Plain data in, a decision out."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import time

from mahnwerk.core.contact_rules import ContactRule
from mahnwerk.core.playbook import Channel
from mahnwerk.core.rulesets import ContactRules

WRITTEN = (Channel.EMAIL, Channel.LETTER, Channel.SMS)

# What to try, in order, when the step's channel cannot be used.
FALLBACKS: dict[Channel, tuple[Channel, ...]] = {
    Channel.EMAIL: (Channel.EMAIL, Channel.LETTER, Channel.SMS),
    Channel.LETTER: (Channel.LETTER, Channel.EMAIL),
    Channel.SMS: (Channel.SMS, Channel.EMAIL, Channel.LETTER),
    Channel.CALL: (Channel.CALL, Channel.EMAIL, Channel.LETTER),
}


@dataclass(frozen=True, slots=True)
class ChannelChoice:
    channel: Channel | None  # None: no channel can reach the debtor
    fallback: bool  # another channel than the step's was taken
    reason: str  # why (for the timeline): "step", "preferred", "fallback", "agreed", "unreachable"


# A notice that must be in writing (Latvia's first notice to a consumer: a letter or an email, not a text
# message or a call).
NOTICE_CHANNELS = (Channel.EMAIL, Channel.LETTER)


def choose_channel(
    step: Channel,
    preferred: Channel | None,
    available: Collection[Channel],
    *,
    written_notice: bool = False,
    agreed: Collection[Channel] = (),
) -> ChannelChoice:
    """The channel for a step given what can reach the debtor.

    A written step uses the debtor's preferred written channel when that one is available; a call
    step stays a call. Otherwise the step's channel, then its fallbacks in order. ``written_notice``: the
    message must be a letter or an email (the preferred one of those if it can be used). ``agreed``: the
    channels the contract allows (empty: not recorded); no other is used, and where the step's channel and
    its fallbacks are not among them, the first agreed one that reaches the debtor.
    """
    if agreed:
        available = [c for c in available if c in agreed]
        choice = choose_channel(step, preferred, available, written_notice=written_notice)
        if choice.channel is None and not written_notice:
            for candidate in (*NOTICE_CHANNELS, Channel.SMS, Channel.CALL):
                if candidate in available:
                    return ChannelChoice(candidate, candidate != step, "agreed")
        return choice
    if written_notice:
        if step not in NOTICE_CHANNELS:
            first = preferred if preferred in NOTICE_CHANNELS else Channel.EMAIL
            options = (first, *(c for c in NOTICE_CHANNELS if c != first))
            for candidate in options:
                if candidate in available:
                    return ChannelChoice(candidate, True, "written_notice")
            return ChannelChoice(None, True, "unreachable")
        available = [c for c in available if c in NOTICE_CHANNELS]
    if step in WRITTEN and preferred in WRITTEN and preferred != step and preferred in available:
        return ChannelChoice(preferred, False, "preferred")
    for candidate in FALLBACKS[step]:
        if candidate in available:
            return ChannelChoice(candidate, candidate != step, "step" if candidate == step else "fallback")
    return ChannelChoice(None, True, "unreachable")


def contact_rule(rules: ContactRules) -> ContactRule:
    """The contact window and caps of a rule set, in the form the contact checker takes.

    Quiet hours 21:00-08:00 mean contact is allowed 08:00-21:00; no quiet hours mean any hour.
    Weekdays in the rule set are ISO numbers (1 = Monday); the checker counts Monday as 0.
    """
    start = rules.quiet_until or time(0)
    end = rules.quiet_from or time(0)
    weekdays = {d - 1 for d in rules.allowed_weekdays}
    if rules.no_sundays:
        weekdays.discard(6)
    return ContactRule(
        allowed_start=start,
        allowed_end=end if rules.quiet_from else start,
        allowed_weekdays=frozenset(weekdays),
        no_public_holidays=rules.no_public_holidays,
        holiday_country=None,
        max_contacts=rules.max_calls_per_7_days or None,
        window_days=7,
        quiet_days_after_conversation=rules.no_call_days_after_conversation,
        opt_out_line_required=rules.opt_out_line_required,
        first_notice_objection_days=rules.first_notice_objection_days,
        capped_channels=frozenset({"call"}) if rules.max_calls_per_7_days else None,
    )
