"""The terms a segment leaves to its down payment tier (``collection.agreements.SEGMENT_TIERS``) — settlement
floor, one-click extension, furthest payment date, offers, longest reminder deadline — can be stated on the
segment rule itself and changed (``insights.services.change_segment_terms``, ``mahnwerk insights segment``);
every surface then uses them.

By hand: the shipped "normal" segment (10 % down payment) has the tier of 10-19 %: settlements from 60 %, no
extension, the company's furthest payment date (90 days by default), every offer, the step's deadline.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from mahnwerk.collection import agreements
from mahnwerk.collection.models import Action, Step
from mahnwerk.collection.services import run_collection
from mahnwerk.core.agreements import AgreementError
from mahnwerk.core.behaviour import DEFAULT_SEGMENT_RULES
from mahnwerk.insights.models import DebtorInsight, SegmentRuleRow
from mahnwerk.insights.services import SegmentError, change_segment_terms, segment_rules

pytestmark = pytest.mark.django_db

D = date.fromisoformat
TODAY = D("2025-06-02")
NOW = "2025-06-02 10:00 +0000"


@pytest.fixture
def normal(company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> Any:
    company.claim_interest = company.charge_fees = False
    company.save()
    debtor = make_debtor()
    make_invoice(debtor, "RE-1", "1200.00", "2025-05-20")
    DebtorInsight.objects.create(
        debtor=debtor, company=company, as_of=TODAY, segment="normal", segment_label="Normal"
    )
    return debtor


def test_the_tier_decides_what_the_rule_leaves_empty(company: Any, normal: Any) -> None:
    terms = agreements.agreement_policy_for(company, normal)
    policy = agreements.policy_for(company)
    assert (terms.settlement_floor_percent, terms.extension_days, terms.deadline_days) == (60, 0, None)
    assert terms.promise_max_days == policy.promise_max_days
    assert terms.incentives == agreements.ALL_INCENTIVES


def test_a_segments_own_terms_apply_everywhere(company: Any, normal: Any) -> None:
    change_segment_terms(
        company,
        "normal",
        settlement_floor_percent=75,
        extension_days=7,
        promise_max_days=45,
        offers=("waive_fees",),
        deadline_days=10,
    )
    # the company has rules of its own now: the shipped ones, this one changed
    assert SegmentRuleRow.objects.filter(company=company).count() == len(DEFAULT_SEGMENT_RULES)
    rules = {r.key: r for r in segment_rules(company)}
    assert rules["risky"] == next(r for r in DEFAULT_SEGMENT_RULES if r.key == "risky")
    terms = agreements.agreement_policy_for(company, normal)
    assert (terms.settlement_floor_percent, terms.extension_days, terms.promise_max_days) == (75, 7, 45)
    assert terms.incentives == {"waive_fees"} and terms.deadline_days == 10
    assert "settlements from 75 %" in terms.explanation() and "no discounts" in terms.explanation()
    (invoice,) = normal.invoices.all()
    deadline = TODAY + timedelta(days=14)
    with pytest.raises(AgreementError, match="75 %"):
        agreements.offer_settlement(company, normal, [invoice], 80000, deadline, reason="Kulanz", as_of=TODAY)
    with pytest.raises(AgreementError, match="45 days"):
        agreements.record_promise(company, normal, [invoice], TODAY + timedelta(days=50), as_of=TODAY)
    with pytest.raises(AgreementError, match="not made"):
        agreements.offer_incentive(
            company, normal, [invoice], "discount", deadline, discount_percent=3, as_of=TODAY
        )
    # left to the tier again
    change_segment_terms(company, "normal", settlement_floor_percent=None, offers=None)
    again = agreements.agreement_policy_for(company, normal)
    assert again.settlement_floor_percent == 60 and again.incentives == agreements.ALL_INCENTIVES
    assert again.extension_days == 7  # the others stay


def test_the_run_keeps_a_segments_own_deadline(company: Any, normal: Any) -> None:
    Step.objects.filter(playbook__company=company).update(deadline_days=14)
    change_segment_terms(company, "normal", deadline_days=10)
    as_of = D("2025-05-27")
    (planned,) = run_collection(company, as_of, dry_run=True).plan
    run_collection(company, as_of, approved=True, send=False)
    action = Action.objects.get(debtor=normal)
    assert action.deadline == as_of + timedelta(days=10)  # the step says 14
    assert planned["deadline"] == action.deadline.isoformat()


def test_changes_that_cannot_be_made_are_refused(company: Any) -> None:
    with pytest.raises(SegmentError, match="7 days"):
        change_segment_terms(company, "risky", deadline_days=5)
    with pytest.raises(SegmentError, match="gift"):
        change_segment_terms(company, "risky", offers=("gift",))
    with pytest.raises(SegmentError, match="No segment vip"):
        change_segment_terms(company, "vip", extension_days=3)
    with pytest.raises(SegmentError, match=r"Settlement floor \(%\): a whole number from 0 to 100"):
        change_segment_terms(company, "risky", settlement_floor_percent=120)
    with pytest.raises(SegmentError, match="cannot be left empty"):
        change_segment_terms(company, "risky", max_instalments=None)
    assert not SegmentRuleRow.objects.exists()  # nothing written


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({"max_instalments": -1}, "Maximum instalments: a whole number from 0 to 120"),
        ({"max_instalments": 10**9}, "Maximum instalments: a whole number from 0 to 120"),
        ({"max_plan_days": 70_000}, "Maximum plan duration \\(days\\): a whole number from 0 to 3650"),
        ({"extension_days": 10**5}, "One-click extension \\(days\\): a whole number from 0 to 365"),
        ({"deadline_days": 10**9}, "Longest reminder deadline \\(days\\): a whole number from 7 to 365"),
        ({"max_instalments": "3"}, "Maximum instalments: a whole number"),
        ({"thank_you_messages": None}, "cannot be left empty"),
        ({"playbook": "x" * 5000}, "No playbook “x{100}…”; the playbooks are “Standard”"),
        ({"playbook": ""}, "No playbook “”"),
        ({"playbook": "gentle"}, "No playbook “gentle”"),
    ],
)
def test_values_no_column_or_run_could_use_are_refused(
    company: Any, changes: dict[str, Any], refusal: str
) -> None:
    # a smallint column would overflow on PostgreSQL; a playbook the company does not have would leave the
    # segment on the default playbook while its terms named another
    with pytest.raises(SegmentError, match=refusal):
        change_segment_terms(company, "best", **changes)
    assert not SegmentRuleRow.objects.exists()


def test_a_segments_playbook_is_one_of_the_companys_by_its_own_name(company: Any) -> None:
    from mahnwerk.collection.models import Playbook

    Playbook.objects.create(company=company, name="Gentle")
    rule = change_segment_terms(
        company, "best", playbook="  gentle ", max_instalments=120, max_plan_days=3650
    )
    assert rule.policy.playbook == "Gentle" and rule.policy.max_instalments == 120


def test_the_case_file_says_when_the_segments_playbook_is_missing(company: Any, normal: Any) -> None:
    from mahnwerk.collection.models import Playbook

    DebtorInsight.objects.filter(debtor=normal).update(segment="best", segment_label="Best payers")
    # the shipped "best" segment names "gentle", which this company does not have: its default playbook runs
    text = agreements.agreement_policy_for(company, normal).explanation()
    assert "playbook “gentle” not found: the default playbook applies" in text
    normal_terms = next(t for t in agreements.segment_terms(company) if t.segment == "normal")
    assert normal_terms.playbook_found and "not found" not in normal_terms.terms_text()  # "standard"
    Playbook.objects.create(company=company, name="Gentle")
    text = agreements.agreement_policy_for(company, normal).explanation()
    assert "playbook “gentle”" in text and "not found" not in text


def test_the_command_line_shows_and_changes_a_segments_terms(company: Any) -> None:
    out = StringIO()
    call_command("insights", "segments", stdout=out)
    text = out.getvalue()
    assert [line.split(" ")[0] for line in text.splitlines() if not line.startswith(" ")] == [
        r.key for r in DEFAULT_SEGMENT_RULES
    ]
    assert "settlements from 80 % of what is open" in text  # risky, by its tier
    out = StringIO()
    call_command(
        "insights", "segment", "best", "--extension-days", "21", "--offers", "none", "--json", stdout=out
    )
    (best,) = json.loads(out.getvalue())
    assert best["key"] == "best" and best["extension_days"] == 21 and best["offers"] == []
    assert best["own"] == ["extension_days", "offers"] and best["settlement_floor_percent"] == 50
    out = StringIO()
    call_command("insights", "segment", "best", "--by-tier", "offers", "--thank-you", "no", stdout=out)
    assert "Segment best changed." in out.getvalue() and "no discounts" not in out.getvalue()
    policy = {r.key: r.policy for r in segment_rules(company)}["best"]
    assert policy.offers is None and policy.extension_days == 21 and not policy.thank_you_messages
    with pytest.raises(CommandError, match="7 days"):
        call_command("insights", "segment", "best", "--deadline-days", "3", stdout=StringIO())
    with pytest.raises(CommandError, match="Nothing to change"):
        call_command("insights", "segment", "best", stdout=StringIO())


def test_the_debtors_page_offers_the_segments_own_extension(client: Any, company: Any, normal: Any) -> None:
    from mahnwerk.web.portal import links

    change_segment_terms(company, "normal", extension_days=10)
    with time_machine.travel(NOW, tick=False):
        page = client.get(links.portal_path(normal)).content.decode()
    assert 'data-testid="portal-extension-form"' in page and "12.06.2025" in page  # 02.06. + 10 days
