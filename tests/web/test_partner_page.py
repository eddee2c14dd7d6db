"""The partner page: agencies and lawyers with their open handovers; adding a partner (administrators only),
recalling a handover (collectors and administrators, through the partner service), the stored dossier as a
download; another company's partners are never shown."""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from mahnwerk.collection.models import Case
from mahnwerk.collection.services import run_collection
from mahnwerk.core.money import format_money
from mahnwerk.ledger.models import TimelineEvent
from mahnwerk.partners import services
from mahnwerk.partners.models import Handover, HandoverStatus, Partner

D = date.fromisoformat
HANDOVER_DAY = D("2025-04-01")

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen", "file_storage")]


@pytest.fixture
def handed_over(company: Any, make_debtor: Any, make_invoice: Any) -> Handover:
    """An account walked up its playbook in 2025 and handed to Inkasso Nord on 2025-04-01."""
    agency, _key = services.add_partner(company, "Inkasso Nord", "agency", Decimal("15"))
    services.add_partner(company, "Kanzlei Recht", "lawyer", Decimal("0"))
    debtor = make_debtor(name="Metallbau Krüger GmbH", street="Werkstr. 5", postcode="20095", city="Hamburg")
    make_invoice(debtor, "RE-1", "1000.00", "2025-02-09", issue="2025-01-10")
    day = D("2025-02-14")
    while day < HANDOVER_DAY:
        run_collection(company, day, approved=True)
        day += timedelta(days=7)
    handover, _zip = services.hand_over(company, debtor, agency, HANDOVER_DAY, actor="test")
    return handover


def test_the_page_lists_partners_with_their_open_handovers(carol: Client, handed_over: Handover) -> None:
    response = carol.get("/partners/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Inkasso Nord" in page and "Kanzlei Recht" in page
    assert "Metallbau Krüger GmbH" in page and "April 1, 2025" in page
    assert format_money(handed_over.total_minor, "EUR") in page
    assert "fee 15.00 % of the amount collected" in page
    assert f"/partners/handovers/{handed_over.pk}/dossier" in page
    # a viewer may look and download, not recall or add
    assert f"/partners/handovers/{handed_over.pk}/recall" not in page
    assert 'name="fee_percent"' not in page
    assert carol.post("/partners/", {"name": "X"}).status_code == 403
    assert carol.post(f"/partners/handovers/{handed_over.pk}/recall", {"reason": "x"}).status_code == 403
    assert 'href="/partners/"' in carol.get("/").content.decode()


def test_an_admin_adds_a_partner_and_sees_its_token_once(alice: Client, company: Any) -> None:
    response = alice.post(
        "/partners/",
        {
            "name": "Inkasso Süd",
            "kind": "agency",
            "fee_percent": "20",
            "email": "akten@inkasso-sued.example",
            "exchange_format": "json",
        },
    )
    assert response.status_code == 200
    partner = Partner.objects.get(company=company, name="Inkasso Süd")
    assert (partner.kind, partner.fee_percent, partner.format) == ("agency", Decimal("20.00"), "json")
    page = response.content.decode()
    token = page.split("<code>")[1].split("</code>")[0]
    assert services.partner_for_token(token) == partner
    assert token not in alice.get("/partners/").content.decode()  # shown once
    # the same name twice: refused with the reason
    again = alice.post("/partners/", {"name": "Inkasso Süd", "kind": "lawyer", "fee_percent": "10"})
    assert again.status_code == 422
    assert "There is already a partner named Inkasso Süd." in again.content.decode()
    bad = alice.post("/partners/", {"name": "Zu Teuer", "kind": "agency", "fee_percent": "150"})
    assert bad.status_code == 422 and not Partner.objects.filter(name="Zu Teuer").exists()


def test_a_collector_cannot_add_a_partner(bob: Client, company: Any) -> None:
    response = bob.post("/partners/", {"name": "Inkasso Ost", "kind": "agency", "fee_percent": "20"})
    assert response.status_code == 403
    assert not Partner.objects.filter(company=company).exists()
    assert 'name="fee_percent"' not in bob.get("/partners/").content.decode()


def test_a_collector_recalls_through_the_page_and_the_hold_is_released(
    bob: Client, handed_over: Handover
) -> None:
    case = Case.objects.get(debtor=handed_over.debtor)
    assert case.on_hold and case.hold_reason == "with partner Inkasso Nord since 2025-04-01"
    assert f"/partners/handovers/{handed_over.pk}/recall" in bob.get("/partners/").content.decode()
    # no reason: nothing happens
    bob.post(f"/partners/handovers/{handed_over.pk}/recall", {"reason": ""})
    handed_over.refresh_from_db()
    assert handed_over.status == HandoverStatus.OPEN

    response = bob.post(f"/partners/handovers/{handed_over.pk}/recall", {"reason": "debtor called us"})
    assert response.status_code == 302
    handed_over.refresh_from_db()
    assert handed_over.status == HandoverStatus.RECALLED
    assert handed_over.end_reason == "debtor called us"
    assert handed_over.ended_on == D("2026-11-20")  # the business day of the recall
    case.refresh_from_db()
    assert not case.on_hold
    event = TimelineEvent.objects.get(debtor=handed_over.debtor, kind="handover_recalled")
    assert event.actor == "user:bob" and event.data["reason"] == "debtor called us"
    page = bob.get("/partners/").content.decode()
    assert f"/partners/handovers/{handed_over.pk}/" not in page  # no longer an open handover
    # recalled twice: refused, nothing changes
    bob.post(f"/partners/handovers/{handed_over.pk}/recall", {"reason": "again"})
    assert TimelineEvent.objects.filter(debtor=handed_over.debtor, kind="handover_recalled").count() == 1


def test_the_stored_dossier_is_downloaded(carol: Client, handed_over: Handover) -> None:
    response = carol.get(f"/partners/handovers/{handed_over.pk}/dossier")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "dossier-" in response["Content-Disposition"]
    content = response.content
    assert content == services.dossier_bytes(handed_over)
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        assert {"summary.pdf", "claims.json", "claims.csv"} <= set(zf.namelist())


def test_another_companys_partners_are_never_shown(dave: Client, handed_over: Handover) -> None:
    page = dave.get("/partners/").content.decode()
    assert "Inkasso Nord" not in page and "Metallbau" not in page
    assert dave.get(f"/partners/handovers/{handed_over.pk}/dossier").status_code == 404
    assert dave.post(f"/partners/handovers/{handed_over.pk}/recall", {"reason": "x"}).status_code == 404
    handed_over.refresh_from_db()
    assert handed_over.status == HandoverStatus.OPEN
