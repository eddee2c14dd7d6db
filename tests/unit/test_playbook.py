from datetime import date, timedelta

import pytest

from mahnwerk.core.playbook import (
    Anchor,
    ItemState,
    PlaybookError,
    PlaybookSpec,
    StepSpec,
    default_playbook_steps,
    evaluate,
    next_step,
)

D = date.fromisoformat
DUE = D("2026-03-10")
PLAYBOOK = PlaybookSpec(1, default_playbook_steps(), min_days_between=7)


def item(last_level: int = 0, last: date | None = None, **kw: object) -> ItemState:
    base = {"invoice_id": 1, "debtor_id": 1, "due_date": DUE, "open_minor": 10000, "playbook_id": 1}
    return ItemState(**(base | {"last_level": last_level, "last_step_date": last} | kw))  # type: ignore[arg-type]


def walk(days: range) -> list[tuple[int, int]]:
    """Walk the default playbook day by day, doing each step on the day it is due."""
    state = item()
    done = []
    for offset in days:
        today = DUE + timedelta(days=offset)
        step = next_step(state, PLAYBOOK, today)
        if step:
            done.append((offset, step.level))
            state.last_level, state.last_step_date = step.level, today
    return done


def test_default_playbook_day_by_day() -> None:
    # pre-due note at -3; reminder at +7 (deadline 10 days); firm 14 days after the reminder (+21);
    # final notice 14 days after that (+35); nothing more after the last step.
    assert walk(range(-10, 80)) == [(-3, 1), (7, 2), (21, 3), (35, 4)]


def test_pre_due_note_is_skipped_once_the_due_date_has_come() -> None:
    assert next_step(item(), PLAYBOOK, DUE) is None
    step = next_step(item(), PLAYBOOK, DUE + timedelta(days=7))
    assert step is not None and step.level == 2


def test_an_old_item_gets_the_first_reminder_first_then_waits_the_minimum_gap() -> None:
    late = DUE + timedelta(days=90)
    first = next_step(item(), PLAYBOOK, late)
    assert first is not None and first.level == 2
    assert next_step(item(2, late), PLAYBOOK, late + timedelta(days=6)) is None
    # the firm step counts 14 days from the previous one
    assert next_step(item(2, late), PLAYBOOK, late + timedelta(days=13)) is None
    second = next_step(item(2, late), PLAYBOOK, late + timedelta(days=14))
    assert second is not None and second.level == 3


def test_due_anchored_steps_still_respect_the_minimum_gap() -> None:
    steps = (StepSpec(1, 5), StepSpec(2, 6))
    spec = PlaybookSpec(9, steps, min_days_between=7)
    assert next_step(item(1, DUE + timedelta(days=5), playbook_id=9), spec, DUE + timedelta(days=6)) is None
    got = next_step(item(1, DUE + timedelta(days=5), playbook_id=9), spec, DUE + timedelta(days=12))
    assert got is not None and got.level == 2


@pytest.mark.parametrize("kw", [{"blocked": True}, {"open_minor": 0}])
def test_blocked_or_paid_items_get_nothing(kw: dict[str, object]) -> None:
    assert next_step(item(**kw), PLAYBOOK, DUE + timedelta(days=30)) is None


def test_evaluate_makes_one_decision_per_debtor_with_the_most_advanced_step() -> None:
    items = [
        item(
            invoice_id=1, debtor_id=7, due_date=D("2026-01-01"), last_level=2, last_step_date=D("2026-01-08")
        ),
        item(invoice_id=2, debtor_id=7, due_date=D("2026-01-15")),
        item(invoice_id=3, debtor_id=8, due_date=D("2026-02-20")),
    ]
    decisions = evaluate(items, {1: PLAYBOOK}, D("2026-01-22"))
    assert [d.debtor_id for d in decisions] == [7]
    (decision,) = decisions
    # the account is one conversation: the oldest item sets the step, the newer one joins it
    assert sorted((i.invoice_id, i.step.level) for i in decision.items) == [(1, 3), (2, 3)]
    assert decision.step.level == 3
    assert decision.deadline(D("2026-01-22")) == D("2026-02-01")
    assert decision.total_minor == 20000


@pytest.mark.parametrize(
    "steps",
    [
        (StepSpec(2, 1),),
        (StepSpec(1, 5), StepSpec(2, -3)),
        (StepSpec(1, -3, Anchor.PREVIOUS),),
        (StepSpec(1, 0, Anchor.PREVIOUS),),
        (StepSpec(1, 3, deadline_days=-1),),
    ],
)
def test_invalid_playbooks_are_refused(steps: tuple[StepSpec, ...]) -> None:
    with pytest.raises(PlaybookError):
        PlaybookSpec(1, steps)


def test_a_deadline_still_running_holds_the_step_and_says_so() -> None:
    from mahnwerk.core.playbook import Held, decide_account

    reminded = DUE + timedelta(days=7)
    # the firm step is due 14 days after the reminder; the reminder's deadline ended on day 20 of it
    late_deadline = item(2, reminded, deadline_passed=reminded + timedelta(days=21))
    on_schedule = reminded + timedelta(days=14)
    outcome = decide_account([late_deadline], PLAYBOOK, on_schedule)
    assert (outcome.decision, outcome.held, outcome.next_contact) == (
        None,
        Held.DEADLINE_RUNS,
        reminded + timedelta(days=21),
    )
    # before the step's own date it is just not due yet, whatever the deadline
    early = decide_account(
        [item(2, reminded, deadline_passed=reminded + timedelta(days=11))], PLAYBOOK, reminded
    )
    assert (early.held, early.next_contact) == (Held.NOT_YET, on_schedule)
    # asked for early, only the deadline holds it
    asked = decide_account([late_deadline], PLAYBOOK, reminded + timedelta(days=3), early=True)
    assert (asked.held, asked.next_contact) == (Held.DEADLINE_RUNS, reminded + timedelta(days=21))
    went = decide_account([late_deadline], PLAYBOOK, reminded + timedelta(days=21))
    assert went.decision is not None and went.decision.step.level == 3


def test_a_broken_promises_fallback_waits_for_the_earlier_deadline() -> None:
    from mahnwerk.core.playbook import Held, decide_account

    reminded = DUE + timedelta(days=7)
    # "pay by day 10" was followed by a promise to pay by day 3, broken: the fallback waits for day 11
    # (as core.agreements.force_step leaves it: the step due now, whatever the playbook's offsets)
    broken = item(2, None, deadline_passed=reminded + timedelta(days=11), forced=True)
    held = decide_account([broken], PLAYBOOK, reminded + timedelta(days=4))
    assert (held.decision, held.held) == (None, Held.DEADLINE_RUNS)
    went = decide_account([broken], PLAYBOOK, reminded + timedelta(days=11))
    assert went.decision is not None and went.decision.step.level == 3
