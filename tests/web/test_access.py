"""Company isolation: dave, a collector of Baltic, gets 404 for every object of Acme, by URL and by form field,
and finds none of Acme's debtors by search."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from mahnwerk.collection.models import Action, Case, Playbook
from mahnwerk.ledger.models import Invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> dict[str, Any]:
    debtor = make_debtor(name="Bäckerei Müller", number="K0001")
    invoice = make_invoice(debtor, "R-100", "1000.00", "2026-10-01")
    playbook = Playbook.objects.get(company=company, is_default=True)
    from datetime import date

    from mahnwerk.collection.agreements import offer_settlement, propose_plan, record_promise

    promise = record_promise(company, debtor, [invoice], date(2026, 12, 20), None, actor="test")
    second = make_invoice(debtor, "R-101", "500.00", "2026-10-15")
    plan = propose_plan(company, debtor, [second], 12, actor="test")  # outside the limits: waits for approval
    third = make_invoice(debtor, "R-102", "300.00", "2026-10-20")
    offer = offer_settlement(company, debtor, [third], 25_000, date(2026, 12, 31), reason="goodwill")
    return {
        "debtor": debtor,
        "invoice": invoice,
        "playbook": playbook,
        "step": playbook.steps.first(),
        "promise": promise,
        "plan": plan,
        "settlement": offer,
    }


def urls(acme: dict[str, Any]) -> list[tuple[str, str]]:
    d, p, s = acme["debtor"].pk, acme["playbook"].pk, acme["step"].pk
    return [
        ("get", f"/debtors/{d}/"),
        ("post", f"/debtors/{d}/payment"),
        ("post", f"/debtors/{d}/hold"),
        ("post", f"/debtors/{d}/playbook"),
        ("post", f"/debtors/{d}/send-now"),
        ("post", f"/debtors/{d}/promise"),
        ("post", f"/debtors/{d}/plan"),
        ("post", f"/debtors/{d}/settlement"),
        ("post", f"/debtors/{d}/dispute"),
        ("post", f"/debtors/{d}/plans/{acme['plan'].pk}/confirm"),
        ("post", f"/debtors/{d}/agreements/promise/{acme['promise'].pk}/cancel"),
        ("post", f"/debtors/{d}/agreements/plan/{acme['plan'].pk}/cancel"),
        ("post", f"/debtors/{d}/agreements/settlement/{acme['settlement'].pk}/cancel"),
        ("get", f"/playbooks/{p}/"),
        ("post", f"/playbooks/{p}/"),
        ("get", f"/playbooks/{p}/steps/{s}/preview"),
    ]


def test_other_company_gets_404_for_every_object(dave: Client, acme: dict[str, Any]) -> None:
    for method, url in urls(acme):
        response = getattr(dave, method)(
            url, {"amount": "1000", "value_date": "2026-11-20", "on_hold": "1", "reason": "by a stranger"}
        )
        assert response.status_code == 404, (method, url)
    assert Invoice.objects.get(pk=acme["invoice"].pk).open_minor == 100_000
    for key in ("promise", "plan", "settlement"):
        agreement = acme[key]
        assert type(agreement).objects.get(pk=agreement.pk).status == agreement.status, key
    assert not Case.objects.exists() and not Action.objects.exists()


def test_own_company_reaches_the_same_urls(bob: Client, acme: dict[str, Any]) -> None:
    for method, url in urls(acme):
        if method == "get":
            assert bob.get(url).status_code == 200, url


def test_search_lists_and_home_show_only_own_company(dave: Client, acme: dict[str, Any]) -> None:
    for query in ("", "?q=M%C3%BCller", "?q=K0001", "?q=R-100", "?sort=-overdue"):
        assert dave.get("/debtors/" + query).context["rows"] == [], query
    home = dave.get("/")
    assert home.context["worklist"] == [] and home.context["figures"] == [] and home.context["work"] == []
    assert dave.get("/run/").context["rows"] == []
    assert all(
        p.company_id != acme["playbook"].company_id for p in dave.get("/playbooks/").context["playbooks"]
    )


def test_other_companys_invoice_or_playbook_cannot_be_named_in_a_form(
    dave: Client, other_company: Any, acme: dict[str, Any], make_debtor: Callable[..., Any]
) -> None:
    own = make_debtor(name="SIA Ozols", number="B-1", company=other_company)
    pay = dave.post(
        f"/debtors/{own.pk}/payment",
        {"amount": "10", "value_date": "2026-11-20", "invoice": acme["invoice"].pk},
    )
    assert pay.status_code == 422  # not a valid choice: the invoice is not among its own open items
    assert Invoice.objects.get(pk=acme["invoice"].pk).open_minor == 100_000
    change = dave.post(f"/debtors/{own.pk}/playbook", {"playbook": acme["playbook"].pk})
    assert change.status_code == 422
    assert not Case.objects.filter(debtor=own).exists()


def test_switching_to_a_company_one_is_not_member_of_is_ignored(
    dave: Client, company: Any, other_company: Any
) -> None:
    dave.post("/company/switch", {"company": company.pk})
    assert dave.get("/").context["request"].company == other_company


def test_member_of_two_companies_switches(
    company: Any, other_company: Any, make_member: Callable[..., Any]
) -> None:
    from mahnwerk.web.models import Membership

    user = make_member("gina", company, "viewer")
    Membership.objects.create(user=user, company=other_company, role="collector")
    client = Client()
    client.force_login(user)
    first = client.get("/").context["request"].company
    other = other_company if first == company else company
    client.post("/company/switch", {"company": other.pk})
    assert client.get("/").context["request"].company == other


def test_admin_of_another_company_cannot_touch_members(
    company: Any, other_company: Any, make_member: Callable[..., Any], bob: Client
) -> None:
    from mahnwerk.web.models import Membership

    henry = Client()
    henry.force_login(make_member("henry", other_company, "admin"))
    bobs = Membership.objects.get(user__username="bob")
    assert henry.post(f"/users/{bobs.pk}/remove").status_code == 404
    assert Membership.objects.filter(pk=bobs.pk).exists()
    assert "bob" not in henry.get("/users/").content.decode()
    # naming an existing user of Acme does not make him a member of Baltic
    refused = henry.post("/users/", {"username": "bob", "role": "viewer"})
    assert "This user name is taken" in refused.content.decode()
    assert set(Membership.objects.filter(user__username="bob").values_list("company__slug", flat=True)) == {
        "acme"
    }
    assert bob.get("/").context["request"].company == company
