"""The case file's payment form refuses a value date the ledger cannot record, on the field, and books
nothing (the one-time token stays usable)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from mahnwerk.ledger.models import Payment

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def test_a_payment_of_1999_is_refused_on_the_form(
    bob: Client, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    debtor = make_debtor(name="Bäckerei Müller", number="K0001")
    make_invoice(debtor, "R-100", "1000.00", "2026-10-01")
    page = bob.post(f"/debtors/{debtor.pk}/payment", {"amount": "10.00", "value_date": "1999-01-01"})
    assert page.status_code == 422  # the case file again, the form with its error
    text = page.content.decode()
    assert "is before 2002-01-01" in text
    assert not Payment.objects.exists()
    later = bob.post(f"/debtors/{debtor.pk}/payment", {"amount": "10.00", "value_date": "2099-01-01"})
    assert "the money cannot be here yet" in later.content.decode()
    assert not Payment.objects.exists()
    bob.post(f"/debtors/{debtor.pk}/payment", {"amount": "10.00", "value_date": "2026-11-20"})
    assert Payment.objects.count() == 1
