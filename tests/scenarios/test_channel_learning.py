"""The channel the customer answers: a customer who paid twice within days of a text message and never after
an email gets the next reminder as a text message, with the reason on the timeline — within the playbook's
fallbacks, the contract's agreed channels, the written first notice and the company's switch."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from mahnwerk.collection.services import run_collection
from mahnwerk.comms.dispatch import reachability
from mahnwerk.comms.models import OutboundMessage
from mahnwerk.core.playbook import Channel
from mahnwerk.ledger.models import Contact, Debtor
from mahnwerk.ledger.timeline import describe

D = date.fromisoformat


def history(debtor: Any, make_invoice: Any, pay: Any) -> None:
    """Five earlier reminders: emails in January, February and April, each paid only weeks later; text
    messages in March and May, paid two and three days after."""
    sent = [
        ("email", "2025-01-10", 20),
        ("email", "2025-02-10", 20),
        ("sms", "2025-03-10", 2),
        ("email", "2025-04-10", 25),
        ("sms", "2025-05-12", 3),
    ]
    for n, (channel, day, paid_after) in enumerate(sent, start=1):
        reminded_and_paid(debtor, make_invoice, pay, f"history-{n}", channel, D(day), paid_after)


def reminded_and_paid(
    debtor: Any, make_invoice: Any, pay: Any, key: str, channel: str, on: date, paid_after: int
) -> None:
    """An invoice of 100.00 due a week before ``on``, a reminder sent on ``channel`` that day, the payment
    ``paid_after`` days later."""
    invoice = make_invoice(debtor, f"{key}-{debtor.pk}", "100.00", (on - timedelta(days=7)).isoformat())
    OutboundMessage.objects.create(
        company=debtor.company,
        debtor=debtor,
        channel=channel,
        recipient="x",
        language="de",
        subject="Zahlungserinnerung",
        body_text="...",
        message_id=f"<{key}-{debtor.pk}@test>",
        status="sent",
        business_date=on,
    )
    pay(debtor, "100.00", (on + timedelta(days=paid_after)).isoformat(), invoice=invoice)


def sms_payer(make_debtor: Any, make_invoice: Any, pay: Any, **fields: Any) -> Any:
    debtor = make_debtor(name=fields.pop("name", "Bäckerei Sommer GmbH"), **fields)
    Contact.objects.create(debtor=debtor, kind="phone", value="+49 170 5550101")
    history(debtor, make_invoice, pay)
    return debtor


def reminder(debtor: Any) -> OutboundMessage:
    found = OutboundMessage.objects.filter(debtor=debtor, business_date=D("2025-06-16")).get()
    return found


@pytest.mark.django_db
def test_a_customer_who_pays_after_sms_and_never_after_email_gets_sms_with_the_reason(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any, outbox: Path
) -> None:
    debtor = sms_payer(make_debtor, make_invoice, pay)
    plain = make_debtor(name="Metallbau Kranz KG")  # no history: the playbook's email
    Contact.objects.create(debtor=plain, kind="phone", value="+49 170 5550102")
    make_invoice(debtor, "R-6", "240.00", "2025-06-09")
    make_invoice(plain, "R-7", "240.00", "2025-06-09")
    run_collection(company, D("2025-06-16"), approved=True)
    assert reminder(debtor).channel == "sms"
    assert reminder(plain).channel == "email"
    (event,) = debtor.timeline.filter(kind="channel_learned")
    assert event.data == {
        "step": "email",
        "channel": "sms",
        "reason": "paid twice within 3 days of an SMS, never after email",
    }
    with translation.override("en"):
        assert describe(event) == (
            "sms instead of email: the customer answers it (paid twice within 3 days of an SMS, never after email)"
        )
    assert not debtor.timeline.filter(kind="channel_fallback").exists()
    assert not plain.timeline.filter(kind__in=("channel_learned", "channel_fallback")).exists()


@pytest.mark.django_db
def test_the_contracts_agreed_channels_win_over_learning(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any, outbox: Path
) -> None:
    debtor = sms_payer(make_debtor, make_invoice, pay, agreed_channels="email, letter")
    make_invoice(debtor, "R-6", "240.00", "2025-06-09")
    run_collection(company, D("2025-06-16"), approved=True)
    assert reminder(debtor).channel == "email"


@pytest.mark.django_db
def test_a_latvian_consumers_written_first_notice_wins_over_learning(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any, outbox: Path
) -> None:
    debtor = sms_payer(
        make_debtor,
        make_invoice,
        pay,
        name="Ilze Kalniņa",
        language="lv",
        kind="consumer",
        country="LV",
        time_zone="Europe/Riga",
    )
    make_invoice(debtor, "R-6", "240.00", "2025-06-09")
    run_collection(company, D("2025-06-16"), approved=True)
    assert reminder(debtor).channel in ("email", "letter")
    assert not debtor.timeline.filter(kind="channel_learned", data__channel="sms").exists()


@pytest.mark.django_db
def test_a_channel_the_customer_opted_out_of_is_never_learned(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any, outbox: Path
) -> None:
    debtor = sms_payer(make_debtor, make_invoice, pay)
    Contact.objects.filter(debtor=debtor, kind="phone").update(opted_out=True)
    make_invoice(debtor, "R-6", "240.00", "2025-06-09")
    run_collection(company, D("2025-06-16"), approved=True)
    assert reminder(debtor).channel == "email"


@pytest.mark.django_db
def test_a_company_can_switch_learning_off(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any, outbox: Path
) -> None:
    from mahnwerk.experiments.channels import set_learning

    set_learning(company.pk, False)
    debtor = sms_payer(make_debtor, make_invoice, pay)
    make_invoice(debtor, "R-6", "240.00", "2025-06-09")
    run_collection(company, D("2025-06-16"), approved=True)
    assert reminder(debtor).channel == "email"
    assert not debtor.timeline.filter(kind="channel_learned").exists()


@pytest.mark.django_db
def test_the_profiles_load_in_a_fixed_number_of_queries(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any, django_assert_num_queries: Any
) -> None:
    for n in range(3):
        sms_payer(make_debtor, make_invoice, pay, name=f"Kunde {n}")
    debtors = Debtor.objects.in_bulk()
    # contacts, the switch, messages, calls, payments, answers, opt-outs, the companies' return addresses
    with django_assert_num_queries(8):
        reach = reachability(debtors)
    assert all(r.profile.stats(Channel.SMS).paid == 2 for r in reach.values())


@pytest.mark.django_db
def test_the_command_line_shows_what_followed_a_debtors_messages(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    from io import StringIO

    from django.core.management import call_command

    debtor = sms_payer(make_debtor, make_invoice, pay)
    out = StringIO()
    call_command("experiment", "learning", "show", "--debtor", debtor.number, stdout=out)
    lines = out.getvalue().splitlines()
    assert "Channel learning is on" in lines[0]
    assert lines[2].split()[:2] == ["SMS", "2"] and "paid twice within 3 days of an SMS" in lines[2]
    assert "never after email" in lines[3]


def written_history(
    debtor: Any, make_invoice: Any, pay: Any, letters_paid: bool, letters: bool = True
) -> None:
    """Two emails (January, February) never paid within the window, then (``letters``) two letters of the
    playbook's own (March, April), paid three days after each when ``letters_paid``."""
    sent = [
        ("email", "2025-01-10"),
        ("email", "2025-02-10"),
        ("letter", "2025-03-10"),
        ("letter", "2025-04-10"),
    ]
    for n, (channel, day) in enumerate(sent if letters else sent[:2], start=1):
        paid_after = 3 if channel == "letter" and letters_paid else 20
        reminded_and_paid(debtor, make_invoice, pay, f"written-{n}", channel, D(day), paid_after)


