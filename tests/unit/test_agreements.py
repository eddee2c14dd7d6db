import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mahnwerk.core.agreements import (
    AgreementError,
    CostsMode,
    NoticeKind,
    OfferState,
    PlanPolicy,
    PlanState,
    PromiseState,
    PromiseTerms,
    ScheduledPayment,
    add_months,
    build_schedule,
    check_plan,
    discount_minor,
    force_step,
    instalment_notices,
    min_down_payment_minor,
    offer_state,
    plan_status,
    promise_state,
    resume_at,
    settlement_write_off,
)
from mahnwerk.core.playbook import ItemState, PlaybookSpec, default_playbook_steps, next_step

D = date.fromisoformat


# --- promises ---------------------------------------------------------------------------------------------

TERMS = PromiseTerms(promised_date=D("2026-04-10"), amount_minor=50000, grace_days=3)


def test_promise_pending_until_the_promised_date_plus_grace() -> None:
    assert TERMS.last_day == D("2026-04-13")
    assert promise_state(TERMS, 0, 50000, D("2026-04-13")) is PromiseState.PENDING
    assert promise_state(TERMS, 0, 50000, D("2026-04-14")) is PromiseState.BROKEN


def test_promise_kept_as_soon_as_the_full_amount_is_in() -> None:
    assert promise_state(TERMS, 50000, 0, D("2026-04-02")) is PromiseState.KEPT
    assert promise_state(TERMS, 50000, 20000, D("2026-05-01")) is PromiseState.KEPT  # more was open


def test_promise_partly_kept_when_some_money_came_in_time() -> None:
    assert promise_state(TERMS, 49999, 1, D("2026-04-12")) is PromiseState.PENDING
    assert promise_state(TERMS, 49999, 1, D("2026-04-14")) is PromiseState.PARTLY_KEPT


def test_promise_whose_items_are_settled_otherwise_is_kept() -> None:
    assert promise_state(TERMS, 0, 0, D("2026-04-20")) is PromiseState.KEPT


def test_promise_terms_are_checked() -> None:
    with pytest.raises(AgreementError):
        PromiseTerms(D("2026-04-10"), 0)
    with pytest.raises(AgreementError):
        PromiseTerms(D("2026-04-10"), 100, grace_days=-1)


# --- schedules ------------------------------------------------------------------------------------------


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert add_months(D("2026-01-31"), 1) == D("2026-02-28")
    assert add_months(D("2028-01-31"), 1) == D("2028-02-29")  # leap year
    assert add_months(D("2026-11-30"), 3) == D("2027-02-28")
    assert add_months(D("2026-05-15"), 12) == D("2027-05-15")


def test_schedule_with_down_payment_and_monthly_instalments() -> None:
    # 1,000.00 EUR: 100.00 down on 1 May, then 900.00 / 6 = 150.00 on the 1st of June ... November.
    plan = build_schedule(100000, 6, D("2026-05-01"), down_payment_minor=10000, interval_months=1)
    assert [(p.number, p.due_date.isoformat(), p.amount_minor) for p in plan] == [
        (0, "2026-05-01", 10000),
        (1, "2026-06-01", 15000),
        (2, "2026-07-01", 15000),
        (3, "2026-08-01", 15000),
        (4, "2026-09-01", 15000),
        (5, "2026-10-01", 15000),
        (6, "2026-11-01", 15000),
    ]


def test_odd_cents_go_to_the_first_instalments() -> None:
    # 1,000.01 EUR in three: 100001 / 3 = 33333 remainder 2, so the first two get one cent more.
    plan = build_schedule(100001, 3, D("2026-05-10"), interval_days=14)
    assert [p.amount_minor for p in plan] == [33334, 33334, 33333]
    assert [p.due_date for p in plan] == [D("2026-05-10"), D("2026-05-24"), D("2026-06-07")]
    assert [p.number for p in plan] == [1, 2, 3]


def test_schedule_on_given_dates() -> None:
    dates = [D("2026-06-15"), D("2026-07-20")]
    plan = build_schedule(50000, 2, D("2026-06-01"), down_payment_minor=5000, dates=dates)
    assert [(p.due_date, p.amount_minor) for p in plan] == [
        (D("2026-06-01"), 5000),
        (D("2026-06-15"), 22500),
        (D("2026-07-20"), 22500),
    ]


