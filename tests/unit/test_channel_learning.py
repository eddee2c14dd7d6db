"""The channel a customer answers: what followed each message, the estimate per channel, the choice."""

from __future__ import annotations

from datetime import date, timedelta

from mahnwerk.core.channel_learning import (
    EMPTY,
    ChannelStats,
    Event,
    Profile,
    Response,
    Touch,
    build_profile,
    describe,
    learn_channel,
    letter_worth_it,
)
from mahnwerk.core.playbook import Channel

D = date.fromisoformat
EMAIL, SMS, LETTER, CALL = Channel.EMAIL, Channel.SMS, Channel.LETTER, Channel.CALL


def sms_payer() -> tuple[list[Touch], list[Event]]:
    """Three emails never answered, two text messages each paid within three days."""
    touches = [
        Touch(EMAIL, D("2025-01-10")),
        Touch(EMAIL, D("2025-02-10")),
        Touch(SMS, D("2025-03-10")),
        Touch(EMAIL, D("2025-04-10")),
        Touch(SMS, D("2025-05-10")),
    ]
    events = [Event(Response.PAID, D("2025-03-12")), Event(Response.PAID, D("2025-05-13"))]
    return touches, events


def test_a_payment_belongs_to_the_latest_message_before_it_within_the_window() -> None:
    touches, events = sms_payer()
    profile = build_profile(touches, events, window_days=14)
    assert profile.stats(SMS).touches == 2 and profile.stats(SMS).paid == 2
    assert profile.stats(SMS).paid_days == [2, 3]
    assert profile.stats(EMAIL).touches == 3 and profile.stats(EMAIL).answered == 0


def test_a_payment_outside_the_window_answers_no_message() -> None:
    profile = build_profile([Touch(EMAIL, D("2025-01-01"))], [Event(Response.PAID, D("2025-01-20"))], 14)
    assert profile.stats(EMAIL).paid == 0
    profile = build_profile([Touch(EMAIL, D("2025-01-01"))], [Event(Response.PAID, D("2025-01-15"))], 14)
    assert profile.stats(EMAIL).paid == 1


def test_two_payments_after_one_message_count_it_once() -> None:
    profile = build_profile(
        [Touch(SMS, D("2025-01-01"))],
        [Event(Response.PAID, D("2025-01-02")), Event(Response.PAID, D("2025-01-05"))],
    )
    assert profile.stats(SMS).touches == 1 and profile.stats(SMS).paid == 1


def test_a_bounce_and_a_call_outcome_belong_to_their_own_channel() -> None:
    touches = [Touch(EMAIL, D("2025-01-01")), Touch(CALL, D("2025-01-02"))]
    events = [Event(Response.BOUNCE, D("2025-01-02"), EMAIL), Event(Response.REACHED, D("2025-01-02"), CALL)]
    profile = build_profile(touches, events)
    assert profile.stats(EMAIL).bounced == 1 and profile.stats(EMAIL).answered == 0
    assert profile.stats(CALL).engaged == 1


def test_a_reply_or_a_page_visit_counts_half_a_payment() -> None:
    paid, engaged = ChannelStats(touches=2, paid=1), ChannelStats(touches=2, engaged=1)
    assert paid.estimate() == (1 + 1) / (2 + 2)
    assert engaged.estimate() == (1 + 0.5) / (2 + 2)
    assert ChannelStats().estimate() == 0.5  # the prior: nothing known


def test_a_customer_who_pays_after_sms_and_never_after_email_gets_sms_with_the_reason() -> None:
    touches, events = sms_payer()
    learned = learn_channel(EMAIL, [EMAIL, LETTER, SMS], build_profile(touches, events))
    assert learned is not None and learned.channel is SMS
    assert learned.reason == "paid twice within 3 days of an SMS, never after email" and not learned.tried


def test_only_the_allowed_channels_are_chosen() -> None:
    touches, events = sms_payer()
    profile = build_profile(touches, events)
    # SMS not allowed: never SMS; the emails went unanswered, so a letter is the last resort
    only_written = learn_channel(EMAIL, [EMAIL, LETTER], profile)
    assert only_written is not None and only_written.channel is LETTER
    assert only_written.reason == "no answer to 3 emails; trying a letter" and only_written.tried
    # ... where the amount is worth a letter's postage
    assert learn_channel(EMAIL, [EMAIL, LETTER], profile, letter_affordable=False) is None
    assert learn_channel(SMS, [SMS, EMAIL], profile) is None  # already the channel it answers
    opted = build_profile(touches, events, opted_out=[SMS])
    assert learn_channel(EMAIL, [EMAIL, SMS], opted) is None


