"""The clerk keeps the customer's details current on the case file: salutation, law, agreed channels."""

from __future__ import annotations

from collections.abc import Callable
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
