"""``mahnwerk kpi`` reads the company's ledger in its currency; invoices in another currency cannot be added to
those figures, and are not dropped silently: each other currency is named with its own sums."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_kpi_names_the_invoices_in_another_currency_with_their_sums(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    debtor = make_debtor()
    make_invoice(debtor, "RE-1", "1000.00", "2025-07-10", issue="2025-06-10")
    make_invoice(debtor, "US-1", "300.00", "2025-07-05", issue="2025-06-05", currency="USD")
    make_invoice(debtor, "US-2", "200.00", "2025-05-20", issue="2025-04-20", currency="USD")
    make_invoice(debtor, "GB-1", "50.00", "2025-07-01", issue="2025-06-01", currency="GBP")
    args = ("kpi", "--from", "2025-06-01", "--to", "2025-06-30")
    out = io.StringIO()
    call_command(*args, "--json", stdout=out, stderr=io.StringIO())
    report = json.loads(out.getvalue())
    # the figures are the company's currency's alone
    assert report["currency"] == "EUR"
    assert report["credit_sales_minor"] == 100000 and report["receivables_minor"] == 100000
    # the rest named per currency: invoices known at the period's end, sales in the period, open at its end
    assert report["other_currencies"] == {
        "GBP": {"invoices": 1, "credit_sales_minor": 5000, "receivables_minor": 5000},
        "USD": {"invoices": 2, "credit_sales_minor": 30000, "receivables_minor": 50000},
    }
    text, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=text, stderr=err)
    shown = text.getvalue() + err.getvalue()
    assert "not in these figures" in shown
    assert "USD" in shown and "$500.00" in shown and "GBP" in shown and "£50.00" in shown
