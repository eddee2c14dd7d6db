from datetime import UTC, datetime, time

import pytest

from mahnwerk.core.channels import choose_channel, contact_rule
from mahnwerk.core.contact_rules import check_contact
from mahnwerk.core.playbook import Channel
from mahnwerk.core.rulesets import packaged_rulebook

E, L, S, C = Channel.EMAIL, Channel.LETTER, Channel.SMS, Channel.CALL


@pytest.mark.parametrize(
    ("step", "preferred", "available", "expected", "reason"),
    [
        (E, E, {E, L}, E, "step"),
        (E, None, {L}, L, "fallback"),  # no email address -> letter
        (E, L, {E, L}, L, "preferred"),  # the debtor prefers letters
        (E, S, {E}, E, "step"),  # preferred channel not available
        (L, None, {E}, E, "fallback"),  # no usable postal address
        (S, None, {L}, L, "fallback"),
        (C, E, {C, E}, C, "step"),  # a call stays a call
        (C, None, {E}, E, "fallback"),  # no phone number: write instead
        (E, None, set(), None, "unreachable"),
    ],
)
def test_choose_channel(
    step: Channel, preferred: Channel | None, available: set[Channel], expected: Channel | None, reason: str
) -> None:
    choice = choose_channel(step, preferred, available)
    assert choice.channel == expected and choice.reason == reason


def test_latvian_consumer_rules_become_a_contact_window() -> None:
    rules = packaged_rulebook().get("LV", "consumer", datetime(2025, 1, 1).date()).contact
    rule = contact_rule(rules)
    assert (rule.allowed_start, rule.allowed_end) == (time(8), time(21))
    assert 6 not in rule.allowed_weekdays and rule.no_public_holidays
    # Saturday 2025-03-08 at 21:30 in Riga (19:30 UTC): deferred to Monday 08:00 (Sunday is excluded)
    decision = check_contact(
        rule,
        channel="email",
        at=datetime(2025, 3, 8, 19, 30, tzinfo=UTC),
        time_zone="Europe/Riga",
        country="LV",
    )
    assert not decision.allowed
    assert decision.earliest == datetime(2025, 3, 10, 6, 0, tzinfo=UTC)


def test_german_rules_allow_any_hour() -> None:
    rule = contact_rule(packaged_rulebook().get("DE", "business", datetime(2025, 1, 1).date()).contact)
    decision = check_contact(
        rule,
        channel="email",
        at=datetime(2025, 3, 9, 2, 0, tzinfo=UTC),
        time_zone="Europe/Berlin",
        country="DE",
    )
    assert decision.allowed


def test_a_written_notice_is_a_letter_or_an_email() -> None:
    everything = {Channel.EMAIL, Channel.LETTER, Channel.SMS, Channel.CALL}
    assert (
        choose_channel(Channel.EMAIL, Channel.SMS, everything, written_notice=True).channel is Channel.EMAIL
    )
    assert choose_channel(Channel.SMS, None, everything, written_notice=True).channel is Channel.EMAIL
    assert (
        choose_channel(Channel.CALL, Channel.LETTER, everything, written_notice=True).channel
        is Channel.LETTER
    )
    assert (
        choose_channel(Channel.SMS, None, {Channel.SMS, Channel.LETTER}, written_notice=True).channel
        is Channel.LETTER
    )
    nobody = choose_channel(Channel.EMAIL, None, {Channel.SMS, Channel.CALL}, written_notice=True)
    assert nobody.channel is None  # only a text message or a call: the notice cannot be given
    assert (
        choose_channel(Channel.EMAIL, Channel.SMS, everything).channel is Channel.SMS
    )  # otherwise the preference wins


def test_only_the_channels_the_contract_allows_are_used() -> None:
    everything = {Channel.EMAIL, Channel.LETTER, Channel.SMS, Channel.CALL}
    # an email step for a debtor who agreed to letters only: a letter, though email would reach them
    choice = choose_channel(Channel.EMAIL, None, everything, agreed=[Channel.LETTER])
    assert (choice.channel, choice.fallback) == (Channel.LETTER, True)
    # a call step (falling back to email or a letter) for a debtor who agreed to SMS only: the agreed one
    choice = choose_channel(Channel.CALL, None, everything, agreed=[Channel.SMS])
    assert (choice.channel, choice.reason) == (Channel.SMS, "agreed")
    # a preferred channel outside the agreement is not taken
    assert choose_channel(Channel.LETTER, Channel.EMAIL, everything, agreed=[Channel.LETTER]).channel is (
        Channel.LETTER
    )
    # agreed channels that cannot reach the debtor: nobody is reached (a person looks for a way)
    assert choose_channel(Channel.EMAIL, None, {Channel.EMAIL}, agreed=[Channel.LETTER]).channel is None
    # a written first notice and an agreement to SMS only: no channel may carry it
    assert (
        choose_channel(Channel.SMS, None, everything, written_notice=True, agreed=[Channel.SMS]).channel
        is None
    )
    # nothing recorded: every channel that reaches the debtor
    assert choose_channel(Channel.SMS, None, everything).channel is Channel.SMS
