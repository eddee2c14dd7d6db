"""Call tasks: the preparation a collector sees, and how the outcome steers the next run."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

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
    assert list(Task.objects.filter(kind="call").values_list("due_on", flat=True).order_by("id"))[1] == D(
        "2026-03-24"
    )


@pytest.mark.django_db
def test_a_dispute_on_the_phone_puts_the_items_on_hold(company: Any, called: tuple[Any, Task]) -> None:
    debtor, task = called
    record_call_outcome(
        task, "disputed", dispute_reason="not_satisfactory", notes="delivery damaged", as_of=D("2026-03-22")
    )
    assert debtor.invoices.get(number="RE-2").disputes.count() == 1
    assert run_collection(company, D("2026-04-20")).actions_created == 0
