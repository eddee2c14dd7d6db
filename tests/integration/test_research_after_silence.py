"""N contacts without an answer: after the "no answer" alert's calls reached nobody, the debtor gets an address
research case (the seed articles: track down debtors you cannot reach)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from mahnwerk.collection.calls import record_call_outcome
from mahnwerk.collection.models import Step, Task
from mahnwerk.partners.research import research_case

D = date.fromisoformat


def _call_until_the_attempts_end(debtor: Any) -> None:
    for _ in range(6):
        task = Task.objects.filter(debtor=debtor, kind="call", status="open").first()
        if task is None:
            return
        record_call_outcome(task, "not_reached", as_of=task.due_on)


@pytest.mark.django_db
def test_the_no_answer_alerts_last_unanswered_call_opens_an_address_research_case(
    company: Any, make_debtor: Any
) -> None:
    debtor = make_debtor(name="Schweigsam GmbH")
    Task.objects.create(
        company=company, debtor=debtor, kind="call", due_on=D("2026-03-22"), notes="No reaction"
    )
    _call_until_the_attempts_end(debtor)
    [research] = Task.objects.filter(debtor=debtor, kind="address_research")
    assert research.status == "open" and research.due_on == D("2026-03-28")
    assert "telefonisch in 3 Versuchen nicht erreicht" in research.notes  # the company's language
    event = debtor.timeline.get(kind="task_created", data__alert="address_research")
    assert event.business_date == D("2026-03-28")
    case = research_case(company, debtor)
    assert case["task"]["id"] == research.pk
    assert any("Not reached in 3 attempts" in p["text"] for p in case["problems"])
    # a second silent chain does not open a second case while the first is open
    Task.objects.create(
        company=company, debtor=debtor, kind="call", due_on=D("2026-05-02"), notes="No reaction"
    )
    _call_until_the_attempts_end(debtor)
    assert Task.objects.filter(debtor=debtor, kind="address_research").count() == 1


@pytest.mark.django_db
def test_a_steps_own_call_not_reached_opens_no_research(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    from mahnwerk.collection.services import run_collection
    from mahnwerk.ledger.models import Contact

    company.claim_interest = company.charge_fees = False
    company.save()
    Step.objects.filter(playbook__company=company, level=3).update(channel="call")
    debtor = make_debtor(name="Sanitär Braun GmbH")
    Contact.objects.create(debtor=debtor, kind="phone", value="+49 30 555", is_primary=True)
    make_invoice(debtor, "RE-2", "900.00", "2026-03-01", issue="2026-02-01")
    run_collection(company, D("2026-03-08"))
    run_collection(company, D("2026-03-22"))
    assert Task.objects.filter(debtor=debtor, kind="call").exists()
    _call_until_the_attempts_end(debtor)
    assert not Task.objects.filter(debtor=debtor, kind="address_research").exists()