@pytest.mark.django_db
def test_a_letter_on_evidence_or_as_the_last_resort_and_where_the_amount_is_worth_its_cost(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any, outbox: Path
) -> None:
    # no phone: the email step's candidates are email and letter
    reader = make_debtor(name="Schreiner Holz GmbH", street="Weg 1", postcode="10115", city="Berlin")
    silent = make_debtor(name="Stumm GmbH", street="Weg 2", postcode="10115", city="Berlin")
    small = make_debtor(name="Klein GmbH", street="Weg 3", postcode="10115", city="Berlin")
    unread = make_debtor(name="Nie Gelesen GmbH", street="Weg 4", postcode="10115", city="Berlin")
    unread_small = make_debtor(name="Wenig GmbH", street="Weg 5", postcode="10115", city="Berlin")
    written_history(reader, make_invoice, pay, letters_paid=True)
    written_history(silent, make_invoice, pay, letters_paid=False)
    written_history(small, make_invoice, pay, letters_paid=True)
    written_history(unread, make_invoice, pay, letters_paid=False, letters=False)
    written_history(unread_small, make_invoice, pay, letters_paid=False, letters=False)
    make_invoice(reader, "R-1", "240.00", "2025-06-09")
    make_invoice(silent, "R-2", "240.00", "2025-06-09")
    make_invoice(small, "R-3", "25.00", "2025-06-09")  # less than 20 letters' postage (1.50 each)
    make_invoice(unread, "R-4", "240.00", "2025-06-09")
    make_invoice(unread_small, "R-5", "25.00", "2025-06-09")
    company.min_reminder_amount = Decimal("0")
    company.save()
    run_collection(company, D("2025-06-16"), approved=True)
    # answered the letters, paid within 3 days each time: a letter, with the evidence
    assert reminder(reader).channel == "letter"
    (event,) = reader.timeline.filter(kind="channel_learned")
    assert event.data["reason"] == "paid twice within 3 days of a letter, never after email"
    # letters went unanswered as well as emails: nothing answers better, the playbook's email stays
    assert reminder(silent).channel == "email"
    # answers letters, but 25.00 is not worth a letter's postage: the email stays
    assert reminder(small).channel == "email"
    # no phone, two emails unanswered, no letter yet: a letter as the last resort, for 240.00 but not for 25.00
    assert reminder(unread).channel == "letter"
    # no evidence that it answers letters: the timeline says a letter is tried, not that the customer answers it
    tried = unread.timeline.get(kind="channel_tried")
    assert tried.data["reason"] == "no answer to 2 emails; trying a letter"
    with translation.override("en"):
        assert describe(tried) == (
            "letter instead of email, to reach the customer another way (no answer to 2 emails; trying a letter)"
        )
    assert not unread.timeline.filter(kind="channel_learned").exists()
    assert reminder(unread_small).channel == "email"
    for debtor in (silent, small, unread_small):
        assert not debtor.timeline.filter(kind="channel_learned").exists()


