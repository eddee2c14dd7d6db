"""The European Small Claims Procedure (Regulation (EC) No 861/2007): claim form A for a German creditor against a
Latvian business, pre-filled from the statement of account, as data and as a PDF; refused where the procedure
does not apply.

The default playbook: reminder at due + 7 (pay within 10 days), firm reminder 14 days later, final notice 14 days
later, by email. The contract is under German law: business interest 9 points above the base rate (2.27 % from
2025-01-01, 1.27 % from 2025-07-01).
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pypdf import PdfReader

from .test_escalation import run_json, walk_the_ladder

D = date.fromisoformat


@pytest.fixture
def latvian_business(make_debtor: Any) -> Any:
    return make_debtor(
        name="Baltijas Koks SIA",
        kind="business",
        country="LV",
        street="Brīvības iela 100",
        postcode="LV-1011",
        city="Rīga",
        vat_id="LV40003012345",
        time_zone="Europe/Riga",
        jurisdiction="DE",
    )


@pytest.mark.django_db
def test_small_claims_form_a_for_a_latvian_business_matches_hand_computed_figures(
    company: Any, latvian_business: Any, make_invoice: Any, tmp_path: Path
) -> None:
    debtor = latvian_business
    make_invoice(debtor, "RE-500", "1234.56", "2025-03-03", issue="2025-02-01")
    make_invoice(debtor, "RE-501", "765.44", "2025-03-03", issue="2025-02-01")
    walk_the_ladder(company, "2025-03-03", 60)
    # The first reminder (email, 2025-03-10) gives 10 days: interest runs from 2025-03-21, 9 points above the
    # base rate:
    #   RE-500: 1,234.56 * 11.27 % * 102 / 365 = 38.881 -> 38.88; 1,234.56 * 10.27 % * 46 / 365 = 15.979 -> 15.98
    #           = 54.86
    #   RE-501:   765.44 * 11.27 % * 102 / 365 = 24.107 -> 24.11;   765.44 * 10.27 % * 46 / 365 =  9.907 ->  9.91
    #           = 34.02
    #   principal 2,000.00; interest 88.88; flat rate 40.00 per invoice (§ 288 (5) BGB) = 80.00;
    #   total 2,000.00 + 88.88 + 80.00 = 2,168.88
    data = run_json("court", "small-claims", debtor.number, "--date", "2025-08-15")
    assert data["form"] == "Regulation (EC) No 861/2007, Annex I, Form A"
    assert data["language"] == "de"
    assert data["court"]["country"] == "LV" and data["court"]["city"] == "Rīga"
    assert data["claimant"]["name"] == "Acme Werkzeug GmbH"
    assert data["claimant"]["city"] == "Berlin" and data["claimant"]["country"] == "DE"
    assert data["defendant"]["name"] == "Baltijas Koks SIA"
    assert data["defendant"]["street"] == "Brīvības iela 100" and data["defendant"]["country"] == "LV"
    assert data["jurisdiction"]["ground"] == "defendant_domicile"
    assert data["cross_border"] == {
        "claimant_country": "DE",
        "defendant_country": "LV",
        "court_country": "LV",
    }
    assert [(c["invoice"], c["invoice_date"], c["principal_minor"]) for c in data["claims"]] == [
        ("RE-500", "2025-02-01", 123456),
        ("RE-501", "2025-02-01", 76544),
    ]
    assert [
        (i["invoice"], i["margin_points"], i["rate_percent"], i["from"], i["accrued_to_date_minor"])
        for i in data["interest"]
    ] == [
        ("RE-500", "9", "10.27", "2025-03-21", 3888 + 1598),
        ("RE-501", "9", "10.27", "2025-03-21", 2411 + 991),
    ]
    assert [(c["invoice"], c["kind"], c["amount_minor"]) for c in data["costs"]] == [
        ("RE-500", "flat_compensation", 4000),
        ("RE-501", "flat_compensation", 4000),
    ]
    assert data["principal_minor"] == 200000
    assert data["interest_minor"] == 8888
    assert data["costs_minor"] == 8000
    assert data["total_minor"] == 216888
    assert data["limit_minor"] == 500000

    shown = io.StringIO()
    call_command("court", "small-claims", debtor.number, "--date", "2025-08-15", stdout=shown)
    assert "total €2,168.88" in shown.getvalue()

    pdf = tmp_path / "form-a.pdf"
    call_command(
        "court",
        "small-claims",
        debtor.number,
        "--date",
        "2025-08-15",
        "--pdf",
        str(pdf),
        stdout=io.StringIO(),
    )
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages).replace("\xa0", " ")
    for expected in (
        "Europäisches Verfahren für geringfügige Forderungen",
        "Verordnung (EG) Nr. 861/2007",
        "1. Gericht",
        "Lettland (LV)",
        "2. Kläger",
        "Acme Werkzeug GmbH",
        "3. Beklagter",
        "Baltijas Koks SIA",
        "Brīvības iela 100, LV-1011 Rīga",
        "Wohnsitz des Beklagten",
        "5. Grenzüberschreitender Bezug",
        "Deutschland (DE)",
        "RE-500",
        "1.234,56 €",
        "765,44 €",
        "21.03.2025",
        "54,86 €",
        "34,02 €",
        "2.000,00 €",
        "88,88 €",
        "80,00 €",
        "2.168,88 €",
    ):
        assert expected in text, expected


@pytest.mark.django_db
def test_a_latvian_creditor_gets_latvian_headings(
    company: Any, make_debtor: Any, make_invoice: Any, tmp_path: Path
) -> None:
    company.country, company.jurisdiction, company.default_language = "LV", "LV", "lv"
    company.save()
    debtor = make_debtor(
        name="Werkstatt Nord GmbH", country="DE", street="Hafenstr. 2", postcode="20457", city="Hamburg"
    )
    make_invoice(debtor, "RE-600", "300.00", "2025-03-03", issue="2025-02-01")
    pdf = tmp_path / "form-a-lv.pdf"
    call_command(
        "court",
        "small-claims",
        debtor.number,
        "--date",
        "2025-03-10",
        "--pdf",
        str(pdf),
        stdout=io.StringIO(),
    )
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages).replace("\xa0", " ")
    assert "Eiropas maza apmēra prasību procedūra" in text
    assert "2. Prasītājs" in text and "3. Atbildētājs" in text
    assert "Vācija (DE)" in text and "Werkstatt Nord GmbH" in text and "RE-600" in text


@pytest.mark.django_db
def test_a_danish_debtor_and_a_claim_over_5000_eur_are_refused(
    company: Any, make_debtor: Any, make_invoice: Any, latvian_business: Any
) -> None:
    danish = make_debtor(
        name="Nordisk Træ ApS", country="DK", street="Vesterbrogade 1", postcode="1620", city="København"
    )
    make_invoice(danish, "RE-700", "900.00", "2025-03-03", issue="2025-02-01")
    with pytest.raises(CommandError, match="other than Denmark; not in: DK"):
        call_command("court", "small-claims", danish.number, "--date", "2025-04-01", stdout=io.StringIO())

    # 4,000.00 + 1,000.01 = 5,000.01 EUR principal: one cent over the limit
    make_invoice(latvian_business, "RE-800", "4000.00", "2025-03-03", issue="2025-02-01")
    make_invoice(latvian_business, "RE-801", "1000.01", "2025-03-03", issue="2025-02-01")
    with pytest.raises(CommandError, match=r"exceeds the limit of €5,000\.00"):
        call_command(
            "court", "small-claims", latvian_business.number, "--date", "2025-04-01", stdout=io.StringIO()
        )

    domestic = make_debtor(name="Inland GmbH", country="DE", street="A 1", postcode="10115", city="Berlin")
    make_invoice(domestic, "RE-900", "100.00", "2025-03-03", issue="2025-02-01")
    with pytest.raises(CommandError, match="cross-border cases only"):
        call_command("court", "small-claims", domestic.number, "--date", "2025-04-01", stdout=io.StringIO())