def test_costs_settled_first_or_folded_in() -> None:
    # 600.00 principal, 45.00 interest and fees, three instalments.
    first = build_schedule(60000, 3, D("2026-05-01"), interval_months=1, costs_minor=4500)
    assert [p.amount_minor for p in first] == [24500, 20000, 20000]  # 200 + 45, then 200, 200
    folded = build_schedule(
        60000, 3, D("2026-05-01"), interval_months=1, costs_minor=4500, costs_mode=CostsMode.FOLD
    )
    assert [p.amount_minor for p in folded] == [21500, 21500, 21500]  # 645 / 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"count": 0, "interval_days": 7},
        {"count": 2},  # no interval
        {"count": 2, "interval_days": 7, "interval_months": 1},
        {"count": 2, "interval_days": 7, "down_payment_minor": 1000},  # down payment = everything
        {"count": 2, "dates": [D("2026-06-01")]},
        {"count": 2, "dates": [D("2026-07-01"), D("2026-06-01")]},
        {"count": 1001, "interval_days": 1},  # an instalment of zero
    ],
)
def test_impossible_schedules_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(AgreementError):
        build_schedule(1000, first_due=D("2026-05-01"), **kwargs)  # type: ignore[arg-type]


@given(
    total=st.integers(1, 10**9),
    count=st.integers(1, 24),
    down_share=st.integers(0, 99),
    costs=st.integers(0, 10**6),
    fold=st.booleans(),
)
def test_schedules_add_up_exactly(total: int, count: int, down_share: int, costs: int, fold: bool) -> None:
    down = total * down_share // 100
    mode = CostsMode.FOLD if fold else CostsMode.FIRST
    try:
        plan = build_schedule(
            total,
            count,
            D("2026-01-31"),
            down_payment_minor=down,
            interval_months=1,
            costs_minor=costs,
            costs_mode=mode,
        )
    except AgreementError:
        assert total - down + (costs if fold else 0) < count  # only when an instalment would be zero
        return
    assert sum(p.amount_minor for p in plan) == total + costs
    instalments = [p.amount_minor for p in plan if p.number > 0]
    if fold or not costs:
        assert max(instalments) - min(instalments) <= 1
    assert all(b.due_date > a.due_date for a, b in itertools.pairwise(plan))


# --- limits ---------------------------------------------------------------------------------------------

POLICY = PlanPolicy()  # 6 instalments, 10 % down, 180 days


def test_minimum_down_payment_rounds_up() -> None:
    assert min_down_payment_minor(POLICY, 100000) == 10000
    assert min_down_payment_minor(POLICY, 100001) == 10001  # 10,000.1 cents -> 10,001


def test_plan_inside_the_limits_is_approved_at_once() -> None:
    plan = build_schedule(100000, 6, D("2026-05-01"), down_payment_minor=10000, interval_months=1)
    # last instalment 1 Nov 2026: 184 days after 1 May -> too long from 1 May, fine from 10 May
    assert check_plan(POLICY, plan, D("2026-05-10"), 100000).approved_at_once
    check = check_plan(POLICY, plan, D("2026-05-01"), 100000)
    assert not check.approved_at_once and check.violations == ("too_long",)


def test_plan_outside_the_limits_needs_approval() -> None:
    plan = build_schedule(100000, 7, D("2026-05-01"), down_payment_minor=9999, interval_days=14)
    check = check_plan(POLICY, plan, D("2026-05-01"), 100000)
    assert check.violations == ("too_many_instalments", "down_payment_too_small")
    lenient = PlanPolicy(max_instalments=12, min_down_payment_percent=0, max_duration_days=365)
    assert check_plan(lenient, plan, D("2026-05-01"), 100000).approved_at_once


# --- plan progress --------------------------------------------------------------------------------------

SCHEDULE = [
    ScheduledPayment(0, D("2026-05-01"), 10000),
    ScheduledPayment(1, D("2026-06-01"), 30000),
    ScheduledPayment(2, D("2026-07-01"), 30000),
    ScheduledPayment(3, D("2026-08-01"), 30000),
]


def test_payments_fill_the_instalments_in_order() -> None:
    status = plan_status(SCHEDULE, 25000, 5, D("2026-06-03"))
    assert [i.paid_minor for i in status.instalments] == [10000, 15000, 0, 0]
    assert status.state is PlanState.ON_TRACK and status.remaining_minor == 75000


def test_an_instalment_unpaid_beyond_grace_is_a_breach() -> None:
    assert plan_status(SCHEDULE, 40000, 5, D("2026-07-06")).state is PlanState.ON_TRACK  # 1 July + 5
    breached = plan_status(SCHEDULE, 40000, 5, D("2026-07-07"))
    assert breached.state is PlanState.BREACHED
    assert breached.missed is not None and breached.missed.number == 2
    assert breached.remaining_minor == 60000
    short = plan_status(SCHEDULE, 39999, 5, D("2026-06-07"))  # one cent short of instalment 1
    assert short.state is PlanState.BREACHED and short.missed is not None and short.missed.number == 1


def test_plan_completed_when_all_is_paid() -> None:
    done = plan_status(SCHEDULE, 100000, 5, D("2026-12-01"))
    assert done.state is PlanState.COMPLETED and done.remaining_minor == 0 and done.missed is None


