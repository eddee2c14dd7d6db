"""Whole collection stories, walked day by day with an explicit business date.

Default playbook: 1 friendly note 3 days before due; 2 reminder 7 days after due (new deadline +10 days);
3 firm reminder 14 days after step 2 (+10 days); 4 formal final notice 14 days after step 3 (+7 days).
"""

from __future__ import annotations

import email
import email.policy
from datetime import date, timedelta
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import pytest

from mahnwerk.collection import services as collection
from mahnwerk.collection.models import Action, ActionItem
from mahnwerk.comms.models import MessageStatus, OutboundMessage

D = date.fromisoformat
DUE = D("2026-03-10")


def day(offset: int) -> date:
    return DUE + timedelta(days=offset)


def sent_messages(outbox: Path) -> list[Message]:
    files = sorted((outbox / "acme").glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in files]


def body(msg: Message) -> str:
    assert isinstance(msg, EmailMessage)
    plain = msg.get_body(preferencelist=("plain",))
    assert plain is not None
    return str(plain.get_content())


def run(company: Any, offset: int) -> collection.RunResult:
    return collection.run_collection(company, day(offset))


@pytest.mark.django_db
def test_one_invoice_from_pre_due_note_to_full_payment(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any, outbox: Path
) -> None:
    # a creditor that claims neither interest nor fees: the reminders show the principal alone
    # (the same story with statutory interest and fees is in test_interest_story.py)
    company.claim_interest = company.charge_fees = False
    company.save()
    debtor = make_debtor(name="Bäckerei Schulz GmbH", language="de")
    make_invoice(debtor, "RE-1001", "1200.00", DUE.isoformat())

    for offset in range(-10, -3):
        assert run(company, offset).actions_created == 0
    assert run(company, -3).messages_queued == 1  # the friendly note
    note = sent_messages(outbox)[-1]
    assert "RE-1001" in str(note["Subject"]) and "fällig am 10.03.2026" in str(note["Subject"])
    assert "1.200,00\xa0€" in body(note)

    for offset in range(-2, 7):
        assert run(company, offset).actions_created == 0  # nothing at +1 and the days around it
    assert run(company, 7).messages_queued == 1  # the first reminder with a new deadline
    reminder = sent_messages(outbox)[-1]
    assert str(reminder["Subject"]).startswith("Zahlungserinnerung")
    assert "bis zum 27.03.2026" in body(reminder)  # +7 plus a 10-day deadline

    pay(debtor, "500.00", day(10).isoformat(), reference="RE-1001")
    for offset in range(8, 21):
        assert run(company, offset).actions_created == 0
    assert run(company, 21).messages_queued == 1  # firm reminder, 14 days after the first
    firm = sent_messages(outbox)[-1]
    assert str(firm["Subject"]).startswith("Mahnung")
    assert "700,00\xa0€" in body(firm)  # only the remaining amount
    assert "1.200,00" not in body(firm)

    pay(debtor, "700.00", day(25).isoformat(), reference="RE-1001")
    for offset in range(22, 120):
        assert run(company, offset).actions_created == 0  # nothing more, ever
    # three collection messages; besides them, keeping in touch: the monthly statement of account on 03-01
    # (a business customer with an open item) and, once everything is paid, a thank-you
    subjects = [str(m["Subject"]) for m in sent_messages(outbox)]
    assert len(subjects) == 5, subjects
    assert subjects[0] == "Kontoauszug Ihres Kundenkontos K0001 zum 01.03.2026"
    assert subjects[-1] == "Vielen Dank für Ihre Zahlung"
    sent = OutboundMessage.objects.filter(status=MessageStatus.SENT)
    assert sent.filter(purpose="collection").count() == 3 and sent.filter(purpose="courtesy").count() == 2
    kinds = list(debtor.timeline.values_list("kind", flat=True))
    assert kinds.count("payment_recorded") == 2 and kinds.count("message_sent") == 5


