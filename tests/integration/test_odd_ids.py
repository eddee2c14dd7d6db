"""Ids typed on the command line or written into an API address: one with non-ASCII digits ('²'), twenty digits
or beyond the database's 64-bit integer is an unknown id (the command's clear error, a 404 or 422), never a
traceback or an OverflowError from the database."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from mahnwerk.ledger.services import LedgerError

pytestmark = pytest.mark.django_db

ODD_IDS = ["²", "٣", "9" * 20, str(2**63), "0", "-1", "1e3", " 12 x"]


@pytest.mark.parametrize("ident", ODD_IDS)
def test_get_entry_says_unknown_entry(company: Any, ident: str) -> None:
    from mahnwerk.ledger.statements import get_entry

    with pytest.raises(LedgerError, match="no statement entry"):
        get_entry(company, ident)


@pytest.mark.parametrize("ident", ["²", "9" * 20])
@pytest.mark.parametrize(
    "args",
    [
        ("payments", "confirm"),
        ("payments", "park"),
        ("payments", "ignore"),
        ("payments", "split", "{id}", "R-1=1.00"),
        ("writeoff", "reverse"),
        ("writeoff", "list", "--debtor"),
        ("debtor", "show"),
        ("statement",),
        ("promise", "cancel"),
        ("plan", "approve"),
        ("plan", "cancel"),
        ("dispute", "resolve"),
        ("webhook", "remove"),
        ("note", "list"),
        ("escalate", "advise"),
        ("task", "done"),
        ("run", "--dry-run", "--exclude-debtor"),
        ("experiment", "learning", "show", "--debtor"),
    ],
)
def test_commands_refuse_odd_ids_with_their_error(company: Any, args: tuple[str, ...], ident: str) -> None:
    argv = [a.format(id=ident) for a in args]
    if "{id}" not in args:
        argv.append(ident)
    with pytest.raises(CommandError):  # the command's own error, not a traceback
        call_command(*argv, stdout=io.StringIO(), stderr=io.StringIO())


@pytest.fixture
def api(client: Any, company: Any) -> Any:
    from django.contrib.auth import get_user_model

    from mahnwerk.api.models import ApiToken
    from mahnwerk.web.models import Membership

    anna = get_user_model().objects.create_user(username="anna", password="x")
    Membership.objects.create(user=anna, company=company, role="admin")
    _token, key = ApiToken.issue(anna, company, "test token")
    return client, {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize("ident", ["9" * 20, str(2**63), str(2**64), "²", "0", "-1"])
def test_api_path_ids_beyond_the_database_are_not_found(api: Any, ident: str) -> None:
    client, headers = api
    paths = [
        ("get", "/api/debtors/{id}"),
        ("get", "/api/debtors/{id}/statement"),
        ("get", "/api/debtors/{id}/documents"),
        ("get", "/api/debtors/{id}/documents/invoice/{id}"),
        ("post", "/api/debtors/{id}/promises"),
        ("post", "/api/debtors/{id}/disputes"),
        ("post", "/api/debtors/{id}/agreements/promise/{id}/cancel"),
        ("post", "/api/debtors/{id}/send-now"),
    ]
    for method, path in paths:
        url = path.format(id=ident)
        if method == "get":
            response = client.get(url, headers=headers)
        else:
            response = client.post(url, "{}", content_type="application/json", headers=headers)
        assert response.status_code in (404, 422), (url, response.status_code, response.content[:300])


@pytest.mark.parametrize("stamp", ["²", "٣٣", "9" * 40, "-5", "1e9", ""])
def test_a_webhook_signature_with_an_odd_time_is_not_valid(stamp: str) -> None:
    from mahnwerk.hooks.services import verify_signature

    assert verify_signature("whsec_secret", f"t={stamp},v1=abc", b"{}", now=0) is False


@pytest.mark.parametrize("ident", ["²", "9" * 20, "0"])
def test_a_company_named_by_an_odd_id_is_unknown(company: Any, ident: str) -> None:
    from mahnwerk.ledger.services import get_company

    with pytest.raises(LedgerError, match="no company"):
        get_company(ident)
    assert get_company(str(company.pk)) == company and get_company(company.slug) == company
