"""Collection stories with statutory interest and fees, every figure worked out by hand in the comments.

German base rate (§ 247 BGB): 2.27 % from 2025-01-01, 1.27 % from 2025-07-01. B2B margin 9 pp.
Interest = principal x rate x days / 365 per segment, rounded half up to the cent.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from mahnwerk.collection.models import Action
from mahnwerk.collection.services import run_collection
from mahnwerk.ledger.claims import statement
from mahnwerk.ledger.models import Allocation, Charge, Company, Invoice

from .test_reminder_story import body, sent_messages

D = date.fromisoformat


@pytest.mark.django_db
def test_german_b2b_interest_fees_and_section_367_allocation(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any, outbox: Path
) -> None:
    debtor = make_debtor(name="Metallbau Krüger GmbH", language="de")
    inv = make_invoice(debtor, "RE-2001", "1000.00", "2025-02-09", issue="2025-01-10")
    # without a reminder the 30-day rule would start default on 2025-03-12 (due + 30 days, the day after)
    assert (inv.default_from, inv.default_rule) == (D("2025-03-12"), "days_after_due_and_receipt")
    # limitation: the claim arose in 2025 -> end of 2028
    assert inv.time_barred_on == D("2028-12-31")

    run_collection(company, D("2025-02-06"))  # friendly note, not in default: no interest, no fee
    # first reminder (+7), an email on 02-16 saying "pay by 02-26" (10 days): the debtor is in default once
    # that deadline has passed, from 02-27 (Grüneberg § 286); it carries no fee
    run_collection(company, D("2025-02-16"))
    inv.refresh_from_db()
    assert (inv.default_from, inv.default_rule) == (D("2025-02-27"), "reminder_deadline")
    assert Charge.objects.count() == 0

    run_collection(company, D("2025-03-02"))  # firm reminder, 14 days later: in default since 02-27
    # interest 02-27..03-02 = 2 + 2 = 4 days: 1000.00 x 11.27 % x 4 / 365 = 1.2351 -> 1.24
    # costs: the 40.00 flat compensation (§ 288 (5) BGB) only: it is credited against reminder costs
    # (§ 288 (5) s. 3), so no reminder fee on top; total 1000.00 + 1.24 + 40.00 = 1041.24
    firm = body(sent_messages(outbox)[-1])
    assert "1.000,00\xa0€" in firm and "1,24\xa0€" in firm and "40,00\xa0€" in firm
    assert "Offener Gesamtbetrag: 1.041,24\xa0€" in firm
    assert sorted(Charge.objects.values_list("kind", "amount_minor")) == [("flat_compensation", 4000)]

    pay(debtor, "300.00", "2025-03-03", reference="RE-2001")
    # § 367 BGB: costs 40.00, then interest 02-27..03-03 = 5 days: 1000.00 x 11.27 % x 5 / 365 = 1.5438 -> 1.54,
    # then principal 300.00 - 40.00 - 1.54 = 258.46 -> principal open 1000.00 - 258.46 = 741.54
    split = {
        c: sum(Allocation.objects.filter(component=c).values_list("amount_minor", flat=True))
        for c in ("costs", "interest", "principal")
    }
    assert split == {"costs": 4000, "interest": 154, "principal": 25846}
    inv.refresh_from_db()
    assert inv.open_minor == 74154
    # a part-payment restarts limitation (§ 212 BGB) from 2025-03-03 -> 2028-03-03, but a restart never
    # shortens the running period, which ends 2028-12-31
    assert inv.time_barred_on == D("2028-12-31")

    run_collection(company, D("2025-03-16"))  # final notice: no fee either (the flat compensation covers it)
    assert Charge.objects.count() == 1
    data = statement(company, debtor.pk, "business", D("2025-07-15"))
    (line,) = data["lines"]
    # interest on 741.54 from 03-04: to 06-30 119 days at 11.27 %: 741.54 x 0.1127 x 119 / 365 = 27.2466 -> 27.25
    #                                07-01..07-15 15 days at 10.27 %: 741.54 x 0.1027 x 15 / 365 = 3.1297 -> 3.13
    assert [(s["from"], s["to"], s["days"], s["amount_minor"]) for s in line["segments"]][-2:] == [
        (D("2025-03-04"), D("2025-06-30"), 119, 2725),
        (D("2025-07-01"), D("2025-07-15"), 15, 313),
    ]
    assert line["interest_open_minor"] == 2725 + 313
    assert line["fees_open_minor"] == 0
    assert data["totals"]["EUR"]["total_open_minor"] == 74154 + 3038  # 771.92


@pytest.mark.django_db
def test_latvian_consumer_fees_are_capped_at_7_10_17(
    make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    from mahnwerk.collection.services import ensure_default_playbook

    lv = Company.objects.create(
        slug="lv",
        name="SIA Piemērs",
        iban="LV80BANK0000435195001",
        jurisdiction="LV",
        time_zone="Europe/Riga",
        default_language="lv",
        currency="EUR",
    )
    ensure_default_playbook(lv)
    debtor = make_debtor(
        company=lv,
        name="Jānis Bērziņš",
        language="lv",
        kind="consumer",
        jurisdiction="LV",
        time_zone="Europe/Riga",
    )
    inv = make_invoice(debtor, "R-7", "200.00", "2025-03-01", issue="2025-02-01")
    # Latvia: the due date on the invoice puts the debtor in default the day after
    assert inv.default_from == D("2025-03-02")
    run_collection(lv, D("2025-03-08"))  # the first written notice
    # Debt Recovery Law: 21 days to object from receipt (a letter counts as received on the 7th day):
    # the notice asks for payment by 2025-04-05, so nothing further before 04-06; the next step 14 days later
    # (its own 10 days to pay having run by then)
    for day in ("2025-03-22", "2025-04-04", "2025-04-05"):
        assert run_collection(lv, D(day)).actions_created == 0
    for day in ("2025-04-06", "2025-04-20"):
        assert run_collection(lv, D(day)).actions_created == 1
    # first notice 7.00; further actions at most 10.00 together (7.00 + 3.00); 17.00 in total (Cabinet Reg. 61/2013)
    assert list(Charge.objects.order_by("booked_on").values_list("amount_minor", flat=True)) == [
        700,
        700,
        300,
    ]
    # 6 % a year from 03-02 to 04-06 = 36 days: 200.00 x 0.06 x 36 / 365 = 1.1836 -> 1.18
    data = statement(lv, debtor.pk, "consumer", D("2025-04-06"))
    assert data["lines"][0]["interest_open_minor"] == 118
    assert data["lines"][0]["fees_open_minor"] == 1400
    # 03-02..04-20 = 50 days: 200.00 x 0.06 x 50 / 365 = 1.6438 -> 1.64; all three fees booked by then
    data = statement(lv, debtor.pk, "consumer", D("2025-04-20"))
    assert data["lines"][0]["interest_open_minor"] == 164
    assert data["lines"][0]["fees_open_minor"] == 1700


@pytest.mark.django_db
def test_the_run_warns_once_90_days_before_a_claim_becomes_time_barred(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    company.claim_interest = False
    company.save()
    debtor = make_debtor()
    make_invoice(debtor, "RE-OLD", "50.00", "2023-03-01", issue="2023-02-01")  # time-barred after 2026-12-31
    assert run_collection(company, D("2026-10-01")).limitation_warnings == 0
    assert run_collection(company, D("2026-10-02")).limitation_warnings == 1  # 2026-12-31 minus 90 days
    assert run_collection(company, D("2026-10-03")).limitation_warnings == 0
    assert debtor.timeline.filter(kind="limitation_warning").count() == 1
    assert Invoice.objects.get().limitation_warned


@pytest.mark.django_db
def test_a_period_the_rate_table_does_not_cover_is_reported_not_guessed(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path, settings: Any, tmp_path: Path
) -> None:
    debtor = make_debtor()
    make_invoice(debtor, "RE-9", "500.00", "2026-06-01", issue="2026-05-01")
    run_collection(company, D("2026-06-08"))
    result = run_collection(company, D("2026-07-05"))  # the base rate from 2026-07-01 is not in the table
    assert any("2026-07-01" in w and "mahnwerk rates add de_basiszinssatz" in w for w in result.warnings)
    line = statement(company, debtor.pk, "business", D("2026-07-05"))["lines"][0]
    # the interest up to the last known rate, no more and no less: default from 06-19 (see below), 06-19..06-30
    # 12 days at 1.27 + 9 = 10.27 %: 500.00 x 0.1027 x 12 / 365 = 1.6882 -> 1.69
    assert line["interest_error"] and line["interest_open_minor"] == 169
    assert line["interest_until"] == D("2026-06-30")

    # once the rate is added (here a made-up 2.00 %), the same statement computes the interest:
    # default from 06-19 (reminder emailed on 06-08, "pay by 06-18"); 06-19..06-30 12 days at 1.27 + 9 = 10.27 %:
    # 500.00 x 0.1027 x 12 / 365 = 1.6882 -> 1.69; 07-01..07-05 5 days at 2.00 + 9 = 11 %: 500 x 0.11 x 5 / 365
    # = 0.7534 -> 0.75
    from django.core.management import call_command

    settings.DATA_DIR = tmp_path
    call_command("rates", "add", "de_basiszinssatz", "2026-07-01", "2.00", stdout=io.StringIO())
    line = statement(company, debtor.pk, "business", D("2026-07-05"))["lines"][0]
    assert line["interest_error"] is None and line["interest_open_minor"] == 169 + 75


@pytest.mark.django_db
def test_a_step_offering_to_waive_the_fees_applies_only_when_paid_in_time(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any, outbox: Path
) -> None:
    from mahnwerk.collection.models import Step

    Step.objects.filter(playbook__company=company, level=3).update(incentive="waive_fees", incentive_days=10)
    on_time = make_debtor(name="Pünktlich GmbH")
    make_invoice(on_time, "RE-A", "500.00", "2025-02-10", issue="2025-01-10")
    late = make_debtor(name="Spät GmbH")
    make_invoice(late, "RE-B", "500.00", "2025-02-10", issue="2025-01-10")
    # reminder on 02-17 "pay by 02-27" (default from 02-28), firm reminder with the offer
    for day in ("2025-02-17", "2025-03-03"):
        run_collection(company, D(day))
    firm = body(sent_messages(outbox)[-1])
    assert "Wenn Sie den vollen Betrag bis zum 13.03.2025 zahlen, verzichten wir auf die Gebühren." in firm, (
        firm
    )
    # the 40.00 flat compensation (no reminder fee on top: § 288 (5) s. 3 BGB), shown until waived
    assert "40,00\xa0€" in firm
    # interest 02-28..03-07 = 1 + 7 = 8 days: 500.00 x 11.27 % x 8 / 365 = 1.2351 -> 1.24; principal and interest
    pay(on_time, "501.24", "2025-03-07", reference="RE-A")
    pay(late, "501.24", "2025-03-20", reference="RE-B")  # after the offer's deadline
    run_collection(company, D("2025-03-21"))
    paid_in_time = statement(company, on_time.pk, "business", D("2025-03-21"))
    assert paid_in_time["lines"] == [] and paid_in_time["totals"] == {}  # nothing left: the fees are waived
    too_late = statement(company, late.pk, "business", D("2025-03-21"))["totals"]["EUR"]
    # the late payment names RE-B and pays at least its principal: it settles the invoice (§ 367(2) BGB) and
    # the 1.24 beyond goes to the costs first. The fees are no longer waived (the offer lapsed on 03-13):
    # 40.00 - 1.24 = 38.76 stay open, and interest 02-28..03-20 = 1 + 20 = 21 days: 500.00 x 11.27 % x 21 / 365
    # = 3.2421 -> 3.24. Those leftovers trigger no further reminder on their own.
    assert too_late["principal_open_minor"] == 0
    assert too_late["fees_open_minor"] == 3876
    assert too_late["interest_open_minor"] == 324
    assert not Action.objects.filter(debtor=late, as_of=D("2025-03-21")).exists()


@pytest.mark.django_db
def test_an_instalment_plan_claims_the_interest_and_fees_open_when_it_is_made(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    from mahnwerk.collection import agreements

    debtor = make_debtor()
    invoice = make_invoice(debtor, "RE-P", "1000.00", "2025-02-10", issue="2025-01-10")
    run_collection(company, D("2025-02-17"))  # reminder "pay by 02-27": default from 02-28
    run_collection(company, D("2025-03-03"))  # firm reminder: 40.00 flat compensation, no fee on top
    plan = agreements.propose_plan(company, debtor, [invoice], 3, as_of=D("2025-03-05"))
    # interest 02-28..03-05 = 1 + 5 = 6 days: 1000.00 x 11.27 % x 6 / 365 = 1.8526 -> 1.85; costs 40.00
    assert plan.costs_minor == 185 + 4000
    assert plan.total_minor == 100000 + 185 + 4000
