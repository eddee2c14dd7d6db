"""Escalation at the end of the ladder, the court data and the evidence bundle, with hand-computed figures.

The default playbook: reminder at due + 7 (pay within 10 days), firm reminder 14 days later (10 days), final
notice 14 days later (7 days), by email. German base rate 2.27 % from 2025-01-01, 1.27 % from 2025-07-01:
business debtors 11.27 % / 10.27 %.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from pypdf import PdfReader

from mahnwerk.collection.models import Action, Step
from mahnwerk.collection.services import run_collection
from mahnwerk.core.money import format_money
from mahnwerk.ledger.claims import statement
from mahnwerk.ledger.models import TimelineEvent

D = date.fromisoformat


def walk_the_ladder(company: Any, start: str, days: int) -> None:
    day = D(start)
    for _ in range(days):
        run_collection(company, day, approved=True)
        day += timedelta(days=1)


def latvian_consumer(make_debtor: Any, make_invoice: Any) -> Any:
    """A consumer in Riga under Latvian law with one invoice of 800.00 due 2025-03-03."""
    debtor = make_debtor(
        name="Jānis Bērziņš",
        language="lv",
        kind="consumer",
        country="LV",
        street="Brīvības iela 1",
        postcode="LV-1010",
        city="Rīga",
        time_zone="Europe/Riga",
        jurisdiction="LV",
    )
    make_invoice(debtor, "RE-200", "800.00", "2025-03-03", issue="2025-02-01")
    return debtor


def run_json(*args: str) -> Any:
    out = io.StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_an_account_at_the_end_of_the_playbook_gets_advice_and_the_decision_goes_on_the_timeline(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    debtor = make_debtor(street="Lindenweg 5", postcode="20095", city="Hamburg", country="DE")
    make_invoice(debtor, "RE-100", "1234.56", "2025-03-03", issue="2025-02-01")
    walk_the_ladder(company, "2025-03-03", 60)  # reminders on 03-10, 03-24, final notice 04-07
    # the account reached the last step of its playbook (the final notice)
    last = (
        Step.objects.filter(playbook__company=company, playbook__is_default=True).order_by("-level").first()
    )
    assert last is not None
    assert max(Action.objects.filter(debtor=debtor).values_list("level", flat=True)) == last.level
    data = run_json("escalate", "advise", debtor.number, "--date", "2025-06-02")
    options = {o["option"]: o for o in data["options"]}
    assert set(options) == {
        "keep_chasing",
        "settlement",
        "agency",
        "court_payment_order",
        "lv_payment_order",
        "european_small_claims",
        "lawyer",
        "write_off",
    }
    # the court fee on 1,234.56: GKG up to 1,500 = 40 + 2 * 21 = 82.00, half = 41.00 (KV 1100, minimum 38.00)
    assert options["court_payment_order"]["costs_minor"] == 4100
    assert options["court_payment_order"]["recoverable_costs_minor"] == 4100
    assert not options["lv_payment_order"]["available"]
    assert not options["european_small_claims"]["available"]  # not cross-border
    assert data["recommended"] == "court_payment_order"
    text = io.StringIO()
    call_command("escalate", "advise", debtor.number, "--date", "2025-06-02", stdout=text)
    assert "Recommended: Court payment order (Mahnbescheid)" in text.getvalue()
    assert "court fee €41.00 (0.5 fee on €1,234.56, KV GKG 1100)" in text.getvalue()
    for o in data["options"]:
        assert set(o) >= {
            "option",
            "expected_net_minor",
            "costs_minor",
            "recoverable_costs_minor",
            "days",
            "reasons",
        }
    call_command(
        "escalate",
        "decide",
        debtor.number,
        "court_payment_order",
        "--date",
        "2025-06-02",
        "--note",
        "ok",
        stdout=io.StringIO(),
    )
    events = list(TimelineEvent.objects.filter(debtor=debtor, kind__startswith="escalation_").order_by("id"))
    assert [e.kind for e in events] == ["escalation_advised", "escalation_decided"]
    assert events[1].data["option"] == "court_payment_order"
    assert events[1].note == "ok"


@pytest.mark.django_db
def test_mahnantrag_of_a_worked_example_matches_hand_computed_interest_and_costs(
    company: Any, make_debtor: Any, make_invoice: Any, tmp_path: Path
) -> None:
    debtor = make_debtor(street="Lindenweg 5", postcode="20095", city="Hamburg", country="DE")
    make_invoice(debtor, "RE-100", "1234.56", "2025-03-03", issue="2025-02-01")
    walk_the_ladder(company, "2025-03-03", 60)
    # The first reminder (email, 2025-03-10) sets a deadline of 10 days: default begins after 2025-03-20, interest
    # runs from 2025-03-21 at 9 points above the base rate:
    #   2025-03-21..2025-06-30: 102 days at 2.27 + 9 = 11.27 %: 1,234.56 * 0.1127 * 102 / 365 = 38.881 -> 38.88
    #   2025-07-01..2025-08-15:  46 days at 1.27 + 9 = 10.27 %: 1,234.56 * 0.1027 *  46 / 365 = 15.979 -> 15.98
    #   interest 54.86; flat rate 40.00 (§ 288 (5) BGB); total 1,234.56 + 54.86 + 40.00 = 1,329.42
    st = statement(company, debtor.pk, "business", D("2025-08-15"))
    assert st["totals"]["EUR"]["interest_open_minor"] == 5486
    data = run_json("court", "mahnantrag", debtor.number, "--date", "2025-08-15")
    assert data["applicant"]["name"] == "Acme Werkzeug GmbH"
    assert data["applicant"]["legal_form"] == "GmbH"
    assert data["applicant"]["register_number"] == "HRB 204711 B"
    assert data["applicant"]["legal_representatives"] == ["Anna Acker"]
    assert data["respondent"]["city"] == "Hamburg"
    assert [(c["invoice"], c["invoice_date"], c["open_minor"]) for c in data["main_claims"]] == [
        ("RE-100", "2025-02-01", 123456)
    ]
    [interest] = data["interest_claims"]
    assert interest["kind"] == "running"
    assert interest["basis"] == "9 Prozentpunkte über dem Basiszinssatz"
    assert interest["from"] == "2025-03-21"
    assert interest["principal_minor"] == 123456
    assert interest["accrued_to_date_minor"] == 3888 + 1598
    assert [(c["kind"], c["amount_minor"]) for c in data["costs"]] == [("flat_compensation", 4000)]
    assert data["counter_performance"]["depends"] is False
    assert "§ 690 Abs. 1 Nr. 4 ZPO" in data["counter_performance"]["text"]
    # court fee on the main claim 1,234.56: GKG 1.0 fee up to 1,500 = 40 + 2 * 21 = 82.00; 0.5 = 41.00
    assert data["claim_value_minor"] == 123456
    assert data["court_fee_minor"] == 4100
    assert data["total_as_of_minor"] == 132942
    # service expected 7 days after 2025-08-15: 2025-08-22; objection until 2025-09-05; enforcement by 2026-02-22,
    # a Sunday: Monday 2026-02-23 (§ 222 (2) ZPO)
    assert [(t["kind"], t["due"]) for t in data["deadlines"]] == [
        ("objection_period_ends", "2025-09-05"),
        ("apply_enforcement_order", "2026-02-23"),
    ]
    [prepared] = TimelineEvent.objects.filter(debtor=debtor, kind="court_order_prepared")
    assert prepared.data["objection_until"] == "2025-09-05"
    assert prepared.data["enforcement_order_by"] == "2026-02-23"

    shown = io.StringIO()
    call_command("court", "mahnantrag", debtor.number, "--date", "2025-08-15", stdout=shown)
    assert "Court fee: €41.00" in shown.getvalue()
    assert "9 Prozentpunkte über dem Basiszinssatz" in shown.getvalue()
    pdf = tmp_path / "mahnantrag.pdf"
    call_command(
        "court", "mahnantrag", debtor.number, "--date", "2025-08-15", "--pdf", str(pdf), stdout=io.StringIO()
    )
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    for expected in (
        "Acme Werkzeug GmbH",
        "Rechnung RE-100 vom 01.02.2025",
        "1.234,56",
        "9 Prozentpunkte über dem Basiszinssatz",
        "21.03.2025",
        "Verzugspauschale nach § 288 Abs. 5 BGB",
        "40,00",
        "Gegenleistung",
        "41,00",
        "05.09.2025",
    ):
        assert expected in text, expected
    # prepared twice on one day: one timeline entry
    assert TimelineEvent.objects.filter(debtor=debtor, kind="court_order_prepared").count() == 1


@pytest.mark.django_db
def test_a_latvian_consumer_shows_capped_costs_and_gets_the_latvian_procedure(
    company: Any, make_debtor: Any, make_invoice: Any, tmp_path: Path
) -> None:
    debtor = latvian_consumer(make_debtor, make_invoice)
    walk_the_ladder(company, "2025-03-03", 75)
    data = run_json("escalate", "advise", debtor.number, "--date", "2025-06-02")
    assert data["rules"]["jurisdiction"] == "LV" and data["rules"]["debtor_kind"] == "consumer"
    options = {o["option"]: o for o in data["options"]}
    # Cabinet Regulation 61/2013: recovery costs at most 17.00 EUR per debt; the reminders used up some of it
    charged = sum(
        c["amount_minor"]
        for line in statement(company, debtor.pk, "consumer", D("2025-06-02"))["lines"]
        for c in line["charges"]
        if c["kind"] == "reminder_fee"
    )
    cap_left = 1700 - charged
    assert 0 <= cap_left <= 1700
    for name in ("agency", "lawyer"):
        o = options[name]
        assert o["costs_minor"] > cap_left
        assert o["recoverable_costs_minor"] == cap_left
        assert any("capped" in r for r in o["reasons"])
    assert not options["court_payment_order"]["available"]  # a German payment order does not fit
    assert options["lv_payment_order"]["available"]
    # state fee 2 % of the principal 800.00 = 16.00 (an unconfirmed assumption, said so)
    assert options["lv_payment_order"]["costs_minor"] == 1600
    assert options["european_small_claims"]["available"]  # DE creditor, LV debtor, 800 <= 5,000

    lv = run_json("court", "lv-bridinajums", debtor.number, "--date", "2025-06-02")
    assert lv["application"]["principal_minor"] == 80000
    assert lv["application"]["state_fee_minor"] == 1600
    letter = lv["warning_letter"]["text"]
    assert "BRĪDINĀJUMS" in letter and "RE-200" in letter and "brīdinājuma kārtībā" in letter
    assert lv["warning_letter"]["pay_by"] == "2025-06-12"
    pdf = tmp_path / "lv.pdf"
    call_command(
        "court",
        "lv-bridinajums",
        debtor.number,
        "--date",
        "2025-06-02",
        "--pdf",
        str(pdf),
        stdout=io.StringIO(),
    )
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "BRĪDINĀJUMS" in text and "Jānis Bērziņš" in text
    assert TimelineEvent.objects.filter(debtor=debtor, kind="lv_warning_written").count() == 1


@pytest.mark.django_db
def test_the_evidence_bundle_holds_invoices_reminders_agreements_and_the_interest_calculation(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path, tmp_path: Path
) -> None:
    from django.core.files.base import ContentFile

    from mahnwerk.collection import agreements

    debtor = make_debtor(street="Lindenweg 5", postcode="20095", city="Hamburg", country="DE")
    invoice = make_invoice(debtor, "RE-300", "500.00", "2025-03-03", issue="2025-02-01")
    invoice.document.save("RE-300.pdf", ContentFile(b"%PDF-1.4 invoice copy"), save=True)
    walk_the_ladder(company, "2025-03-03", 10)  # first reminder on 03-10
    agreements.record_promise(company, debtor, [invoice], D("2025-03-20"), as_of=D("2025-03-12"))
    walk_the_ladder(company, "2025-03-13", 50)  # nothing paid: the promise is broken, the ladder goes on
    out = tmp_path / "bundle.zip"
    call_command(
        "court", "evidence", debtor.number, "--date", "2025-05-01", "--out", str(out), stdout=io.StringIO()
    )
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert {"manifest.json", "agreements.json", "interest.json", "interest.pdf", "timeline.json"} <= names
        assert zf.read("invoices/RE-300.pdf") == b"%PDF-1.4 invoice copy"
        manifest = json.loads(zf.read("manifest.json"))
        sent = manifest["messages"]
        assert len(sent) >= 3  # reminder, firm reminder, final notice (and the promise's messages)
        assert all(m["date"] and m["channel"] for m in sent)
        emails = [m for m in sent if m["channel"] == "email"]
        assert emails and all(m["file"] in names for m in sent)
        assert any(m["file"].endswith(".eml") for m in emails)
        eml = zf.read(next(m["file"] for m in emails if m["file"].endswith(".eml"))).decode(
            "utf-8", "replace"
        )
        assert "RE-300" in eml
        agreed = json.loads(zf.read("agreements.json"))
        assert [p["status"] for p in agreed["promises"]] == ["broken"]
        assert any(b["kind"] == "promise_broken" for b in agreed["breaches"])
        interest = json.loads(zf.read("interest.json"))
        [line] = interest["lines"]
        assert line["number"] == "RE-300" and line["segments"]
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(zf.read("interest.pdf"))).pages)
        assert "RE-300" in text
        assert "{" not in text
    assert TimelineEvent.objects.filter(debtor=debtor, kind="evidence_bundle_built").exists()


@pytest.mark.django_db
def test_letters_go_into_the_evidence_bundle_as_the_pdf_that_was_sent(
    company: Any, make_debtor: Any, make_invoice: Any, tmp_path: Path
) -> None:
    from mahnwerk.comms import sent_pdfs
    from mahnwerk.comms.letters_batch import print_letters
    from mahnwerk.comms.models import OutboundMessage

    debtor = make_debtor(
        email=None,
        street="Lindenweg 5",
        postcode="20095",
        city="Hamburg",
        country="DE",
        preferred_channel="letter",
    )
    make_invoice(debtor, "RE-400", "300.00", "2025-03-03", issue="2025-02-01")
    day = D("2025-03-03")
    for _ in range(45):
        run_collection(company, day, approved=True)
        print_letters(company, day)
        day += timedelta(days=1)
    letters = list(OutboundMessage.objects.filter(debtor=debtor, channel="letter", status="sent"))
    assert letters
    out = tmp_path / "bundle.zip"
    call_command(
        "court", "evidence", debtor.number, "--date", "2025-05-01", "--out", str(out), stdout=io.StringIO()
    )
    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["missing"] == ["invoice copy RE-400"]
        files = {m["file"]: m for m in manifest["messages"]}
        for letter in letters:
            [name] = [f for f, m in files.items() if f.endswith(f"_{letter.pk}_letter.pdf")]
            assert zf.read(name) == sent_pdfs.kept(letter)
            assert letter.business_date is not None
            assert files[name]["date"] == letter.business_date.isoformat()


@pytest.mark.django_db
def test_the_companys_own_history_replaces_the_stated_default(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    debtor = make_debtor()
    invoices = [make_invoice(debtor, f"H-{n}", "100.00", "2024-01-10", issue="2023-12-11") for n in range(20)]
    for inv in invoices[:10]:  # paid 112 days late: cases that were still open at the end of the ladder
        pay(debtor, "100.00", "2024-05-01", invoice=inv)
    data = run_json("escalate", "advise", debtor.number, "--date", "2025-06-02")
    keep = next(o for o in data["options"] if o["option"] == "keep_chasing")
    # 20 invoices still open 60 days after their due date, 10 of them paid later: 50 %
    assert data["history_cases"]["keep_chasing"] == 20
    assert (keep["probability"], keep["probability_source"]) == (0.5, "history")
    assert any("own history" in r for r in keep["reasons"])
    settlement = next(o for o in data["options"] if o["option"] == "settlement")
    assert settlement["probability_source"] == "default"  # no settlement offers ended yet


def test_every_reason_and_option_of_the_core_has_a_text() -> None:
    import re

    import mahnwerk.core.escalation as core
    from mahnwerk.core.escalation import Option
    from mahnwerk.escalation.texts import OPTION_LABELS, REASON_TEXTS, render_reason

    codes = set(re.findall(r'Reason\(\s*"(\w+)"', Path(core.__file__).read_text(encoding="utf-8")))
    assert codes and codes <= set(REASON_TEXTS)
    assert {str(o) for o in Option} == set(OPTION_LABELS)
    text = render_reason(core.Reason("gkg_fee", {"fee_minor": 4100, "value_minor": 123456}))
    assert text == "court fee €41.00 (0.5 fee on €1,234.56, KV GKG 1100)"


@pytest.mark.django_db
def test_after_a_part_payment_the_mahnantrag_claims_interest_on_what_is_still_open(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    debtor = make_debtor(street="Lindenweg 5", postcode="20095", city="Hamburg", country="DE")
    make_invoice(debtor, "RE-500", "1234.56", "2025-03-03", issue="2025-02-01")
    walk_the_ladder(company, "2025-03-03", 40)  # default from 2025-03-21, the flat rate booked
    pay(debtor, "500.00", "2025-05-15")
    # § 367 (1) BGB: costs, interest, principal. Interest 2025-03-21..2025-05-15, 56 days at 11.27 %:
    # 1,234.56 * 0.1127 * 56 / 365 = 21.347 -> 21.35; 500.00 - 40.00 - 21.35 = 438.65 principal; 795.91 open
    data = run_json("court", "mahnantrag", debtor.number, "--date", "2025-08-15", "--no-record")
    assert [c["open_minor"] for c in data["main_claims"]] == [79591]
    [interest] = data["interest_claims"]  # the interest of the past is paid: only running interest is left
    assert (interest["kind"], interest["from"], interest["principal_minor"]) == (
        "running",
        "2025-05-16",
        79591,
    )
    assert data["costs"] == []  # the flat rate was paid
    # the claim value is the principal open: 795.91 -> GKG up to 1,000 = 61.00, half 30.50 -> minimum 38.00
    assert data["court_fee_minor"] == 3800
    assert not TimelineEvent.objects.filter(debtor=debtor, kind="court_order_prepared").exists()


@pytest.mark.django_db
def test_the_agencys_fee_comes_from_its_partner_record(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    from mahnwerk.partners.models import Partner

    debtor = make_debtor(street="Lindenweg 5", postcode="20095", city="Hamburg", country="DE")
    make_invoice(debtor, "RE-100", "1234.56", "2025-03-03", issue="2025-02-01")
    walk_the_ladder(company, "2025-03-03", 60)
    default = {
        o["option"]: o
        for o in run_json("escalate", "advise", debtor.number, "--date", "2025-06-02")["options"]
    }
    Partner.objects.create(company=company, name="Inkasso Nord", kind="agency", fee_percent=Decimal("10"))
    Partner.objects.create(company=company, name="Kanzlei Süd", kind="lawyer", fee_percent=Decimal("2"))
    data = run_json("escalate", "advise", debtor.number, "--date", "2025-06-02")
    agency = {o["option"]: o for o in data["options"]}["agency"]
    # 10 % of the claim (as in the worked example of the core's tests), half up to the cent — not the stated
    # default share; the lawyer's 2 % is no agency fee
    total = data["claim"]["total_minor"]
    assert agency["costs_minor"] == (total * 10 + 50) // 100 != default["agency"]["costs_minor"]
    # an agency no longer active is left out: the stated default applies again
    Partner.objects.filter(name="Inkasso Nord").update(active=False)
    again = run_json("escalate", "advise", debtor.number, "--date", "2025-06-02")
    agency = {o["option"]: o for o in again["options"]}["agency"]
    assert agency["costs_minor"] == default["agency"]["costs_minor"]


@pytest.mark.django_db
def test_the_statement_and_the_evidence_bundle_mark_what_is_time_barred(
    company: Any, make_debtor: Any, make_invoice: Any, tmp_path: Path
) -> None:
    debtor = make_debtor(street="Lindenweg 5", postcode="20095", city="Hamburg", country="DE")
    # § 195, § 199 BGB: three years from the end of the year the claim fell due
    make_invoice(debtor, "RE-OLD", "200.00", "2021-03-01", issue="2021-02-01")  # barred after 2024-12-31
    make_invoice(debtor, "RE-NEW", "300.00", "2025-03-03", issue="2025-02-01")
    data = statement(company, debtor.pk, "business", D("2025-05-01"))
    flags = {line["number"]: line["time_barred"] for line in data["lines"]}
    assert flags == {"RE-OLD": True, "RE-NEW": False}
    old = next(line for line in data["lines"] if line["number"] == "RE-OLD")
    assert data["totals"]["EUR"]["time_barred_open_minor"] == old["total_open_minor"] > 20000
    # on the last day of the period it is not barred yet
    on_the_day = statement(company, debtor.pk, "business", D("2024-12-31"))
    assert not any(line["time_barred"] for line in on_the_day["lines"])
    assert on_the_day["totals"]["EUR"]["time_barred_open_minor"] == 0

    out = tmp_path / "bundle.zip"
    call_command(
        "court", "evidence", debtor.number, "--date", "2025-05-01", "--out", str(out), stdout=io.StringIO()
    )
    with zipfile.ZipFile(out) as zf:
        interest = json.loads(zf.read("interest.json"))
        assert {line["number"]: line["time_barred"] for line in interest["lines"]} == flags
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(zf.read("interest.pdf"))).pages)
    assert "time-barred" in text and "2025-01-01" in text
    assert "of which time-barred" in text

    printed = io.StringIO()
    call_command("statement", debtor.number, "--date", "2025-05-01", stdout=printed)
    assert "time-barred since 1 Jan 2025: the customer may refuse to pay" in printed.getvalue()
    assert f"of which time-barred: {format_money(old['total_open_minor'], 'EUR')}\n" in printed.getvalue()
