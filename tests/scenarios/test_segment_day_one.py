"""Segment terms from day one: a debtor the insights have not rated yet gets the segment its history so far
gives (``insights.services.provisional_segments``), chosen as the refresh would choose it, on every surface —
the services, the clerk's case file, the debtor's page, the API and the run — and the dry run shows the deadline
the real run writes (``collection.services.step_deadlines``).

The example by hand (shipped segment rules): one invoice of 1,200.00 due 01.03.2025, on 02.06.2025 it is 93 days
overdue: the amount-weighted delay of 93 days is above 30, rating D, and both ``rating == D`` and
``oldest_overdue_days > 60`` put the debtor in "Risky" (3 instalments, 30 % down = 360.00, payment
dates at most 30 days ahead, reminder deadlines of 7 days). An invoice due 20.05.2025 is 13 days overdue on
02.06.2025: rating B (13 days, between 5 and 15), no other condition holds, so "Normal" (6 instalments, 10 %).
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
from mahnwerk.collection.models import Action, InstalmentPlan, Step
from mahnwerk.collection.services import run_collection
from mahnwerk.insights.models import DebtorInsight
from mahnwerk.insights.services import provisional_segments, refresh_insights, segment_playbooks
from mahnwerk.web.portal import links

pytestmark = pytest.mark.django_db

D = date.fromisoformat
TODAY = D("2025-06-02")
NOW = "2025-06-02 10:00 +0000"


@pytest.fixture
def new_debtor(company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> Any:
    company.claim_interest = company.charge_fees = False
    company.save()
    counter = iter(range(1, 100))

    def make(due: str = "2025-03-01", amount: str = "1200.00", **fields: Any) -> Any:
        debtor = make_debtor(**fields)
        make_invoice(debtor, f"RE-{next(counter)}", amount, due)
        return debtor

    return make


def test_a_debtor_not_rated_yet_gets_its_segments_terms(company: Any, new_debtor: Any) -> None:
    risky, normal = new_debtor(), new_debtor(due="2025-05-20")
    with time_machine.travel(NOW, tick=False):
        strict = agreements.agreement_policy_for(company, risky)
        plain = agreements.agreement_policy_for(company, normal)
    assert (strict.segment, strict.max_instalments, strict.min_down_payment_percent) == ("risky", 3, 30)
    assert (
        strict.promise_max_days == 30 and strict.deadline_days == 7 and strict.settlement_floor_percent == 80
    )
    assert (plain.segment, plain.max_instalments, plain.min_down_payment_percent) == ("normal", 6, 10)
    assert plain.deadline_days is None and plain.settlement_floor_percent == 60
    text = strict.explanation()
    assert "Risky" in text and "rating = D" in text and "history so far" in text
    assert not DebtorInsight.objects.exists()  # chosen, not stored: the run's refresh stores it


def test_the_provisional_segment_is_the_one_the_refresh_stores(company: Any, new_debtor: Any) -> None:
    debtors = [new_debtor(), new_debtor(due="2025-05-20"), new_debtor(due="2025-05-30")]
    ids = [d.pk for d in debtors]
    chosen = provisional_segments(company, ids, TODAY)
    refresh_insights(company, TODAY)
    stored = dict(DebtorInsight.objects.values_list("debtor_id", "segment"))
    assert {pk: c.key for pk, c in chosen.items()} == stored
    assert stored[ids[0]] == "risky" and stored[ids[1]] == "normal"
    # a debtor without any invoice: no history, the catch-all
    from mahnwerk.ledger.models import Debtor

    empty = Debtor.objects.create(company=company, number="K9999", name="Neu GmbH", language="de")
    assert provisional_segments(company, [empty.pk], TODAY)[empty.pk].key == "normal"


def test_the_run_follows_the_segments_playbook_before_any_refresh(company: Any, new_debtor: Any) -> None:
    from mahnwerk.collection.models import Playbook
    from mahnwerk.ledger.models import Debtor

    strict = Playbook.objects.create(company=company, name="strict")
    debtor = new_debtor()
    Debtor.objects.create(company=company, number="K0000", name="Ohne Rechnung GmbH", language="de")
    # the run's whole-company read: debtors with invoices only (one without has nothing to remind)
    assert segment_playbooks(company, None, TODAY) == {debtor.pk: strict.pk}
    assert segment_playbooks(company, [debtor.pk], TODAY) == {debtor.pk: strict.pk}


@pytest.fixture
def clerk(company: Any) -> Client:
    from django.contrib.auth import get_user_model

    from mahnwerk.web.models import Membership

    user = get_user_model().objects.create_user(username="clara", password="x")
    Membership.objects.create(user=user, company=company, role="admin")
    client = Client()
    client.force_login(user)
    return client


def test_the_case_file_offers_the_segments_terms_from_day_one(
    company: Any, new_debtor: Any, clerk: Client
) -> None:
    risky = new_debtor()
    (invoice,) = risky.invoices.all()
    with time_machine.travel(NOW, tick=False):
        page = clerk.get(f"/debtors/{risky.pk}/").content.decode()
        line = page.split('data-testid="segment-terms">', 1)[1].split("</p>", 1)[0]
        assert "rating = D" in line and "30" in line and "80" in line
        clerk.post(
            f"/debtors/{risky.pk}/plan",
            {"plan-invoices": [invoice.pk], "plan-count": "2", "plan-first_due": "", "plan-down_payment": ""},
        )
    plan = InstalmentPlan.objects.get(debtor=risky)
    assert plan.down_payment_minor == 36000  # 30 % of 1,200.00


def test_the_debtors_page_keeps_the_segments_limits_from_day_one(client: Client, new_debtor: Any) -> None:
    risky = new_debtor()
    path = links.portal_path(risky)
    (invoice,) = risky.invoices.all()
    with time_machine.travel(NOW, tick=False):
        page = client.get(path).content.decode()
        assert 'data-testid="portal-down-payment"' in page
        refused = client.post(path, {"action": "plan", "plan-invoices": [invoice.pk], "plan-count": "6"})
        assert refused.status_code == 422 and not InstalmentPlan.objects.exists()


def test_the_api_keeps_the_segments_limits_from_day_one(
    client: Client, company: Any, new_debtor: Any
) -> None:
    from django.contrib.auth import get_user_model

    from mahnwerk.api.models import ApiToken
    from mahnwerk.web.models import Membership

    user = get_user_model().objects.create_user(username="api", password="x")
    Membership.objects.create(user=user, company=company, role="admin")
    _token, key = ApiToken.issue(user, company, "test")
    risky = new_debtor()

    def promise(days: int) -> Any:
        return client.post(
            f"/api/debtors/{risky.pk}/promises",
            json.dumps({"promised_date": (TODAY + timedelta(days=days)).isoformat()}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )

    with time_machine.travel(NOW, tick=False):
        refused = promise(45)
        assert refused.status_code == 422 and "30 days" in refused.content.decode()
        assert promise(20).status_code == 201


# --- the run and its dry run --------------------------------------------------------------------------------


def test_the_first_run_uses_the_segments_deadline_and_the_dry_run_shows_it(
    company: Any, new_debtor: Any
) -> None:
    Step.objects.filter(playbook__company=company).update(deadline_days=14)
    risky, normal = new_debtor(), new_debtor(due="2025-05-20")
    plan = {p["debtor_id"]: p for p in run_collection(company, TODAY, dry_run=True).plan}
    assert plan[risky.pk]["deadline"] == "2025-06-09"  # 7 days, not the step's 14
    assert plan[normal.pk]["deadline"] == "2025-06-16"  # the step's 14 days
    run_collection(company, TODAY, approved=True, send=False)
    written = {a.debtor_id: a.deadline for a in Action.objects.filter(as_of=TODAY)}
    assert written == {risky.pk: D("2025-06-09"), normal.pk: D("2025-06-16")}
    # the run's refresh stores the segment it used: no change to report
    assert DebtorInsight.objects.get(debtor=risky).segment == "risky"
    assert not risky.timeline.filter(kind="segment_changed").exists()


def test_the_dry_run_shows_a_latvian_consumers_time_to_object(company: Any, new_debtor: Any) -> None:
    Step.objects.filter(playbook__company=company).update(deadline_days=7)
    debtor = new_debtor(
        due="2025-05-20", language="lv", kind="consumer", country="LV", jurisdiction="LV", name="Jānis Ozols"
    )
    as_of = D("2025-05-27")
    (planned,) = run_collection(company, as_of, dry_run=True).plan
    run_collection(company, as_of, approved=True, send=False)
    action = Action.objects.get(debtor=debtor)
    assert action.deadline is not None and action.deadline >= as_of + timedelta(days=21)
    assert planned["deadline"] == action.deadline.isoformat()
