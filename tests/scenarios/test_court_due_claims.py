"""A court is asked only for what is overdue: an invoice not yet due on the day the application is prepared stays
out of the German Mahnantrag, the Latvian warning letter and the European small claims form (§ 271 BGB; the
Latvian warning procedure needs an obligation whose time of performance has come, Civilprocesa likums 400. pants).
"""

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
def test_the_mahnantrag_claims_the_overdue_invoice_and_leaves_out_the_one_not_yet_due(
    company: Any, german: Any, make_invoice: Any
) -> None:
    make_invoice(german, "RE-100", "1234.56", "2025-03-03", issue="2025-02-01")
    make_invoice(german, "RE-101", "500.00", "2025-09-09", issue="2025-08-10")
    make_invoice(german, "RE-102", "300.00", "2025-08-15", issue="2025-07-16")  # due today: not overdue
    data = run_json("court", "mahnantrag", german.number, "--date", "2025-08-15", "--no-record")
    assert [c["invoice"] for c in data["main_claims"]] == ["RE-100"]
    assert {c["invoice"] for c in data["interest_claims"]} == {"RE-100"}
    assert data["claim_value_minor"] == 123456
    # the court fee on 1,234.56 alone: 0.5 of 82.00 = 41.00
    assert data["court_fee_minor"] == 4100
    assert [(n["invoice"], n["open_minor"]) for n in data["not_yet_due"]] == [
        ("RE-102", 30000),
        ("RE-101", 50000),
    ]
    assert any("RE-101 (09.09.2025)" in w for w in data["warnings"])
    assert len(data["invoice_ids"]) == 1


@pytest.mark.django_db
def test_nothing_overdue_is_refused(company: Any, german: Any, make_debtor: Any, make_invoice: Any) -> None:
    latvian = make_debtor(street="Brīvības iela 1", postcode="LV-1010", city="Rīga", country="LV")
    for debtor, action in ((german, "mahnantrag"), (latvian, "lv-bridinajums")):
        make_invoice(debtor, f"RE-{debtor.pk}", "500.00", "2025-09-09", issue="2025-08-10")
        with pytest.raises(CommandError, match="nothing is overdue on 2025-08-15"):
            call_command("court", action, debtor.number, "--date", "2025-08-15", "--no-record")


@pytest.mark.django_db
def test_the_latvian_warning_procedure_is_refused_for_a_debtor_outside_latvia(
    company: Any, german: Any, make_invoice: Any
) -> None:
    make_invoice(german, "RE-100", "500.00", "2025-03-03", issue="2025-02-01")
    with pytest.raises(CommandError, match=r"only for a debtor whose address is in Latvia.*country is DE"):
        call_command("court", "lv-bridinajums", german.number, "--date", "2025-08-15", "--no-record")
    assert not german.timeline.filter(kind__startswith="court").exists()


