"""Which channel a customer answers: what followed each message, per channel, and the channel for the next one.

Plain data in, a decision out. Each message (a "touch": an email, text message or letter that went out, a call
that was made) is followed — or not — by a response: a payment within ``window_days``, a reply, a visit to the
payment page, a call in which somebody was reached; a bounce or a returned letter is a failure of that touch.
A response belongs to the latest touch on or before its day within the window (the message that prompted it).

Per channel the touches give a Beta-Bernoulli estimate of the chance of a response: prior Beta(a, b), a payment
counts 1, an answer without payment ``engaged_weight``. The learned choice takes, among the channels the caller
allows (the step's channel and its fallbacks, after consent, the contract's agreed channels and the written-notice
rule), the one with the highest estimate — but leaves the step's channel only on evidence: the other channel
answered at least once, or the step's channel went unanswered ``explore_after`` times; and only when the
estimate is ``margin`` higher. Ties go to the cheaper channel.

A letter costs postage, so learning sends one instead of the step's channel only where the amount is worth it
(:func:`letter_worth_it`: at least :data:`LETTER_COST_MULTIPLE` times the letter's cost) and only on evidence
that the customer answers letters (a letter was answered before) — or as the last resort: every channel allowed
that costs nothing to send (email, SMS) went unanswered ``explore_after`` times. Unanswered messages try the
free channels first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from mahnwerk.core.playbook import Channel

DEFAULT_WINDOW_DAYS = 7
PRIOR_SUCCESSES = 1.0
PRIOR_FAILURES = 1.0
ENGAGED_WEIGHT = 0.5
MARGIN = 0.05
EXPLORE_AFTER = 2
# a letter taken instead of the step's channel only for at least this many times its cost (1.50 -> 30.00)
LETTER_COST_MULTIPLE = 20

# cheaper first: a tie between two channels goes to the one that costs less (a letter costs postage, a call a
# person's time)
COST_RANK = {Channel.EMAIL: 0, Channel.SMS: 1, Channel.LETTER: 2, Channel.CALL: 3}

NAMES = {Channel.EMAIL: "email", Channel.SMS: "SMS", Channel.LETTER: "letter", Channel.CALL: "call"}
PLURALS = {Channel.EMAIL: "emails", Channel.SMS: "SMS", Channel.LETTER: "letters", Channel.CALL: "calls"}
ARTICLES = {
    Channel.EMAIL: "an email",
    Channel.SMS: "an SMS",
    Channel.LETTER: "a letter",
    Channel.CALL: "a call",
}


class Response(StrEnum):
    PAID = "paid"  # a payment within the window
    REPLY = "reply"  # an answer by mail
    PORTAL = "portal"  # the payment page opened
    REACHED = "reached"  # a call in which somebody was reached
    BOUNCE = "bounce"  # the message did not arrive (bounce, letter returned)


ENGAGED = (Response.REPLY, Response.PORTAL, Response.REACHED)


@dataclass(frozen=True, slots=True)
class Touch:
    channel: Channel
    day: date


@dataclass(frozen=True, slots=True)
class Event:
    """Something that followed a message: ``channel`` is set where the event belongs to one (a bounce of an
    email, a call's outcome); otherwise it goes to the latest touch before it."""

    kind: Response
    day: date
    channel: Channel | None = None


@dataclass(slots=True)
class ChannelStats:
    touches: int = 0
    paid: int = 0
    engaged: int = 0  # answered without paying
    bounced: int = 0
    paid_days: list[int] = field(default_factory=list)  # days from the message to the payment

    @property
    def answered(self) -> int:
        return self.paid + self.engaged

    def estimate(self, a: float = PRIOR_SUCCESSES, b: float = PRIOR_FAILURES) -> float:
        """Posterior mean of the chance of a response."""
        return (a + self.paid + ENGAGED_WEIGHT * self.engaged) / (a + b + self.touches)


@dataclass(frozen=True, slots=True)
class Profile:
    channels: dict[Channel, ChannelStats]
    opted_out: frozenset[Channel] = frozenset()

    def stats(self, channel: Channel) -> ChannelStats:
        return self.channels.get(channel) or ChannelStats()

    def as_dict(self) -> dict[str, dict[str, object]]:
        return {
            c.value: {
                "touches": s.touches,
                "paid": s.paid,
                "engaged": s.engaged,
                "bounced": s.bounced,
                "estimate": round(s.estimate(), 3),
            }
            for c, s in sorted(self.channels.items(), key=lambda kv: COST_RANK[kv[0]])
        }


EMPTY = Profile({})


def build_profile(
    touches: Iterable[Touch],
    events: Iterable[Event],
    window_days: int = DEFAULT_WINDOW_DAYS,
    opted_out: Iterable[Channel] = (),
) -> Profile:
    """One debtor's response profile from its touches and what followed them.

    Each event goes to the latest touch on or before its day and at most ``window_days`` before it (for an
    event with a channel: the latest touch on that channel). A touch counts once as paid (a payment followed),
    else once as engaged (reply, page visit, call reached); a bounce counts against it.
    """
    ordered = sorted(touches, key=lambda t: (t.day, COST_RANK[t.channel]))
    outcome: dict[int, set[Response]] = defaultdict(set)
    paid_after: dict[int, int] = {}
    for e in sorted(events, key=lambda e: e.day):
        index = None
        for n in range(len(ordered) - 1, -1, -1):
            t = ordered[n]
            if t.day > e.day or (e.channel is not None and t.channel != e.channel):
                continue
            if (e.day - t.day).days <= window_days:
                index = n
            break
        if index is None:
            continue
        outcome[index].add(e.kind)
        if e.kind is Response.PAID and index not in paid_after:
            paid_after[index] = (e.day - ordered[index].day).days
    stats: dict[Channel, ChannelStats] = {}
    for n, t in enumerate(ordered):
        s = stats.setdefault(t.channel, ChannelStats())
        s.touches += 1
        kinds = outcome.get(n, set())
        if Response.PAID in kinds:
            s.paid += 1
            s.paid_days.append(paid_after[n])
        elif kinds & set(ENGAGED):
            s.engaged += 1
        elif Response.BOUNCE in kinds:
            s.bounced += 1
    return Profile(stats, frozenset(opted_out))


@dataclass(frozen=True, slots=True)
class Learned:
    channel: Channel
    changed: bool  # another channel than ``current``
    reason: str  # the evidence, in words: "paid twice within 3 days of an SMS, never after email"
    # no evidence that the customer answers ``channel``: the channels tried went unanswered, so another is tried
    tried: bool = False


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def describe(channel: Channel, stats: ChannelStats) -> str:
    """What followed the messages on one channel, in words."""
    if stats.paid:
        days = max(stats.paid_days)
        text = f"paid {_times(stats.paid)} within {days} day{'s' if days != 1 else ''} of {ARTICLES[channel]}"
        if stats.engaged:
            text += f", answered {_times(stats.engaged)} more"
        return text
    if stats.engaged:
        return f"answered {_times(stats.engaged)} after {ARTICLES[channel]} without paying"
    return f"never after {NAMES[channel]}" if stats.touches else f"no {NAMES[channel]} tried yet"


def _against(channel: Channel, stats: ChannelStats) -> str:
    if stats.touches == 0:
        return f"no {NAMES[channel]} tried yet"
    if stats.answered == 0:
        if stats.bounced:
            return f"never after {NAMES[channel]} ({stats.bounced} undelivered)"
        return f"never after {NAMES[channel]}"
    return f"{stats.answered} of {stats.touches} after {NAMES[channel]}"


def letter_worth_it(open_minor: int, letter_cost_minor: int) -> bool:
    """Whether the amount asked for justifies a letter's cost when learning would send one."""
    return open_minor >= LETTER_COST_MULTIPLE * max(letter_cost_minor, 0)


def learn_channel(
    current: Channel,
    candidates: Sequence[Channel],
    profile: Profile,
    *,
    margin: float = MARGIN,
    explore_after: int = EXPLORE_AFTER,
    letter_affordable: bool = True,
) -> Learned | None:
    """The channel the customer answers, among ``candidates`` (already allowed by consent, contract and law),
    instead of ``current`` (what the rules chose); None: no evidence to leave ``current``.

    A letter in place of ``current`` only when ``letter_affordable`` (the caller's :func:`letter_worth_it`) and
    either the customer answered a letter before or every free channel allowed went unanswered
    ``explore_after`` times (the last resort)."""
    allowed = [c for c in dict.fromkeys(candidates) if c not in profile.opted_out]
    free = [profile.stats(c) for c in allowed if c is not Channel.LETTER]
    last_resort = all(s.touches >= explore_after and s.answered == 0 for s in free)
    letter_ok = letter_affordable and (profile.stats(Channel.LETTER).answered > 0 or last_resort)
    options = [c for c in allowed if c is current or c is not Channel.LETTER or letter_ok]
    if current not in options or len(options) < 2:
        return None
    base = profile.stats(current)
    scored = sorted(options, key=lambda c: (-profile.stats(c).estimate(), COST_RANK[c]))
    best = scored[0]
    if best == current:
        return None
    chosen = profile.stats(best)
    if chosen.estimate() - base.estimate() < margin:
        return None
    if chosen.answered:
        reason = f"{describe(best, chosen)}, {_against(current, base)}"
    elif base.touches >= explore_after and base.answered == 0:
        # every channel tried that went unanswered, not only the step's: "no answer to 2 emails and 2 SMS"
        silent = [
            c
            for c in sorted(options, key=lambda c: COST_RANK[c])
            if c is not best and profile.stats(c).touches and not profile.stats(c).answered
        ]
        unanswered = " and ".join(_count(profile.stats(c).touches, c) for c in silent)
        return Learned(best, True, f"no answer to {unanswered}; trying {ARTICLES[best]}", tried=True)
    else:
        return None
    return Learned(best, True, reason)


def _count(n: int, channel: Channel) -> str:
    return f"{n} {PLURALS[channel] if n != 1 else NAMES[channel]}"
