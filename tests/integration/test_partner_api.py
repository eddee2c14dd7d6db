"""POST /api/partners/status: the partner's own token, its own handovers only, 422 on bad input."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mahnwerk.collection.models import Case
from mahnwerk.ledger.models import Payment, TimelineEvent
from mahnwerk.partners import services
from mahnwerk.partners.models import Handover, HandoverStatus, StatusReport

pytestmark = pytest.mark.django_db

D = date.fromisoformat


@pytest.fixture(autouse=True)
def storage(settings: Any, tmp_path: Path) -> None:
    settings.STORAGES = settings.STORAGES | {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "files"},
        }
    }


def post(client: Any, key: str | None, body: Any) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.post(
        "/api/partners/status", json.dumps(body), content_type="application/json", headers=headers
    )


@pytest.fixture
def setup(company: Any, make_debtor: Any, make_invoice: Any) -> dict[str, Any]:
    company.claim_interest = company.charge_fees = False
    company.save()
    nord, nord_key = services.add_partner(company, "Inkasso Nord", "agency", Decimal("20"))
    sued, sued_key = services.add_partner(company, "Kanzlei Süd", "lawyer", Decimal("0"))
    mine, theirs, nobody = make_debtor(), make_debtor(), make_debtor()
    for d in (mine, theirs, nobody):
        make_invoice(d, f"RE-{d.number}", "1000.00", "2025-02-09", issue="2025-01-10")
    services.hand_over(company, mine, nord, D("2025-04-01"))
    services.hand_over(company, theirs, sued, D("2025-04-01"))
    return {"key": nord_key, "other_key": sued_key, "mine": mine, "theirs": theirs, "nobody": nobody}


def test_a_partner_reports_with_its_own_token(client: Any, setup: dict[str, Any]) -> None:
    mine = setup["mine"]
    body = {
        "statuses": [
            {"debtor": mine.number, "status": "promise", "date": "2025-04-05", "note": "pays in May"},
            {
                "debtor": mine.number,
                "status": "collected",
                "amount_collected_minor": 100000,
                "fee_minor": 20000,
                "date": "2025-05-02",
            },
        ]
    }
    response = post(client, setup["key"], body)
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["booked"] == 2 and len(result["payments"]) == 1
    (payment,) = Payment.objects.filter(debtor=mine)
    assert payment.amount_minor == 80000  # 1000.00 collected, 200.00 fee kept by the agency
    handover = Handover.objects.get(debtor=mine)
    assert (handover.collected_minor, handover.fee_minor) == (100000, 20000)
    assert handover.status == HandoverStatus.OPEN  # 200.00 is still open
    events = TimelineEvent.objects.filter(debtor=mine, kind__in=["partner_status", "partner_collected"])
    assert events.count() == 2 and all(e.actor == "partner:Inkasso Nord" for e in events)

    # sent again: nothing booked twice
    again = post(client, setup["key"], body)
    assert again.status_code == 200 and again.json()["duplicates"] == 2
    assert Payment.objects.filter(debtor=mine).count() == 1


def test_without_or_with_a_wrong_token_nothing_is_booked(client: Any, setup: dict[str, Any]) -> None:
    body = {"statuses": [{"debtor": setup["mine"].number, "status": "contacted", "date": "2025-04-05"}]}
    assert post(client, None, body).status_code == 401
    assert post(client, "mwp_not-a-token", body).status_code == 401
    assert not StatusReport.objects.exists()


def test_a_user_token_is_no_partner_token(client: Any, company: Any, setup: dict[str, Any]) -> None:
    from django.contrib.auth import get_user_model

    from mahnwerk.api.models import ApiToken
    from mahnwerk.web.models import Membership

    user = get_user_model().objects.create_user(username="anna", password="x")
    Membership.objects.create(user=user, company=company, role="admin")
    _token, key = ApiToken.issue(user, company, "anna")
    body = {"statuses": [{"debtor": setup["mine"].number, "status": "contacted", "date": "2025-04-05"}]}
    assert post(client, key, body).status_code == 401
    # and the partner's token opens nothing else of the API
    response = client.get("/api/debtors", headers={"Authorization": f"Bearer {setup['key']}"})
    assert response.status_code == 401


def test_a_partner_touches_only_its_own_handovers(client: Any, setup: dict[str, Any]) -> None:
    for debtor in (setup["theirs"], setup["nobody"]):
        body = {
            "statuses": [
                {"debtor": setup["mine"].number, "status": "contacted", "date": "2025-04-05"},
                {"debtor": debtor.number, "status": "uncollectable", "date": "2025-04-05"},
            ]
        }
        response = post(client, setup["key"], body)
        assert response.status_code == 404
        assert "statuses[1]" in response.json()["detail"]
    assert not StatusReport.objects.exists()  # all or nothing
    assert Handover.objects.get(debtor=setup["theirs"]).status == HandoverStatus.OPEN
    # the other partner may
    body = {"statuses": [{"debtor": setup["theirs"].number, "status": "uncollectable", "date": "2025-04-05"}]}
    assert post(client, setup["other_key"], body).status_code == 200
    handover = Handover.objects.get(debtor=setup["theirs"])
    assert handover.status == HandoverStatus.CLOSED
    case = Case.objects.get(debtor=setup["theirs"])
    assert case.on_hold and "uncollectable" in case.hold_reason  # a person decides, no reminders resume


@pytest.mark.parametrize(
    ("status", "field", "value"),
    [
        ("paid", "status", None),
        ("collected", "amount_collected_minor", -1),
        ("collected", "amount_collected_minor", 10**12),
        ("collected", "date", "2025-13-01"),
        ("collected", "date", "2200-01-01"),
        ("contacted", "note", "x" * 501),
        ("contacted", "note", "rang\x00back"),  # a NUL character (PostgreSQL cannot store it)
        ("contacted", "debtor", "K\x001"),
        ("collected", "amount_collected_minor", 0),  # collected needs an amount
        ("contacted", "fee_minor", 500),  # an amount or fee only with collected
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    client: Any, setup: dict[str, Any], status: str, field: str, value: Any
) -> None:
    item: dict[str, Any] = {
        "debtor": setup["mine"].number,
        "status": status,
        "amount_collected_minor": 1000,
        "fee_minor": 0,
        "date": "2025-04-05",
    }
    if status != "collected":
        item["amount_collected_minor"] = 0
    if value is not None:
        item[field] = value
    response = post(client, setup["key"], {"statuses": [item]})
    assert response.status_code == 422, response.content
    detail = response.json()["detail"]
    assert any(field in [str(x) for x in d["loc"]] or d["loc"][-1] == field for d in detail), detail
    assert not StatusReport.objects.exists()


def test_an_empty_or_malformed_body_is_a_422(client: Any, setup: dict[str, Any]) -> None:
    assert post(client, setup["key"], {"statuses": []}).status_code == 422
    assert post(client, setup["key"], {"nothing": 1}).status_code == 422
    response = client.post(
        "/api/partners/status",
        "not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {setup['key']}"},
    )
    assert response.status_code in (400, 422)


def test_a_partner_fetches_the_payments_that_reached_us_directly(
    client: Any, setup: dict[str, Any], pay: Any
) -> None:
    pay(setup["mine"], "150.00", "2025-04-10")
    pay(setup["theirs"], "70.00", "2025-04-11")  # the other partner's
    headers = {"Authorization": f"Bearer {setup['key']}"}
    first = client.get("/api/partners/payments", headers=headers)
    assert first.status_code == 200
    (line,) = first.json()["payments"]
    assert (line["debtor"], line["amount_minor"], line["value_date"]) == (
        setup["mine"].number,
        15000,
        "2025-04-10",
    )
    assert client.get("/api/partners/payments", headers=headers).json()["payments"] == []  # fetched once
    assert len(client.get("/api/partners/payments", {"all": "true"}, headers=headers).json()["payments"]) == 1
    assert client.get("/api/partners/payments").status_code == 401
