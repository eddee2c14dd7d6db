"""The first start: a fresh installation sets up its administrator, company and playbook in the browser —
and once set up, the page is gone for good."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def setup_data(**changes: str) -> dict[str, str]:
    data = {
        "username": "greta",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "name": "Greta Gartenbau GmbH",
        "country": "DE",
        "jurisdiction": "",
        "currency": "EUR",
        "default_language": "de",
        "iban": "DE89 3704 0044 0532 0130 00",
        "bic": "COBADEFFXXX",
        "email": "rechnung@greta.example",
        "collections_email": "forderungen@greta.example",
        "street": "Gartenweg 3",
        "postcode": "04109",
        "city": "Leipzig",
        "preset": "de-b2c",
    }
    return data | changes


def test_a_fresh_installation_leads_from_sign_in_to_the_first_start(client: Client) -> None:
    assert client.get("/accounts/login/")["Location"] == "/setup/"
    page = client.get("/setup/")
    assert page.status_code == 200
    content = page.content.decode()
    for field in ("username", "password1", "password2", "name", "country", "iban", "bic", "email", "city"):
        assert f'name="{field}"' in content, field
    assert 'name="csrfmiddlewaretoken"' in content
    assert "Germany, consumers" in content and "Latvia, business customers" in content


def test_first_start_creates_company_admin_and_playbook_and_signs_in(client: Client) -> None:
    from mahnwerk.collection.models import Playbook
    from mahnwerk.ledger.models import Company
    from mahnwerk.web.models import Membership

    response = client.post("/setup/", setup_data())
    assert response.status_code == 302 and response["Location"] == "/"
    company = Company.objects.get()
    assert company.name == "Greta Gartenbau GmbH" and company.slug == "greta-gartenbau-gmbh"
    assert (company.iban, company.jurisdiction, company.time_zone) == (
        "DE89370400440532013000",
        "DE",
        "Europe/Berlin",
    )
    assert company.collections_email == "forderungen@greta.example" and company.city == "Leipzig"
    membership = Membership.objects.get()
    assert membership.company == company and membership.role == "admin"
    assert membership.user.get_username() == "greta" and membership.user.check_password(PASSWORD)
    playbook = Playbook.objects.get(company=company)
    assert playbook.is_default and playbook.name == "Germany, consumers"
    assert [s.channel for s in playbook.steps.order_by("level")] == ["email", "email", "email", "letter"]
    # signed in as the new administrator
    assert client.get("/").status_code == 200
    assert client.get("/settings/").status_code == 200
    # and the first start is gone: for this browser and any other
    assert client.get("/setup/").status_code == 404
    stranger = Client()
    assert stranger.get("/setup/").status_code == 404
    assert stranger.post("/setup/", setup_data(username="mallory", name="Evil")).status_code == 404
    assert stranger.get("/accounts/login/").status_code == 200
    assert Company.objects.count() == 1 and Membership.objects.count() == 1


def test_errors_are_shown_next_to_their_fields_and_nothing_is_written(client: Client) -> None:
    from django.contrib.auth import get_user_model

    from mahnwerk.ledger.models import Company

    response = client.post(
        "/setup/", setup_data(password2="something-else", iban="DE00 1234", name="", country="XX")
    )
    assert response.status_code == 422
    content = response.content.decode()
    assert "The two passwords differ." in content and "Invalid IBAN" in content
    assert content.count('class="errorlist') >= 4  # passwords, name, country, IBAN: each next to its field
    assert 'id="id_iban_error"' in content and 'id="id_password2_error"' in content
    response = client.post("/setup/", setup_data(iban="DE89370400440532013001"))
    assert response.status_code == 422 and "Invalid IBAN" in response.content.decode()
    response = client.post("/setup/", setup_data(password1="short", password2="short"))
    assert response.status_code == 422 and "too short" in response.content.decode()
    response = client.post("/setup/", setup_data(country="CH"))
    assert response.status_code == 422 and "There are no rules for claims in CH" in response.content.decode()
    assert not Company.objects.exists() and not get_user_model().objects.exists()


@pytest.mark.parametrize("code", ["XXX", "xau", "XDR", "XTS", "XBA", "XSU", "XUA", "QQQ"])
def test_a_currency_that_is_no_money_is_refused_next_to_its_field(client: Client, code: str) -> None:
    from django.contrib.auth import get_user_model

    from mahnwerk.ledger.models import Company

    response = client.post("/setup/", setup_data(currency=code))
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert list(errors) == ["currency"], errors
    assert code.upper() in errors["currency"][0]
    assert 'id="id_currency_error"' in response.content.decode()
    assert not Company.objects.exists() and not get_user_model().objects.exists()


def test_a_company_without_a_bank_account_is_set_up_without_an_iban(client: Client) -> None:
    from mahnwerk.ledger.models import Company

    response = client.post("/setup/", setup_data(iban="", bic=""))
    assert response.status_code == 302, response.context["form"].errors
    assert Company.objects.get().iban == ""
    assert client.get("/").status_code == 200


def test_the_form_needs_its_csrf_token(db: None) -> None:
    from mahnwerk.ledger.models import Company

    client = Client(enforce_csrf_checks=True)
    assert client.post("/setup/", setup_data()).status_code == 403
    assert not Company.objects.exists()


def test_an_installation_with_an_administrator_has_no_first_start(
    company: Any, make_member: Callable[..., Any], client: Client
) -> None:
    make_member("alice", company, "admin")
    assert client.get("/setup/").status_code == 404
    assert client.post("/setup/", setup_data()).status_code == 404
    assert client.get("/accounts/login/").status_code == 200


def test_a_company_with_users_but_no_admin_is_not_taken_over(
    company: Any, make_member: Callable[..., Any], client: Client
) -> None:
    """Users exist and a company exists: that is an installation, whatever the roles."""
    make_member("carol", company, "viewer")
    assert client.get("/setup/").status_code == 404
    assert client.get("/accounts/login/").status_code == 200


def test_a_company_made_on_the_command_line_without_users_is_not_handed_over(
    company: Any, client: Client
) -> None:
    """A company exists but nobody can sign in yet: the first start sets up a company of its own and never
    makes anyone a member of the existing one."""
    from mahnwerk.web.models import Membership

    assert client.get("/accounts/login/")["Location"] == "/setup/"
    response = client.post("/setup/", setup_data())
    assert response.status_code == 302
    assert not Membership.objects.filter(company=company).exists()
    assert Membership.objects.get().company.slug == "greta-gartenbau-gmbh"
    assert client.get("/setup/").status_code == 404


def test_a_latvian_company_with_the_consumer_preset(client: Client) -> None:
    from mahnwerk.ledger.models import Company

    data = setup_data(
        name="Ozols SIA",
        country="LV",
        default_language="",
        iban="LV80BANK0000435195001",
        bic="",
        preset="lv-b2c",
    )
    assert client.post("/setup/", data).status_code == 302
    company = Company.objects.get()
    assert (company.jurisdiction, company.default_language, company.time_zone) == ("LV", "lv", "Europe/Riga")
    steps = list(company.playbooks.get().steps.order_by("level"))
    assert steps[1].deadline_days == 21 and {s.channel for s in steps} <= {"email", "letter"}


def test_the_page_speaks_german(client: Client) -> None:
    page = client.get("/setup/", headers={"accept-language": "de"})
    assert page.status_code == 200 and '<html lang="de">' in page.content.decode()
