"""Default by reminder and collection costs as German courts compute them, every figure worked out by hand.

* Default by a reminder that sets a deadline begins only after the deadline (Grüneberg § 286); without a
  deadline, on receipt: an email the day it is sent, a letter 3 business days after posting (company setting).
  Interest runs from the day after (§ 187 (1) BGB).
* § 288 (5) s. 3 BGB: the 40.00 flat compensation is credited against reminder costs: a business debtor is
  charged the flat rate or itemised reminder costs, never both. Reminder costs are actual costs only
  (BGH VIII ZR 95/18): a letter 1.50 (company setting), an email nothing; the default-causing reminder is free.

The default playbook: reminder at due + 7 ("pay within 10 days"), firm reminder 14 days later (10 days),
final notice 14 days later (7 days), all by email unless the debtor prefers letters.
German base rate 2.27 % from 2025-01-01: B2B 11.27 %, consumers 7.27 %.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.utils import translation

from mahnwerk.collection.models import Step
from mahnwerk.collection.services import run_collection
from mahnwerk.core.calendar import add_business_days
from mahnwerk.ledger.claims import statement
from mahnwerk.ledger.models import Charge, Debtor

D = date.fromisoformat
POSTAL = {"street": "Lindenweg 5", "postcode": "20095", "city": "Hamburg", "country": "DE"}


def charges(debtor: Any) -> list[tuple[str, int]]:
    return list(
        Charge.objects.filter(debtor=debtor).order_by("booked_on", "id").values_list("kind", "amount_minor")
    )


def prefer(debtor: Any, channel: str) -> None:
    Debtor.objects.filter(pk=debtor.pk).update(preferred_channel=channel)


def by_post_at_cost(company: Any, make_debtor: Any, make_invoice: Any, number: str) -> tuple[Any, Any]:
    """A business customer written to by post under itemised costs (a letter 1.50), owing 1000.00 on
    ``number``, due 2025-03-03."""
    company.costs_claim = "itemised"
    company.save()
    debtor = make_debtor(**POSTAL)
    inv = make_invoice(debtor, number, "1000.00", "2025-03-03", issue="2025-02-01")
    prefer(debtor, "letter")
    return debtor, inv


def run_and_post(company: Any, day: str) -> Any:
    """The day's run, and its letters printed and posted that day."""
    from mahnwerk.comms.letters_batch import print_letters

    result = run_collection(company, D(day))
    print_letters(company, D(day))
    return result


def test_business_days_skip_weekends_and_public_holidays() -> None:
    # Thursday 2025-03-13 + 3: Fri 14 (1), [Sat, Sun], Mon 17 (2), Tue 18 (3)
    assert add_business_days(D("2025-03-13"), 3) == D("2025-03-18")
    # Thursday 2025-04-17 + 3 in Germany: Good Friday 18 and Easter Monday 21 are holidays:
    # Tue 22 (1), Wed 23 (2), Thu 24 (3); without a country only the weekend counts: Fri 18, Mon 21, Tue 22
    assert add_business_days(D("2025-04-17"), 3, "DE") == D("2025-04-24")
    assert add_business_days(D("2025-04-17"), 3) == D("2025-04-22")