def test_no_evidence_no_change() -> None:
    assert learn_channel(EMAIL, [EMAIL, SMS, LETTER], EMPTY) is None
    one_unanswered = build_profile([Touch(EMAIL, D("2025-01-01"))], [])
    assert learn_channel(EMAIL, [EMAIL, SMS, LETTER], one_unanswered) is None
    answered = build_profile([Touch(EMAIL, D("2025-01-01"))], [Event(Response.PAID, D("2025-01-03"))])
    assert learn_channel(EMAIL, [EMAIL, SMS, LETTER], answered) is None


def test_unanswered_messages_on_one_channel_try_the_cheapest_untried_one() -> None:
    start = D("2025-01-01")
    profile = build_profile([Touch(EMAIL, start + timedelta(days=30 * n)) for n in range(2)], [])
    learned = learn_channel(EMAIL, [EMAIL, LETTER, SMS], profile)
    assert learned is not None and learned.channel is SMS  # a text message costs less than a letter
    assert learned.reason == "no answer to 2 emails; trying an SMS" and learned.tried
    assert learn_channel(LETTER, [LETTER, EMAIL], profile) is None  # the letter has not been tried yet


def test_the_evidence_in_words() -> None:
    assert describe(SMS, ChannelStats(touches=1, paid=1, paid_days=[1])) == "paid once within 1 day of an SMS"
    assert (
        describe(LETTER, ChannelStats(touches=3, engaged=3))
        == "answered 3 times after a letter without paying"
    )
    assert describe(EMAIL, ChannelStats(touches=2)) == "never after email"


def letter_reader(answered_letters: int = 2) -> Profile:
    """Two unanswered emails, then letters of the playbook's own: the first ``answered_letters`` were paid."""
    start = D("2025-01-01")
    touches = [Touch(EMAIL, start), Touch(EMAIL, start + timedelta(days=14))]
    events = []
    for n in range(2):
        day = start + timedelta(days=28 + 14 * n)
        touches.append(Touch(LETTER, day))
        if n < answered_letters:
            events.append(Event(Response.PAID, day + timedelta(days=4)))
    return build_profile(touches, events)


def test_a_letter_only_on_evidence_or_as_the_last_resort() -> None:
    start = D("2025-01-01")
    silent = build_profile([Touch(EMAIL, start), Touch(EMAIL, start + timedelta(days=14))], [])
    # two unanswered emails: the free SMS is tried first, not a letter
    tried = learn_channel(EMAIL, [EMAIL, LETTER, SMS], silent)
    assert tried is not None and tried.channel is SMS
    # one unanswered SMS more: SMS not yet given up, still no letter
    one_sms = build_profile(
        [
            *[Touch(EMAIL, start + timedelta(days=14 * n)) for n in range(2)],
            Touch(SMS, start + timedelta(days=28)),
        ],
        [],
    )
    assert learn_channel(SMS, [SMS, EMAIL, LETTER], one_sms) is None
    # two unanswered of each free channel: a letter, the last resort
    free_tried = build_profile(
        [Touch(c, start + timedelta(days=14 * n)) for n, c in enumerate([EMAIL, EMAIL, SMS, SMS])], []
    )
    last = learn_channel(EMAIL, [EMAIL, LETTER, SMS], free_tried)
    # the reason names every channel that went unanswered, not only the step's
    assert last is not None and last.channel is LETTER and last.tried
    assert last.reason == "no answer to 2 emails and 2 SMS; trying a letter"
    assert learn_channel(EMAIL, [EMAIL, LETTER, SMS], free_tried, letter_affordable=False) is None
    # both letters of the playbook's own were paid within 4 days: learning may take a letter again
    learned = learn_channel(EMAIL, [EMAIL, LETTER, SMS], letter_reader())
    assert learned is not None and learned.channel is LETTER
    assert learned.reason == "paid twice within 4 days of a letter, never after email"
    # ... but not where the amount does not justify the postage
    assert learn_channel(EMAIL, [EMAIL, LETTER, SMS], letter_reader(), letter_affordable=False) is not None
    assert learn_channel(EMAIL, [EMAIL, LETTER], letter_reader(), letter_affordable=False) is None
    # the step's own letter stays a letter whatever it costs
    assert learn_channel(LETTER, [LETTER, EMAIL], letter_reader(), letter_affordable=False) is None


def test_a_letter_is_worth_it_from_twenty_times_its_cost() -> None:
    assert letter_worth_it(3000, 150) and not letter_worth_it(2999, 150)
    assert letter_worth_it(1, 0)  # a letter that costs nothing is always worth it
