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


def _edit(client: Client, partner: Partner, **values: str) -> Any:
    data = {
        "kind": partner.kind,
        "fee_percent": str(partner.fee_percent),
        "email": partner.email,
        "exchange_format": partner.format,
    } | ({"active": "on"} if partner.active else {})
    data |= values
    return client.post(
        f"/partners/{partner.pk}/edit",
        {f"partner-{partner.pk}-{k}": v for k, v in data.items() if v is not None},
    )


def test_an_admin_changes_a_partners_terms_and_they_go_on_its_history(
    alice: Client, handed_over: Handover
) -> None:
    partner = handed_over.partner
    page = alice.get("/partners/").content.decode()
    assert f'action="/partners/{partner.pk}/edit"' in page
    assert f'name="partner-{partner.pk}-fee_percent"' in page and 'value="15.00"' in page

    response = _edit(
        alice,
        partner,
        fee_percent="20",
        email="akten@inkasso-nord.example",
        exchange_format="json",
        kind="lawyer",
    )
    assert response.status_code == 302
    partner.refresh_from_db()
    assert (partner.fee_percent, partner.email, partner.format, partner.kind, partner.active) == (
        Decimal("20.00"),
        "akten@inkasso-nord.example",
        "json",
        "lawyer",
        True,
    )
    [created, changed] = partner.history.order_by("id")
    assert (created.kind, created.actor) == ("created", "system")
    assert created.changes["fee_percent"] == ["", "15.00"]
    assert (changed.kind, changed.actor) == ("changed", "user:alice")
    assert changed.changes == {
        "kind": ["agency", "lawyer"],
        "fee_percent": ["15.00", "20.00"],
        "email": ["", "akten@inkasso-nord.example"],
        "format": ["csv", "json"],
    }
    page = alice.get("/partners/").content.decode()
    assert (
        "Changed: kind Collection agency → Lawyer; fee 15.00 % → 20.00 %; email - → akten@inkasso-nord.example; exchange format CSV → JSON"
        in page
    )
    assert "Partner Inkasso Nord changed." in page

    # made inactive: no new handovers, its open one stays and it may still report on it
    assert _edit(alice, partner, active=None).status_code == 302
    partner.refresh_from_db()
    assert not partner.active
    assert partner.history.latest("id").changes == {"active": ["yes", "no"]}
    page = alice.get("/partners/").content.decode()
    assert 'data-testid="inactive"' in page and "active yes → no" in page
    handed_over.refresh_from_db()
    assert handed_over.status == HandoverStatus.OPEN
    services.recall(handed_over.company, handed_over.debtor, "back to us", HANDOVER_DAY)
    with pytest.raises(services.PartnerError, match="not active"):
        services.hand_over(handed_over.company, handed_over.debtor, partner, HANDOVER_DAY)

    # the same terms again: nothing changed, nothing written
    before = partner.history.count()
    response = _edit(alice, partner)
    assert response.status_code == 302
    assert partner.history.count() == before
    assert "Nothing changed." in alice.get("/partners/").content.decode()


def test_a_partners_terms_are_validated(alice: Client, handed_over: Handover) -> None:
    partner = handed_over.partner
    for values, error in (
        ({"fee_percent": "150"}, "Ensure this value is less than or equal to 100."),
        ({"fee_percent": "-1"}, "Ensure this value is greater than or equal to 0."),
        ({"fee_percent": "12,5x"}, "Enter a number."),
        ({"email": "not an address"}, "Enter a valid email address."),
        ({"kind": "bailiff"}, "Select a valid choice."),
        ({"exchange_format": "xml"}, "Select a valid choice."),
    ):
        response = _edit(alice, partner, **values)
        assert response.status_code == 422, values
        assert error in response.content.decode(), values
    partner.refresh_from_db()
    assert (partner.fee_percent, partner.email, partner.kind, partner.format) == (
        Decimal("15.00"),
        "",
        "agency",
        "csv",
    )
    assert list(partner.history.values_list("kind", flat=True)) == ["created"]


def test_an_admin_issues_a_new_token_shown_once(alice: Client, handed_over: Handover) -> None:
    partner = handed_over.partner
    old = services.reissue_token(partner, actor="test")
    assert services.partner_for_token(old) == partner
    response = alice.post(f"/partners/{partner.pk}/token")
    assert response.status_code == 200
    page = response.content.decode()
    assert "New token for Inkasso Nord" in page and "The earlier token no longer works." in page
    new = page.split("<code>")[1].split("</code>")[0]
    assert new.startswith("mwp_") and new != old
    assert services.partner_for_token(new) == partner
    assert services.partner_for_token(old) is None
    assert new not in alice.get("/partners/").content.decode()  # shown once
    latest = partner.history.latest("id")
    assert (latest.kind, latest.actor) == ("token_issued", "user:alice")
    assert new not in str(latest.changes)
    assert "New token issued" in alice.get("/partners/").content.decode()


def test_only_an_admin_changes_a_partner_or_its_token(
    bob: Client, carol: Client, dave: Client, handed_over: Handover
) -> None:
    partner = handed_over.partner
    for client in (bob, carol):
        assert f'action="/partners/{partner.pk}/edit"' not in client.get("/partners/").content.decode()
        assert _edit(client, partner, fee_percent="1").status_code == 403
        assert client.post(f"/partners/{partner.pk}/token").status_code == 403
    # a collector of another company: refused by role before anything is looked up
    assert _edit(dave, partner, fee_percent="1").status_code == 403
    assert dave.post(f"/partners/{partner.pk}/token").status_code == 403
    partner.refresh_from_db()
    assert partner.fee_percent == Decimal("15.00")
    assert list(partner.history.values_list("kind", flat=True)) == ["created"]


def test_another_companys_admin_gets_not_found(
    other_company: Any, make_member: Any, handed_over: Handover
) -> None:
    client = Client()
    client.force_login(make_member("erik", other_company, "admin"))
    partner = handed_over.partner
    assert _edit(client, partner, fee_percent="1").status_code == 404
    assert client.post(f"/partners/{partner.pk}/token").status_code == 404
    partner.refresh_from_db()
    assert partner.fee_percent == Decimal("15.00")