@pytest.mark.django_db
def test_the_latvian_warning_letter_names_only_overdue_invoices(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    debtor = make_debtor(
        name="Baltijas Koks SIA",
        kind="business",
        country="LV",
        street="Brīvības iela 100",
        postcode="LV-1011",
        city="Rīga",
        time_zone="Europe/Riga",
        jurisdiction="DE",
    )
    make_invoice(debtor, "RE-500", "1234.56", "2025-03-03", issue="2025-02-01")
    make_invoice(debtor, "RE-501", "765.44", "2025-09-30", issue="2025-08-01")
    lv = run_json("court", "lv-bridinajums", debtor.number, "--date", "2025-08-15", "--no-record")
    assert [c["invoice"] for c in lv["application"]["claims"]] == ["RE-500"]
    assert lv["application"]["principal_minor"] == 123456
    assert "RE-501" not in lv["warning_letter"]["text"]
    assert [n["invoice"] for n in lv["not_yet_due"]] == ["RE-501"]
    claim = run_json("court", "small-claims", debtor.number, "--date", "2025-08-15", "--no-record")
    assert [c["invoice"] for c in claim["claims"]] == ["RE-500"]
    assert claim["principal_minor"] == 123456


@pytest.mark.django_db
def test_the_advice_values_only_what_is_overdue(company: Any, german: Any, make_invoice: Any) -> None:
    make_invoice(german, "RE-100", "1234.56", "2025-03-03", issue="2025-02-01")
    make_invoice(german, "RE-101", "500.00", "2025-09-09", issue="2025-08-10")
    data = run_json("escalate", "advise", german.number, "--date", "2025-08-15")
    assert data["claim"]["principal_minor"] == 123456
    assert data["claim"]["invoices"] == ["RE-100"]
    assert data["claim"]["not_yet_due_minor"] == 50000
    assert data["claim"]["not_yet_due_invoices"] == ["RE-101"]
    court = next(o for o in data["options"] if o["option"] == "court_payment_order")
    # the court fee on 1,234.56 (41.00), not on 1,734.56 (51.50)
    assert court["costs_minor"] == 4100


@pytest.mark.django_db
def test_no_advice_while_nothing_is_overdue(company: Any, german: Any, make_invoice: Any) -> None:
    make_invoice(german, "RE-101", "500.00", "2025-09-09", issue="2025-08-10")
    with pytest.raises(CommandError, match="nothing is overdue on 2025-08-15"):
        call_command("escalate", "advise", german.number, "--date", "2025-08-15")


@pytest.mark.django_db
def test_the_mahnantrag_warns_of_interest_it_cannot_compute(
    company: Any, german: Any, make_invoice: Any
) -> None:
    make_invoice(german, "RE-100", "1234.56", "2025-03-03", issue="2025-02-01")
    data = run_json("court", "mahnantrag", german.number, "--date", "2025-08-15", "--no-record")
    assert not any(w.startswith("interest of") for w in data["warnings"])
    # 2100: the base rate table ends long before; the interest is computed up to its last half-year only (and
    # RE-100 is time-barred after 2028-12-31: claimed here only when included explicitly)
    later = run_json(
        "court", "mahnantrag", german.number, "--date", "2100-01-04", "--no-record", "--include-time-barred"
    )
    [warning] = [w for w in later["warnings"] if w.startswith("interest of RE-100: ")]
    assert "mahnwerk rates add de_basiszinssatz" in warning


@pytest.mark.django_db
def test_the_agencys_success_rate_comes_from_the_companys_ended_handovers(
    company: Any, german: Any, make_invoice: Any
) -> None:
    from datetime import date
    from decimal import Decimal

    from mahnwerk.partners.models import Handover, Partner

    make_invoice(german, "RE-100", "1234.56", "2025-03-03", issue="2025-02-01")
    before = run_json("escalate", "advise", german.number, "--date", "2025-08-15")
    agency = next(o for o in before["options"] if o["option"] == "agency")
    assert agency["probability_source"] == "default" and before["history_cases"]["agency"] == 0
    partner = Partner.objects.create(
        company=company, name="Inkasso Nord", kind="agency", fee_percent=Decimal(20)
    )
    for n in range(20):  # 12 brought the total handed over, 8 did not
        Handover.objects.create(
            company=company,
            debtor=german,
            partner=partner,
            handed_over_on=date(2024, 1, 10),
            total_minor=10000,
            currency="EUR",
            status="closed",
            collected_minor=10000 if n < 12 else 2500,
            ended_on=date(2024, 6, 1),
        )
    data = run_json("escalate", "advise", german.number, "--date", "2025-08-15")
    agency = next(o for o in data["options"] if o["option"] == "agency")
    assert data["history_cases"]["agency"] == 20
    assert (agency["probability"], agency["probability_source"]) == (0.6, "history")
    lawyer = next(o for o in data["options"] if o["option"] == "lawyer")
    assert lawyer["probability_source"] == "default"  # no lawyer's handover ended yet
