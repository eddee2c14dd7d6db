"""A court is asked only for what is still enforceable: an invoice whose limitation period has ended stays out of
the German Mahnantrag, the Latvian warning procedure and the European small claims form unless it is included
explicitly, and the application names it either way (the debtor can raise the defence of limitation; the costs of
that part then fall on the applicant).

Worked examples, by hand from the rules (design/legal.md):

* Germany (§§ 195, 199 BGB): 3 years from the end of the year the claim arose. RE-1, due 2021-06-15, arose in
  2021: enforceable until 2024-12-31, time-barred on 2025-08-15. RE-2, due 2025-03-03: until 2028-12-31.
* Latvia, commercial transactions (Komerclikums § 406): 3 years from the due date. LV-1, due 2022-03-01:
  until 2025-03-01, time-barred on 2025-08-15. LV-2, due 2025-03-03: until 2028-03-03.
* Latvia, in general (Civillikums § 1895): 10 years from the due date. A consumer's invoice due 2025-03-03:
  until 2035-03-03.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pypdf import PdfReader

from mahnwerk.ledger.models import Invoice

from .test_escalation import D, latvian_consumer, run_json

ON = "2025-08-15"


def german_debtor(make_debtor: Any, make_invoice: Any) -> Any:
    """A German business: RE-1 time-barred after 2024-12-31, RE-2 enforceable until 2028-12-31."""
    debtor = make_debtor(street="Lindenweg 5", postcode="20095", city="Hamburg", country="DE")
    make_invoice(debtor, "RE-1", "1000.00", "2021-06-15", issue="2021-05-15")
    make_invoice(debtor, "RE-2", "1234.56", "2025-03-03", issue="2025-02-01")
    return debtor


def latvian_business_debtor(make_debtor: Any, make_invoice: Any) -> Any:
    """A Latvian business under Latvian law: LV-1 time-barred after 2025-03-01, LV-2 enforceable until
    2028-03-03."""
    debtor = make_debtor(
        name="Baltijas Koks SIA",
        kind="business",
        country="LV",
        street="Brīvības iela 100",
        postcode="LV-1011",
        city="Rīga",
        time_zone="Europe/Riga",
        jurisdiction="LV",
    )
    make_invoice(debtor, "LV-1", "700.00", "2022-03-01", issue="2022-02-01")
    make_invoice(debtor, "LV-2", "1234.56", "2025-03-03", issue="2025-02-01")
    return debtor


@pytest.fixture
def german(make_debtor: Any, make_invoice: Any) -> Any:
    return german_debtor(make_debtor, make_invoice)


@pytest.fixture
def latvian_business(make_debtor: Any, make_invoice: Any) -> Any:
    return latvian_business_debtor(make_debtor, make_invoice)


@pytest.mark.django_db
def test_the_limitation_dates_of_the_worked_examples(
    company: Any, german: Any, latvian_business: Any, make_debtor: Any, make_invoice: Any
) -> None:
    consumer = latvian_consumer(make_debtor, make_invoice)
    got = dict(Invoice.objects.values_list("number", "time_barred_on"))
    assert got["RE-1"] == D("2024-12-31") and got["RE-2"] == D("2028-12-31")
    assert got["LV-1"] == D("2025-03-01") and got["LV-2"] == D("2028-03-03")
    assert got["RE-200"] == D("2035-03-03")
    assert consumer.jurisdiction == "LV"


@pytest.mark.django_db
def test_the_mahnantrag_leaves_a_time_barred_invoice_out_and_names_it(
    company: Any, german: Any, tmp_path: Path
) -> None:
    data = run_json("court", "mahnantrag", german.number, "--date", ON, "--no-record")
    assert [c["invoice"] for c in data["main_claims"]] == ["RE-2"]
    assert {c["invoice"] for c in data["interest_claims"]} <= {"RE-2"}
    assert {c["invoice"] for c in data["costs"]} <= {"RE-2"}
    # the court fee on 1,234.56 alone: 0.5 of 82.00 = 41.00
    assert (data["claim_value_minor"], data["court_fee_minor"]) == (123456, 4100)
    [barred] = data["time_barred"]
    assert (barred["invoice"], barred["time_barred_after"], barred["included"]) == (
        "RE-1",
        "2024-12-31",
        False,
    )
    assert barred["open_minor"] >= 100000
    [note] = [w for w in data["warnings"] if "RE-1" in w]
    assert "RE-1 (31.12.2024)" in note and "left out" in note
    assert len(data["invoice_ids"]) == 1

    shown = io.StringIO()
    call_command("court", "mahnantrag", german.number, "--date", ON, "--no-record", stdout=shown)
    assert "RE-1 (31.12.2024)" in shown.getvalue()
    pdf = tmp_path / "mahnantrag.pdf"
    call_command(
        "court",
        "mahnantrag",
        german.number,
        "--date",
        ON,
        "--no-record",
        "--pdf",
        str(pdf),
        stdout=io.StringIO(),
    )
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Rechnung RE-2" in text and "Rechnung RE-1" not in text
    assert "RE-1 (31.12.2024)" in text  # the note naming what was left out


@pytest.mark.django_db
def test_a_time_barred_invoice_is_claimed_only_when_included_explicitly_and_then_with_a_warning(
    company: Any, german: Any
) -> None:
    data = run_json(
        "court", "mahnantrag", german.number, "--date", ON, "--no-record", "--include-time-barred"
    )
    assert [c["invoice"] for c in data["main_claims"]] == ["RE-1", "RE-2"]
    # 2,234.56: GKG 40.00 up to 500, + 3 * 21.00 up to 2,000, + 22.50 for the started 1,000 above = 125.50;
    # 0.5 of it = 62.75
    assert (data["claim_value_minor"], data["court_fee_minor"]) == (223456, 6275)
    [barred] = data["time_barred"]
    assert (barred["invoice"], barred["included"]) == ("RE-1", True)
    [note] = [w for w in data["warnings"] if "RE-1" in w]
    assert "RE-1 (31.12.2024)" in note and "claimed anyway" in note
    assert len(data["invoice_ids"]) == 2


@pytest.mark.django_db
def test_only_time_barred_invoices_overdue_is_refused_unless_included(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    debtor = make_debtor(street="Lindenweg 5", postcode="20095", city="Hamburg", country="DE")
    make_invoice(debtor, "RE-1", "1000.00", "2021-06-15", issue="2021-05-15")
    with pytest.raises(CommandError, match=r"time-barred.*RE-1 \(31.12.2024\)"):
        call_command("court", "mahnantrag", debtor.number, "--date", ON, "--no-record")
    data = run_json(
        "court", "mahnantrag", debtor.number, "--date", ON, "--no-record", "--include-time-barred"
    )
    assert [c["invoice"] for c in data["main_claims"]] == ["RE-1"]


@pytest.mark.django_db
def test_the_latvian_warning_procedure_and_small_claims_leave_time_barred_invoices_out(
    company: Any, latvian_business: Any
) -> None:
    lv = run_json("court", "lv-bridinajums", latvian_business.number, "--date", ON, "--no-record")
    assert [c["invoice"] for c in lv["application"]["claims"]] == ["LV-2"]
    assert lv["application"]["principal_minor"] == 123456
    assert "rēķiniem LV-2 kopsummā" in lv["warning_letter"]["text"]  # LV-1 is not named
    assert [(b["invoice"], b["time_barred_after"]) for b in lv["time_barred"]] == [("LV-1", "2025-03-01")]
    assert any("LV-1 (01.03.2025)" in w for w in lv["warnings"])
    claim = run_json("court", "small-claims", latvian_business.number, "--date", ON, "--no-record")
    assert [c["invoice"] for c in claim["claims"]] == ["LV-2"]
    assert [b["invoice"] for b in claim["time_barred"]] == ["LV-1"]
    both = run_json(
        "court", "small-claims", latvian_business.number, "--date", ON, "--no-record", "--include-time-barred"
    )
    assert [c["invoice"] for c in both["claims"]] == ["LV-1", "LV-2"]
