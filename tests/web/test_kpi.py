"""The key-figure page: figures for a chosen month, as text and as bars; any member may read it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


@pytest.fixture
def ledger(company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> Any:
    from mahnwerk.ledger.services import Receipt, record_payment

    debtor = make_debtor(name="Bäckerei Müller", number="K0001")
    make_invoice(debtor, "A-1", "3000.00", "2026-12-02", issue="2026-11-02")
    b = make_invoice(debtor, "B-1", "1000.00", "2026-11-10", issue="2026-11-05")
    record_payment(
        company,
        Receipt(
            debtor_id=debtor.pk,
            amount_minor=40_000,
            currency="EUR",
            value_date=date(2026, 11, 15),
            reference="B-1",
            payer=debtor.name,
            invoice_id=b.pk,
        ),
    )
    return debtor


def test_kpi_page_for_the_current_month(carol: Client, ledger: Any) -> None:
    response = carol.get("/kpi/")
    assert response.status_code == 200
    report = response.context["report"]
    # November up to today: 2026-11-01 .. 2026-11-20 = 20 days; sales 3000 + 1000 = 4000; open at the end
    # 3000 (not yet due) + 600 (B-1, 10 days overdue) = 3600
    assert (report.period.start, report.period.end) == (date(2026, 11, 1), date(2026, 11, 20))
    assert report.dso == pytest.approx(3600 / 4000 * 20)  # 18.0 days
    assert report.best_possible_dso == pytest.approx(3000 / 4000 * 20)  # 15.0 days
    assert report.average_days_delinquent == pytest.approx(3.0)
    # CEI = (0 + 4000 - 3600) / (0 + 4000 - 3000) = 40 %
    assert report.cei == pytest.approx(40.0)
    page = response.content.decode()
    for text in ("18.0", "15.0", "3.0", "40.0 %", 'data-kpi="cei"', "<svg"):
        assert text in page
    # aging bars: 3000.00 not yet due, 600.00 in 1–30 days, as text next to the bar
    amounts = [b["amount"] for b in response.context["aging"]]
    assert amounts[:2] == ["€3,000.00", "€600.00"]
    assert response.context["aging"][0]["percent"] == 100 and response.context["aging"][1]["percent"] == 20
    # without the day's stored predictions the forecast (a model trained now) follows the page
    assert response.context["forecast_pending"] and 'hx-get="?month=2026-11&amp;part=forecast"' in page
    forecast = carol.get("/kpi/?month=2026-11&part=forecast", headers={"HX-Request": "true"})
    assert forecast.status_code == 200 and 'id="forecast"' in forecast.content.decode()
    assert len(forecast.context["weeks"]) == 13
    assert "<h1>" not in forecast.content.decode()  # the section only
    # computed once for this ledger version, the forecast comes with the page from then on
    again = carol.get("/kpi/")
    assert not again.context["forecast_pending"] and len(again.context["weeks"]) == 13


def test_kpi_page_for_a_chosen_month_and_bad_input(alice: Client, ledger: Any) -> None:
    report = alice.get("/kpi/?month=2026-10").context["report"]
    assert (report.period.start, report.period.end) == (date(2026, 10, 1), date(2026, 10, 31))
    assert report.dso is None  # no sales in October
    assert alice.get("/kpi/?month=nonsense").context["report"].period.start == date(2026, 11, 1)
    assert alice.get("/kpi/?month=2027-05").context["report"].period.start == date(2026, 11, 1)


def test_kpi_page_needs_a_member(client: Client, dave: Client, ledger: Any) -> None:
    assert client.get("/kpi/").status_code == 302
    # Baltic's member sees Baltic's (empty) figures, never Acme's
    report = dave.get("/kpi/").context["report"]
    assert report.credit_sales_minor == 0 and report.receivables_minor == 0


def test_invoices_in_another_currency_are_named_not_added_up(
    carol: Client, ledger: Any, make_invoice: Callable[..., Any]
) -> None:
    make_invoice(ledger, "USD-1", "500.00", "2026-11-12", issue="2026-11-06", currency="USD")
    response = carol.get("/kpi/?month=2026-11")
    assert response.status_code == 200
    # the euro figures stay those of the euro invoices: 3600 open at the end, not 4100
    assert response.context["receivables"] == "€3,600.00"
    assert response.context["others"] == [("USD", 1, "US$500.00", "US$500.00")]
    page = response.content.decode()
    assert 'data-testid="kpi-other-currencies"' in page and "US$500.00" in page
    assert "Invoices in other currencies, not in these figures (they are in EUR)" in page
