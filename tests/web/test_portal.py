"""The debtor's portal: a signed, expiring personal link; the page in the debtor's language; contact updates;
clear pages for expired and tampered links; a rate limit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from mahnwerk.ledger.models import Contact, TimelineEvent
from mahnwerk.web.portal import links

pytestmark = pytest.mark.django_db


@pytest.fixture
def ozols(make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> Any:
    debtor = make_debtor(name='SIA "Ozols"', number="LV-7", language="lv", jurisdiction="LV")
    make_invoice(debtor, "R-200", "400.00", "2026-11-10")
    make_invoice(debtor, "R-201", "1234.50", "2026-12-10")
    return debtor


def test_portal_page_in_the_debtors_language(client: Client, ozols: Any) -> None:
    with time_machine.travel("2026-11-20 10:00 +0000", tick=False):
        response = client.get(links.portal_path(ozols))
    assert response.status_code == 200
    text = response.content.decode()
    assert '<html lang="lv">' in text
    assert "R-200" in text and "R-201" in text
    assert "DE89 3704 0044 0532 0130 00" in text  # the creditor's IBAN, grouped by four
    assert "LV-7 R-200 R-201" in text  # payment reference naming both invoices
    # 400.00 + 1234.50 = 1634.50 EUR, written the Latvian way
    assert "1634,50" in text.replace("\xa0", "").replace(" ", "")


def test_portal_updates_contact_details(client: Client, ozols: Any, company: Any) -> None:
    path = links.portal_path(ozols)
    response = client.post(path, {"email": "gramatvediba@ozols.example", "phone": "+371 26 123 456"})
    assert response.status_code == 302
    primary = {c.kind: c.value for c in Contact.objects.filter(debtor=ozols, is_primary=True)}
    assert primary == {"email": "gramatvediba@ozols.example", "phone": "+371 26 123 456"}
    old = Contact.objects.get(debtor=ozols, value="ap@1.example")
    assert not old.is_primary  # kept as a secondary address
    event = TimelineEvent.objects.get(debtor=ozols, kind="contact_updated")
    assert "gramatvediba@ozols.example" in event.data["changes"] and event.actor == "debtor (portal)"
    # the reminder goes to the new address
    from mahnwerk.comms.outbox import email_recipients

    assert email_recipients([ozols.pk]) == {ozols.pk: "gramatvediba@ozols.example"}


def test_portal_rejects_bad_contact_details(client: Client, ozols: Any) -> None:
    response = client.post(links.portal_path(ozols), {"email": "not-an-address", "phone": ""})
    assert response.status_code == 200
    assert Contact.objects.filter(debtor=ozols).count() == 1


def test_expired_link(client: Client, ozols: Any) -> None:
    with time_machine.travel("2026-01-01 10:00 +0000", tick=False):
        path = links.portal_path(ozols)
    with time_machine.travel("2026-01-01 10:00 +0000", tick=False) as traveller:
        traveller.shift(links.MAX_AGE + timedelta(minutes=1))
        response = client.get(path)
    assert response.status_code == 410
    assert "expired" in response.content.decode()


def test_tampered_link(client: Client, ozols: Any, make_debtor: Callable[..., Any]) -> None:
    token = links.make_token(ozols)
    other = make_debtor(name="Someone else")
    payload, stamp, signature = links.make_token(other).split(":")
    forged = ":".join([payload, *token.split(":")[1:]])  # another debtor's id under this link's signature
    for bad in (token[:-2] + "xx", forged, "nonsense", f"{payload}:{stamp}:{signature[:-1]}"):
        response = client.get(f"/portal/{bad}/")
        assert response.status_code == 404, bad
        assert "not valid" in response.content.decode()


def test_link_of_a_deleted_debtor(client: Client, ozols: Any) -> None:
    path = links.portal_path(ozols)
    ozols.delete()
    assert client.get(path).status_code == 404


def test_rate_limit(client: Client, ozols: Any, settings: Any) -> None:
    from mahnwerk.web.portal import ratelimit

    for _ in range(ratelimit.LIMIT):
        assert client.get("/portal/guess/").status_code == 404
    limited = client.get(links.portal_path(ozols))
    assert limited.status_code == 429
    assert "Too many attempts" in limited.content.decode()
    other = Client(REMOTE_ADDR="10.0.0.2")
    assert other.get(links.portal_path(ozols)).status_code == 200


def test_portal_link_is_absolute(ozols: Any, settings: Any) -> None:
    settings.BASE_URL = "https://mahnwerk.example"
    link = links.portal_link(ozols)
    assert link.startswith("https://mahnwerk.example/portal/")
    assert links.read_token(link.rstrip("/").rsplit("/", 1)[1]) == links.PortalKey(ozols.pk, ozols.company_id)
