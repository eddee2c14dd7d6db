"""The escalation advice judges limitation item by item under the debtor's own law, and names what is owed in
another currency instead of leaving it out silently (worked examples: tests/scenarios/test_court_time_barred.py).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from .test_court_time_barred import ON, german_debtor, latvian_business_debtor
from .test_escalation import latvian_consumer, run_json


@pytest.fixture
def german(make_debtor: Any, make_invoice: Any) -> Any:
    return german_debtor(make_debtor, make_invoice)


@pytest.fixture
def latvian_business(make_debtor: Any, make_invoice: Any) -> Any:
    return latvian_business_debtor(make_debtor, make_invoice)


@pytest.mark.django_db
def test_the_advice_judges_limitation_item_by_item(company: Any, german: Any) -> None:
    data = run_json("escalate", "advise", german.number, "--date", ON)
    assert data["claim"]["invoices"] == ["RE-1", "RE-2"]
    items = {i["invoice"]: i for i in data["limitation"]}
    assert (items["RE-1"]["time_barred_after"], items["RE-1"]["time_barred"]) == ("2024-12-31", True)
    assert (items["RE-2"]["time_barred_after"], items["RE-2"]["time_barred"]) == ("2028-12-31", False)
    # the next limitation date is that of the items still enforceable, not the barred one's
    assert data["limitation_date"] == "2028-12-31"
    barred_total = items["RE-1"]["open_minor"]
    running_total = items["RE-2"]["open_minor"]
    assert data["time_barred"] == {"invoices": ["RE-1"], "total_minor": barred_total}
    options = {o["option"]: o for o in data["options"]}
    # the court payment order claims RE-2 only: the fee on 1,234.56 is 41.00 (not 51.50 on 2,234.56)
    court = options["court_payment_order"]
    assert court["costs_minor"] == 4100
    assert court["probability"] == 0.7  # RE-2 is not time-barred: no cut for RE-1, which stays out
    assert any("RE-1" in r and "left out" in r for r in court["reasons"])
    assert any("2028-12-31" in r and "§ 204 BGB" in r for r in court["reasons"])
    # keep chasing: the barred part counts at a tenth, the rest in full (not the whole account at a tenth)
    keep = options["keep_chasing"]
    share = (running_total + 0.1 * barred_total) / (running_total + barred_total)
    assert keep["probability"] == pytest.approx(0.2 * share, abs=1e-4)
    [why] = [r for r in keep["reasons"] if "RE-1" in r]
    assert "§ 214 BGB" in why and "RE-2" not in why

    text = io.StringIO()
    call_command("escalate", "advise", german.number, "--date", ON, stdout=text)
    shown = text.getvalue()
    assert "Time-barred already" in shown and "RE-1 (after 2024-12-31)" in shown
    assert "Next limitation date: 2028-12-31 (RE-2)" in shown


@pytest.mark.django_db
def test_the_advice_for_a_latvian_debtor_cites_latvian_law_not_the_bgb(
    company: Any, make_debtor: Any, make_invoice: Any, latvian_business: Any
) -> None:
    consumer = latvian_consumer(make_debtor, make_invoice)
    data = run_json("escalate", "advise", consumer.number, "--date", "2025-06-02")
    assert data["rules"]["jurisdiction"] == "LV"
    texts = [r for o in data["options"] for r in o["reasons"]]
    assert not any("BGB" in t for t in texts), texts
    order = next(o for o in data["options"] if o["option"] == "lv_payment_order")
    assert any("2035-03-03" in r and "Civillikums § 1895" in r for r in order["reasons"])

    business = run_json("escalate", "advise", latvian_business.number, "--date", ON)
    assert business["rules"]["jurisdiction"] == "LV" and business["rules"]["debtor_kind"] == "business"
    texts = [r for o in business["options"] for r in o["reasons"]]
    assert not any("BGB" in t for t in texts), texts
    order = next(o for o in business["options"] if o["option"] == "lv_payment_order")
    assert any("2028-03-03" in r and "Komerclikums § 406" in r for r in order["reasons"])
    assert any("LV-1" in r and "left out" in r for r in order["reasons"])
    assert business["time_barred"]["invoices"] == ["LV-1"]


@pytest.mark.django_db
def test_the_advice_names_what_is_owed_in_another_currency(
    company: Any, german: Any, make_invoice: Any
) -> None:
    make_invoice(german, "US-1", "300.00", "2025-04-01", issue="2025-03-01", currency="USD")
    make_invoice(german, "US-2", "200.00", "2025-09-30", issue="2025-08-01", currency="USD")  # not yet due
    data = run_json("escalate", "advise", german.number, "--date", ON)
    assert data["currency"] == "EUR" and "US-1" not in data["claim"]["invoices"]
    [other] = data["claim"]["other_currencies"]
    assert other["currency"] == "USD"
    assert other["invoices"] == ["US-1", "US-2"]
    assert other["total_minor"] >= 50000
    text = io.StringIO()
    call_command("escalate", "advise", german.number, "--date", ON, stdout=text)
    assert "Owed in other currencies, not in these figures" in text.getvalue()
    assert "US-1" in text.getvalue()
