"""Leniency by segment, used everywhere: the debtor's segment decides what may be agreed — plan length and
down payment, settlement floor, the furthest payment date, the offers, the one-click extension on the
debtor's page and how long a reminder's deadline is — on every surface: the services, the clerk's case file,
the debtor's page, the API and the run (``collection.agreements.agreement_policy_for``).

The shipped segments: best payers (12 instalments over 365 days, no down payment, settlements from 50 %, a
one-click extension of 14 days), normal (6 instalments, 10 % down, settlements from 60 %), watch (4, 20 %, 70 %,
payment dates at most 60 days ahead, no discounts) and risky (3, 30 %, 80 %, payment dates at most 30 days
ahead, no discounts, reminder deadlines of 7 days).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from mahnwerk.collection import agreements
from mahnwerk.collection.models import Action, Incentive, InstalmentPlan, Promise
from mahnwerk.collection.services import run_collection
from mahnwerk.core.agreements import AgreementError
from mahnwerk.core.behaviour import DEFAULT_SEGMENT_RULES, SegmentRule
from mahnwerk.insights.models import DebtorInsight
from mahnwerk.insights.services import set_segment_rules
from mahnwerk.web.portal import links

pytestmark = pytest.mark.django_db

D = date.fromisoformat
TODAY = D("2025-06-02")
NOW = "2025-06-02 10:00 +0000"
RULES = {r.key: r for r in DEFAULT_SEGMENT_RULES}


def place(debtor: Any, key: str) -> None:
    """Put the debtor into a shipped segment, as the insights refresh would."""
    DebtorInsight.objects.update_or_create(
        debtor=debtor,
        defaults={
            "company": debtor.company,
            "as_of": TODAY,
            "segment": key,
            "segment_label": RULES[key].label,
            "reason": {
                "message": "Segment {segment}: {conditions}",
                "params": {"segment": RULES[key].label, "conditions": "rating == D"},
                "translated": ["segment"],
            },
        },
    )


def only_segment(company: Any, key: str) -> None:
    """Every debtor of the company in one segment with the shipped terms (the runs' refreshes keep it)."""
    rule = RULES[key]
    set_segment_rules(company, [SegmentRule(rule.key, rule.label, "", rule.policy)])


@pytest.fixture
def owing(company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> Any:
    company.claim_interest = company.charge_fees = False
    company.save()
    counter = iter(range(1, 100))

    def make(key: str | None, amount: str = "1200.00", due: str = "2025-05-20", **fields: Any) -> Any:
        debtor = make_debtor(**fields)
        make_invoice(debtor, f"RE-{next(counter)}", amount, due)
        if key is not None:
            place(debtor, key)
        return debtor

    return make


def _open(debtor: Any) -> list[Any]:
    return list(debtor.invoices.filter(open_minor__gt=0))


# --- the services ---------------------------------------------------------------------------------------


def test_the_terms_follow_the_segment_and_say_why(company: Any, owing: Any) -> None:
    best, risky, new = owing("best"), owing("risky"), owing(None)
    terms = agreements.agreement_policy_for(company, best)
    assert (terms.segment, terms.max_instalments, terms.min_down_payment_percent) == ("best", 12, 0)
    assert (terms.max_duration_days, terms.settlement_floor_percent, terms.extension_days) == (365, 50, 14)
    strict = agreements.agreement_policy_for(company, risky)
    assert (strict.max_instalments, strict.min_down_payment_percent, strict.settlement_floor_percent) == (
        3,
        30,
        80,
    )
    assert strict.promise_max_days == 30 and strict.deadline_days == 7 and "discount" not in strict.incentives
    assert strict.extension_days == 0
    # not rated yet: the segment its history so far gives (13 days overdue on 02.06.2025: rating B, normal)
    with time_machine.travel(NOW, tick=False):
        plain = agreements.agreement_policy_for(company, new)
    assert (plain.segment, plain.max_instalments, plain.min_down_payment_percent) == ("normal", 6, 10)
    assert plain.settlement_floor_percent == 60 and plain.reason.get("provisional")
    # the reason is the segment's own
    text = strict.explanation()
    assert "Risky" in text and "rating == D" in text and "30 %" in text and "80 %" in text
    assert "history so far" in plain.explanation()


def test_plans_good_payers_generous_risky_payers_a_down_payment(company: Any, owing: Any) -> None:
    best, normal, risky = owing("best"), owing("normal"), owing("risky")
    generous = agreements.propose_plan(company, best, _open(best), 10, as_of=TODAY)
    assert not generous.needs_approval and generous.down_payment_minor == 0
    # the same plan for a normal payer is beyond the company-wide six instalments: a person approves it
    assert agreements.propose_plan(company, normal, _open(normal), 10, as_of=TODAY).needs_approval
    # a down payment of 30 % first, then monthly instalments within 90 days
    strict = agreements.propose_plan(company, risky, _open(risky), 2, as_of=TODAY)
    assert strict.down_payment_minor == 36000  # 30 % of 1,200.00
    assert not strict.needs_approval
    assert "segment" in risky.timeline.get(kind="plan_proposed").data


def test_settlement_floor_and_offers_by_segment(company: Any, owing: Any) -> None:
    best, risky = owing("best"), owing("risky")
    deadline = TODAY + timedelta(days=14)
    with pytest.raises(AgreementError, match="80 %"):
        agreements.offer_settlement(
            company, risky, _open(risky), 90000, deadline, reason="Vergleich", as_of=TODAY
        )
    agreements.offer_settlement(
        company, risky, _open(risky), 96000, deadline, reason="Vergleich", as_of=TODAY
    )
    agreements.offer_settlement(company, best, _open(best), 60000, deadline, reason="Kulanz", as_of=TODAY)
    other = owing("risky")
    with pytest.raises(AgreementError, match="not made"):
        agreements.offer_incentive(
            company, other, _open(other), "discount", deadline, discount_percent=5, as_of=TODAY
        )
    agreements.offer_incentive(company, other, _open(other), "waive_fees", deadline, as_of=TODAY)


def test_payment_dates_shorter_for_risky_payers(company: Any, owing: Any) -> None:
    best, risky = owing("best"), owing("risky")
    with pytest.raises(AgreementError, match="30 days"):
        agreements.record_promise(company, risky, _open(risky), TODAY + timedelta(days=45), as_of=TODAY)
    agreements.record_promise(company, risky, _open(risky), TODAY + timedelta(days=30), as_of=TODAY)
    agreements.record_promise(company, best, _open(best), TODAY + timedelta(days=80), as_of=TODAY)


# --- the clerk's case file --------------------------------------------------------------------------------


@pytest.fixture
def clerk(company: Any) -> Client:
    from django.contrib.auth import get_user_model

    from mahnwerk.web.models import Membership

    user = get_user_model().objects.create_user(username="clara", password="x")
    Membership.objects.create(user=user, company=company, role="admin")
    client = Client()
    client.force_login(user)
    return client


def test_the_case_file_says_which_terms_apply_and_the_forms_keep_them(
    company: Any, owing: Any, clerk: Client
) -> None:
    risky = owing("risky")
    (invoice,) = _open(risky)
    with time_machine.travel(NOW, tick=False):
        page = clerk.get(f"/debtors/{risky.pk}/").content.decode()
        line = page.split('data-testid="segment-terms">', 1)[1].split("</p>", 1)[0]
        assert "rating == D" in line and "30" in line and "80" in line
        # a settlement below the segment's floor is refused with the reason
        response = clerk.post(
            f"/debtors/{risky.pk}/settlement",
            {
                "settlement-invoices": [invoice.pk],
                "settlement-amount": "600.00",
                "settlement-deadline": "2025-06-16",
                "settlement-reason": "Vergleich",
            },
            follow=True,
        )
        assert "80" in response.content.decode() and not risky.settlements.exists()
        # a plan the clerk proposes asks the segment's down payment
        clerk.post(
            f"/debtors/{risky.pk}/plan",
            {"plan-invoices": [invoice.pk], "plan-count": "2", "plan-first_due": "", "plan-down_payment": ""},
        )
    plan = InstalmentPlan.objects.get(debtor=risky)
    assert plan.down_payment_minor == 36000 and plan.source == "clerk"


# --- the debtor's page ------------------------------------------------------------------------------------


def test_good_payers_get_a_one_click_extension_on_their_page(client: Client, owing: Any) -> None:
    best = owing("best", due="2025-05-30")
    path = links.portal_path(best)
    with time_machine.travel(NOW, tick=False):
        page = client.get(path).content.decode()
        assert 'data-testid="portal-extension-form"' in page and "16.06.2025" in page
        response = client.post(path, {"action": "extension"})
        assert response.status_code == 302
        again = client.get(path).content.decode()
    promise = Promise.objects.get(debtor=best)
    assert promise.promised_date == TODAY + timedelta(days=14) and promise.source == "debtor"
    assert 'data-testid="portal-extension-form"' not in again  # covered now: nothing more to extend


def test_risky_payers_page_asks_a_down_payment_and_keeps_to_their_limits(client: Client, owing: Any) -> None:
    risky = owing("risky")
    path = links.portal_path(risky)
    (invoice,) = _open(risky)
    with time_machine.travel(NOW, tick=False):
        page = client.get(path).content.decode()
        assert 'data-testid="portal-extension-form"' not in page
        assert 'data-testid="portal-down-payment"' in page and "30" in page
        refused = client.post(path, {"action": "plan", "plan-invoices": [invoice.pk], "plan-count": "6"})
        assert refused.status_code == 422 and not InstalmentPlan.objects.exists()
        client.post(path, {"action": "plan", "plan-invoices": [invoice.pk], "plan-count": "2"})
        too_late = client.post(
            path,
            {"action": "promise", "promise-invoices": [invoice.pk], "promise-promised_date": "2025-07-20"},
        )
        assert too_late.status_code == 422 and "30" in too_late.content.decode()
        assert not Promise.objects.exists()
    plan = InstalmentPlan.objects.get(debtor=risky)
    assert plan.down_payment_minor == 36000 and not plan.needs_approval and plan.source == "debtor"


# --- the API ---------------------------------------------------------------------------------------------


def test_the_api_keeps_the_segments_limits(client: Client, company: Any, owing: Any) -> None:
    from django.contrib.auth import get_user_model

    from mahnwerk.api.models import ApiToken
    from mahnwerk.web.models import Membership

    user = get_user_model().objects.create_user(username="api", password="x")
    Membership.objects.create(user=user, company=company, role="admin")
    _token, key = ApiToken.issue(user, company, "test")
    risky, best = owing("risky"), owing("best")

    def promise(debtor: Any, days: int) -> Any:
        return client.post(
            f"/api/debtors/{debtor.pk}/promises",
            json.dumps({"promised_date": (TODAY + timedelta(days=days)).isoformat()}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )

    with time_machine.travel(NOW, tick=False):
        refused = promise(risky, 45)
        assert refused.status_code == 422 and "30 days" in refused.content.decode()
        assert promise(risky, 20).status_code == 201
        assert promise(best, 80).status_code == 201


# --- the run ---------------------------------------------------------------------------------------------


def test_the_run_gives_risky_payers_short_deadlines_and_no_discounts(company: Any, owing: Any) -> None:
    from mahnwerk.collection.models import Step

    only_segment(company, "risky")
    Step.objects.filter(playbook__company=company, level=2).update(
        deadline_days=14, incentive="discount", incentive_discount_percent=3, incentive_days=10
    )
    debtor = owing(None, due="2025-05-20")
    run_collection(company, D("2025-05-21"), approved=True)  # nothing due yet; the segment is found
    run_collection(company, D("2025-05-27"), approved=True)  # step 2 falls due 7 days after due
    action = Action.objects.get(debtor=debtor, level=2)
    assert action.deadline == D("2025-05-27") + timedelta(days=7)  # the step says 14
    assert not Incentive.objects.exists()


def test_the_run_gives_good_payers_the_steps_deadline_and_offer(company: Any, owing: Any) -> None:
    from mahnwerk.collection.models import Step

    only_segment(company, "best")
    Step.objects.filter(playbook__company=company, level=2).update(
        deadline_days=14, incentive="discount", incentive_discount_percent=3, incentive_days=10
    )
    debtor = owing(None, due="2025-05-20")
    run_collection(company, D("2025-05-21"), approved=True)
    run_collection(company, D("2025-05-27"), approved=True)
    action = Action.objects.get(debtor=debtor, level=2)
    assert action.deadline == D("2025-05-27") + timedelta(days=14)
    assert Incentive.objects.get(debtor=debtor).kind == "discount"


def test_a_latvian_consumers_time_to_object_wins_over_a_short_deadline(company: Any, owing: Any) -> None:
    only_segment(company, "risky")
    debtor = owing(None, language="lv", kind="consumer", country="LV", jurisdiction="LV", name="Jānis Ozols")
    run_collection(company, D("2025-05-21"), approved=True)
    run_collection(company, D("2025-05-27"), approved=True)
    action = Action.objects.filter(debtor=debtor).order_by("as_of").first()
    assert action is not None and action.deadline is not None
    assert action.deadline >= action.as_of + timedelta(days=21)
