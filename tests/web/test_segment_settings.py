"""An administrator changes what may be agreed in each segment on the settings page (the same service as
``mahnwerk insights segment``): values no term can mean are refused on the form, nothing is written, and
another company's segments are out of reach."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from mahnwerk.collection.agreements import segment_terms
from mahnwerk.insights.models import SegmentRuleRow
from mahnwerk.insights.services import segment_rules

pytestmark = pytest.mark.django_db

URL = "/settings/segments/best"
P = "segment-best-"


def _form(client: Client) -> dict[str, Any]:
    """The best payers' form as the page fills it (what a browser would send unchanged)."""
    form = next(s["form"] for s in client.get("/settings/").context["segments"] if s["key"] == "best")
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.initial.get(name)
        if isinstance(value, bool):
            if value:
                data[P + name] = "on"
        elif isinstance(value, list) or value is not None:
            data[P + name] = value
        del field
    return data


def _best(company: Any) -> Any:
    return {r.key: r.policy for r in segment_rules(company)}["best"]


def test_the_settings_page_shows_and_changes_a_segments_terms(alice: Client, company: Any) -> None:
    page = alice.get("/settings/")
    html = page.content.decode()
    assert [s["key"] for s in page.context["segments"]] == ["risky", "watch", "best", "normal"]
    assert 'action="/settings/segments/best"' in html and f'name="{P}extension_days"' in html
    # the shipped "best" segment names a playbook this company does not have: the page says so
    assert "gentle (not found: the default playbook applies)" in html
    data = _form(alice)
    data |= {P + "extension_days": "21", P + "max_instalments": "10", P + "deadline_days": ""}
    data.pop(P + "offers_by_tier")
    data.pop(P + "thank_you_messages")
    answer = alice.post(URL, data)
    assert answer.status_code == 302 and answer["Location"] == "/settings/#segment-best"
    policy = _best(company)
    assert policy.extension_days == 21 and policy.max_instalments == 10 and policy.offers == ()
    assert policy.deadline_days is None and not policy.thank_you_messages
    assert policy.playbook == "gentle"  # not chosen anew: kept as it was
    best = next(t for t in segment_terms(company) if t.segment == "best")
    assert best.extension_days == 21 and not best.incentives
    # an empty optional term goes back to the tier; another playbook is one of the company's
    data = _form(alice) | {P + "extension_days": "", P + "playbook": "Standard", P + "offers_by_tier": "on"}
    assert alice.post(URL, data).status_code == 302
    policy = _best(company)
    assert policy.extension_days is None and policy.offers is None and policy.playbook == "Standard"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_instalments", ""),
        ("max_instalments", "-1"),
        ("max_instalments", "1e9"),
        ("max_instalments", "1000000000"),
        ("max_plan_days", "9" * 5000),
        ("min_down_payment_percent", "101"),
        ("settlement_floor_percent", "abc"),
        ("deadline_days", "3"),
        ("playbook", "x" * 5000),
        ("offers", "gift"),
    ],
)
def test_values_no_term_can_mean_are_refused_on_the_form(
    alice: Client, company: Any, field: str, value: str
) -> None:
    answer = alice.post(URL, _form(alice) | {P + field: value})
    assert answer.status_code == 422
    (bound,) = [s["form"] for s in answer.context["segments"] if s["key"] == "best"]
    assert set(bound.errors) == {field}
    assert not SegmentRuleRow.objects.exists()


def test_only_an_administrator_changes_segments_and_only_its_own_companys(
    alice: Client,
    bob: Client,
    company: Any,
    other_company: Any,
    make_member: Callable[..., Any],
) -> None:
    data = _form(alice) | {P + "extension_days": "30"}
    assert bob.post(URL, data).status_code == 403
    assert alice.get(URL).status_code == 405
    assert alice.post("/settings/segments/vip", data).status_code == 404
    assert not SegmentRuleRow.objects.exists()
    erin = Client()
    erin.force_login(make_member("erin", other_company, "admin"))
    assert erin.post(URL, data).status_code == 302
    assert set(SegmentRuleRow.objects.values_list("company_id", flat=True)) == {other_company.pk}
    assert _best(company).extension_days is None and _best(other_company).extension_days == 30
