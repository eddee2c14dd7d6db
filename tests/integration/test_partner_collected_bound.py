"""A partner's "collected" is bounded by what is open: what reaches the creditor (collected less the partner's
fee) may not exceed the debtor's open total on the day of collection, and no status may be dated in the
future — refused (422 on the API, one line on the command line), nothing booked."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mahnwerk.ledger.claims import debtor_law, statement
from mahnwerk.ledger.models import Payment
from mahnwerk.ledger.services import company_today
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


def post(client: Any, key: str, *statuses: dict[str, Any]) -> Any:
    return client.post(
        "/api/partners/status",
        json.dumps({"statuses": list(statuses)}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )


def collected(debtor: Any, amount: int, fee: int = 0, on: str = "2025-05-02") -> dict[str, Any]:
    return {
        "debtor": debtor.number,
        "status": "collected",
        "amount_collected_minor": amount,
        "fee_minor": fee,
        "date": on,
    }


@pytest.fixture
def setup(company: Any, make_debtor: Any, make_invoice: Any) -> dict[str, Any]:
    company.claim_interest = company.charge_fees = False
    company.save()
    partner, key = services.add_partner(company, "Inkasso Nord", "agency", Decimal("20"))
    debtor = make_debtor()
    make_invoice(debtor, f"RE-{debtor.number}", "500.00", "2025-02-09", issue="2025-01-10")
    services.hand_over(company, debtor, partner, D("2025-04-01"))
    return {"key": key, "debtor": debtor, "company": company}


def nothing_booked(debtor: Any) -> None:
    handover = Handover.objects.get(debtor=debtor)
    assert handover.status == HandoverStatus.OPEN and handover.collected_minor == 0
    assert not Payment.objects.filter(debtor=debtor).exists()
    assert not StatusReport.objects.filter(handover=handover).exists()


def test_a_billion_collected_on_500_handed_over_is_refused(client: Any, setup: dict[str, Any]) -> None:
    debtor = setup["debtor"]
    response = post(client, setup["key"], collected(debtor, 100_000_000_000))
    assert response.status_code == 422, response.content
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "statuses", 0, "amount_collected_minor"]
    assert error["msg"] == (
        f"€1,000,000,000.00 collected is more than the €500.00 open on debtor {debtor.number}'s account on "
        "2025-05-02 (€500.00 handed over on 2025-04-01)"
    )
    nothing_booked(debtor)


def test_one_cent_more_than_open_is_refused_and_exactly_open_is_booked(
    client: Any, setup: dict[str, Any]
) -> None:
    debtor = setup["debtor"]
    assert post(client, setup["key"], collected(debtor, 50001)).status_code == 422
    nothing_booked(debtor)
    # the agency's costs, collected from the debtor on top of the claim and kept as its fee, are fine
    response = post(client, setup["key"], collected(debtor, 56000, fee=6000))
    assert response.status_code == 200, response.content
    (payment,) = Payment.objects.filter(debtor=debtor)
    assert payment.amount_minor == 50000
    assert Handover.objects.get(debtor=debtor).status == HandoverStatus.CLOSED  # paid in full


def test_a_batch_counts_its_earlier_rows(client: Any, setup: dict[str, Any]) -> None:
    debtor = setup["debtor"]
    response = post(client, setup["key"], collected(debtor, 30000), collected(debtor, 30000, on="2025-05-03"))
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == ["body", "statuses", 1, "amount_collected_minor"]
    nothing_booked(debtor)  # all or nothing


def test_the_bound_includes_interest_accrued(client: Any, setup: dict[str, Any]) -> None:
    company, debtor = setup["company"], setup["debtor"]
    company.claim_interest = True
    company.save()
    on = D("2025-09-01")
    open_minor = statement(company, debtor.pk, debtor_law(company, debtor), on)["totals"]["EUR"][
        "total_open_minor"
    ]
    assert open_minor > 50000  # interest accrued since the due date
    assert post(client, setup["key"], collected(debtor, open_minor + 1, on=on.isoformat())).status_code == 422
    response = post(client, setup["key"], collected(debtor, open_minor, on=on.isoformat()))
    assert response.status_code == 200, response.content
    assert Payment.objects.get(debtor=debtor).amount_minor == open_minor


def test_a_status_dated_in_the_future_is_refused(client: Any, setup: dict[str, Any]) -> None:
    debtor = setup["debtor"]
    tomorrow = company_today(setup["company"]) + timedelta(days=1)
    response = post(client, setup["key"], collected(debtor, 100, on=tomorrow.isoformat()))
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == ["body", "statuses", 0, "date"]
    assert "in the future" in response.content.decode()
    closed = {"debtor": debtor.number, "status": "closed", "date": tomorrow.isoformat()}
    assert post(client, setup["key"], closed).status_code == 422
    nothing_booked(debtor)


def test_the_status_file_import_keeps_the_same_bound(setup: dict[str, Any], tmp_path: Path) -> None:
    debtor = setup["debtor"]
    path = tmp_path / "status.csv"
    path.write_text(
        f"debtor,status,amount_collected,fee,date\n{debtor.number},collected,1000000000,0,2025-05-02\n"
    )
    with pytest.raises(CommandError) as raised:
        call_command("partner", "import-status", str(path))
    assert "is more than the" in str(raised.value) and "open on debtor" in str(raised.value)
    assert str(raised.value).startswith("row 2")  # the first data row under the header, as the file shows it
    nothing_booked(debtor)


def test_a_status_dated_before_the_handover_is_refused(client: Any, setup: dict[str, Any]) -> None:
    debtor = setup["debtor"]
    handed_over_on = Handover.objects.get(debtor=debtor).handed_over_on
    before = (handed_over_on - timedelta(days=1)).isoformat()
    response = post(client, setup["key"], collected(debtor, 100, on=before))
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == ["body", "statuses", 0, "date"]
    assert "before the handover" in response.content.decode()
    nothing_booked(debtor)
    on_the_day = post(client, setup["key"], collected(debtor, 100, on=handed_over_on.isoformat()))
    assert on_the_day.status_code == 200, on_the_day.content
