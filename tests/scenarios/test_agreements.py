"""Agreements and disputes, walked day by day with an explicit business date.

Default playbook: 1 friendly note 3 days before due; 2 reminder 7 days after due (new deadline +10 days);
3 firm reminder 14 days after step 2; 4 final notice 14 days after step 3. Agreement defaults: promise grace
3 days; plan grace 5 days, instalment notice 3 days before and a reminder 1 day after the due date, 14 days
to confirm, Plan B deadline 7 days; 10 days' new deadline after a rejected dispute.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from mahnwerk.collection import agreements
from mahnwerk.collection import services as collection
from mahnwerk.collection.models import (
    Action,
    ActionItem,
    Dispute,
    Incentive,
    InstalmentPlan,
    Promise,
    Settlement,
)
from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.ledger.models import CreditNote, Invoice

D = date.fromisoformat
DUE = D("2026-03-10")


def day(offset: int) -> date:
    return DUE + timedelta(days=offset)


def walk(
    company: Any, offsets: range, before: dict[int, Callable[[], object]] | None = None
) -> dict[int, list[tuple[int, int]]]:
    """Run every day of ``offsets`` (doing ``before[offset]`` first); the (debtor, level) of each action."""
    done: dict[int, list[tuple[int, int]]] = {}
    for offset in offsets:
        if before and offset in before:
            before[offset]()
        collection.run_collection(company, day(offset))
        actions = Action.objects.filter(as_of=day(offset), status="active").order_by("debtor_id")
        if actions:
            done[offset] = [(a.debtor_id, a.level) for a in actions]
    return done


def messages(debtor: Any) -> list[OutboundMessage]:
    """The debtor's messages about collection and agreements (keeping in touch - thank-yous for settled
    accounts, statements of account - is walked through in test_keeping_in_touch.py)."""
    return list(
        OutboundMessage.objects.filter(debtor=debtor)
        .exclude(status=MessageStatus.CANCELLED)
        .exclude(message_id__contains=".keep.")
        .order_by("id")
    )


def kinds(debtor: Any) -> list[str]:
    return list(debtor.timeline.values_list("kind", flat=True))


@pytest.fixture
def reminded(company: Any, make_debtor: Any, make_invoice: Any) -> Callable[..., tuple[Any, Any]]:
    """A debtor with one invoice due on DUE that has had the first reminder (level 2) on day 7."""

    # These stories are about the principal: the creditor claims no interest and no fees here (interest and
    # fees with part-payments are walked through in test_interest_story.py).
    company.claim_interest = company.charge_fees = False
    company.save()

    def make(amount: str = "1200.00", language: str = "de", number: str = "RE-1") -> tuple[Any, Any]:
        debtor = make_debtor(language=language)
        invoice = make_invoice(debtor, number, amount, DUE.isoformat())
        collection.run_collection(company, day(7))
        assert Action.objects.filter(debtor=debtor, as_of=day(7), level=2).exists()
        return debtor, invoice

    return make


# --- promises -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_kept_promise_pauses_reminders_and_earns_a_thank_you(
    company: Any, reminded: Any, pay: Any, outbox: Any
) -> None:
    debtor, invoice = reminded()
    promise = agreements.record_promise(company, debtor, [invoice], day(25), as_of=day(9))
    confirmation = messages(debtor)[-1]
    assert confirmation.subject == "Bestätigung Ihrer Zahlungszusage: RE-1"
    assert "1.200,00\xa0€ bis zum 04.04.2026" in confirmation.body_text  # day 25 = 4 April

    # The firm reminder would be due on day 21 (14 days after the reminder); the promise holds it.
    done = walk(company, range(8, 25))
    assert done == {}
    done = walk(
        company, range(25, 60), before={25: lambda: pay(debtor, "1200.00", day(25).isoformat(), "RE-1")}
    )
    assert done == {}
    promise.refresh_from_db()
    assert promise.status == "kept" and promise.paid_minor == 120000 and promise.closed_on == day(25)
    thanks = [m for m in messages(debtor) if m.subject.startswith("Vielen Dank")]
    assert (
        len(thanks) == 1 and "1.200,00\xa0€" in thanks[0].body_text and thanks[0].status == MessageStatus.SENT
    )
    assert kinds(debtor).count("promise_kept") == 1


@pytest.mark.django_db
def test_a_debtor_left_out_of_a_run_gets_its_thank_you_from_the_next_run_not_that_one(
    company: Any, reminded: Any, pay: Any, outbox: Any
) -> None:
    debtor, invoice = reminded()
    promise = agreements.record_promise(company, debtor, [invoice], day(25), as_of=day(9))
    pay(debtor, "1200.00", day(20).isoformat(), "RE-1")
    before = len(messages(debtor))
    # a person leaves the debtor out of today's run: nothing at all goes to it, also no thank-you
    result = collection.run_collection(company, day(21), exclude_debtors=[debtor.pk])
    promise.refresh_from_db()
    assert len(messages(debtor)) == before and result.agreement_messages == 0
    assert promise.status == "pending"  # the transition waits with its message
    # the next run carries it out, once
    collection.run_collection(company, day(22))
    collection.run_collection(company, day(23))
    promise.refresh_from_db()
    thanks = [m for m in messages(debtor) if m.subject.startswith("Vielen Dank")]
    assert promise.status == "kept" and len(thanks) == 1


@pytest.mark.django_db
def test_a_broken_promise_runs_its_fallback_the_next_day_exactly_once(
    company: Any, reminded: Any, pay: Any, outbox: Any
) -> None:
    debtor, invoice = reminded()
    partly, part_invoice = reminded(amount="800.00", number="RE-2")
    agreements.record_promise(company, debtor, [invoice], day(25), as_of=day(9))  # grace to day 28
    agreements.record_promise(company, partly, [part_invoice], day(25), fallback_level=4, as_of=day(9))

    done = walk(
        company, range(8, 60), before={20: lambda: pay(partly, "300.00", day(20).isoformat(), "RE-2")}
    )
    # Day 29 is the first day after the promised date plus grace: the fallback runs for both, once.
    # Broken: the next step (3, firm reminder), then the final notice 14 days later (day 43).
    # Partly kept (300 of 800): its chosen fallback, the final notice, and nothing after it.
    assert done == {29: [(debtor.pk, 3), (partly.pk, 4)], 43: [(debtor.pk, 4)]}
    assert Promise.objects.get(debtor=debtor).status == "broken"
    kept_part = Promise.objects.get(debtor=partly)
    assert kept_part.status == "partly_kept" and kept_part.paid_minor == 30000
    assert kinds(debtor).count("promise_broken") == 1 and kinds(partly).count("promise_partly_kept") == 1
    final = messages(partly)[-1]
    assert final.subject.startswith("Letzte Mahnung") and "500,00\xa0€" in final.body_text  # 800 - 300


# --- instalment plans -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_plan_with_the_second_instalment_missed_breaks_and_plan_b_demands_the_rest(
    company: Any, reminded: Any, pay: Any, outbox: Any
) -> None:
    debtor, invoice = reminded(amount="1000.00", language="en")
    # Day 10 (20 March): 100.00 down on 27 March, then 900.00 / 3 = 300.00 on 27 April, May and June.
    plan = agreements.propose_plan(
        company, debtor, [invoice], 3, down_payment_minor=10000, first_due=D("2026-03-27"), as_of=day(10)
    )
    assert plan.approved_by == "policy" and not plan.needs_approval  # 3 <= 6, 10 %, 99 days <= 180
    assert [(i.number, i.due_date.isoformat(), i.amount_minor) for i in plan.instalments.all()] == [
        (0, "2026-03-27", 10000),
        (1, "2026-04-27", 30000),
        (2, "2026-05-27", 30000),
        (3, "2026-06-27", 30000),
    ]
    agreement = messages(debtor)[-1]
    assert agreement.subject == "Instalment agreement: RE-1"
    assert "confirm this agreement by 3 Apr 2026" in agreement.body_text
    assert "Instalment 3" in agreement.body_text and "€300.00" in agreement.body_text
    assert "within 5 days of its due date" in agreement.body_text
    agreements.confirm_plan(company, plan, by="debtor", as_of=day(12))

    payments = {
        (D("2026-03-27") - DUE).days: lambda: pay(debtor, "100.00", "2026-03-27", "RE-1"),
        (D("2026-04-27") - DUE).days: lambda: pay(debtor, "300.00", "2026-04-27", "RE-1"),
    }
    done = walk(company, range(11, (D("2026-06-20") - DUE).days), before=payments)
    # No playbook step while the plan runs (the firm reminder was due on 31 March); after the breach on
    # 2 June (27 May + 5 days' grace) Plan B gives 7 days, then the playbook resumes at step 3 on 10 June.
    assert done == {(D("2026-06-10") - DUE).days: [(debtor.pk, 3)]}
    plan.refresh_from_db()
    assert plan.status == "breached" and plan.breached_on == D("2026-06-02") and plan.resume_level == 3
    assert plan.paid_minor == 40000

    subjects = [m.subject for m in messages(debtor)]
    notices = [s for s in subjects if s.startswith(("Your next instalment", "Instalment outstanding"))]
    assert notices == [
        "Your next instalment: down payment, due 27 Mar 2026",
        "Your next instalment: instalment 1, due 27 Apr 2026",
        "Your next instalment: instalment 2, due 27 May 2026",
        "Instalment outstanding: instalment 2, due 27 May 2026",
    ]
    breach = next(m for m in messages(debtor) if m.subject.startswith("Instalment agreement ended"))
    assert "€600.00" in breach.body_text and "by 9 Jun 2026" in breach.body_text  # 1000 - 100 - 300
    firm = messages(debtor)[-1]
    assert "€600.00" in firm.body_text and "€1,000.00" not in firm.body_text
    assert kinds(debtor).count("plan_breached") == 1
    notice_days = list(
        debtor.timeline.filter(kind="instalment_notice").values_list("business_date", flat=True)
    )
    assert notice_days == [D("2026-03-24"), D("2026-04-24"), D("2026-05-24"), D("2026-05-28")]

    pay(debtor, "600.00", "2026-06-22", "RE-1")  # the rest after all: the broken plan is closed
    assert walk(company, range((D("2026-06-22") - DUE).days, (D("2026-07-10") - DUE).days)) == {}
    plan.refresh_from_db()
    assert plan.status == "breached" and plan.closed_on == D("2026-06-22")


@pytest.mark.django_db
def test_reminders_follow_the_instalment_dates_and_a_kept_plan_completes(
    company: Any, reminded: Any, pay: Any, outbox: Any
) -> None:
    debtor, invoice = reminded(amount="600.01", language="lv")
    # Two instalments 14 days apart, no down payment asked: outside the limits (10 % down), approval needed.
    plan = agreements.propose_plan(
        company,
        debtor,
        [invoice],
        2,
        down_payment_minor=0,
        first_due=day(30),
        interval_days=14,
        as_of=day(10),
    )
    assert plan.needs_approval and plan.violations == "down_payment_too_small"
    with pytest.raises(agreements.AgreementError):
        agreements.confirm_plan(company, plan, as_of=day(11))
    agreements.approve_plan(company, plan, actor="head of accounts", as_of=day(11))
    agreements.confirm_plan(company, plan, as_of=day(12))
    # 600.01 / 2: 300.01 on day 30 (9 April), 300.00 on day 44 (23 April).
    assert list(plan.instalments.values_list("amount_minor", flat=True)) == [30001, 30000]

    done = walk(
        company,
        range(11, 90),
        before={
            32: lambda: pay(debtor, "300.01", day(32).isoformat(), "RE-1"),  # two days late, inside grace
            44: lambda: pay(debtor, "300.00", day(44).isoformat(), "RE-1"),
        },
    )
    assert done == {}
    plan.refresh_from_db()
    assert plan.status == "completed" and plan.closed_on == day(44)
    notice_days = list(
        debtor.timeline.filter(kind="instalment_notice").values_list("business_date", flat=True)
    )
    # Before each due date (day 27 and 41) and, for the late first one, the day after its due date (31).
    assert notice_days == [day(27), day(31), day(41)]
    latvian = [m.subject for m in messages(debtor)]
    assert "Atgādinājums par maksājumu: 1. maksājums, termiņš 09.04.2026." in latvian


@pytest.mark.django_db
def test_an_unconfirmed_plan_expires_and_the_playbook_resumes(
    company: Any, reminded: Any, outbox: Any
) -> None:
    debtor, invoice = reminded()
    agreements.propose_plan(company, debtor, [invoice], 3, as_of=day(10))  # confirm by day 24
    done = walk(company, range(11, 30))
    assert done == {25: [(debtor.pk, 3)]}  # the firm reminder (due day 21) waits for the deadline
    assert InstalmentPlan.objects.get().status == "expired"


# --- disputes -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_dispute_stops_reminders_for_that_item_only_and_a_rejection_resumes_them(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Any
) -> None:
    debtor = make_debtor(language="de")
    disputed = make_invoice(debtor, "RE-A", "400.00", DUE.isoformat())
    make_invoice(debtor, "RE-B", "250.00", DUE.isoformat())
    assert walk(company, range(7, 8)) == {7: [(debtor.pk, 2)]}  # one reminder for both
    dispute = agreements.open_dispute(
        company, disputed, "not_satisfactory", notes="Lieferung unvollständig", as_of=day(9)
    )

    done = walk(company, range(8, 25))
    assert done == {21: [(debtor.pk, 3)]}
    firm = Action.objects.get(debtor=debtor, as_of=day(21))
    assert list(firm.items.values_list("invoice__number", flat=True)) == ["RE-B"]
    assert "RE-A" not in messages(debtor)[-1].body_text

    agreements.resolve_dispute(
        company,
        dispute,
        "rejected",
        resolution="Laut Lieferschein vom 02.03.2026 wurde die Ware vollständig geliefert.",
        as_of=day(25),
    )
    rejection = messages(debtor)[-1]
    assert rejection.subject == "Ihr Einwand zu RE-A"
    assert "Grund: Ware oder Leistung nicht zufriedenstellend" in rejection.body_text
    assert "Laut Lieferschein vom 02.03.2026" in rejection.body_text
    assert "bis zum 14.04.2026" in rejection.body_text  # day 25 + 10 = day 35

    done = walk(company, range(25, 45))
    # RE-B goes on to the final notice (day 35). RE-A is free again the day after its new deadline, but the
    # account had a message on day 35: the next one waits the cadence (day 42). RE-A, the oldest item, then
    # sets the step (3, its next) and RE-B joins the same message: one conversation, one total.
    assert done == {35: [(debtor.pk, 4)], 42: [(debtor.pk, 3)]}
    assert list(Action.objects.get(as_of=day(35)).items.values_list("invoice__number", flat=True)) == ["RE-B"]
    assert sorted(Action.objects.get(as_of=day(42)).items.values_list("invoice__number", flat=True)) == [
        "RE-A",
        "RE-B",
    ]
    dispute.refresh_from_db()
    assert dispute.status == "rejected" and dispute.resume_on == day(35)
    assert kinds(debtor).count("dispute_opened") == 1 and kinds(debtor).count("dispute_resolved") == 1


@pytest.mark.django_db
def test_a_corrected_dispute_credits_the_disputed_part(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Any
) -> None:
    debtor = make_debtor()
    invoice = make_invoice(debtor, "RE-C", "500.00", DUE.isoformat())
    dispute = agreements.open_dispute(company, invoice, "wrong_invoice", amount_minor=12000, as_of=day(2))
    agreements.resolve_dispute(
        company, dispute, "corrected", resolution="Preis falsch berechnet", as_of=day(4)
    )
    invoice.refresh_from_db()
    assert invoice.open_minor == 38000  # 500.00 - 120.00
    note = CreditNote.objects.get()
    assert note.amount_minor == 12000 and note.invoice == invoice and note.reason == "Preis falsch berechnet"
    assert walk(company, range(5, 8)) == {7: [(debtor.pk, 2)]}  # the rest follows the playbook


# --- settlements and incentives -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_settlement_paid_in_time_writes_off_the_rest_exactly(
    company: Any, reminded: Any, pay: Any, outbox: Any
) -> None:
    settled, inv_settled = reminded(amount="1000.00", number="RE-S1")
    short, inv_short = reminded(amount="1000.00", number="RE-S2")
    for debtor, invoice in ((settled, inv_settled), (short, inv_short)):
        agreements.offer_settlement(
            company, debtor, [invoice], 60000, day(20), reason="Vergleich wegen Reklamation", as_of=day(10)
        )
    offer_text = messages(settled)[-1].body_text
    assert "600,00\xa0€" in offer_text and "400,00\xa0€" in offer_text and "30.03.2026" in offer_text

    done = walk(
        company,
        range(11, 30),
        before={
            18: lambda: pay(settled, "600.00", day(18).isoformat(), "RE-S1"),
            19: lambda: pay(short, "599.99", day(19).isoformat(), "RE-S2"),
        },
    )
    # The short payer's offer lapses after day 20; its firm reminder (due day 21) then goes out.
    assert done == {21: [(short.pk, 3)]}
    inv_settled.refresh_from_db()
    assert inv_settled.open_minor == 0 and inv_settled.settled_on == day(18)
    (note,) = CreditNote.objects.filter(debtor=settled)
    assert note.amount_minor == 40000 and note.reason == "Vergleich wegen Reklamation"  # 1000 - 600
    offer = Settlement.objects.get(debtor=settled)
    assert offer.status == "accepted" and offer.written_off_minor == 40000 and offer.paid_minor == 60000
    assert Settlement.objects.get(debtor=short).status == "lapsed"
    assert not CreditNote.objects.filter(debtor=short).exists()
    inv_short.refresh_from_db()
    assert inv_short.open_minor == 40001  # 1000.00 - 599.99
    assert "400,01\xa0€" in messages(short)[-1].body_text


@pytest.mark.django_db
def test_an_incentive_applies_only_when_the_money_came_in_time(
    company: Any, reminded: Any, pay: Any, outbox: Any
) -> None:
    on_time, inv_on_time = reminded(amount="500.00", number="RE-W1")
    late, inv_late = reminded(amount="500.00", number="RE-W2")
    discount, inv_discount = reminded(amount="1234.50", number="RE-D1", language="en")
    for debtor, invoice in ((on_time, inv_on_time), (late, inv_late)):
        agreements.offer_incentive(company, debtor, [invoice], "waive_fees", day(20), as_of=day(10))
    offer = agreements.offer_incentive(
        company, discount, [inv_discount], "discount", day(20), discount_percent=3, as_of=day(10)
    )
    # 3 % of 1,234.50 = 37.035 -> 37.04; the debtor pays 1,197.46.
    assert offer.discount_minor == 3704 and offer.required_minor == 119746
    assert "you pay only €1,197.46" in messages(discount)[-1].body_text

    walk(
        company,
        range(11, 25),
        before={
            19: lambda: pay(on_time, "500.00", day(19).isoformat(), "RE-W1"),
            20: lambda: pay(discount, "1197.46", day(20).isoformat(), "RE-D1"),
            22: lambda: pay(late, "500.00", day(22).isoformat(), "RE-W2"),
        },
    )
    assert Incentive.objects.get(debtor=on_time).status == "accepted"
    assert Incentive.objects.get(debtor=late).status == "lapsed"
    assert agreements.waived_charges(company) == {inv_on_time.pk: {"waive_fees"}}
    assert Incentive.objects.get(debtor=discount).status == "accepted"
    (note,) = CreditNote.objects.filter(debtor=discount)
    assert note.amount_minor == 3704
    assert Invoice.objects.get(pk=inv_discount.pk).open_minor == 0
    assert kinds(late).count("incentive_lapsed") == 1 and kinds(on_time).count("incentive_applied") == 1


@pytest.mark.django_db
def test_a_discount_paid_late_is_not_given(company: Any, reminded: Any, pay: Any, outbox: Any) -> None:
    debtor, invoice = reminded(amount="1000.00")
    agreements.offer_incentive(
        company, debtor, [invoice], "discount", day(20), discount_minor=5000, as_of=day(10)
    )
    walk(company, range(11, 23), before={21: lambda: pay(debtor, "950.00", day(21).isoformat(), "RE-1")})
    assert Incentive.objects.get().status == "lapsed"
    assert not CreditNote.objects.exists()
    assert Invoice.objects.get().open_minor == 5000
    assert ActionItem.objects.filter(invoice=invoice, level=3).exists()  # the playbook went on (day 21)


@pytest.mark.django_db
def test_agreements_refuse_other_debtors_and_other_companies_invoices(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    from mahnwerk.ledger.models import Company

    one, other = make_debtor(), make_debtor()
    invoice = make_invoice(other, "RE-X", "10.00", DUE.isoformat())
    with pytest.raises(agreements.AgreementError):
        agreements.record_promise(company, one, [invoice], day(20), as_of=day(1))
    rival = Company.objects.create(
        slug="rival", name="Rival SIA", iban="LV80BANK0000435195001", jurisdiction="LV", default_language="lv"
    )
    with pytest.raises(agreements.AgreementError):
        agreements.open_dispute(rival, invoice, "other", as_of=day(1))
    with pytest.raises(agreements.AgreementError):
        agreements.record_promise(rival, other, [invoice], day(20), as_of=day(1))
    dispute = agreements.open_dispute(company, invoice, "missing_data", as_of=day(1))
    with pytest.raises(agreements.AgreementError):
        agreements.open_dispute(company, invoice, "other", as_of=day(2))  # one open dispute per item
    assert Dispute.objects.get() == dispute


@pytest.mark.django_db
def test_one_live_agreement_per_item(company: Any, reminded: Any, pay: Any, outbox: Any) -> None:
    debtor, invoice = reminded()
    promise = agreements.record_promise(company, debtor, [invoice], day(20), as_of=day(9))
    with pytest.raises(agreements.AgreementError, match=f"promise #{promise.pk}"):
        agreements.propose_plan(company, debtor, [invoice], 3, as_of=day(10))
    with pytest.raises(agreements.AgreementError, match="promise"):
        agreements.offer_settlement(company, debtor, [invoice], 50000, day(30), reason="x", as_of=day(10))
    # An incentive can go with a promise; once the promise is broken, a plan can follow.
    agreements.offer_incentive(company, debtor, [invoice], "waive_interest", day(20), as_of=day(10))
    walk(company, range(10, 25))
    assert Promise.objects.get().status == "broken"
    plan = agreements.propose_plan(company, debtor, [invoice], 3, as_of=day(25))
    assert plan.status == "proposed"


@pytest.mark.django_db
def test_quiet_days_cost_the_same_few_queries_however_many_agreements(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add(n: int) -> None:
        for _ in range(n):
            debtor = make_debtor()
            invoices = [
                make_invoice(debtor, f"RE-{debtor.pk}-{k}", "300.00", DUE.isoformat()) for k in range(3)
            ]
            plan = agreements.propose_plan(company, debtor, [invoices[0]], 3, as_of=day(1))
            agreements.confirm_plan(company, plan, as_of=day(1))
            agreements.record_promise(company, debtor, [invoices[1]], day(40), as_of=day(1))
            agreements.open_dispute(company, invoices[2], "other", as_of=day(1))

    def queries_on(offset: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            agreements.carry_out(company, day(offset))
        return len(ctx.captured_queries)

    add(2)
    agreements.carry_out(company, day(2))
    few = queries_on(3)
    add(8)
    agreements.carry_out(company, day(4))
    assert queries_on(5) == few  # nothing due: the same queries for 10 debtors as for 2
    assert few <= 12


@pytest.mark.django_db
def test_a_cancelled_promise_lets_the_playbook_go_on(company: Any, reminded: Any, outbox: Any) -> None:
    debtor, invoice = reminded()
    promise = agreements.record_promise(company, debtor, [invoice], day(40), as_of=day(9))
    assert walk(company, range(8, 23)) == {}  # the firm reminder (day 21) is held
    agreements.cancel_agreement(
        company, promise, reason="Kunde zahlt doch nicht", actor="anna", as_of=day(23)
    )
    assert walk(company, range(23, 25)) == {23: [(debtor.pk, 3)]}
    promise.refresh_from_db()
    assert promise.status == "cancelled" and promise.closed_on == day(23)
    with pytest.raises(agreements.AgreementError, match="nothing to cancel"):
        agreements.cancel_agreement(company, promise, reason="again", as_of=day(24))
    assert kinds(debtor).count("agreement_cancelled") == 1


@pytest.mark.django_db
def test_a_broken_promise_falls_back_in_every_partition_of_the_run(
    company: Any, reminded: Any, outbox: Any
) -> None:
    first, first_invoice = reminded(number="RE-P1")
    second, second_invoice = reminded(number="RE-P2")
    for debtor, invoice in ((first, first_invoice), (second, second_invoice)):
        agreements.record_promise(company, debtor, [invoice], day(25), fallback_level=4, as_of=day(9))
    walk(company, range(8, 29))
    # Day 29: two workers share the run; whichever comes first records both promises as broken.
    for index in (first.pk % 2, second.pk % 2):
        collection.run_collection(company, day(29), partition=(index, 2))
    levels = dict(Action.objects.filter(as_of=day(29)).values_list("debtor_id", "level"))
    assert levels == {first.pk: 4, second.pk: 4}  # the final notice, as the promises say
    assert collection.run_collection(company, day(30)).actions_created == 0


@pytest.mark.django_db
def test_a_dispute_opened_before_sending_withdraws_the_queued_reminder(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Any
) -> None:
    debtor = make_debtor()
    disputed = make_invoice(debtor, "RE-Q1", "100.00", DUE.isoformat())
    make_invoice(debtor, "RE-Q2", "40.00", DUE.isoformat())
    assert collection.run_collection(company, day(7), send=False).messages_queued == 1
    agreements.open_dispute(company, disputed, "missing_data", as_of=day(7))
    assert OutboundMessage.objects.get().status == MessageStatus.CANCELLED
    again = collection.run_collection(company, day(7))  # the same day: decided afresh without RE-Q1
    assert again.messages_queued == 1
    (sent,) = messages(debtor)
    assert "RE-Q2" in sent.body_text and "RE-Q1" not in sent.body_text
    assert list(ActionItem.objects.filter(status="active").values_list("invoice__number", flat=True)) == [
        "RE-Q2"
    ]
