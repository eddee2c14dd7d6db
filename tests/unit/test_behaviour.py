"""Payment behaviour, payer rating and segments, checked against one debtor worked out by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from mahnwerk.core.behaviour import (
    DEFAULT_SEGMENT_RULES,
    BehaviourOptions,
    DisputeRecord,
    InvoiceRecord,
    MessageRecord,
    PromiseRecord,
    Rating,
    RatingThresholds,
    RuleError,
    SegmentPolicy,
    SegmentRule,
    channel_response,
    choose_segment,
    debtor_profile,
    debtor_profiles,
    evaluate_condition,
    parse_condition,
    payer_rating,
    validate_rules,
)

D = date.fromisoformat
AS_OF = D("2026-06-30")

# Debtor K1, amounts in cents:
#   I1 100.00 issued 01-01 due 01-31 paid 01-31  ->  0 days late (on time), 30 days to pay
#   I2 300.00 issued 02-01 due 03-03 paid 03-13  -> 10 days late, 40 days to pay (Feb 2026 has 28 days)
#   I3 200.00 issued 05-01 due 05-31 paid 06-20  -> 20 days late, 50 days to pay
#   I4 400.00 issued 05-15 due 06-14, 150.00 paid 06-10, 250.00 open -> overdue 16 days on 06-30
#   I5  50.00 issued 06-20 due 07-20, open, not yet due
#   I6  70.00 issued 07-05: after as_of, must be ignored
K1 = [
    InvoiceRecord("I1", "K1", D("2026-01-01"), D("2026-01-31"), 100_00, D("2026-01-31")),
    InvoiceRecord("I2", "K1", D("2026-02-01"), D("2026-03-03"), 300_00, D("2026-03-13")),
    InvoiceRecord("I3", "K1", D("2026-05-01"), D("2026-05-31"), 200_00, D("2026-06-20")),
    InvoiceRecord("I4", "K1", D("2026-05-15"), D("2026-06-14"), 400_00, None, ((D("2026-06-10"), 150_00),)),
    InvoiceRecord("I5", "K1", D("2026-06-20"), D("2026-07-20"), 50_00),
    InvoiceRecord("I6", "K1", D("2026-07-05"), D("2026-08-04"), 70_00),
]
PROMISES = [
    PromiseRecord("K1", D("2026-03-01"), D("2026-03-10"), 300_00, True),
    PromiseRecord("K1", D("2026-05-25"), D("2026-06-01"), 200_00, False),
    PromiseRecord("K1", D("2026-06-28"), D("2026-07-10"), 250_00, None),  # not yet due
]
DISPUTES = [
    DisputeRecord("K1", D("2026-04-01"), D("2026-04-15")),
    DisputeRecord("K1", D("2026-06-25")),
]
# Payments of K1 fall on 01-31, 03-13, 06-10 (partial) and 06-20.
MESSAGES = [
    MessageRecord("K1", D("2026-03-05"), "email", "reminder"),  # payment 03-13, within 14 days: answered
    MessageRecord("K1", D("2026-06-15"), "email", "reminder"),  # payment 06-20: answered
    MessageRecord("K1", D("2026-04-01"), "letter", "final"),  # next payment 06-10, window closed 04-15: not
    MessageRecord(
        "K1", D("2026-06-25"), "sms", "reminder"
    ),  # window open until 07-09, no payment yet: unknown
]
OPTIONS = BehaviourOptions(recent_days=60, response_days=14)


@pytest.fixture
def profile():
    return debtor_profile("K1", K1, AS_OF, PROMISES, DISPUTES, MESSAGES, OPTIONS)


def test_paid_invoices_and_delays(profile) -> None:
    assert profile.invoices_issued == 5  # I6 lies after as_of
    assert profile.invoices_paid == 3
    assert profile.avg_days_late == pytest.approx((0 + 10 + 20) / 3)  # 10
    # amount-weighted: (100 x 0 + 300 x 10 + 200 x 20) / (100 + 300 + 200) = 7000 / 600
    assert profile.weighted_days_late == pytest.approx(7000 / 600)
    assert profile.avg_days_to_pay == pytest.approx((30 + 40 + 50) / 3)
    assert profile.on_time_share == pytest.approx(1 / 3)


def test_trend_compares_recent_with_older(profile) -> None:
    # recent = paid after 06-30 - 60 days = 05-01: I3 (20); older: I1 (0), I2 (10) -> 5; trend 20 - 5
    assert profile.recent_avg_days_late == 20
    assert profile.older_avg_days_late == 5
    assert profile.trend_days_late == 15


def test_open_and_overdue(profile) -> None:
    assert profile.open_minor == 250_00 + 50_00
    assert profile.overdue_minor == 250_00
    assert profile.overdue_count == 1
    assert profile.oldest_overdue_days == 16  # 06-14 -> 06-30


def test_promises_disputes_and_channels(profile) -> None:
    assert (profile.promises_kept, profile.promises_broken) == (1, 1)
    assert (profile.disputes, profile.disputes_open) == (2, 1)
    assert set(profile.channel_response) == {"email", "letter"}  # the sms outcome is not known yet
    assert (
        profile.channel_response["email"].sent,
        profile.channel_response["email"].followed_by_payment,
    ) == (2, 2)
    assert profile.channel_response["letter"].share == 0
    assert profile.values()["response_email"] == 1.0


def test_sms_counts_once_its_window_closes() -> None:
    later = debtor_profile("K1", K1, D("2026-07-10"), messages=MESSAGES, options=OPTIONS)
    # 06-25 + 14 = 07-09 has passed; no payment came -> sent 1, answered 0
    assert later.channel_response["sms"].sent == 1
    assert later.channel_response["sms"].followed_by_payment == 0


def test_channel_response_counts_a_payment_on_the_last_day_of_the_window() -> None:
    msgs = [MessageRecord("X", D("2026-01-01"), "email")]
    assert channel_response(msgs, [D("2026-01-15")], D("2026-02-01"), 14)["email"].followed_by_payment == 1
    assert channel_response(msgs, [D("2026-01-16")], D("2026-02-01"), 14)["email"].followed_by_payment == 0


def test_nothing_after_as_of_changes_the_profile(profile) -> None:
    future = [
        *K1,
        InvoiceRecord("I7", "K1", D("2026-07-01"), D("2026-07-02"), 999_00, D("2026-09-01")),
    ]
    future[3] = replace(K1[3], paid_date=D("2026-07-15"))  # I4 settled after as_of
    again = debtor_profile(
        "K1",
        future,
        AS_OF,
        [*PROMISES, PromiseRecord("K1", D("2026-07-01"), D("2026-07-03"), 1, False)],
        [*DISPUTES, DisputeRecord("K1", D("2026-07-02"))],
        [*MESSAGES, MessageRecord("K1", D("2026-07-01"), "call")],
        OPTIONS,
    )
    assert again == profile


def test_rating_uses_overdue_items_at_their_age(profile) -> None:
    # (100 x 0 + 300 x 10 + 200 x 20 + 400 x 16) / (100 + 300 + 200 + 400) = 13400 / 1000 = 13.4 days
    assert profile.rating_basis_days == pytest.approx(13.4)
    assert payer_rating(profile) is Rating.B  # 5 < 13.4 <= 15
    assert payer_rating(profile, RatingThresholds(a_max=14)) is Rating.A
    assert payer_rating(profile, RatingThresholds(a_max=2, b_max=10, c_max=13)) is Rating.D
    assert payer_rating(profile, RatingThresholds(a_max=2, b_max=10, c_max=13.4)) is Rating.C


def test_no_history_no_rating() -> None:
    fresh = debtor_profile("N", [InvoiceRecord("N1", "N", D("2026-06-20"), D("2026-07-20"), 10_00)], AS_OF)
    assert fresh.rating_basis_days is None
    assert payer_rating(fresh) is None
    assert choose_segment(fresh).key == "normal"


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError):
        RatingThresholds(a_max=10, b_max=5)


def test_default_segments_with_reason(profile) -> None:
    choice = choose_segment(profile)
    # not risky: rating B, oldest overdue 16 <= 60, one broken promise < 2; watch: trend 15 > 10
    assert choice.key == "watch"
    assert choice.rating is Rating.B
    assert choice.reason.render() == "Segment Watch: trend_days_late = 15 (> 10)"
    assert choice.policy.playbook == "firm"
    assert choice.reason.render(lambda s: {"Watch": "Beobachten"}.get(s, s)).startswith("Segment Beobachten")


def test_best_and_risky_payers() -> None:
    good = [
        InvoiceRecord(f"G{i}", "G", D("2026-01-01"), D("2026-01-31"), 100_00, D("2026-01-30"))
        for i in range(5)
    ]
    best = choose_segment(debtor_profile("G", good, AS_OF))
    assert best.key == "best"
    assert best.policy.thank_you_messages is True
    bad = [InvoiceRecord("B1", "B", D("2026-01-01"), D("2026-01-31"), 100_00)]  # 150 days overdue
    risky = choose_segment(debtor_profile("B", bad, AS_OF))
    assert risky.key == "risky"
    assert "rating = D" in risky.reason.render()


def test_user_rules_in_order() -> None:
    policy = SegmentPolicy("gentle", 45, None, 12, 0, 365, True)
    rules = [
        SegmentRule(
            "vip", "VIP", "rating in (A, B) and on_time_share >= 0.3 and not disputes_open > 1", policy
        ),
        *DEFAULT_SEGMENT_RULES,
    ]
    validate_rules(rules)
    profile = debtor_profile("K1", K1, AS_OF, PROMISES, DISPUTES, MESSAGES, OPTIONS)
    choice = choose_segment(profile, rules)
    assert choice.key == "vip"
    assert choice.policy.payment_terms_days == 45
    assert "rating = B (in A, B)" in choice.reason.render()
    assert "on_time_share = 0.33 (>= 0.3)" in choice.reason.render()


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("", {}, True),
        ("true", {}, True),
        ("a > 1", {"a": 2}, True),
        ("a > 1", {"a": None}, False),  # no data: never matches a comparison
        ("a == none", {"a": None}, True),
        ("a != none", {"a": 0}, True),
        ("not a > 1", {"a": 0}, True),
        ("a > 1 or (b == 'x' and c <= -2.5)", {"a": 0, "b": "x", "c": -3}, True),
        ("a > 1 or b == x and c <= -2.5", {"a": 0, "b": "x", "c": -2}, False),
        ("rating in (A, B)", {"rating": "C"}, False),
        ("rating > 5", {"rating": "C"}, False),  # a word is never compared with a number
        ("A > 1 AND a < 3", {"A": 2, "a": 2}, True),  # keywords in any case
    ],
)
def test_condition_language(text: str, values: dict, expected: bool) -> None:
    names = frozenset({"a", "b", "c", "A", "rating"})
    assert evaluate_condition(parse_condition(text, names), values) is expected


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("rating === D", 10),
        ("unknown > 1", 1),
        ("rating ==", 10),
        ("(rating == A", 13),
        ("rating == A extra", 13),
        ("rating ~ A", 8),
    ],
)
def test_condition_errors_name_the_position(text: str, position: int) -> None:
    with pytest.raises(RuleError) as info:
        parse_condition(text)
    assert info.value.position + 1 == position


def test_rule_sets_need_a_catch_all_and_unique_keys() -> None:
    policy = DEFAULT_SEGMENT_RULES[0].policy
    with pytest.raises(ValueError, match="last segment"):
        validate_rules([SegmentRule("a", "A", "rating == A", policy)])
    with pytest.raises(ValueError, match="unique"):
        validate_rules([SegmentRule("a", "A", "", policy), SegmentRule("a", "A", "", policy)])
    validate_rules(DEFAULT_SEGMENT_RULES)


def test_policy_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        SegmentPolicy("x", 30, None, 6, 101, 180, False)
    with pytest.raises(ValueError):
        SegmentPolicy("x", -1, None, 6, 10, 180, False)


def test_profiles_for_all_debtors_in_one_pass() -> None:
    other = InvoiceRecord("O1", "K2", D("2026-06-01"), D("2026-06-10"), 10_00, D("2026-06-12"))
    profiles = debtor_profiles([*K1, other], AS_OF, PROMISES, DISPUTES, MESSAGES, OPTIONS)
    assert profiles["K1"] == debtor_profile("K1", K1, AS_OF, PROMISES, DISPUTES, MESSAGES, OPTIONS)
    assert profiles["K2"].avg_days_late == 2
    assert profiles["K2"].promises_kept == 0