@pytest.mark.django_db
def test_two_invoices_due_on_different_days_share_one_message(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    debtor = make_debtor(language="en")
    make_invoice(debtor, "INV-1", "100.00", "2026-03-01")
    make_invoice(debtor, "INV-2", "250.50", "2026-03-05")
    other = make_debtor(language="lv")
    make_invoice(other, "INV-3", "80.00", "2026-03-05")

    result = collection.run_collection(company, D("2026-03-12"))  # +11 for INV-1, +7 for INV-2 and INV-3
    assert result.actions_created == 2 and result.messages_queued == 2
    by_recipient = {str(m["To"]): m for m in sent_messages(outbox)}
    combined = body(by_recipient[debtor.contacts.get().value])
    assert "INV-1" in combined and "INV-2" in combined and "INV-3" not in combined
    assert "€350.50" in combined
    latvian = by_recipient[other.contacts.get().value]
    assert str(latvian["Subject"]).startswith("Maksājuma atgādinājums")


@pytest.mark.django_db
def test_running_twice_on_one_date_creates_nothing_new(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    for n in range(5):
        make_invoice(make_debtor(), f"RE-{n}", "99.99", "2026-03-01")
    first = collection.run_collection(company, D("2026-03-08"))
    second = collection.run_collection(company, D("2026-03-08"))
    assert first.actions_created == 5
    assert second.actions_created == 0 and second.messages_queued == 0 and second.already_done == 5
    assert Action.objects.count() == 5 and OutboundMessage.objects.count() == 5
    assert len(sent_messages(outbox)) == 5


@pytest.mark.django_db
def test_an_interrupted_run_is_finished_by_the_next_one_without_duplicates(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    debtors = [make_debtor() for _ in range(7)]
    for n, d in enumerate(debtors):
        make_invoice(d, f"RE-{n}", "10.00", "2026-03-01")
        make_invoice(d, f"RE-{n}b", "20.00", "2026-03-01")
    real = collection.write_chunk
    calls = {"n": 0}

    def crash_on_second_chunk(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("power failure")
        return real(*args)

    monkeypatch.setattr(collection, "write_chunk", crash_on_second_chunk)
    with pytest.raises(RuntimeError):
        collection.run_collection(company, D("2026-03-08"), chunk_size=3)
    assert Action.objects.count() == 3  # the first chunk committed, the second rolled back whole
    assert ActionItem.objects.count() == 6
    monkeypatch.setattr(collection, "write_chunk", real)

    again = collection.run_collection(company, D("2026-03-08"), chunk_size=3)
    assert again.actions_created == 4 and again.already_done == 3
    per_debtor = [OutboundMessage.objects.filter(debtor=d).count() for d in debtors]
    assert per_debtor == [1] * 7
    assert sorted(str(m["To"]) for m in sent_messages(outbox)) == sorted(
        d.contacts.get().value for d in debtors
    )


@pytest.mark.django_db
def test_a_payment_recorded_before_sending_cancels_the_queued_message(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any, outbox: Path
) -> None:
    debtor = make_debtor()
    make_invoice(debtor, "RE-7", "300.00", "2026-03-01")
    queued = collection.run_collection(company, D("2026-03-08"), send=False)
    assert queued.messages_queued == 1
    pay(debtor, "300.00", "2026-03-08", reference="RE-7")
    from mahnwerk.comms.outbox import send_queued

    assert send_queued(company)["sent"] == 0
    assert OutboundMessage.objects.get().status == MessageStatus.CANCELLED
    assert sent_messages(outbox) == []
    assert collection.run_collection(company, D("2026-03-09")).actions_created == 0


@pytest.mark.django_db
def test_a_part_payment_before_sending_replaces_the_message_with_the_right_amount(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any, outbox: Path
) -> None:
    debtor = make_debtor(language="en")
    make_invoice(debtor, "RE-8", "300.00", "2026-03-01")
    collection.run_collection(company, D("2026-03-08"), send=False)
    pay(debtor, "100.00", "2026-03-08", reference="RE-8")
    again = collection.run_collection(company, D("2026-03-08"))
    assert again.messages_queued == 1
    (msg,) = sent_messages(outbox)
    assert "€200.00" in body(msg) and "€300.00" not in body(msg)
    assert list(OutboundMessage.objects.order_by("id").values_list("status", flat=True)) == [
        "cancelled",
        "sent",
    ]


@pytest.mark.django_db
def test_items_on_hold_and_debtors_not_to_contact_get_nothing(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    held = make_debtor()
    make_invoice(held, "RE-H", "50.00", "2026-03-01", on_hold=True)
    dnc = make_debtor(do_not_contact=True)
    make_invoice(dnc, "RE-D", "50.00", "2026-03-01")
    case_hold = make_debtor()
    make_invoice(case_hold, "RE-C", "50.00", "2026-03-01")
    collection.set_hold(company, case_hold, True, reason="insolvency check")
    no_email = make_debtor(email=None)
    make_invoice(no_email, "RE-N", "50.00", "2026-03-01")

    result = collection.run_collection(company, D("2026-03-08"))
    assert result.actions_created == 1 and result.messages_queued == 0 and result.no_contact == 1
    assert no_email.timeline.filter(kind="no_contact").exists()
    collection.set_hold(company, case_hold, False)
    assert collection.run_collection(company, D("2026-03-09")).messages_queued == 1


@pytest.mark.django_db
def test_dry_run_writes_nothing(company: Any, make_debtor: Any, make_invoice: Any, outbox: Path) -> None:
    make_invoice(make_debtor(), "RE-1", "10.00", "2026-03-01")
    result = collection.run_collection(company, D("2026-03-08"), dry_run=True)
    assert result.debtors_due == 1 and result.plan[0]["level"] == 2
    assert Action.objects.count() == 0 and OutboundMessage.objects.count() == 0


@pytest.mark.django_db
def test_a_playbook_in_approval_mode_waits_for_a_person(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    from mahnwerk.collection.models import Playbook

    Playbook.objects.filter(company=company).update(approval_required=True)
    make_invoice(make_debtor(), "RE-1", "10.00", "2026-03-01")
    waiting = collection.run_collection(company, D("2026-03-08"))
    assert waiting.actions_created == 0 and waiting.awaiting_approval == 1
    assert (
        collection.run_collection(company, D("2026-03-08"), dry_run=True).debtors_due == 1
    )  # the preview shows it
    approved = collection.run_collection(company, D("2026-03-08"), approved=True)
    assert approved.actions_created == 1 and len(sent_messages(outbox)) == 1
