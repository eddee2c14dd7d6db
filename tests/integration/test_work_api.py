"""The work queue in the API: GET /api/work/queue and POST /api/work/assign — same rows as the page, roles,
company scoping."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import time_machine

from mahnwerk.collection.models import Task
from mahnwerk.ledger.models import TimelineEvent
from mahnwerk.work.models import WorkAssignment

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)


@pytest.fixture(autouse=True)
def frozen() -> Any:
    with time_machine.travel("2026-11-20 10:00 +0000", tick=False):
        yield


def _member(company: Any, username: str, role: str) -> str:
    from django.contrib.auth import get_user_model

    from mahnwerk.api.models import ApiToken
    from mahnwerk.web.models import Membership

    user = get_user_model().objects.create_user(username=username, password="x")
    Membership.objects.create(user=user, company=company, role=role)
    _token, key = ApiToken.issue(user, company, f"{username} token")
    return key


class Api:
    def __init__(self, client: Any, key: str) -> None:
        self.client, self.key = client, key

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/{path}", params, headers={"Authorization": f"Bearer {self.key}"})

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(
            f"/api/{path}",
            json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {self.key}"},
        )


@pytest.fixture
def other(db: None) -> Any:
    from mahnwerk.collection.services import ensure_default_playbook
    from mahnwerk.ledger.models import Company

    c = Company.objects.create(
        slug="baltic", name="Baltic Trade SIA", iban="LV80BANK0000435195001", jurisdiction="LV",
        time_zone="Europe/Riga", default_language="lv", currency="EUR",
    )  # fmt: skip
    ensure_default_playbook(c)
    return c


@pytest.fixture
def ledger(company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> dict[str, Any]:
    from mahnwerk.collection.agreements import open_dispute

    mueller = make_debtor(name="Bäckerei Müller", number="K0001")
    make_invoice(mueller, "R-100", "1000.00", "2026-09-01")
    r101 = make_invoice(mueller, "R-101", "200.00", "2026-10-01")
    Task.objects.create(company=company, debtor=mueller, kind="call", due_on=TODAY)
    open_dispute(company, r101, "wrong_invoice", actor="test")
    ozols = make_debtor(name='SIA "Ozols"', number="K0002")
    make_invoice(ozols, "R-200", "400.00", "2026-11-01")
    Task.objects.create(company=company, debtor=ozols, kind="review", due_on=TODAY)
    return {"mueller": mueller, "ozols": ozols}


def test_queue_rows_filters_and_paging(client: Any, company: Any, ledger: dict[str, Any]) -> None:
    api = Api(client, _member(company, "vera", "viewer"))
    body = api.get("work/queue").json()
    assert body["count"] == 2 and body["pages"] == 1
    rows = {row["debtor"]: row for row in body["rows"]}
    assert rows["K0001"]["kinds"] == ["call", "dispute"]
    assert rows["K0001"]["amount_minor"] == 120_000 and rows["K0001"]["currency"] == "EUR"
    assert rows["K0001"]["priority_basis"] == "age" and rows["K0001"]["assignee"] is None
    assert [r["debtor"] for r in api.get("work/queue", kind="review").json()["rows"]] == ["K0002"]
    assert [r["debtor"] for r in api.get("work/queue", sort="amount").json()["rows"]] == ["K0001", "K0002"]
    second = api.get("work/queue", page_size=1, page=2).json()
    assert second["pages"] == 2 and len(second["rows"]) == 1
    assert api.get("work/queue", kind="nonsense").status_code == 422
    assert api.get("work/queue", assignee="someone").status_code == 422


def test_assign_and_mine(client: Any, company: Any, ledger: dict[str, Any]) -> None:
    api = Api(client, _member(company, "cora", "collector"))
    _member(company, "adam", "admin")
    ids = [ledger["mueller"].pk, ledger["ozols"].pk]
    response = api.post("work/assign", {"debtor_ids": ids, "user": "cora"})
    assert response.status_code == 200, response.content
    assert response.json()["assigned"] == 2
    assert WorkAssignment.objects.filter(user__username="cora").count() == 2
    assert TimelineEvent.objects.filter(kind="work_assigned", actor="api:cora").count() == 2
    mine = api.get("work/queue", assignee="mine").json()
    assert {r["debtor"] for r in mine["rows"]} == {"K0001", "K0002"}
    assert {r["assignee"] for r in mine["rows"]} == {"cora"}
    again = api.post("work/assign", {"debtor_ids": ids[:1], "user": "cora"}).json()
    assert again["assigned"] == 0 and again["results"][0]["ok"] is False
    api.post("work/assign", {"debtor_ids": ids[:1], "user": "adam"})
    assert WorkAssignment.objects.get(debtor=ledger["mueller"]).user.username == "adam"
    removed = api.post("work/assign", {"debtor_ids": ids[:1], "user": None}).json()
    assert removed["assigned"] == 1 and not WorkAssignment.objects.filter(debtor=ledger["mueller"]).exists()
    assert api.get("work/queue", assignee="unassigned").json()["rows"][0]["debtor"] == "K0001"


def test_viewer_reads_only_and_bad_users(client: Any, company: Any, ledger: dict[str, Any]) -> None:
    viewer = Api(client, _member(company, "vera", "viewer"))
    assert viewer.get("work/queue").status_code == 200
    assert (
        viewer.post("work/assign", {"debtor_ids": [ledger["mueller"].pk], "user": "vera"}).status_code == 403
    )
    collector = Api(client, _member(company, "cora", "collector"))
    # a viewer is no one to give work to; an unknown user neither
    for user in ("vera", "nobody"):
        response = collector.post("work/assign", {"debtor_ids": [ledger["mueller"].pk], "user": user})
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "user"]
    assert collector.post("work/assign", {"debtor_ids": []}).status_code == 422
    assert not WorkAssignment.objects.exists()


def test_other_company_is_not_found(
    client: Any, company: Any, other: Any, ledger: dict[str, Any], make_debtor: Callable[..., Any]
) -> None:
    baltic = make_debtor(name="Baltic Client", number="B0001", company=other)
    Task.objects.create(company=other, debtor=baltic, kind="call", due_on=TODAY)
    acme = Api(client, _member(company, "cora", "collector"))
    assert "B0001" not in {r["debtor"] for r in acme.get("work/queue").json()["rows"]}
    response = acme.post("work/assign", {"debtor_ids": [ledger["mueller"].pk, baltic.pk], "user": "cora"})
    assert response.status_code == 404
    assert not WorkAssignment.objects.exists()  # nothing assigned, not even the company's own debtor
    dave = Api(client, _member(other, "dave", "collector"))
    assert [r["debtor"] for r in dave.get("work/queue").json()["rows"]] == ["B0001"]
    assert dave.post("work/assign", {"debtor_ids": [ledger["ozols"].pk], "user": "dave"}).status_code == 404
