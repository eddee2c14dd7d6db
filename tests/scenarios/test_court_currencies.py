"""One court application claims one currency: with items in several, the clerk chooses which with
``--currency`` and the others are named; a German court payment order claims euros only (§ 688 (1) ZPO)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from .test_escalation import run_json


@pytest.fixture
def german(make_debtor: Any) -> Any:
    return make_debtor(street="Lindenweg 5", postcode="20095", city="Hamburg", country="DE")


@pytest.mark.django_db
def test_an_application_claims_the_currency_chosen_and_names_the_others(
    company: Any, german: Any, make_invoice: Any
) -> None:
    make_invoice(german, "RE-EUR", "1234.56", "2025-03-03", issue="2025-02-01")
    make_invoice(german, "RE-USD", "800.00", "2025-03-10", issue="2025-02-08", currency="USD")
    with pytest.raises(CommandError, match=r"several currencies \(EUR, USD\).*--currency"):
        call_command("court", "mahnantrag", german.number, "--date", "2025-08-15", "--no-record")

    data = run_json(
        "court", "mahnantrag", german.number, "--date", "2025-08-15", "--no-record", "--currency", "eur"
    )
    assert [c["invoice"] for c in data["main_claims"]] == ["RE-EUR"]
    assert data["claim_value_minor"] == 123456
    assert any("USD" in w and "not part of this application" in w for w in data["warnings"])

    with pytest.raises(
        CommandError, match=r"in USD: a German court payment order can only claim a sum in euros"
    ):
        call_command(
            "court", "mahnantrag", german.number, "--date", "2025-08-15", "--no-record", "--currency", "USD"
        )
    with pytest.raises(CommandError, match=r"owes nothing in GBP on 2025-08-15 \(open: EUR, USD\)"):
        call_command(
            "court", "mahnantrag", german.number, "--date", "2025-08-15", "--no-record", "--currency", "GBP"
        )


@pytest.mark.django_db
def test_one_currency_needs_no_choice(company: Any, german: Any, make_invoice: Any) -> None:
    make_invoice(german, "RE-1", "100.00", "2025-03-03", issue="2025-02-01")
    data = run_json("court", "mahnantrag", german.number, "--date", "2025-08-15", "--no-record")
    assert [c["invoice"] for c in data["main_claims"]] == ["RE-1"]
    assert not any("not part of this application" in w for w in data["warnings"])
