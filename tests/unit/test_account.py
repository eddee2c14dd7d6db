"""The account is one conversation: one step per debtor and currency, cadence, materiality, holds."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from mahnwerk.core.playbook import (
    AccountContext,
    Care,
    Channel,
    Held,
    ItemState,
    PlaybookSpec,
    StepSpec,
    Tone,
    decide_account,
    default_playbook_steps,
    evaluate,
    threshold_minor,
)

D = date.fromisoformat
PLAYBOOK = PlaybookSpec(1, default_playbook_steps(), min_days_between=7)
CARE = Care(cadence_days=7, min_reminder_minor=500, escalation_min_minor=5000)


def item(invoice_id: int, due: str, open_minor: int = 10000, **kw: object) -> ItemState:
    base = {
        "invoice_id": invoice_id,
        "debtor_id": 1,
        "due_date": D(due),
        "open_minor": open_minor,
        "playbook_id": 1,
    }
    return ItemState(**(base | kw))  # type: ignore[arg-type]


def test_items_that_fall_due_later_join_the_oldest_items_message() -> None:
    # A is 30 days overdue and had the reminder (level 2) 14 days ago; B fell due 5 days ago; C is not yet due.
    today = D("2026-05-01")
    a = item(1, "2026-04-01", 10000, last_level=2, last_step_date=today - timedelta(days=14))
    b = item(2, "2026-04-26", 2500)
    c = item(3, "2026-05-10", 7000)
    outcome = decide_account([c, b, a], PLAYBOOK, today, AccountContext(today - timedelta(days=14)), CARE)
    decision = outcome.decision
    assert decision is not None
    assert decision.step.level == 3  # A's next step: the firm reminder
    assert [(i.invoice_id, i.step.level) for i in decision.items] == [(1, 3), (2, 3)]
    assert decision.total_minor == 12500  # C is not in the total
    assert [i.invoice_id for i in decision.coming] == [3]


def test_cadence_holds_every_step_until_the_window_has_passed() -> None:
    today = D("2026-05-01")
    a = item(1, "2026-03-01", last_level=2, last_step_date=D("2026-04-01"))
    # the last contact (a message for another item, or a call) was 4 days ago
    outcome = decide_account([a], PLAYBOOK, today, AccountContext(today - timedelta(days=4)), CARE)
    assert outcome.decision is None and outcome.held is Held.CADENCE
    assert outcome.next_contact == today + timedelta(days=3)
    later = decide_account(
        [a], PLAYBOOK, today + timedelta(days=3), AccountContext(today - timedelta(days=4)), CARE
    )
    assert later.decision is not None and later.decision.step.level == 3


def test_a_longer_cadence_setting_wins_over_the_playbook_gap() -> None:
    today = D("2026-05-01")
    a = item(1, "2026-03-01", last_level=2, last_step_date=D("2026-04-01"))
    care = Care(cadence_days=14)
    held = decide_account([a], PLAYBOOK, today, AccountContext(today - timedelta(days=10)), care)
    assert held.held is Held.CADENCE and held.next_contact == today + timedelta(days=4)


def test_no_collection_message_on_the_day_of_a_thank_you() -> None:
    a = item(1, "2026-03-01")
    outcome = decide_account([a], PLAYBOOK, D("2026-05-01"), AccountContext(quiet_today=True), CARE)
    assert outcome.decision is None and outcome.held is Held.QUIET_DAY


def test_below_the_reminder_minimum_nothing_is_written() -> None:
    today = D("2026-05-01")
    small = [item(1, "2026-03-01", 300), item(2, "2026-03-05", 199)]  # 4.99 overdue
    assert decide_account(small, PLAYBOOK, today, care=CARE).held is Held.BELOW_MINIMUM
    enough = [item(1, "2026-03-01", 300), item(2, "2026-03-05", 200)]  # 5.00
    assert decide_account(enough, PLAYBOOK, today, care=CARE).decision is not None


def test_a_final_notice_needs_the_escalation_minimum() -> None:
    today = D("2026-05-01")
    # the final notice (level 4, formal) is next; 3.75 + 40.00 = 43.75 overdue, below 50.00
    a = item(1, "2026-03-01", 375, last_level=3, last_step_date=D("2026-04-01"))
    b = item(2, "2026-04-01", 4000, last_level=3, last_step_date=D("2026-04-01"))
    outcome = decide_account([a, b], PLAYBOOK, today, care=CARE)
    assert outcome.decision is None and outcome.held is Held.BELOW_STEP_MINIMUM
    c = item(3, "2026-04-10", 625)  # 50.00 together
    outcome = decide_account([a, b, c], PLAYBOOK, today, care=CARE)
    assert outcome.decision is not None and outcome.decision.step.tone is Tone.FORMAL


def test_a_step_may_name_its_own_minimum_and_calls_escalate() -> None:
    steps = (
        StepSpec(1, 7, template="reminder", min_amount=Decimal("20.00")),
        StepSpec(2, 14, channel=Channel.CALL, template="call"),
    )
    playbook = PlaybookSpec(2, steps, min_days_between=7)
    today = D("2026-05-01")
    held = decide_account([item(1, "2026-04-01", 1999, playbook_id=2)], playbook, today, care=CARE)
    assert held.held is Held.BELOW_STEP_MINIMUM
    assert decide_account([item(1, "2026-04-01", 2000, playbook_id=2)], playbook, today, care=CARE).decision
    call_due = item(1, "2026-03-01", 4999, playbook_id=2, last_level=1, last_step_date=D("2026-03-08"))
    assert decide_account([call_due], playbook, today, care=CARE).held is Held.BELOW_STEP_MINIMUM


def test_covered_items_are_never_named_and_the_next_oldest_drives() -> None:
    today = D("2026-05-01")
    disputed = item(1, "2026-03-01", blocked=True, last_level=3, last_step_date=D("2026-04-01"))
    other = item(2, "2026-04-10", 5000)
    outcome = decide_account([disputed, other], PLAYBOOK, today, care=CARE)
    assert outcome.decision is not None
    assert [i.invoice_id for i in outcome.decision.items] == [2]
    assert outcome.decision.step.level == 2  # the reminder: the next step of the item that now drives
    only_covered = decide_account([disputed], PLAYBOOK, today, care=CARE)
    assert only_covered.decision is None and only_covered.held is Held.COVERED


def test_time_barred_items_leave_the_messages() -> None:
    today = D("2026-05-01")
    barred = item(1, "2022-03-01", time_barred=True)
    assert decide_account([barred], PLAYBOOK, today, care=CARE).held is Held.TIME_BARRED
    fresh = item(2, "2026-04-20", 5000)
    outcome = decide_account([barred, fresh], PLAYBOOK, today, care=CARE)
    assert outcome.decision is not None and [i.invoice_id for i in outcome.decision.items] == [2]


def test_a_note_before_due_only_when_nothing_is_overdue() -> None:
    # the pre-due note is due 3 days before C's due date
    today = D("2026-05-07")
    c = item(3, "2026-05-10", 7000)
    outcome = decide_account([c], PLAYBOOK, today, care=CARE)
    assert outcome.decision is not None and outcome.decision.step.level == 1
    assert outcome.decision.coming == []
    a = item(1, "2026-04-01", 10000, last_level=2, last_step_date=D("2026-04-30"))  # reminded a week ago
    outcome = decide_account([a, c], PLAYBOOK, today, AccountContext(D("2026-04-30")), CARE)
    assert outcome.decision is None and outcome.held is Held.NOT_YET  # no separate note while A is overdue


def test_send_now_takes_the_next_step_early_but_keeps_the_cadence() -> None:
    today = D("2026-05-01")
    a = item(1, "2026-04-28")  # 3 days overdue: the reminder would come on 05-05
    assert decide_account([a], PLAYBOOK, today, care=CARE).held is Held.NOT_YET
    early = decide_account([a], PLAYBOOK, today, care=CARE, early=True)
    assert early.decision is not None and early.decision.step.level == 2
    recent = decide_account([a], PLAYBOOK, today, AccountContext(today - timedelta(days=2)), CARE, early=True)
    assert recent.held is Held.CADENCE


def test_one_message_per_debtor_and_the_reasons_for_the_others() -> None:
    today = D("2026-05-01")
    items = [
        item(1, "2026-04-01", debtor_id=1),
        item(2, "2026-04-02", debtor_id=1),
        item(3, "2026-04-01", 100, debtor_id=2),
        item(4, "2026-04-01", debtor_id=3),
    ]
    held: dict = {}
    decisions = evaluate(
        items, {1: PLAYBOOK}, today, {3: AccountContext(today - timedelta(days=1))}, {"EUR": CARE}, held
    )
    assert [(d.debtor_id, len(d.items)) for d in decisions] == [(1, 2)]
    assert {k: v.held for k, v in held.items()} == {2: Held.BELOW_MINIMUM, 3: Held.CADENCE}


def test_thresholds_follow_the_currency_digits() -> None:
    assert threshold_minor(Decimal("5.00"), "EUR") == 500
    assert threshold_minor(Decimal("5.00"), "JPY") == 5
    assert threshold_minor(Decimal("0.5"), "JPY") == 1  # half up
