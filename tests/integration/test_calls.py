"""Call tasks: the preparation a collector sees, and how the outcome steers the next run."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import time_machine

from mahnwerk.collection.calls import CallError, prepare_call, record_call_outcome
from mahnwerk.collection.models import Step, Task
from mahnwerk.collection.services import run_collection
from mahnwerk.ledger.models import Contact

D = date.fromisoformat


@pytest.fixture
def called(company: Any, make_debtor: Any, make_invoice: Any, pay: Any, outbox: Path) -> tuple[Any, Task]:
    company.claim_interest = company.charge_fees = False
    company.save()
    Step.objects.filter(playbook__company=company, level=3).update(channel="call")
    debtor = make_debtor(name="Sanitär Braun GmbH")
    Contact.objects.create(debtor=debtor, kind="phone", value="+49 30 555", is_primary=True)
    old = make_invoice(debtor, "RE-1", "100.00", "2026-01-10", issue="2025-12-10")
    pay(debtor, "100.00", "2026-01-25", invoice=old)  # paid 15 days late
    make_invoice(debtor, "RE-2", "900.00", "2026-03-01", issue="2026-02-01")
    run_collection(company, D("2026-03-08"))
    run_collection(company, D("2026-03-22"))
    return debtor, Task.objects.get(kind="call")


@pytest.mark.django_db
def test_preparing_the_call_shows_what_the_seeds_ask_for(called: tuple[Any, Task]) -> None:
    _debtor, task = called
    prep = prepare_call(task, D("2026-03-22"))
    assert [i["number"] for i in prep["open_items"]] == ["RE-2"]
    assert (
        prep["payment_history"]["invoices_paid"] == 1 and prep["payment_history"]["average_days_late"] == 15
    )
    assert [a["level"] for a in prep["earlier_actions"]] == [3, 2]
    assert "step 4" in prep["suggested_next_step"]
    assert len(prep["checklist"]["small"]) == 3 and len(prep["checklist"]["big"]) == 3
    assert prep["phones"] == ["+49 30 555"]


@pytest.mark.django_db
def test_preparing_the_call_shows_the_debtors_recent_visits_to_its_payment_page(
    called: tuple[Any, Task],
) -> None:
    from mahnwerk.web.portal.services import note_portal_visit

    debtor, task = called
    assert prepare_call(task, D("2026-03-22"))["payment_page"] == {"last_opened": None, "downloads": []}
    for day in ("2025-11-01", "2026-03-18", "2026-03-20"):  # the first is older than 90 days: left out
        with time_machine.travel(f"{day} 10:00 +0000", tick=False):
            note_portal_visit(debtor)
            note_portal_visit(debtor, document=f"{day}.pdf", ref=f"letter:{day}")
    with time_machine.travel("2026-03-20 11:00 +0000", tick=False):
        note_portal_visit(debtor, document="RE-2.pdf", ref="invoice:2")

    prep = prepare_call(task, D("2026-03-22"))

    assert prep["payment_page"] == {
        "last_opened": "2026-03-20",
        "downloads": ["2026-03-18.pdf", "2026-03-20.pdf", "RE-2.pdf"],
    }


@pytest.mark.django_db
def test_a_promise_on_the_phone_pauses_reminders_until_the_promised_date(
    company: Any, called: tuple[Any, Task]
) -> None:
    debtor, task = called
    record_call_outcome(
        task, "promised", promised_on=D("2026-04-10"), notes="pays on the 10th", as_of=D("2026-03-22")
    )
    assert debtor.promises.count() == 1
    assert run_collection(company, D("2026-04-05")).actions_created == 0  # step 4 would be due now
    assert debtor.timeline.filter(kind="call_outcome").count() == 1
    with pytest.raises(CallError):
        record_call_outcome(task, "reached")


@pytest.mark.django_db
def test_not_reached_schedules_another_call_at_most_three_times(called: tuple[Any, Task]) -> None:
    for _ in range(5):
        open_task = Task.objects.filter(kind="call", status="open").first()
        if open_task is None:
            break
        record_call_outcome(open_task, "not_reached", as_of=D("2026-03-22"))
    assert Task.objects.filter(kind="call").count() == 3
    # growing gaps: 2 days after the first attempt, 4 after the second
    assert list(Task.objects.filter(kind="call").values_list("due_on", flat=True).order_by("id"))[1:] == [
        D("2026-03-24"),
        D("2026-03-26"),
    ]
    debtor = called[0]
    assert [e.data["attempt"] for e in debtor.timeline.filter(kind="call_retry").order_by("id")] == [2, 3]
    assert debtor.timeline.get(kind="call_attempts_ended").data["attempts"] == 3


@pytest.mark.django_db
def test_the_no_answer_alerts_calls_stop_after_three_attempts_and_say_so(
    company: Any, make_debtor: Any
) -> None:
    from mahnwerk.ledger.timeline import describe

    debtor = make_debtor(name="Schweigsam GmbH")
    alert = Task.objects.create(
        company=company, debtor=debtor, kind="call", due_on=D("2026-03-22"), notes="No reaction to 3 contacts"
    )
    day, dues = D("2026-03-22"), []
    for _ in range(6):
        task = Task.objects.filter(debtor=debtor, kind="call", status="open").first()
        if task is None:
            break
        assert task.notes == "No reaction to 3 contacts"  # a retry keeps what the alert told the person
        day = task.due_on
        record_call_outcome(task, "not_reached", as_of=day)
        dues.append(day)
    # the alert and two retries, 2 and then 4 days later; none after the third "not reached"
    assert dues == [D("2026-03-22"), D("2026-03-24"), D("2026-03-28")]
    tasks = list(Task.objects.filter(debtor=debtor, kind="call").order_by("id"))
    assert tasks[0] == alert and len(tasks) == 3
    assert all(t.action is None for t in tasks)
    retries = list(debtor.timeline.filter(kind="call_retry").order_by("id"))
    assert [(e.data["attempt"], e.data["due_on"]) for e in retries] == [(2, "2026-03-24"), (3, "2026-03-28")]
    ended = debtor.timeline.get(kind="call_attempts_ended")
    assert ended.business_date == D("2026-03-28")
    assert describe(ended) == "Not reached in 3 attempts: no further call task, the playbook goes on"


@pytest.mark.django_db
def test_a_new_alert_after_a_reached_call_starts_its_own_attempts(company: Any, make_debtor: Any) -> None:
    debtor = make_debtor(name="Wieder Still GmbH")
    first = Task.objects.create(company=company, debtor=debtor, kind="call", due_on=D("2026-03-22"))
    record_call_outcome(first, "not_reached", as_of=D("2026-03-22"))
    retry = Task.objects.get(debtor=debtor, status="open")
    record_call_outcome(retry, "reached", as_of=D("2026-03-24"))
    later = Task.objects.create(company=company, debtor=debtor, kind="call", due_on=D("2026-05-02"))
    record_call_outcome(later, "not_reached", as_of=D("2026-05-02"))
    again = Task.objects.get(debtor=debtor, status="open")
    assert again.due_on == D("2026-05-04")  # the first retry of its own chain: 2 days
    assert debtor.timeline.filter(kind="call_retry").order_by("-id").first().data["attempt"] == 2


@pytest.mark.django_db
def test_a_dispute_on_the_phone_puts_the_items_on_hold(company: Any, called: tuple[Any, Task]) -> None:
    debtor, task = called
    record_call_outcome(
        task, "disputed", dispute_reason="not_satisfactory", notes="delivery damaged", as_of=D("2026-03-22")
    )
    assert debtor.invoices.get(number="RE-2").disputes.count() == 1
    assert run_collection(company, D("2026-04-20")).actions_created == 0


@pytest.fixture
def us_consumer(company: Any, make_debtor: Any, make_invoice: Any) -> Any:
    """A US consumer with a call step: Regulation F presumes more than 7 calls in 7 days, or a call within 7
    days after a conversation, to be harassment."""
    company.jurisdiction, company.claim_interest, company.charge_fees = "US", False, False
    company.save()
    Step.objects.filter(playbook__company=company).update(channel="call")  # every step: a call
    debtor = make_debtor(
        name="Jane Roe", kind="consumer", jurisdiction="US", time_zone="America/New_York", country="US"
    )
    Contact.objects.create(debtor=debtor, kind="phone", value="+1 212 555 0100", is_primary=True)
    make_invoice(debtor, "INV-7", "700.00", "2026-03-01")
    return debtor


def _calls_done(company: Any, debtor: Any, outcomes: list[tuple[str, str]]) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    for day, outcome in outcomes:
        done_at = datetime.fromisoformat(f"{day}T15:00").replace(tzinfo=ZoneInfo("America/New_York"))
        Task.objects.create(
            company=company,
            debtor=debtor,
            kind="call",
            status="done",
            outcome=outcome,
            due_on=D(day),
            done_at=done_at,
        )


@pytest.mark.django_db
def test_a_call_within_seven_days_after_a_conversation_waits(company: Any, us_consumer: Any) -> None:
    _calls_done(company, us_consumer, [("2026-03-04", "reached")])
    assert run_collection(company, D("2026-03-08")).tasks == 1
    task = Task.objects.get(status="open")
    # the conversation on 4 March: no call before 11 March
    assert (task.kind, task.due_on) == ("call", D("2026-03-11"))
    event = us_consumer.timeline.get(kind="message_deferred")
    assert event.data["until"] == "2026-03-11" and event.data["channel"] == "call"


@pytest.mark.django_db
def test_seven_call_attempts_in_seven_days_are_the_most(company: Any, us_consumer: Any) -> None:
    attempts = [(f"2026-03-0{d}", "not_reached") for d in (2, 3, 4, 4, 5, 6, 7)]
    _calls_done(company, us_consumer, attempts)
    assert run_collection(company, D("2026-03-08")).tasks == 1
    # seven attempts in 2-8 March: the eighth waits until the first has left the window (9 March)
    assert Task.objects.get(status="open").due_on == D("2026-03-09")


@pytest.mark.django_db
def test_six_attempts_leave_room_for_a_call_today(company: Any, us_consumer: Any) -> None:
    _calls_done(company, us_consumer, [(f"2026-03-0{d}", "not_reached") for d in (2, 3, 4, 5, 6, 7)])
    assert run_collection(company, D("2026-03-08")).tasks == 1
    assert Task.objects.get(status="open").due_on == D("2026-03-08")
    assert not us_consumer.timeline.filter(kind="message_deferred").exists()
