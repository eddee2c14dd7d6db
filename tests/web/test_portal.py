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


def _invoice(debtor: Any, number: str) -> Any:
    return debtor.invoices.get(number=number)


def test_portal_promise_lands_on_the_timeline(client: Client, ozols: Any, frozen: None) -> None:
    from mahnwerk.collection.agreements_models import Promise

    path = links.portal_path(ozols)
    data = {
        "action": "promise",
        "promise-invoices": [_invoice(ozols, "R-200").pk],
        "promise-promised_date": "2026-11-27",
    }
    response = client.post(path, data, follow=True)
    assert response.status_code == 200
    promise = Promise.objects.get(debtor=ozols)
    # no amount given: all that is open on R-200
    assert (promise.source, promise.amount_minor, str(promise.promised_date)) == (
        "debtor",
        40_000,
        "2026-11-27",
    )
    assert 'data-testid="portal-promise"' in response.content.decode()
    assert TimelineEvent.objects.filter(debtor=ozols, actor="debtor (portal)").exists()
    # refused (the item is already covered): the page says so, nothing more is stored
    response = client.post(path, data)
    assert response.status_code == 422
    assert Promise.objects.count() == 1
    from django.utils import translation

    from mahnwerk.web.refusals import REFUSAL_PATTERNS

    with translation.override("lv"):  # the debtor's language: the reason in its words, no English
        said = str(REFUSAL_PATTERNS[0][1])
    assert said in response.content.decode()


def test_portal_plan_inside_the_limits_is_approved_with_its_schedule(
    client: Client, ozols: Any, frozen: None
) -> None:
    from mahnwerk.collection.agreements_models import InstalmentPlan

    path = links.portal_path(ozols)
    data = {"action": "plan", "plan-invoices": [_invoice(ozols, "R-201").pk], "plan-count": "3"}
    response = client.post(path, data, follow=True)
    plan = InstalmentPlan.objects.get(debtor=ozols)
    assert plan.source == "debtor" and not plan.needs_approval
    # 1234.50 open; the policy's minimum down payment of 10 % is 123.45, the remaining 1111.05 in three:
    # 370.35 each
    amounts = [i.amount_minor for i in plan.instalments.order_by("number")]
    assert amounts == [12_345, 37_035, 37_035, 37_035]
    text = response.content.decode().replace("\xa0", " ")
    assert 'data-testid="portal-plan"' in text and "370,35" in text
    assert TimelineEvent.objects.filter(debtor=ozols).exists()


def test_portal_dispute_and_bad_input(client: Client, ozols: Any, frozen: None) -> None:
    from mahnwerk.collection.agreements_models import Dispute

    path = links.portal_path(ozols)
    inv = _invoice(ozols, "R-200")
    data = {
        "action": "dispute",
        "dispute-invoice": inv.pk,
        "dispute-reason": "wrong_invoice",
        "dispute-notes": "x",
    }
    client.post(path, data)
    dispute = Dispute.objects.get(invoice=inv)
    assert (dispute.source, dispute.reason) == ("debtor", "wrong_invoice")
    assert TimelineEvent.objects.filter(debtor=ozols, kind="dispute_opened").exists()
    # an invoice of another debtor is no choice: the form is shown again with an error
    response = client.post(path, {"action": "plan", "plan-invoices": ["999999"], "plan-count": "3"})
    assert response.status_code == 422


def test_portal_agreement_posts_count_against_the_rate_limit(
    client: Client, ozols: Any, frozen: None
) -> None:
    from mahnwerk.collection.agreements_models import Promise
    from mahnwerk.web.portal import ratelimit

    path = links.portal_path(ozols)
    for _ in range(ratelimit.LIMIT - 1):
        assert client.get(path).status_code == 200
    data = {
        "action": "promise",
        "promise-invoices": [_invoice(ozols, "R-200").pk],
        "promise-promised_date": "2026-11-27",
    }
    assert client.post(path, data).status_code == 302  # the last request of the window
    data["promise-invoices"] = [_invoice(ozols, "R-201").pk]
    assert client.post(path, data).status_code == 429
    assert Promise.objects.count() == 1


def test_portal_debtor_confirms_the_approved_plan(client: Client, ozols: Any, frozen: None) -> None:
    from mahnwerk.collection.agreements_models import InstalmentPlan

    path = links.portal_path(ozols)
    client.post(path, {"action": "plan", "plan-invoices": [_invoice(ozols, "R-201").pk], "plan-count": "3"})
    plan = InstalmentPlan.objects.get(debtor=ozols)
    assert 'data-testid="portal-confirm"' in client.get(path).content.decode()
    client.post(path, {"action": "confirm", "plan": str(plan.pk)})
    plan.refresh_from_db()
    assert (plan.status, plan.confirmed_by) == ("active", "debtor")
    # another debtor's or an unknown plan: nothing happens, an error is shown
    response = client.post(path, {"action": "confirm", "plan": "999999"}, follow=True)
    assert [m.level_tag for m in response.context["messages"]][-1] == "error"