def test_instalment_notices_follow_the_instalment_dates_once_each() -> None:
    sent: dict[int, set[NoticeKind]] = {}
    got = []
    for offset in range(0, 70):
        today = D("2026-05-25") + timedelta(days=offset)
        status = plan_status(SCHEDULE, 40000, 10, today)  # the down payment and instalment 1 are paid
        for row, kind in instalment_notices(status, today, days_before=3, days_after=1, sent=sent):
            sent.setdefault(row.number, set()).add(kind)
            got.append((today.isoformat(), row.number, kind.value))
    # instalment 2 (1 July): notice on 28 June, overdue on 2 July; breach after 11 July ends the notices
    assert got == [("2026-06-28", 2, "before"), ("2026-07-02", 2, "overdue")]


def test_a_missed_notice_day_is_caught_up_but_not_after_the_due_date() -> None:
    status = plan_status(SCHEDULE, 40000, 10, D("2026-06-30"))
    assert [
        (r.number, k)
        for r, k in instalment_notices(status, D("2026-06-30"), days_before=3, days_after=1, sent={})
    ] == [(2, NoticeKind.BEFORE)]
    late = plan_status(SCHEDULE, 40000, 10, D("2026-07-03"))
    assert [
        (r.number, k)
        for r, k in instalment_notices(late, D("2026-07-03"), days_before=3, days_after=1, sent={})
    ] == [(2, NoticeKind.OVERDUE)]


# --- settlements and incentives -------------------------------------------------------------------------


def test_offer_earned_only_with_the_money_in_time() -> None:
    assert offer_state(60000, 60000, D("2026-05-15"), D("2026-05-16")) is OfferState.EARNED
    assert offer_state(60000, 59999, D("2026-05-15"), D("2026-05-15")) is OfferState.PENDING
    assert offer_state(60000, 59999, D("2026-05-15"), D("2026-05-16")) is OfferState.LAPSED


def test_settlement_writes_off_exactly_what_is_left() -> None:
    assert settlement_write_off({1: 40000, 2: 0, 3: 1}) == {1: 40000, 3: 1}


def test_discount_as_percentage_or_amount() -> None:
    assert discount_minor(123450, percent=3) == 3704  # 1,234.50 * 3 % = 37.035 -> 37.04 (half up)
    assert discount_minor(100000, amount_minor=2500) == 2500
    assert discount_minor(1000, amount_minor=2500) == 1000
    with pytest.raises(AgreementError):
        discount_minor(1000, percent=2, amount_minor=10)


# --- steering the playbook ------------------------------------------------------------------------------

PLAYBOOK = PlaybookSpec(1, default_playbook_steps(), min_days_between=7)


def item(**kw: object) -> ItemState:
    base = {
        "invoice_id": 1,
        "debtor_id": 1,
        "due_date": D("2026-03-10"),
        "open_minor": 10000,
        "playbook_id": 1,
    }
    return ItemState(**(base | kw))  # type: ignore[arg-type]


def test_forced_fallback_step_is_due_the_same_day() -> None:
    # Reminder (level 2) sent on 17 March; the firm reminder would normally come on 31 March.
    today = D("2026-03-25")
    state = item(last_level=2, last_step_date=D("2026-03-17"))
    assert next_step(state, PLAYBOOK, today) is None
    assert force_step(state, PLAYBOOK, 0, today) == 3
    step = next_step(state, PLAYBOOK, today)
    assert step is not None and step.level == 3


def test_forced_step_skips_pre_due_steps_and_can_jump_ahead() -> None:
    from mahnwerk.core.playbook import decide_account

    today = D("2026-03-12")
    fresh = item()
    assert force_step(fresh, PLAYBOOK, 1, today) == 2  # the pre-due note makes no sense after the due date
    outcome = decide_account([fresh], PLAYBOOK, today)
    assert outcome.decision is not None and outcome.decision.step.level == 2
    jump = item(last_level=2, last_step_date=D("2026-03-01"))
    assert force_step(jump, PLAYBOOK, 4, today) == 4
    outcome = decide_account([jump], PLAYBOOK, today)
    assert outcome.decision is not None and outcome.decision.step.level == 4
    done = item(last_level=4, last_step_date=D("2026-03-11"))
    assert force_step(done, PLAYBOOK, 0, today) == 0


def test_resumed_playbook_waits_the_playbook_gap_after_the_breach() -> None:
    state = item(last_level=2, last_step_date=D("2026-03-17"))
    resume_at(state, 4, D("2026-06-08"))  # plan broke on 8 June; resume at the final notice
    assert state.last_level == 3
    assert next_step(state, PLAYBOOK, D("2026-06-21")) is None
    step = next_step(state, PLAYBOOK, D("2026-06-22"))  # final notice: 14 days after the previous date
    assert step is not None and step.level == 4
