"""The clerk keeps the customer's details current on the case file: salutation, law, agreed channels."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.test import Client

from mahnwerk.ledger.claims import debtor_law

pytestmark = [pytest.mark.django_db]


def details(debtor: Any, **changes: str) -> dict[str, str]:
    fields = {
        "name": debtor.name,
        "kind": debtor.kind,
        "language": debtor.language,
        "country": debtor.country,
        "jurisdiction": debtor.jurisdiction,
        "salutation": debtor.salutation,
        "title": debtor.title,
        "family_name": debtor.family_name,
        "contact_person": debtor.contact_person,
        "street": debtor.street,
        "postcode": debtor.postcode,
        "city": debtor.city,
        "preferred_channel": debtor.preferred_channel,
        "agreed_channels": debtor.agreed_channels,
    }
    return {f"details-{k}": v for k, v in (fields | changes).items()}


def test_a_collector_changes_salutation_law_and_channels(
    bob: Client, company: Any, make_debtor: Callable[..., Any]
) -> None:
    debtor = make_debtor(name="Anna Schulz", kind="consumer", country="DE")
    url = f"/debtors/{debtor.pk}/details"
    response = bob.post(
        url, details(debtor, salutation="ms", title="Dr.", country="LV", agreed_channels="letter, email")
    )
    assert response.status_code == 302
    debtor.refresh_from_db()
    assert (debtor.salutation, debtor.title, debtor.agreed_channels) == ("ms", "Dr.", "letter, email")
    # a consumer now living in Latvia: Latvian consumer rules, and the case file says so
    assert debtor_law(company, debtor).jurisdiction == "LV"
    assert debtor.timeline.filter(kind="debtor_details_changed").count() == 1
    page = bob.get(f"/debtors/{debtor.pk}/").content.decode()
    assert 'data-testid="details-form"' in page


def test_bad_values_are_refused_next_to_the_field_and_nothing_changes(
    bob: Client, carol: Client, make_debtor: Callable[..., Any]
) -> None:
    debtor = make_debtor(name="Anna Schulz", kind="consumer")
    url = f"/debtors/{debtor.pk}/details"
    response = bob.post(url, details(debtor, agreed_channels="pigeon", name="x" * 5000))
    assert response.status_code == 422
    page = response.content.decode()
    assert "pigeon" in page and "200" in page  # the unknown channel and the name's limit are named
    debtor.refresh_from_db()
    assert debtor.agreed_channels == "" and debtor.name == "Anna Schulz"
    # a viewer may not change anything
    assert carol.post(url, details(debtor, title="Prof.")).status_code == 403


def test_a_new_email_and_phone_become_the_primary_contacts_and_the_next_message_goes_there(
    bob: Client, company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    from mahnwerk.collection.services import run_collection
    from mahnwerk.comms.models import OutboundMessage
    from mahnwerk.ledger.models import Contact

    debtor = make_debtor(name="Anna Schulz")  # email ap@… from the fixture
    old = Contact.objects.get(debtor=debtor, kind="email")
    make_invoice(debtor, "R-1", "500.00", "2026-03-02")
    url = f"/debtors/{debtor.pk}/details"
    page = bob.get(f"/debtors/{debtor.pk}/?tab=details").content.decode()
    assert f'value="{old.value}"' in page  # the form shows the current address
    response = bob.post(
        url, details(debtor, **{"email": "buchhaltung@schulz.example", "phone": "+49 30 123456"})
    )
    assert response.status_code == 302
    primary = dict(Contact.objects.filter(debtor=debtor, is_primary=True).values_list("kind", "value"))
    assert primary == {"email": "buchhaltung@schulz.example", "phone": "+49 30 123456"}
    assert Contact.objects.filter(pk=old.pk, is_primary=False).exists()  # kept as a secondary contact
    [event] = debtor.timeline.filter(kind="contact_updated")
    assert event.actor.startswith("user:") and "buchhaltung@schulz.example" in event.data["changes"]
    run_collection(company, date(2026, 3, 9), approved=True)
    assert (
        OutboundMessage.objects.get(debtor=debtor, channel="email").recipient == "buchhaltung@schulz.example"
    )
    # saving the same again changes nothing
    bob.post(url, details(debtor, **{"email": "buchhaltung@schulz.example", "phone": "+49 30 123456"}))
    assert debtor.timeline.filter(kind="contact_updated").count() == 1


def test_do_not_contact_needs_a_reason_and_bad_contacts_are_refused(
    bob: Client, make_debtor: Callable[..., Any]
) -> None:
    debtor = make_debtor(name="Anna Schulz")
    url = f"/debtors/{debtor.pk}/details"
    response = bob.post(url, details(debtor, do_not_contact="on", email="no-at-sign", phone="call me"))
    assert response.status_code == 422
    errors = response.context["details_form"].errors
    assert set(errors) == {"do_not_contact_reason", "email", "phone"}
    debtor.refresh_from_db()
    assert not debtor.do_not_contact
    bob.post(url, details(debtor, do_not_contact="on", do_not_contact_reason="insolvency proceedings"))
    debtor.refresh_from_db()
    assert (debtor.do_not_contact, debtor.do_not_contact_reason) == (True, "insolvency proceedings")
