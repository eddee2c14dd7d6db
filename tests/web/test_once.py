"""A case-file form sent twice — a double click, the browser sending it again — is carried out once: each form
that books money or makes an agreement carries a one-time token, and the second submission with it books
nothing and says what the first one did."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from mahnwerk.collection.agreements_models import Promise, Settlement
from mahnwerk.ledger.models import Invoice, Payment, TimelineEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


@pytest.fixture
def story(make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> dict[str, Any]:
    mueller = make_debtor(name="Bäckerei Müller", number="K0001")
    return {
        "mueller": mueller,
        "old": make_invoice(mueller, "R-100", "1000.00", "2026-10-01"),
        "other": make_invoice(mueller, "R-101", "1000.00", "2026-10-15"),
    }


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _token(client: Client, debtor: Any, name: str) -> str:
    """The one-time token of a form as the case file renders it (a hidden field, no label)."""
    page = client.get(f"/debtors/{debtor.pk}/").content.decode()
    found = re.findall(rf'<input type="hidden" name="{name}" value="([0-9a-f]{{32}})"', page)
    assert found, f"no one-time token {name} in the case file"
    return found[0]


def test_a_payment_sent_twice_is_booked_once(bob: Client, story: dict[str, Any]) -> None:
    debtor = story["mueller"]
    data = {"amount": "400.00", "value_date": "2026-11-20", "once": _token(bob, debtor, "once")}
    first = bob.post(f"/debtors/{debtor.pk}/payment", data, follow=True)
    assert "Payment of €400.00 recorded." in _messages(first)
    second = bob.post(f"/debtors/{debtor.pk}/payment", data, follow=True)
    assert second.status_code == 200
    (said,) = _messages(second)
    assert "sent twice" in said and "nothing was done a second time" in said
    assert "Payment of €400.00 recorded." in said  # what the first one did
    assert Payment.objects.count() == 1
    assert Invoice.objects.get(pk=story["old"].pk).open_minor == 60_000  # the oldest item paid once
    assert TimelineEvent.objects.filter(debtor=debtor, kind="payment_recorded").count() == 1


def test_each_rendering_of_the_form_has_its_own_token(bob: Client, story: dict[str, Any]) -> None:
    """A second payment of the same amount, typed into the form again, is a payment: it is booked."""
    debtor = story["mueller"]
    url = f"/debtors/{debtor.pk}/payment"
    first_token = _token(bob, debtor, "once")
    bob.post(url, {"amount": "100.00", "value_date": "2026-11-20", "once": first_token})
    second_token = _token(bob, debtor, "once")
    assert second_token != first_token
    bob.post(url, {"amount": "100.00", "value_date": "2026-11-20", "once": second_token})
    assert Payment.objects.count() == 2


def test_a_form_with_errors_keeps_its_token_for_the_corrected_submission(
    bob: Client, story: dict[str, Any]
) -> None:
    debtor = story["mueller"]
    url = f"/debtors/{debtor.pk}/payment"
    token = _token(bob, debtor, "once")
    wrong = bob.post(url, {"amount": "abc", "value_date": "2026-11-20", "once": token})
    assert wrong.status_code == 422
    assert f'name="once" value="{token}"' in wrong.content.decode()
    response = bob.post(url, {"amount": "50.00", "value_date": "2026-11-20", "once": token}, follow=True)
    assert "Payment of €50.00 recorded." in _messages(response)
    assert Payment.objects.count() == 1


def test_the_same_token_on_another_companys_case_file_is_not_shared(
    bob: Client, dave: Client, story: dict[str, Any], make_debtor: Callable[..., Any], other_company: Any
) -> None:
    debtor = story["mueller"]
    token = _token(bob, debtor, "once")
    bob.post(f"/debtors/{debtor.pk}/payment", {"amount": "10.00", "value_date": "2026-11-20", "once": token})
    theirs = make_debtor(name="Ozols SIA", number="L1", company=other_company, jurisdiction="LV")
    dave.post(f"/debtors/{theirs.pk}/payment", {"amount": "10.00", "value_date": "2026-11-20", "once": token})
    assert Payment.objects.filter(debtor=theirs).count() == 1


def test_a_promise_and_a_settlement_sent_twice_are_made_once(bob: Client, story: dict[str, Any]) -> None:
    debtor = story["mueller"]
    promise = {
        "promise-invoices": [story["old"].pk],
        "promise-promised_date": "2026-11-30",
        "promise-amount": "400.00",
        "promise-once": _token(bob, debtor, "promise-once"),
    }
    bob.post(f"/debtors/{debtor.pk}/promise", promise)
    again = bob.post(f"/debtors/{debtor.pk}/promise", promise, follow=True)
    assert any("sent twice" in m for m in _messages(again)), _messages(again)
    assert Promise.objects.filter(debtor=debtor).count() == 1
    settlement = {
        "settlement-invoices": [story["other"].pk],
        "settlement-amount": "800.00",
        "settlement-deadline": "2026-12-04",
        "settlement-reason": "Goodwill: long-standing customer",
        "settlement-once": _token(bob, debtor, "settlement-once"),
    }
    bob.post(f"/debtors/{debtor.pk}/settlement", settlement)
    again = bob.post(f"/debtors/{debtor.pk}/settlement", settlement, follow=True)
    assert any("sent twice" in m for m in _messages(again)), _messages(again)
    assert Settlement.objects.filter(debtor=debtor).count() == 1


def test_every_money_form_of_the_case_file_carries_a_token(bob: Client, story: dict[str, Any]) -> None:
    from mahnwerk.collection.agreements import open_dispute

    open_dispute(story["mueller"].company, story["old"], "other", source="clerk", actor="test")
    page = bob.get(f"/debtors/{story['mueller'].pk}/").content.decode()
    for name in ("once", "promise-once", "plan-once", "settlement-once", "dispute-once", "resolve-once"):
        assert re.search(rf'type="hidden" name="{name}" value="[0-9a-f]{{32}}"', page), name
    assert "Once" not in page  # a hidden field, not a labelled one


def test_a_form_the_service_refuses_leaves_its_token_unused(bob: Client, story: dict[str, Any]) -> None:
    debtor = story["mueller"]
    data = {
        "settlement-invoices": [story["other"].pk],
        "settlement-amount": "5000.00",  # more than is open: refused by the service
        "settlement-deadline": "2026-12-04",
        "settlement-reason": "Goodwill: long-standing customer",
        "settlement-once": _token(bob, debtor, "settlement-once"),
    }
    refused = bob.post(f"/debtors/{debtor.pk}/settlement", data, follow=True)
    assert any("Not possible" in m for m in _messages(refused))
    corrected = bob.post(
        f"/debtors/{debtor.pk}/settlement", data | {"settlement-amount": "800.00"}, follow=True
    )
    assert any("Settlement offered" in m for m in _messages(corrected)), _messages(corrected)
    assert Settlement.objects.filter(debtor=debtor).count() == 1
