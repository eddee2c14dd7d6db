"""The audit's rules on hand-made messages and ledgers: each rule broken, and kept."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from mahnwerk.core.audit import (
    DETAILS,
    Care,
    Contact,
    Cover,
    CoverKind,
    Invoice,
    Ledger,
    Listed,
    Money,
    Reduction,
    Rule,
    StepInfo,
    Violation,
    audit,
    count_by_rule,
)

D = date.fromisoformat
DAY = D("2026-03-20")
CARE = Care(
    cadence_days=7, min_reminder=Decimal("5.00"), tolerance=Decimal("1.00"), escalation_min=Decimal("50.00")
)
REMINDER = StepInfo(offset_days=7, tone="friendly", channel="email", template="reminder", min_days_between=7)
FINAL = StepInfo(offset_days=14, tone="formal", channel="letter", template="final_notice", min_days_between=7)
NOTE = StepInfo(offset_days=-3, tone="friendly", channel="email", template="pre_due", min_days_between=7)
CALL = StepInfo(offset_days=7, tone="firm", channel="call", template="firm_reminder", min_days_between=7)


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def invoice(pk: int, amount: int = 10_000, due: str = "2026-03-01", **kw: Any) -> Invoice:
    base: dict[str, Any] = {
        "id": pk,
        "debtor_id": 1,
        "number": f"R-{pk}",
        "currency": "EUR",
        "amount_minor": amount,
        "issue_date": D(due) - timedelta(days=14),
        "due_date": D(due),
    }
    return Invoice(**(base | kw))


def listed(inv: Invoice, open_minor: int | None = None, **kw: Any) -> Listed:
    amount = inv.amount_minor if open_minor is None else open_minor
    base: dict[str, Any] = {
        "number": inv.number,
        "currency": inv.currency,
        "open_minor": amount,
        "invoice_id": inv.id,
        "action_open_minor": amount,
    }
    return Listed(**(base | kw))


def message(*items: Listed, day: date = DAY, step: StepInfo | None = REMINDER, **kw: Any) -> Contact:
    base: dict[str, Any] = {
        "debtor_id": 1,
        "debtor": "K1",
        "business_date": day,
        "written_at": at(day),
        "checked_at": at(day, 10),
        "message_id": kw.pop("message_id", 100),
        "action_id": kw.pop("action_id", 100),
        "step": step,
        "items": tuple(items),
    }
    return Contact(**(base | kw))


def ledger(
    *invoices: Invoice, reductions: tuple[Reduction, ...] = (), covers: tuple[Cover, ...] = (), **kw: Any
) -> Ledger:
    by_invoice: dict[int, list[Reduction]] = {}
    for r in reductions:
        by_invoice.setdefault(r.invoice_id, []).append(r)
    covered: dict[int, list[Cover]] = {}
    for c in covers:
        assert c.invoice_id is not None
        covered.setdefault(c.invoice_id, []).append(c)
    return Ledger({i.id: i for i in invoices}, by_invoice, covered, **kw)


def rules(found: list[Violation]) -> list[str]:
    return [str(v.rule) for v in found]


R1 = invoice(1)


def test_a_clean_reminder_breaks_no_rule() -> None:
    assert audit([message(listed(R1))], ledger(R1), CARE) == []


# --- paid_item_named ---------------------------------------------------------------------------------------


def test_an_item_paid_before_the_message_went_out_is_a_violation() -> None:
    paid = Reduction(1, 4_000, at(DAY, 9) + timedelta(minutes=30))  # after writing, before sending
    found = audit([message(listed(R1))], ledger(R1, reductions=(paid,)), CARE)
    assert rules(found) == ["paid_item_named"]
    assert found[0].params["open"] == Money(6_000, "EUR")
    assert "R-1 listed with" in found[0].detail()


def test_a_payment_recorded_after_sending_is_no_violation() -> None:
    later = Reduction(1, 10_000, at(DAY, 11))
    assert audit([message(listed(R1))], ledger(R1, reductions=(later,)), CARE) == []


def test_a_part_payment_the_message_already_shows_is_no_violation() -> None:
    earlier = Reduction(1, 4_000, at(DAY - timedelta(days=3)))
    assert audit([message(listed(R1, 6_000))], ledger(R1, reductions=(earlier,)), CARE) == []


def test_an_item_left_within_the_small_balance_tolerance_is_a_violation() -> None:
    short = Reduction(1, 9_950, at(DAY - timedelta(days=2)))  # 50 cents left: within 1.00
    found = audit([message(listed(R1, 50))], ledger(R1, reductions=(short,)), CARE)
    assert "paid_item_named" in rules(found)


def test_a_message_still_waiting_is_judged_by_the_ledger_now() -> None:
    now = at(DAY + timedelta(days=2))
    paid = Reduction(1, 10_000, at(DAY + timedelta(days=1)))
    waiting = message(listed(R1), checked_at=now)
    assert rules(audit([waiting], ledger(R1, reductions=(paid,)), CARE)) == ["paid_item_named"]


# --- cadence -------------------------------------------------------------------------------------------------


def test_two_collection_messages_within_the_cadence_are_a_violation() -> None:
    first = message(listed(R1), day=DAY - timedelta(days=5), message_id=1, action_id=1)
    second = message(listed(R1), message_id=2, action_id=2)
    found = audit([first, second], ledger(R1), CARE)
    assert rules(found) == ["cadence"]
    assert found[0].message_id == 2 and found[0].params["days"] == 5


def test_messages_a_cadence_apart_are_no_violation() -> None:
    first = message(listed(R1), day=DAY - timedelta(days=7), message_id=1, action_id=1)
    second = message(listed(R1), message_id=2, action_id=2)
    assert audit([first, second], ledger(R1), CARE) == []


def test_a_call_counts_as_a_contact_and_two_on_one_day_are_always_too_many() -> None:
    call = message(listed(R1), step=CALL, message_id=None, task_id=7, action_id=1)
    letter = message(listed(R1), message_id=2, action_id=2)
    no_cadence = replace(CARE, cadence_days=0)
    quick = StepInfo(7, "friendly", "email", "reminder", min_days_between=0)
    found = audit([call, replace(letter, step=quick)], ledger(R1), no_cadence)
    assert rules(found) == ["cadence"]


def test_the_playbooks_minimum_gap_counts_when_larger_than_the_cadence() -> None:
    slow = replace(REMINDER, min_days_between=14)
    first = message(listed(R1), day=DAY - timedelta(days=10), message_id=1, action_id=1, step=slow)
    second = message(listed(R1), message_id=2, action_id=2, step=slow)
    assert rules(audit([first, second], ledger(R1), CARE)) == ["cadence"]


def test_a_bounced_message_is_no_contact_but_a_courtesy_message_never_counts() -> None:
    bounced = message(listed(R1), day=DAY - timedelta(days=1), message_id=1, action_id=1, reached=False)
    thanks = message(
        day=DAY - timedelta(days=2), message_id=3, action_id=None, purpose="courtesy", items=None
    )
    again = message(listed(R1), message_id=2, action_id=2)
    assert audit([bounced, thanks, again], ledger(R1), CARE) == []


def test_an_earlier_contact_outside_the_period_still_counts() -> None:
    before = message(listed(R1), day=DAY - timedelta(days=3), message_id=1, action_id=1, audited=False)
    found = audit([before, message(listed(R1), message_id=2, action_id=2)], ledger(R1), CARE)
    assert [(v.rule, v.message_id) for v in found] == [(Rule.CADENCE, 2)]


# --- below_minimum, below_step_minimum ---------------------------------------------------------------------


def test_a_reminder_below_the_minimum_is_a_violation() -> None:
    small = invoice(2, amount=450)
    assert rules(audit([message(listed(small))], ledger(small), CARE)) == ["below_minimum"]
    enough = invoice(3, amount=500)
    assert audit([message(listed(enough))], ledger(enough), CARE) == []


def test_the_minimum_counts_the_overdue_items_together() -> None:
    a, b = invoice(2, amount=300), invoice(3, amount=300)
    assert audit([message(listed(a), listed(b))], ledger(a, b), CARE) == []


def test_a_final_notice_below_the_escalation_minimum_is_a_violation() -> None:
    small = invoice(2, amount=4_000)
    found = audit([message(listed(small), step=FINAL)], ledger(small), CARE)
    assert rules(found) == ["below_step_minimum"]
    assert found[0].params["minimum"] == Money(5_000, "EUR")
    assert audit([message(listed(R1), step=FINAL)], ledger(R1), CARE) == []


def test_a_call_below_the_escalation_minimum_is_a_violation() -> None:
    small = invoice(2, amount=4_000)
    call = message(listed(small), step=CALL, message_id=None, task_id=5)
    assert rules(audit([call], ledger(small), CARE)) == ["below_step_minimum"]


def test_a_steps_own_minimum_holds_even_for_a_friendly_step() -> None:
    own = replace(REMINDER, min_amount=Decimal("200.00"))
    assert rules(audit([message(listed(R1), step=own)], ledger(R1), CARE)) == ["below_step_minimum"]
    low = replace(FINAL, min_amount=Decimal("20.00"))
    small = invoice(2, amount=4_000)
    assert audit([message(listed(small), step=low)], ledger(small), CARE) == []


# --- same_day_contradiction ---------------------------------------------------------------------------------


def test_a_reminder_on_the_day_of_a_thank_you_is_a_violation() -> None:
    thanks = message(message_id=3, action_id=None, purpose="courtesy", items=None)
    found = audit([thanks, message(listed(R1))], ledger(R1), CARE)
    assert rules(found) == ["same_day_contradiction"] and found[0].message_id == 100
    yesterday = replace(thanks, business_date=DAY - timedelta(days=1))
    assert audit([yesterday, message(listed(R1))], ledger(R1), CARE) == []


def test_an_offer_on_the_same_day_is_no_contradiction() -> None:
    offer = message(message_id=3, action_id=None, purpose="offer", items=None)
    assert audit([offer, message(listed(R1))], ledger(R1), CARE) == []


# --- covered_item_named -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [k for k in CoverKind if k is not CoverKind.DEADLINE])
def test_an_item_covered_on_the_business_date_is_a_violation(kind: CoverKind) -> None:
    cover = Cover(kind, DAY - timedelta(days=3), DAY + timedelta(days=3), invoice_id=1)
    found = audit([message(listed(R1))], ledger(R1, covers=(cover,)), CARE)
    assert rules(found) == ["covered_item_named"]


def test_a_cover_that_ended_the_day_before_is_no_violation() -> None:
    cover = Cover(CoverKind.PROMISE, DAY - timedelta(days=10), DAY - timedelta(days=1), invoice_id=1)
    assert audit([message(listed(R1))], ledger(R1, covers=(cover,)), CARE) == []


def test_a_promise_made_after_the_message_that_day_is_no_violation() -> None:
    later = Cover(CoverKind.PROMISE, DAY, DAY + timedelta(days=7), at(DAY, 15), invoice_id=1)
    earlier = replace(later, recorded_at=at(DAY, 8))
    assert audit([message(listed(R1))], ledger(R1, covers=(later,)), CARE) == []
    assert rules(audit([message(listed(R1))], ledger(R1, covers=(earlier,)), CARE)) == ["covered_item_named"]


def test_a_debtor_on_hold_covers_all_its_items() -> None:
    hold = Cover(CoverKind.HOLD, DAY - timedelta(days=1))
    found = audit([message(listed(R1))], ledger(R1, debtor_covers={1: [hold]}), CARE)
    assert rules(found) == ["covered_item_named"]


def test_a_deadline_given_to_the_debtor_does_not_forbid_naming_the_item() -> None:
    deadline = Cover(CoverKind.DEADLINE, DAY - timedelta(days=2), DAY + timedelta(days=5), invoice_id=1)
    assert audit([message(listed(R1))], ledger(R1, covers=(deadline,)), CARE) == []


# --- not_due_in_total -----------------------------------------------------------------------------------------


def test_an_item_not_yet_due_in_the_total_is_a_violation() -> None:
    coming = invoice(2, due=DAY.isoformat())
    found = audit([message(listed(R1), listed(coming))], ledger(R1, coming), CARE)
    assert rules(found) == ["not_due_in_total"]


def test_an_item_in_the_coming_due_lines_is_no_violation() -> None:
    coming = invoice(2, due=(DAY + timedelta(days=5)).isoformat())
    msg = replace(message(listed(R1)), coming=(listed(coming),))
    assert audit([msg], ledger(R1, coming), CARE) == []


def test_a_note_before_the_due_date_may_list_items_not_yet_due() -> None:
    coming = invoice(2, due=(DAY + timedelta(days=3)).isoformat())
    assert audit([message(listed(coming), step=NOTE)], ledger(coming), CARE) == []


# --- overdue_item_missing ---------------------------------------------------------------------------------


def test_an_overdue_item_left_out_is_a_violation() -> None:
    other = invoice(2, due="2026-02-20")
    found = audit([message(listed(R1))], ledger(R1, other), CARE)
    assert rules(found) == ["overdue_item_missing"] and found[0].params["number"] == "R-2"


@pytest.mark.parametrize(
    "why",
    ["paid", "tolerance", "covered", "deadline", "time_barred", "other_currency", "not_due", "entered_later"],
)
def test_an_item_held_for_a_reason_may_be_left_out(why: str) -> None:
    other = invoice(2, due="2026-02-20")
    reductions: tuple[Reduction, ...] = ()
    covers: tuple[Cover, ...] = ()
    if why == "paid":
        reductions = (Reduction(2, 10_000, at(DAY - timedelta(days=1))),)
    elif why == "tolerance":
        reductions = (Reduction(2, 9_901, at(DAY - timedelta(days=1))),)
    elif why == "covered":
        covers = (Cover(CoverKind.DISPUTE, DAY - timedelta(days=5), invoice_id=2),)
    elif why == "deadline":
        covers = (Cover(CoverKind.DEADLINE, DAY - timedelta(days=5), DAY, invoice_id=2),)
    elif why == "time_barred":
        other = replace(other, time_barred_on=DAY - timedelta(days=1))
    elif why == "other_currency":
        other = replace(other, currency="USD")
    elif why == "not_due":
        other = replace(other, due_date=DAY)
    elif why == "entered_later":
        other = replace(other, recorded_at=at(DAY, 12))
    assert audit([message(listed(R1))], ledger(R1, other, reductions=reductions, covers=covers), CARE) == []


# --- total_mismatch ---------------------------------------------------------------------------------------


def test_totals_that_match_the_records_are_no_violation() -> None:
    item = listed(
        R1, interest_minor=120, fees_minor=500, expected_interest_minor=120, expected_fees_minor=500
    )
    assert audit([message(item)], ledger(R1), CARE) == []


@pytest.mark.parametrize(
    ("change", "component"),
    [
        ({"action_open_minor": 9_000}, "principal"),
        ({"expected_interest_minor": 150}, "interest"),
        ({"expected_fees_minor": 800}, "fees"),
    ],
)
def test_a_total_that_differs_from_the_records_is_a_violation(change: dict[str, int], component: str) -> None:
    item = listed(
        R1, interest_minor=120, fees_minor=500, expected_interest_minor=120, expected_fees_minor=500
    )
    found = audit([message(replace(item, **change))], ledger(R1), CARE)
    assert rules(found) == ["total_mismatch"] and found[0].params["component"] == component


def test_the_fee_booked_for_the_message_itself_may_be_left_out() -> None:
    item = listed(R1, fees_minor=500, expected_fees_minor=1_000, fees_booked_that_day_minor=500)
    assert audit([message(item)], ledger(R1), CARE) == []


# --- time_barred_threat -----------------------------------------------------------------------------------


def test_a_final_notice_naming_a_time_barred_item_is_a_violation() -> None:
    barred = replace(R1, time_barred_on=DAY - timedelta(days=1))
    found = audit([message(listed(barred), step=FINAL)], ledger(barred), CARE)
    assert rules(found) == ["time_barred_threat"]


def test_a_friendly_reminder_or_an_item_barred_later_is_no_threat() -> None:
    barred = replace(R1, time_barred_on=DAY - timedelta(days=1))
    assert audit([message(listed(barred))], ledger(barred), CARE) == []
    later = replace(R1, time_barred_on=DAY)
    assert audit([message(listed(later), step=FINAL)], ledger(later), CARE) == []


def test_a_formal_tone_alone_makes_a_threat() -> None:
    barred = replace(R1, time_barred_on=DAY - timedelta(days=1))
    assert rules(audit([message(listed(barred), tone="formal")], ledger(barred), CARE)) == [
        "time_barred_threat"
    ]


# --- reporting -----------------------------------------------------------------------------------------------


def test_every_rule_has_a_detail_and_violations_are_counted_by_rule() -> None:
    assert set(DETAILS) == set(Rule)
    small = invoice(2, amount=300)
    found = audit(
        [message(listed(small), listed(invoice(3, due=DAY.isoformat())))],
        ledger(small, invoice(3, due=DAY.isoformat())),
        CARE,
    )
    assert count_by_rule(found) == {"below_minimum": 1, "not_due_in_total": 1}
    text = found[0].detail(lambda s: f"» {s}", lambda m: f"{m.minor / 100:.2f} {m.currency}")
    assert text.startswith("» ") and "3.00 EUR" in text and "5.00 EUR" in text


# --- flat_rate_and_costs -----------------------------------------------------------------------------------


def test_an_item_charged_both_the_flat_rate_and_reminder_costs_is_a_violation() -> None:
    both = ledger(R1, double_costs={1: DAY - timedelta(days=3)})
    found = audit([message(listed(R1))], both, CARE)
    assert rules(found) == ["flat_rate_and_costs"]
    assert "one or the other" in found[0].detail()
    # booked only after the message: the message did not claim both
    assert audit([message(listed(R1))], ledger(R1, double_costs={1: DAY + timedelta(days=1)}), CARE) == []