@pytest.mark.django_db
def test_an_email_reminder_with_a_deadline_puts_the_debtor_in_default_after_the_deadline(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    debtor = make_debtor()
    inv = make_invoice(debtor, "RE-1", "1000.00", "2025-03-03", issue="2025-02-01")
    # without a reminder: 30 days after due date (and receipt, 02-01, earlier): 03-03 + 30 = 04-02, from 04-03
    assert inv.default_from == D("2025-04-03")
    run_collection(company, D("2025-03-10"))  # D = Monday 03-10, emailed: "pay by 03-20" (D + 10)
    inv.refresh_from_db()
    # received the day it is sent; the deadline granted runs to 03-20: interest from 03-21 = D + 11
    assert (inv.default_from, inv.default_rule) == (D("2025-03-21"), "reminder_deadline")
    line = statement(company, debtor.pk, "business", D("2025-03-31"))["lines"][0]
    # 03-21..03-31 = 11 days: 1000.00 x 0.1127 x 11 / 365 = 3.3964 -> 3.40
    assert line["interest_open_minor"] == 340
    with translation.override("en"):
        line = statement(company, debtor.pk, "business", D("2025-03-31"))["lines"][0]
    assert line["default_rule_label"] == "a reminder, after its payment deadline"


@pytest.mark.django_db
def test_a_letter_with_a_deadline_puts_the_debtor_in_default_after_it_and_moves_with_the_print_day(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    from mahnwerk.comms.letters_batch import print_letters

    debtor = make_debtor(email=None, **POSTAL)  # no email: the reminder goes by post
    inv = make_invoice(debtor, "RE-2", "1000.00", "2025-03-03", issue="2025-02-01")
    assert run_collection(company, D("2025-03-10")).channels == {"letter": 1}
    inv.refresh_from_db()
    # written Monday 03-10, received 3 business days later (Thu 03-13); "pay by 03-20": default from 03-21
    assert (inv.default_from, inv.default_rule) == (D("2025-03-21"), "reminder_deadline")
    # printed a day late (03-11): the letter is dated 03-11 and its deadline moves to 03-21, so default
    # begins one day later too, from 03-22
    assert print_letters(company, D("2025-03-11")).letters == 1
    inv.refresh_from_db()
    assert (inv.default_from, inv.default_rule) == (D("2025-03-22"), "reminder_deadline")


@pytest.mark.django_db
def test_a_letter_without_a_deadline_puts_the_debtor_in_default_the_day_after_delivery(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    Step.objects.filter(playbook__company=company, level=2).update(deadline_days=0)
    debtor = make_debtor(email=None, **POSTAL)
    inv = make_invoice(debtor, "RE-3", "1000.00", "2025-03-06", issue="2025-02-06")
    run_collection(company, D("2025-03-13"))  # due + 7, a Thursday, by post, no deadline
    inv.refresh_from_db()
    # posted Thu 03-13; 3 business days: Fri 14, Mon 17, Tue 18 -> received 03-18, default from 03-19
    assert (inv.default_from, inv.default_rule) == (D("2025-03-19"), "reminder")
    line = statement(company, debtor.pk, "business", D("2025-03-31"))["lines"][0]
    # 03-19..03-31 = 13 days: 1000.00 x 0.1127 x 13 / 365 = 4.0140 -> 4.01
    assert line["interest_open_minor"] == 401


@pytest.mark.django_db
def test_a_business_under_the_flat_rate_pays_40_and_no_reminder_fees(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    assert company.costs_claim == "flat_rate"
    debtor = make_debtor(**POSTAL)
    make_invoice(debtor, "RE-4", "1000.00", "2025-03-03", issue="2025-02-01")
    run_and_post(company, "2025-03-10")  # reminder by email, "pay by 03-20": default from 03-21, free
    assert charges(debtor) == []
    run_and_post(company, "2025-03-24")  # firm reminder by email: in default, the 40.00, no fee
    assert charges(debtor) == [("flat_compensation", 4000)]
    prefer(debtor, "letter")
    assert run_and_post(company, "2025-04-07").channels == {"letter": 1}  # final notice by post
    # the 40.00 covers the letter's 1.50 too (§ 288 (5) s. 3 BGB): still only the flat compensation
    assert charges(debtor) == [("flat_compensation", 4000)]
    line = statement(company, debtor.pk, "business", D("2025-04-07"))["lines"][0]
    # 03-21..04-07 = 11 + 7 = 18 days: 1000.00 x 0.1127 x 18 / 365 = 5.5578 -> 5.56; fees 40.00
    assert (line["interest_open_minor"], line["fees_open_minor"]) == (556, 4000)

    # the audit finds nothing; had reminder costs been booked on top (by hand, say), it names the invoice
    from mahnwerk.comms.audit import audit_messages
    from mahnwerk.ledger.models import Charge

    assert audit_messages(company).violations == []
    flat = Charge.objects.get(debtor=debtor)
    Charge.objects.create(
        company=company,
        debtor=debtor,
        invoice=flat.invoice,
        kind="reminder_fee",
        key="by-hand",
        amount_minor=150,
        open_minor=150,
        currency="EUR",
        booked_on=D("2025-03-25"),
    )
    found = [v for v in audit_messages(company).violations if v.rule == "flat_rate_and_costs"]
    # the final notice of 04-07 named RE-4 with both booked; the firm reminder of 03-24 came before the fee
    # (its figures now differ from the statement too: total_mismatch, not the subject here)
    assert [v.business_date for v in found] == [D("2025-04-07")]


@pytest.mark.django_db
def test_a_business_under_itemised_costs_pays_letters_at_cost_and_no_flat_rate(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    debtor, _inv = by_post_at_cost(company, make_debtor, make_invoice, "RE-5")
    run_and_post(company, "2025-03-10")  # reminder by post: default-causing (from 03-21), free
    assert charges(debtor) == []
    run_and_post(company, "2025-03-24")  # firm reminder by post, in default: 1.50, no 40.00
    assert charges(debtor) == [("reminder_fee", 150)]
    prefer(debtor, "")
    assert run_and_post(company, "2025-04-07").channels == {"email": 1}  # final notice by email: 0.00
    assert charges(debtor) == [("reminder_fee", 150)]


@pytest.mark.django_db
def test_a_consumer_pays_no_flat_rate_and_letters_at_cost(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    debtor = make_debtor(name="Jonas Becker", kind="consumer", **POSTAL)
    make_invoice(debtor, "RE-6", "1000.00", "2025-03-03", issue="2025-02-01")
    prefer(debtor, "letter")
    for day in ("2025-03-10", "2025-03-24", "2025-04-07"):  # reminder (free), firm reminder, final notice
        assert run_and_post(company, day).channels == {"letter": 1}
    # no flat compensation for a consumer; 1.50 for each letter after the default-causing one
    assert charges(debtor) == [("reminder_fee", 150), ("reminder_fee", 150)]
    line = statement(company, debtor.pk, "consumer", D("2025-04-07"))["lines"][0]
    # default from 03-21 (letter received 03-13, "pay by 03-20"); 03-21..04-07 = 18 days at 7.27 %:
    # 1000.00 x 0.0727 x 18 / 365 = 3.5852 -> 3.59; fees 1.50 + 1.50 = 3.00
    assert (line["interest_open_minor"], line["fees_open_minor"]) == (359, 300)


def message_of(debtor: Any, as_of: str) -> Any:
    from mahnwerk.comms.models import OutboundMessage

    return OutboundMessage.objects.get(debtor=debtor, action__as_of=D(as_of))


@pytest.mark.django_db
def test_a_reminder_withdrawn_before_sending_puts_nobody_in_default(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    from mahnwerk.comms.outbox import recheck_queued

    debtor = make_debtor()
    inv = make_invoice(debtor, "RE-7", "1000.00", "2025-03-03", issue="2025-02-01")
    run_collection(company, D("2025-03-10"), send=False)  # queued: "pay by 03-20"
    inv.refresh_from_db()
    assert inv.default_from == D("2025-03-21")
    Debtor.objects.filter(pk=debtor.pk).update(do_not_contact=True)
    assert recheck_queued(debtor_ids=[debtor.pk]) == {"do_not_contact": 1}
    inv.refresh_from_db()
    # the reminder never went out: default begins 30 days after the due date, 03-03 + 30 = 04-02, from 04-03
    assert inv.default_from == D("2025-04-03")
    line = statement(company, debtor.pk, "business", D("2025-03-31"))["lines"][0]
    assert line["interest_open_minor"] == 0


@pytest.mark.django_db
def test_a_returned_letter_takes_back_its_fee_and_the_default_it_caused(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    from mahnwerk.comms.letters_batch import record_returned_letter
    from mahnwerk.ledger.models import TimelineEvent
    from mahnwerk.ledger.timeline import describe

    debtor, inv = by_post_at_cost(company, make_debtor, make_invoice, "RE-8")
    run_and_post(company, "2025-03-10")  # default-causing letter: default from 03-21, free
    run_and_post(company, "2025-03-24")  # firm reminder by post: 1.50
    assert charges(debtor) == [("reminder_fee", 150)]
    record_returned_letter(message_of(debtor, "2025-03-24"))
    # the firm reminder never arrived: no fee for it; default still stands by the first letter
    assert charges(debtor) == []
    inv.refresh_from_db()
    assert (inv.default_from, inv.default_rule) == (D("2025-03-21"), "reminder_deadline")
    event = TimelineEvent.objects.get(debtor=debtor, kind="charge_cancelled")
    with translation.override("en"):
        assert describe(event) == (
            "Reminder fee of €1.50 on RE-8 cancelled: the reminder did not reach the customer"
        )
    record_returned_letter(message_of(debtor, "2025-03-10"))
    inv.refresh_from_db()
    # neither letter arrived: default by the 30-day rule, from 04-03
    assert inv.default_from == D("2025-04-03")


@pytest.mark.django_db
def test_a_flat_compensation_booked_under_a_default_that_is_taken_back_goes_too(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    from mahnwerk.comms.letters_batch import record_returned_letter

    debtor = make_debtor(**POSTAL)
    inv = make_invoice(debtor, "RE-9", "1000.00", "2025-03-03", issue="2025-02-01")
    prefer(debtor, "letter")
    run_and_post(company, "2025-03-10")  # received 03-13, "pay by 03-20": default from 03-21
    run_and_post(company, "2025-03-24")  # in default: the 40.00
    assert charges(debtor) == [("flat_compensation", 4000)]
    record_returned_letter(message_of(debtor, "2025-03-10"))
    inv.refresh_from_db()
    # the firm reminder (received 03-27, "pay by 04-03") would put the debtor in default from 04-04; the
    # 30-day rule does from 04-03: the 40.00 booked on 03-24 came before default and is taken back
    assert inv.default_from == D("2025-04-03")
    assert charges(debtor) == []
    line = statement(company, debtor.pk, "business", D("2025-04-07"))["lines"][0]
    # 04-03..04-07 = 5 days: 1000.00 x 0.1127 x 5 / 365 = 1.5438 -> 1.54
    assert (line["interest_open_minor"], line["fees_open_minor"]) == (154, 0)
    run_and_post(company, "2025-04-07")  # in default now: the next step books the 40.00 again
    assert charges(debtor) == [("flat_compensation", 4000)]


@pytest.mark.django_db
def test_a_letter_printed_late_is_written_with_the_figures_of_the_print_day(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    from mahnwerk.comms.audit import audit_messages
    from mahnwerk.comms.documents import letter_context
    from mahnwerk.comms.letters_batch import print_letters

    debtor, _inv = by_post_at_cost(company, make_debtor, make_invoice, "RE-10")
    run_collection(company, D("2025-03-10"), send=False)
    assert print_letters(company, D("2025-03-10")).letters == 1  # "pay by 03-20": default from 03-21
    run_collection(company, D("2025-03-24"), send=False)  # the firm reminder, 1.50 for the letter
    letter = message_of(debtor, "2025-03-24")
    # printed eight days late: dated 04-01, ten days to pay from then, and the figures of that day
    assert print_letters(company, D("2025-04-01")).letters == 1
    letter.refresh_from_db()
    context = letter_context(letter)
    assert (context.letter_date, context.new_deadline, letter.business_date) == (
        D("2025-04-01"),
        D("2025-04-11"),
        D("2025-04-01"),
    )
    # interest 03-21..04-01 = 12 days: 1000.00 x 0.1127 x 12 / 365 = 3.7052 -> 3.71 (3.24 on 03-24 would
    # have been 4 days: 1.24); the letter's 1.50, booked the day it was posted
    (item,) = context.items
    assert (item.open_minor, item.interest_minor, item.fees_minor) == (100000, 371, 150)
    assert Charge.objects.get(debtor=debtor).booked_on == D("2025-04-01")
    line = statement(company, debtor.pk, "business", D("2025-04-01"))["lines"][0]
    assert (line["interest_open_minor"], line["fees_open_minor"]) == (371, 150)
    assert letter.payload["qr"] and "1005.21" in letter.payload["qr"]
    assert audit_messages(company).violations == []


@pytest.mark.django_db
def test_no_next_step_while_the_last_letter_waits_for_the_print_batch(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    from mahnwerk.collection.services import decide_debtor, held_text
    from mahnwerk.comms.letters_batch import print_letters
    from mahnwerk.core.playbook import Held

    debtor, inv = by_post_at_cost(company, make_debtor, make_invoice, "RE-11")
    run_collection(company, D("2025-03-10"), send=False)  # nobody printed it
    # two weeks on, the firm reminder would be due: it waits for the first letter to go out
    assert run_collection(company, D("2025-03-24"), send=False).actions_created == 0
    outcome = decide_debtor(company, debtor, D("2025-03-24"))
    assert (outcome.held, outcome.next_contact) == (Held.UNSENT, D("2025-03-10"))
    with translation.override("en"):
        assert held_text(company, outcome).startswith("The message of 10 Mar 2025 has not gone out yet")
    assert print_letters(company, D("2025-03-24")).letters == 1  # dated 03-24, "pay by 04-03"
    inv.refresh_from_db()
    # received 03-27 with "pay by 04-03", and the 30-day rule (from 04-03) decide default
    assert inv.default_from == D("2025-04-03")
    assert run_collection(company, D("2025-04-03")).actions_created == 0
    assert run_collection(company, D("2025-04-07")).actions_created == 1


@pytest.mark.django_db
def test_a_batch_prints_one_letter_per_customer_the_earlier_step_first(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    from mahnwerk.comms.letters_batch import print_letters
    from mahnwerk.comms.models import MessageStatus, OutboundMessage

    debtor, inv = by_post_at_cost(company, make_debtor, make_invoice, "RE-14")
    run_collection(company, D("2025-03-10"), send=False)
    first = message_of(debtor, "2025-03-10")
    OutboundMessage.objects.filter(pk=first.pk).update(status=MessageStatus.SENT)  # as if printed
    run_collection(company, D("2025-03-24"), send=False)  # the firm reminder, 1.50
    second = message_of(debtor, "2025-03-24")
    assert charges(debtor) == [("reminder_fee", 150)]
    # the first letter jammed in the printer and a clerk put it back in the queue
    OutboundMessage.objects.filter(pk=first.pk).update(status=MessageStatus.QUEUED)

    batch = print_letters(company, D("2025-03-24"))

    # the customer gets the first reminder, dated today with ten days to pay, not both with two totals
    assert (batch.letters, batch.withdrawn) == (1, {"superseded": 1})
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.status, second.status) == (MessageStatus.SENT, MessageStatus.CANCELLED)
    assert first.action is not None and first.action.deadline == D("2025-04-03")
    # the firm reminder's fee went with it; no interest or fees on the letter of 03-24
    assert charges(debtor) == []
    inv.refresh_from_db()
    assert inv.default_from == D("2025-04-03")
    assert [(i["interest_minor"], i["fees_minor"]) for i in first.payload["items"]] == [(0, 0)]


@pytest.mark.django_db
def test_a_fee_booked_by_a_run_in_german_is_named_in_each_readers_language(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    from mahnwerk.ledger.models import TimelineEvent
    from mahnwerk.ledger.timeline_display import describe

    debtor, _inv = by_post_at_cost(company, make_debtor, make_invoice, "RE-12")
    with translation.override("de"):  # a clerk's "send now" in the German web app runs in German
        run_and_post(company, "2025-03-10")
        run_and_post(company, "2025-03-24")
    event = TimelineEvent.objects.get(debtor=debtor, kind="charge_booked")
    assert event.data["charge"] == "Reminder fee"  # kept in English, as every event's data
    with translation.override("lv"):
        assert describe(event).startswith("Parāda atgūšanas izdevumi")
    with translation.override("en"):
        assert describe(event) == "Reminder fee of €1.50 booked on RE-12"


@pytest.mark.django_db
def test_the_timeline_says_why_a_flat_compensation_was_taken_back(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    from mahnwerk.comms.letters_batch import record_returned_letter
    from mahnwerk.ledger.models import TimelineEvent
    from mahnwerk.ledger.timeline import describe

    debtor = make_debtor(**POSTAL)
    make_invoice(debtor, "RE-13", "1000.00", "2025-03-03", issue="2025-02-01")
    prefer(debtor, "letter")
    run_and_post(company, "2025-03-10")
    run_and_post(company, "2025-03-24")  # the 40.00, booked by a letter that did arrive
    record_returned_letter(message_of(debtor, "2025-03-10"))
    (event,) = TimelineEvent.objects.filter(debtor=debtor, kind__startswith="charge_cancelled")
    with translation.override("en"):
        assert describe(event) == (
            "Flat compensation of €40.00 on RE-13 cancelled: it was booked before default, which now begins "
            "on 2025-04-03"
        )


@pytest.mark.django_db
def test_a_payment_that_stops_a_letter_pays_the_principal_not_the_letters_fee(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    from mahnwerk.ledger.models import Allocation, Invoice
    from mahnwerk.ledger.services import Receipt, record_payments

    debtor, inv = by_post_at_cost(company, make_debtor, make_invoice, "RE-15")
    run_and_post(company, "2025-03-10")  # "pay by 03-20": default from 03-21
    run_collection(company, D("2025-03-24"))  # the firm reminder waits for the print batch, 1.50 booked
    assert charges(debtor) == [("reminder_fee", 150)]
    # 50.00 comes in before the batch is printed: costs first, so 1.50 paid the fee; the letter no longer
    # fits and is withdrawn, its fee with it, and those 1.50 pay the principal instead
    record_payments(
        company, [Receipt(debtor.pk, 50_00, "EUR", D("2025-03-25"), "RE-15", debtor.name, inv.pk)]
    )
    assert message_of(debtor, "2025-03-24").status == "cancelled"
    assert charges(debtor) == []
    inv = Invoice.objects.get(pk=inv.pk)
    paid = list(Allocation.objects.filter(invoice=inv).values_list("component", "amount_minor"))
    # interest 03-21..03-25 = 5 days on 1000.00 at 11.27 %: 1.5438 -> 1.54 paid first; the rest principal
    assert sorted(paid) == [("interest", 154), ("principal", 150), ("principal", 4696)]
    assert inv.open_minor == 1000_00 - 4696 - 150


@pytest.mark.django_db
def test_interest_paid_for_days_no_longer_in_default_pays_the_principal(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    from mahnwerk.comms.letters_batch import record_returned_letter
    from mahnwerk.ledger.models import Allocation, Invoice
    from mahnwerk.ledger.services import Receipt, record_payments

    debtor = make_debtor(**POSTAL)
    inv = make_invoice(debtor, "RE-16", "1000.00", "2025-03-03", issue="2025-02-01")
    prefer(debtor, "letter")
    run_and_post(company, "2025-03-10")  # "pay by 03-20": default from 03-21
    run_and_post(company, "2025-03-24")  # the 40.00
    # 100.00 on 03-28: costs 40.00, interest 03-21..03-28 = 8 days: 1000 x 0.1127 x 8 / 365 = 2.47,
    # principal 57.53
    record_payments(company, [Receipt(debtor.pk, 100_00, "EUR", D("2025-03-28"), "", debtor.name, inv.pk)])
    record_returned_letter(message_of(debtor, "2025-03-10"))
    # default by the 30-day rule from 04-03: the 40.00 and the 2.47 were paid for what is no longer owed, and
    # pay the principal from 03-28 instead: 1000.00 - 100.00 = 900.00 open
    assert charges(debtor) == []
    inv = Invoice.objects.get(pk=inv.pk)
    assert inv.open_minor == 900_00
    assert not Allocation.objects.filter(invoice=inv, component="interest").exists()
    # interest 04-03..04-10 = 8 days on 900.00: 900 x 0.1127 x 8 / 365 = 2.2231 -> 2.22
    line = statement(company, debtor.pk, "business", D("2025-04-10"))["lines"][0]
    assert (line["principal_open_minor"], line["interest_open_minor"], line["fees_open_minor"]) == (
        900_00,
        222,
        0,
    )


@pytest.mark.django_db
def test_a_failed_reminder_put_back_in_the_queue_counts_again_while_its_deadline_leaves_time(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    from mahnwerk.collection.services import cancel_actions
    from mahnwerk.comms.models import MessageStatus, OutboundMessage
    from mahnwerk.comms.outbox import retry_failed

    def fail(message: Any) -> None:  # the mail server refused it for good
        OutboundMessage.objects.filter(pk=message.pk).update(status=MessageStatus.FAILED, last_error="550")
        cancel_actions([message.action_id])

    debtor = make_debtor()
    inv = make_invoice(debtor, "RE-17", "1000.00", "2025-03-03", issue="2025-02-01")
    run_collection(company, D("2025-03-10"), send=False)  # "pay by 03-20"
    fail(message := message_of(debtor, "2025-03-10"))
    inv.refresh_from_db()
    assert inv.default_from == D("2025-04-03")  # the 30-day rule: the reminder never arrived
    # put back on 03-12: eight days to pay are left, it goes out and puts the customer in default after them
    with time_machine.travel("2025-03-12 09:00 +0000", tick=False):
        assert retry_failed(company).requeued == [message.pk]
    inv.refresh_from_db()
    assert (inv.default_from, inv.default_rule) == (D("2025-03-21"), "reminder_deadline")
    # once more, on 03-15: five days left are too few for a message that names 03-20; the next run writes anew
    fail(message)
    with time_machine.travel("2025-03-15 09:00 +0000", tick=False):
        result = retry_failed(company)
    assert (result.requeued, result.withdrawn) == ([], {"deadline": 1})
    inv.refresh_from_db()
    assert inv.default_from == D("2025-04-03")
