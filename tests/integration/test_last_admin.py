"""A company keeps an administrator: ``add_member`` (CLI ``user add``, the users page) will not demote the only
one and ``remove_member`` will not remove it; ``user add`` on an existing user says what changed and does not
replace the user's password."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from mahnwerk.ledger.setup import SetupError, add_member, remove_member
from mahnwerk.web.models import Membership

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def cli(*args: str, stdin: str | None = None) -> str:
    out = StringIO()
    extra: dict[str, Any] = {"stdin": StringIO(stdin)} if stdin is not None else {}
    call_command(*args, stdout=out, **extra)
    return out.getvalue()


def error_of(*args: str, stdin: str | None = None) -> str:
    with pytest.raises(CommandError) as raised:
        cli(*args, stdin=stdin)
    message = str(raised.value)
    assert "\n" not in message and "Traceback" not in message, message
    return message


def role_of(name: str, company: Any) -> str:
    return Membership.objects.get(user__username=name, company=company).role


@pytest.fixture
def anna(company: Any) -> Any:
    return add_member("anna", company, "admin", password=PASSWORD).membership.user


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_cli_refuses_to_demote_the_only_admin(company: Any, anna: Any) -> None:
    message = error_of(
        "user",
        "add",
        "anna",
        "--company",
        "acme",
        "--role",
        "viewer",
        "--password-stdin",
        stdin="x-other-pw\n",
    )
    assert "exists already and keeps its password" in message
    message = error_of("user", "add", "anna", "--company", "acme", "--role", "viewer")
    assert message == (
        "user not added: --role: anna is the only administrator of acme: make another user an administrator first."
    )
    assert role_of("anna", company) == "admin"
    anna.refresh_from_db()
    assert anna.check_password(PASSWORD)

    # with a second administrator, anna may step down; then the other one is the last
    assert "created: admin of acme" in cli("user", "add", "ben", "--company", "acme", "--role", "admin")
    assert "User anna changed: viewer of acme (was admin)." in cli(
        "user", "add", "anna", "--company", "acme", "--role", "viewer"
    )
    assert "only administrator of acme" in error_of(
        "user", "add", "ben", "--company", "acme", "--role", "collector"
    )
    assert role_of("ben", company) == "admin"


def test_user_add_on_an_existing_user_says_what_it_did(
    company: Any, other_company_cli: Any, anna: Any
) -> None:
    cli("user", "add", "bob", "--company", "acme", "--role", "viewer")
    assert "User bob unchanged: viewer of acme." in cli(
        "user", "add", "bob", "--company", "acme", "--role", "viewer"
    )
    out = cli("user", "add", "bob", "--company", "acme", "--role", "collector", "--email", "bob@acme.example")
    assert "User bob changed: collector of acme (was viewer). Email address replaced." in out
    out = cli("user", "add", "bob", "--company", "baltic", "--role", "viewer")
    assert "User bob (already existing) added: viewer of baltic." in out
    data = json.loads(cli("user", "add", "bob", "--company", "baltic", "--role", "collector", "--json"))
    assert (data["created"], data["previous_role"], data["role"]) == (False, "viewer", "collector")
    # the password of an existing user is never replaced by 'user add'
    anna_password = get_user_model().objects.get(username="anna").password
    assert "mahnwerk changepassword anna" in error_of(
        "user",
        "add",
        "anna",
        "--company",
        "acme",
        "--role",
        "admin",
        "--password-stdin",
        stdin="a-new-password-1\n",
    )
    assert get_user_model().objects.get(username="anna").password == anna_password


def test_the_users_page_refuses_to_demote_the_only_admin(company: Any, anna: Any) -> None:
    client = signed_in(anna)
    response = client.post("/users/", {"username": "anna", "role": "viewer"})
    assert response.status_code == 200
    assert "only administrator of acme" in response.content.decode()
    assert role_of("anna", company) == "admin"
    assert client.get("/users/").status_code == 200  # still an administrator

    add_member("ben", company, "collector")
    response = client.post("/users/", {"username": "ben", "role": "admin"}, follow=True)
    assert "role changed from Collector to Administrator." in response.content.decode()
    assert role_of("ben", company) == "admin"
    assert client.post("/users/", {"username": "anna", "role": "viewer"}).status_code == 302
    assert role_of("anna", company) == "viewer"


def test_the_only_admin_is_not_removed(company: Any, anna: Any) -> None:
    ben = add_member("ben", company, "admin").membership.user
    anna_membership = Membership.objects.get(user=anna, company=company)
    ben_membership = Membership.objects.get(user=ben, company=company)
    with pytest.raises(SetupError, match="cannot remove yourself"):
        remove_member(company, anna_membership.pk, removed_by=anna)
    remove_member(company, ben_membership.pk, removed_by=anna)
    assert not Membership.objects.filter(pk=ben_membership.pk).exists()
    with pytest.raises(SetupError, match="anna is the only administrator of acme"):
        remove_member(company, anna_membership.pk)
    assert Membership.objects.filter(pk=anna_membership.pk, role="admin").exists()
    with pytest.raises(Membership.DoesNotExist):
        remove_member(company, ben_membership.pk)


def test_the_users_page_removes_members_through_the_service(company: Any, anna: Any) -> None:
    client = signed_in(anna)
    carl = add_member("carl", company, "viewer").membership
    mine = Membership.objects.get(user=anna, company=company)
    assert client.post(f"/users/{mine.pk}/remove").status_code == 302
    assert Membership.objects.filter(pk=mine.pk).exists()
    assert client.post(f"/users/{carl.pk}/remove").status_code == 302
    assert not Membership.objects.filter(pk=carl.pk).exists()
    assert client.post(f"/users/{carl.pk}/remove").status_code == 404


@pytest.fixture
def other_company_cli(company: Any) -> Any:
    from mahnwerk.ledger.models import Company

    return Company.objects.create(
        slug="baltic",
        name="Baltic Trade SIA",
        iban="LV80BANK0000435195001",
        jurisdiction="LV",
        time_zone="Europe/Riga",
        default_language="lv",
        country="LV",
    )