@pytest.mark.django_db
def test_unanswered_emails_try_only_channels_the_customer_can_be_sent(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any, outbox: Path
) -> None:
    """After two unanswered emails the run tries another channel — an SMS where the customer has a mobile
    number it did not opt out of and the contract allows text messages; never a channel it refused."""
    company.min_reminder_amount = Decimal("0")
    company.save()
    mobile = make_debtor(name="Handy GmbH")
    refused = make_debtor(name="Kein SMS GmbH")
    unagreed = make_debtor(name="Nur Mail GmbH", agreed_channels="email")
    for n, debtor in enumerate((mobile, refused, unagreed)):
        Contact.objects.create(debtor=debtor, kind="phone", value=f"+49 170 555020{n}")
        written_history(debtor, make_invoice, pay, letters_paid=False, letters=False)
        make_invoice(debtor, f"R-{n}", "240.00", "2025-06-09")
    Contact.objects.filter(debtor=refused, kind="phone").update(opted_out=True)
    run_collection(company, D("2025-06-16"), approved=True)
    assert reminder(mobile).channel == "sms"
    assert mobile.timeline.get(kind="channel_tried").data["reason"] == "no answer to 2 emails; trying an SMS"
    for debtor in (refused, unagreed):  # no postal address either: the email stays, nothing is claimed
        assert reminder(debtor).channel == "email"
        assert not debtor.timeline.filter(kind__in=("channel_tried", "channel_learned")).exists()
