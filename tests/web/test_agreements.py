"""Promises, instalment plans, disputes and call outcomes on the debtor page: each form calls the
agreement service, shows its refusals, needs the role "work" and never reaches another company's objects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.test import Client

from mahnwerk.collection.agreements import open_dispute
from mahnwerk.collection.agreements_models import Dispute, InstalmentPlan, Promise
from mahnwerk.collection.models import Task
from mahnwerk.ledger.models import TimelineEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


@pytest.fixture
def story(make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> dict[str, Any]:
    mueller = make_debtor(name="Bäckerei Müller", number="K0001")
    return {
        "mueller": mueller,
        "old": make_invoice(mueller, "R-100", "1000.00", "2026-10-01"),
        "new": make_invoice(mueller, "R-101", "250.00", "2026-12-01"),
    }


def _url(story: dict[str, Any], tail: str) -> str:
    return f"/debtors/{story['mueller'].pk}/{tail}"


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_debtor_page_shows_claims_and_agreement_forms(
    alice: Client, company: Any, story: dict[str, Any]
) -> None:
    from mahnwerk.ledger.models import Invoice

    company.claim_interest = True
    company.save()
    Invoice.objects.filter(pk=story["old"].pk).update(
        default_from=date(2026, 10, 2), contract_rate_percent="10.50"
    )
    response = alice.get(_url(story, ""))
    page = response.content.decode()
    assert response.status_code == 200
    for text in ('data-slot="agreements"', 'data-testid="promise-form"', 'data-testid="plan-form"'):
        assert text in page
    items = {i["number"]: i for i in response.context["overview"]["open_items"]}
    # R-100 in default from 2026-10-02 to 2026-11-20 (both days count: 30 + 20 = 50 days) at the agreed
    # contract rate of 10.50 %: 1000.00 x 10.50 % x 50/365 = 14.3836 -> 14.38
    assert (items["R-100"]["interest"], items["R-100"]["claim"]) == ("€14.38", "€1,014.38")
    assert (items["R-101"]["interest"], items["R-101"]["costs"]) == ("€0.00", "€0.00")
    # in total: 1000.00 + 250.00 + 14.38
    assert response.context["claims"]["total"] == "€1,264.38"
    assert "€1,264.38" in page


def test_record_promise_and_refusal(bob: Client, story: dict[str, Any]) -> None:
    data = {
        "promise-invoices": [story["old"].pk],
        "promise-promised_date": "2026-11-30",
        "promise-amount": "400.00",
    }
    response = bob.post(_url(story, "promise"), data, follow=True)
    assert response.status_code == 200
    promise = Promise.objects.get(debtor=story["mueller"])
    assert (promise.amount_minor, promise.promised_date, promise.source) == (
        40_000,
        date(2026, 11, 30),
        "clerk",
    )
    assert promise.actor == "user:bob"
    assert [p["promised_date"] for p in response.context["promises"]] == [date(2026, 11, 30)]
    # the same item again: the service refuses and the page says why
    response = bob.post(_url(story, "promise"), data, follow=True)
    assert Promise.objects.count() == 1
    assert any("already covered" in m for m in _messages(response))
    # a date in the past
    data["promise-invoices"] = [story["new"].pk]
    data["promise-promised_date"] = "2026-11-01"
    data["promise-amount"] = ""
    response = bob.post(_url(story, "promise"), data, follow=True)
    assert any("has passed" in m for m in _messages(response))


def test_promise_form_errors_rerender(bob: Client, story: dict[str, Any]) -> None:
    response = bob.post(_url(story, "promise"), {"promise-promised_date": "2026-11-30"})
    assert response.status_code == 422
    assert response.context["promise_form"].errors["invoices"]


def test_propose_plan_inside_limits_is_approved(
    bob: Client, story: dict[str, Any], rated: Callable[..., Any]
) -> None:
    rated(story["mueller"], "normal")  # 6 instalments, 10 % down
    data = {
        "plan-invoices": [story["old"].pk],
        "plan-count": "3",
        "plan-down_payment": "100.00",
        "plan-first_due": "2026-12-01",
    }
    response = bob.post(_url(story, "plan"), data, follow=True)
    plan = InstalmentPlan.objects.get(debtor=story["mueller"])
    assert not plan.needs_approval and plan.source == "clerk"
    # 1000.00 with 100.00 down: the 900.00 left in three instalments of 300.00 after the down payment
    amounts = [i.amount_minor for i in plan.instalments.order_by("number")]
    assert sum(amounts) == 100_000 and amounts[0] == 10_000 and amounts[1:] == [30_000] * 3
    page = response.content.decode()
    assert 'data-testid="agreement-plan"' in page
    # refused: the first payment in the past
    data["plan-invoices"] = [story["new"].pk]
    data["plan-first_due"] = "2026-11-01"
    response = bob.post(_url(story, "plan"), data, follow=True)
    assert InstalmentPlan.objects.count() == 1
    assert any("in the past" in m for m in _messages(response))


def test_dispute_open_resolve_and_refusals(bob: Client, story: dict[str, Any]) -> None:
    data = {
        "dispute-invoice": story["old"].pk,
        "dispute-reason": "wrong_invoice",
        "dispute-notes": "wrong price",
    }
    bob.post(_url(story, "dispute"), data)
    dispute = Dispute.objects.get(invoice=story["old"])
    assert (dispute.status, dispute.reason, dispute.notes) == ("open", "wrong_invoice", "wrong price")
    assert TimelineEvent.objects.filter(debtor=story["mueller"], kind="dispute_opened").exists()
    response = bob.post(_url(story, "dispute"), data, follow=True)
    assert any("already in dispute" in m for m in _messages(response))
    assert Dispute.objects.count() == 1
    resolve = {"resolve-outcome": "rejected", "resolve-resolution": "The price was agreed in the offer."}
    bob.post(_url(story, f"disputes/{dispute.pk}/resolve"), resolve)
    dispute.refresh_from_db()
    assert dispute.status == "rejected" and dispute.resume_on is not None
    response = bob.post(_url(story, f"disputes/{dispute.pk}/resolve"), resolve, follow=True)
    assert any("already resolved" in m for m in _messages(response))
    # an unknown reason is a form error
    response = bob.post(_url(story, "dispute"), {"dispute-invoice": story["new"].pk, "dispute-reason": "x"})
    assert response.status_code == 422


def test_call_outcome(bob: Client, company: Any, story: dict[str, Any]) -> None:
    task = Task.objects.create(
        company=company, debtor=story["mueller"], kind="call", due_on=date(2026, 11, 20)
    )
    page = bob.get(_url(story, "")).content.decode()
    assert 'data-testid="call-form"' in page
    url = _url(story, f"tasks/{task.pk}/outcome")
    response = bob.post(url, {"call-outcome": "promised"})
    assert response.status_code == 422  # a promise needs its date
    response = bob.post(url, {"call-outcome": "promised", "call-promised_on": "2026-11-27"}, follow=True)
    task.refresh_from_db()
    assert (task.status, task.outcome, task.promised_on) == ("done", "promised", date(2026, 11, 27))
    assert Promise.objects.get(debtor=story["mueller"]).promised_date == date(2026, 11, 27)
    response = bob.post(url, {"call-outcome": "reached"}, follow=True)
    assert any("already closed" in m for m in _messages(response))


@pytest.mark.parametrize("tail", ["promise", "plan", "dispute", "disputes/1/resolve", "tasks/1/outcome"])
def test_viewer_cannot_use_agreement_forms(carol: Client, story: dict[str, Any], tail: str) -> None:
    assert carol.post(_url(story, tail), {}).status_code == 403


def test_agreement_forms_are_company_bound(
    dave: Client,
    bob: Client,
    company: Any,
    other_company: Any,
    story: dict[str, Any],
    make_debtor: Callable[..., Any],
) -> None:
    from mahnwerk.ledger.models import Debtor, Invoice

    for tail in ("promise", "plan", "dispute"):
        assert dave.post(_url(story, tail), {}).status_code == 404
    # Baltic's own debtor, dispute and task are not found through Acme's debtor, nor Acme's through Baltic's
    ozols = Debtor.objects.create(
        company=other_company,
        number="B1",
        name="Ozols",
        language="lv",
        jurisdiction="LV",
        time_zone="Europe/Riga",
    )
    inv = Invoice.objects.create(
        company=other_company,
        debtor=ozols,
        number="LV-1",
        issue_date=date(2026, 10, 1),
        due_date=date(2026, 10, 15),
        amount_minor=10_000,
        open_minor=10_000,
        currency="EUR",
    )
    foreign = open_dispute(other_company, inv, "other", as_of=date(2026, 11, 20))
    task = Task.objects.create(company=other_company, debtor=ozols, kind="call", due_on=date(2026, 11, 20))
    resolve = {"resolve-outcome": "rejected", "resolve-resolution": "no"}
    assert bob.post(_url(story, f"disputes/{foreign.pk}/resolve"), resolve).status_code == 404
    assert bob.post(_url(story, f"tasks/{task.pk}/outcome"), {"call-outcome": "reached"}).status_code == 404
    assert bob.post(f"/debtors/{ozols.pk}/dispute", {}).status_code == 404
    # a foreign invoice named in Acme's form is not a choice
    response = bob.post(
        _url(story, "promise"), {"promise-invoices": [inv.pk], "promise-promised_date": "2026-11-30"}
    )
    assert response.status_code == 422
    foreign.refresh_from_db()
    assert foreign.status == "open"


def test_home_lists_work_waiting_for_a_person_most_valuable_first(
    alice: Client,
    company: Any,
    other_company: Any,
    story: dict[str, Any],
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
) -> None:
    from mahnwerk.collection.agreements import propose_plan
    from mahnwerk.collection.services import run_collection
    from mahnwerk.insights.models import InvoicePrediction
    from mahnwerk.ledger.models import Debtor

    mueller = story["mueller"]  # 1000.00 overdue, 250.00 not yet due
    ozols = make_debtor(name="Ozols", number="K0009", language="lv", jurisdiction="LV")
    r300 = make_invoice(ozols, "R-300", "300.00", "2026-11-01")
    r301 = make_invoice(ozols, "R-301", "200.00", "2026-11-02")  # Ozols: 500.00 overdue
    Task.objects.create(company=company, debtor=mueller, kind="review", due_on=date(2026, 11, 19))
    Task.objects.create(company=company, debtor=mueller, kind="call", due_on=date(2026, 11, 18))
    Task.objects.create(
        company=company, debtor=mueller, kind="call", due_on=date(2026, 11, 17), status="done"
    )
    Task.objects.create(company=company, debtor=mueller, kind="call", due_on=date(2026, 12, 20))  # not yet
    Task.objects.create(company=company, debtor=ozols, kind="call", due_on=date(2026, 11, 20))
    plan = propose_plan(company, ozols, [r300], 12, actor="test")  # 12 instalments: over the limit of 6
    assert plan.needs_approval and plan.total_minor >= 30_000
    open_dispute(company, story["new"], "wrong_invoice", actor="test")  # 250.00 at stake
    stranger = Debtor.objects.create(
        company=other_company, number="B1", name="Stranger", language="lv", jurisdiction="LV"
    )
    Task.objects.create(company=other_company, debtor=stranger, kind="call", due_on=date(2026, 11, 18))

    def work() -> list[tuple[str, str, int]]:
        response = alice.get("/")
        assert response.status_code == 200
        return [(w.kind, w.debtor.number, w.amount_minor) for w in response.context["work"]]

    # no predictions: the money at stake decides, ties by due date
    assert work() == [
        ("call", "K0001", 100_000),
        ("review", "K0001", 100_000),
        ("call", "K0009", 50_000),
        ("plan_approval", "K0009", plan.total_minor),
        ("dispute", "K0001", 25_000),
    ]
    # Ozols is predicted to pay (10 % chance of paying late): its 500.00 are worth 50.00 of a person's time
    for invoice in (r300, r301):
        InvoicePrediction.objects.create(
            invoice=invoice,
            company=company,
            as_of=date(2026, 11, 20),
            open_minor=invoice.open_minor,
            p_late=0.1,
            model_version="test",
        )
    assert [kind for kind, _number, _amount in work()] == [
        "call",
        "review",
        "dispute",
        "call",
        "plan_approval",
    ]
    page = alice.get("/").content.decode()
    assert "more instalments than the limit" in page and "Stranger" not in page
    assert page.index('data-testid="home-tasks"') < page.index("worklist-h")
    # a playbook in approval mode: today's run waits, and the home page says so
    from mahnwerk.collection.models import Playbook

    Playbook.objects.filter(company=company).update(approval_required=True)
    result = run_collection(company, send=False)
    assert result.awaiting_approval >= 1
    assert 'data-testid="run-awaiting-approval"' in alice.get("/").content.decode()


def test_clerk_records_that_the_debtor_accepted_the_plan(
    bob: Client, carol: Client, dave: Client, story: dict[str, Any], rated: Callable[..., Any]
) -> None:
    rated(story["mueller"], "best")  # no down payment asked
    data = {"plan-invoices": [story["old"].pk], "plan-count": "3"}
    bob.post(_url(story, "plan"), data)
    plan = InstalmentPlan.objects.get(debtor=story["mueller"])
    assert plan.status == "proposed"
    url = _url(story, f"plans/{plan.pk}/confirm")
    assert carol.post(url).status_code == 403
    assert dave.post(url).status_code == 404
    bob.post(url)
    plan.refresh_from_db()
    assert (plan.status, plan.confirmed_by) == ("active", "clerk")
    response = bob.post(url, follow=True)  # a second time: refused with the reason
    assert any("not proposed" in m for m in _messages(response))


def test_call_task_shows_the_preparation(bob: Client, company: Any, story: dict[str, Any]) -> None:
    from mahnwerk.ledger.models import Contact

    Contact.objects.create(debtor=story["mueller"], kind="phone", value="+49 30 1234567")
    Task.objects.create(company=company, debtor=story["mueller"], kind="call", due_on=date(2026, 11, 20))
    page = bob.get(_url(story, "")).content.decode()
    assert "+49 30 1234567" in page
    # a task without a reminder step behind it: the suggestion is to find a way to reach the debtor
    assert "Find a current address" in page


def test_plan_outside_the_limits_needs_an_admin(
    alice: Client, bob: Client, other_company: Any, make_member: Callable[..., Any], story: dict[str, Any]
) -> None:
    bob.post(_url(story, "plan"), {"plan-invoices": [story["old"].pk], "plan-count": "12"})
    plan = InstalmentPlan.objects.get(debtor=story["mueller"])
    assert plan.needs_approval and plan.approved_on is None
    page = bob.get(_url(story, "")).content.decode()
    assert "An admin has to approve this plan." in page and 'data-testid="approve-plan"' not in page
    url = _url(story, f"plans/{plan.pk}/approve")
    assert bob.post(url).status_code == 403
    stranger = Client()
    stranger.force_login(make_member("erik", other_company, "admin"))  # an admin, of the other company
    assert stranger.post(url).status_code == 404
    plan.refresh_from_db()
    assert plan.approved_on is None
    assert 'data-testid="approve-plan"' in alice.get(_url(story, "")).content.decode()
    response = alice.post(url, follow=True)
    plan.refresh_from_db()
    assert plan.approved_on == date(2026, 11, 20) and plan.approved_by == "user:alice"
    assert TimelineEvent.objects.filter(debtor=story["mueller"], kind="plan_approved").exists()
    assert any("approved" in m for m in _messages(response))
    # approved: the debtor's acceptance can now be recorded, and the plan runs
    bob.post(_url(story, f"plans/{plan.pk}/confirm"))
    plan.refresh_from_db()
    assert plan.status == "active"
    again = alice.post(url, follow=True)
    assert any("Not possible" in m for m in _messages(again))


def test_settlement_offer_and_cancellations(
    bob: Client, carol: Client, dave: Client, story: dict[str, Any]
) -> None:
    from mahnwerk.collection.agreements_models import Settlement

    data = {
        "settlement-invoices": [story["old"].pk],
        "settlement-amount": "800.00",
        "settlement-deadline": "2026-12-04",
        "settlement-reason": "Goodwill: long-standing customer",
    }
    assert carol.post(_url(story, "settlement"), data).status_code == 403
    response = bob.post(_url(story, "settlement"), data, follow=True)
    offer = Settlement.objects.get(debtor=story["mueller"])
    assert (offer.amount_minor, offer.open_at_offer_minor, offer.status) == (80_000, 100_000, "offered")
    page = response.content.decode()
    assert 'data-testid="settlements"' in page and "€800.00" in page
    assert 'data-testid="cancel-settlement"' in page
    # more than is open: refused by the service and said so
    too_much = data | {"settlement-invoices": [story["new"].pk], "settlement-amount": "300.00"}
    response = bob.post(_url(story, "settlement"), too_much, follow=True)
    assert any("at most what is open" in m for m in _messages(response))
    assert Settlement.objects.count() == 1
    # withdraw: a reason is needed; another company's collector cannot reach it
    url = _url(story, f"agreements/settlement/{offer.pk}/cancel")
    assert dave.post(url, {"reason": "wrong customer"}).status_code == 404
    response = bob.post(url, {"reason": ""}, follow=True)
    assert any("Give a reason" in m for m in _messages(response))
    offer.refresh_from_db()
    assert offer.status == "offered"
    bob.post(url, {"reason": "The customer asked for a plan instead"})
    offer.refresh_from_db()
    assert offer.status == "withdrawn" and offer.closed_on == date(2026, 11, 20)
    event = TimelineEvent.objects.get(debtor=story["mueller"], kind="agreement_cancelled")
    assert event.note == "The customer asked for a plan instead" and event.actor == "user:bob"
    # a promise and a plan are cancelled the same way; an unknown kind is not found
    bob.post(
        _url(story, "promise"), {"promise-invoices": [story["old"].pk], "promise-promised_date": "2026-11-30"}
    )
    promise = Promise.objects.get(debtor=story["mueller"])
    bob.post(_url(story, f"agreements/promise/{promise.pk}/cancel"), {"reason": "recorded by mistake"})
    promise.refresh_from_db()
    assert promise.status == "cancelled"
    assert (
        bob.post(_url(story, f"agreements/dispute/{promise.pk}/cancel"), {"reason": "x" * 5}).status_code
        == 404
    )
