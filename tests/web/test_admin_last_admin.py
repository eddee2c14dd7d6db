"""The Django admin keeps every company's administrator as the users page and ``mahnwerk user`` do: deleting
a user, deleting a membership (one or several at once) or changing its role or company is refused with the
reason when it would leave a company without an administrator, and nothing is changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client

from mahnwerk.web.models import Membership

pytestmark = pytest.mark.django_db

ONLY_ANNA = "anna is the only administrator of acme: make another user an administrator first."


@pytest.fixture
def root() -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "root-pw-12345")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def anna(company: Any, make_member: Callable[..., Any]) -> Any:
    return make_member("anna", company, "admin")


def membership(name: str, company: Any) -> Membership:
    return Membership.objects.get(user__username=name, company=company)


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_only_admins_membership_is_not_deleted(root: Client, company: Any, anna: Any) -> None:
    mine = membership("anna", company)
    url = f"/admin/web/membership/{mine.pk}/delete/"
    assert root.get(url).status_code == 200
    response = root.post(url, {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert ONLY_ANNA in messages_of(response)
    assert Membership.objects.filter(pk=mine.pk, role="admin").exists()
    assert not LogEntry.objects.exists()


def test_a_user_who_is_a_companys_only_admin_is_not_deleted(
    root: Client, company: Any, other_company: Any, anna: Any, make_member: Callable[..., Any]
) -> None:
    Membership.objects.create(user=anna, company=other_company, role="viewer")
    url = f"/admin/auth/user/{anna.pk}/delete/"
    response = root.post(url, {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert ONLY_ANNA in messages_of(response)
    assert get_user_model().objects.filter(pk=anna.pk).exists()
    assert Membership.objects.filter(user=anna).count() == 2
    assert not LogEntry.objects.exists()

    # with a second administrator, anna may go
    make_member("ben", company, "admin")
    response = root.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not get_user_model().objects.filter(pk=anna.pk).exists()
    members = Membership.objects.filter(company=company).values_list("user__username", flat=True)
    assert list(members) == ["ben"]


def test_the_only_admin_is_not_demoted_or_moved_on_the_change_page(
    root: Client, company: Any, other_company: Any, anna: Any
) -> None:
    mine = membership("anna", company)
    url = f"/admin/web/membership/{mine.pk}/change/"
    assert root.get(url).status_code == 200
    data = {"user": anna.pk, "company": company.pk, "role": "viewer"}
    response = root.post(url, data)
    assert response.status_code == 200  # the form again, with the reason at the role
    assert response.context["adminform"].form.errors == {"role": [ONLY_ANNA]}
    data = {"user": anna.pk, "company": other_company.pk, "role": "admin"}
    response = root.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"company": [ONLY_ANNA]}
    mine.refresh_from_db()
    assert (mine.company_id, mine.role) == (company.pk, "admin")

    # an administrator's membership can change hands: the company keeps an administrator
    data = {"user": anna.pk, "company": company.pk, "role": "admin"}
    assert root.post(url, data).status_code == 302


def test_a_demotion_is_allowed_while_another_admin_stays(
    root: Client, company: Any, anna: Any, make_member: Callable[..., Any]
) -> None:
    make_member("ben", company, "admin")
    mine = membership("anna", company)
    data = {"user": anna.pk, "company": company.pk, "role": "collector"}
    assert root.post(f"/admin/web/membership/{mine.pk}/change/", data).status_code == 302
    assert membership("anna", company).role == "collector"


def test_bulk_deletion_leaves_each_company_an_admin(
    root: Client, company: Any, other_company: Any, anna: Any, make_member: Callable[..., Any]
) -> None:
    make_member("ben", company, "admin")
    make_member("carl", company, "viewer")
    make_member("dora", other_company, "admin")
    everyone_of_acme = list(Membership.objects.filter(company=company).values_list("pk", flat=True))
    form = {"action": "delete_selected", "post": "yes", "_selected_action": everyone_of_acme}
    response = root.post("/admin/web/membership/", form, follow=True)
    assert response.status_code == 200
    assert messages_of(response) == [
        "anna, ben are the only administrators of acme: make another user an administrator first."
    ]
    assert Membership.objects.count() == 4
    assert not LogEntry.objects.exists()

    # one of the two administrators and the viewer may go
    ben, carl = membership("ben", company).pk, membership("carl", company).pk
    form["_selected_action"] = [ben, carl]
    response = root.post("/admin/web/membership/", form, follow=True)
    assert "Successfully deleted 2 memberships." in messages_of(response)
    assert sorted(Membership.objects.values_list("user__username", flat=True)) == ["anna", "dora"]


def test_bulk_deletion_of_users_leaves_each_company_an_admin(
    root: Client, company: Any, other_company: Any, anna: Any, make_member: Callable[..., Any]
) -> None:
    dora = make_member("dora", other_company, "admin")
    carl = make_member("carl", company, "viewer")
    form = {"action": "delete_selected", "post": "yes", "_selected_action": [anna.pk, dora.pk, carl.pk]}
    response = root.post("/admin/auth/user/", form, follow=True)
    assert response.status_code == 200
    assert messages_of(response) == [
        ONLY_ANNA + " dora is the only administrator of baltic: make another user an administrator first."
    ]
    assert get_user_model().objects.filter(pk__in=[anna.pk, dora.pk, carl.pk]).count() == 3
    assert Membership.objects.count() == 3

    form["_selected_action"] = [carl.pk]
    response = root.post("/admin/auth/user/", form, follow=True)
    assert "Successfully deleted 1 user." in messages_of(response)


def _user_change_data(user: Any, **changes: Any) -> dict[str, Any]:
    data = {
        "username": user.username,
        "password": user.password,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-12-01",
        "date_joined_1": "10:00:00",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_only_active_admin_is_not_deactivated(
    root: Client, company: Any, anna: Any, make_member: Callable[..., Any]
) -> None:
    url = f"/admin/auth/user/{anna.pk}/change/"
    response = root.post(url, _user_change_data(anna, is_active=None))
    assert response.status_code == 200  # the form again, with the reason
    assert ONLY_ANNA in response.content.decode()
    anna.refresh_from_db()
    assert anna.is_active

    # an inactive second administrator does not count: nobody could sign in to administer the company
    ben = make_member("ben", company, "admin")
    ben.is_active = False
    ben.save()
    response = root.post(url, _user_change_data(anna, is_active=None))
    assert response.status_code == 200
    assert ONLY_ANNA in response.content.decode()
    # nor does it shield anna's membership from deletion
    mine = membership("anna", company)
    response = root.post(f"/admin/web/membership/{mine.pk}/delete/", {"post": "yes"}, follow=True)
    assert ONLY_ANNA in messages_of(response)

    # once ben is active again, anna may be deactivated
    ben.is_active = True
    ben.save()
    response = root.post(url, _user_change_data(anna, is_active=None))
    assert response.status_code == 302
    anna.refresh_from_db()
    assert not anna.is_active
