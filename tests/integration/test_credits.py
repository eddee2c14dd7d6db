"""Money on account is used: an overpayment or a credit note pays the debtor's next invoices."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from mahnwerk.collection.services import run_collection
from mahnwerk.ledger.claims import statement
from mahnwerk.ledger.models import Invoice, Payment
from mahnwerk.ledger.services import record_credit_note

D = date.fromisoformat


@pytest.mark.django_db
def test_an_overpayment_pays_the_next_invoices_and_no_reminder_asks_for_it(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    debtor = make_debtor(name="Zuviel GmbH")
    make_invoice(debtor, "RE-1", "100.00", "2025-02-01", issue="2025-01-02")
    pay(debtor, "500.00", "2025-01-20", reference="RE-1")
    assert Payment.objects.get().unallocated_minor == 400_00
    assert statement(company, debtor.pk, "business", D("2025-01-21"))["credits"] == {"EUR": 400_00}

    # two new invoices: 300.00 is paid from the 400.00 on account, the oldest first; 250.00 gets the 100.00 left
    first = make_invoice(debtor, "RE-2", "300.00", "2025-03-01", issue="2025-02-01")
    second = make_invoice(debtor, "RE-3", "250.00", "2025-03-05", issue="2025-02-05")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.open_minor, second.open_minor) == (0, 250_00 - 100_00)
    assert Payment.objects.get().unallocated_minor == 0
    assert debtor.timeline.filter(kind="credit_applied").count() == 2

    # the run asks only for what is really open: 150.00 on RE-3
    run_collection(company, D("2025-03-12"))
    action = debtor.actions.get()
    assert [(i.invoice.number, i.open_minor) for i in action.items.all()] == [("RE-3", 150_00)]


@pytest.mark.django_db
def test_an_unused_credit_note_pays_a_later_invoice(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    debtor = make_debtor(name="Gutschrift GmbH")
    record_credit_note(
        company, debtor=debtor, number="GS-1", issue_date=D("2025-01-10"), amount_minor=80_00, currency="EUR"
    )
    invoice = make_invoice(debtor, "RE-9", "200.00", "2025-02-10", issue="2025-01-15")
    invoice.refresh_from_db()
    assert invoice.open_minor == 120_00
    assert statement(company, debtor.pk, "business", D("2025-01-20"))["credits"] == {}
    assert Invoice.objects.get(number="RE-9").allocations.get().credit_note is not None
