"""The run decides, the outbox renders: the run writes its messages as records (items, amounts, deadline,
channel, recipient) and renders nothing; the outbox writes subject and text before anything reads or sends
them, each message once, together with its ``message_queued`` event, and a crash midway loses nothing."""

from __future__ import annotations

import email
import email.policy
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine

from mahnwerk.collection.services import run_collection
from mahnwerk.comms import compose as compose_module
from mahnwerk.comms.compose import render_pending
from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.comms.outbox import send_queued
from mahnwerk.comms.rendering import InterestBasis, MessageItem, item_from_json, item_to_json

D = date.fromisoformat


def test_a_message_item_survives_its_json_unchanged() -> None:
    full = MessageItem(
        "RE-1",
        D("2026-01-02"),
        D("2026-02-01"),
        12_345,
        "EUR",
        "RF18539007547034",
        interest_minor=321,
        fees_minor=4_000,
        interest=InterestBasis(
            first_day=D("2026-02-02"),
            last_day=D("2026-03-08"),
            rate=Decimal("11.27"),
            margin=Decimal("9"),
            table="DE-247",
            agreed=False,
            principal_minor=12_345,
        ),
        interest_missing_from=D("2026-07-01"),
        costs=(("flat_compensation", 4_000),),
    )
    plain = MessageItem("7", D("2026-01-02"), D("2026-02-01"), 1, "USD", "7", interest_unavailable=True)
    bare = MessageItem("R-9", D("2026-01-02"), D("2026-02-01"), 500, "EUR", "R-9")
    other_reference = MessageItem("R-9", D("2026-01-02"), D("2026-02-01"), 500, "EUR", "")
    for item in (full, plain, bare, other_reference):
        assert item_from_json(item_to_json(item)) == item
    # what an item usually has is not written out (a run writes this for every item it names)
    assert set(item_to_json(bare)) == {"number", "issue_date", "due_date", "open_minor", "currency"}
    # a message recorded with every field named (before that) reads the same
    longer = {
        "number": "R-9",
        "issue_date": "2026-01-02",
        "due_date": "2026-02-01",
        "open_minor": 500,
        "currency": "EUR",
        "reference": "R-9",
        "interest_minor": 0,
        "fees_minor": 0,
        "interest_unavailable": False,
        "interest": None,
        "interest_missing_from": None,
        "costs": [],
    }
    assert item_from_json(longer) == bare


def _queued(company: Any) -> list[OutboundMessage]:
    return list(OutboundMessage.objects.filter(company=company).order_by("id"))


@pytest.mark.django_db
def test_the_run_writes_records_and_the_outbox_renders_each_once(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    anna = make_debtor(name="Anna Schmidt")
    make_invoice(anna, "RE-2026-17", "1234.50", "2026-03-01")
    run_collection(company, D("2026-03-08"), send=False)
    [msg] = _queued(company)
    # decided and recorded, not written: no text, no subject, no timeline entry of a queued message yet
    assert msg.render_pending and msg.subject == "" and msg.body_text == ""
    assert msg.payload["compose"]["items"][0]["number"] == "RE-2026-17" and msg.payload["qr"] is None
    assert "items" not in msg.payload  # the lines are the outbox's to write, from the recorded figures
    assert not anna.timeline.filter(kind="message_queued").exists()
    assert anna.timeline.filter(kind="action_created").count() == 1

    assert render_pending(company) == 1
    msg.refresh_from_db()
    # written; the run's record stays until the message has gone out (a late one is written again)
    assert not msg.render_pending and msg.payload["compose"]["items"][0]["number"] == "RE-2026-17"
    assert [(i["number"], i["open_minor"]) for i in msg.payload["items"]] == [("RE-2026-17", 123_450)]
    assert "RE-2026-17" in msg.body_text and "1.234,50" in msg.body_text, msg.body_text
    assert "RE-2026-17" in msg.subject or "Zahlungserinnerung" in msg.subject, msg.subject
    assert msg.payload["qr"] and msg.payload["qr"].startswith("BCD")  # the GiroCode, made by the outbox
    assert anna.timeline.filter(kind="message_queued").count() == 1
    # nothing left: a second call renders nothing and writes no second event
    assert render_pending(company) == 0
    assert anna.timeline.filter(kind="message_queued").count() == 1


@pytest.mark.django_db
def test_sending_renders_first_and_never_sends_an_empty_message(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    make_invoice(make_debtor(name="Berta Bauer"), "RE-5", "80.00", "2026-03-01")
    run_collection(company, D("2026-03-08"), send=False)
    assert [m.render_pending for m in _queued(company)] == [True]
    counts = send_queued(company=company)
    assert counts["sent"] == 1
    [msg] = _queued(company)
    assert msg.status == MessageStatus.SENT and not msg.render_pending
    assert "compose" not in msg.payload and msg.payload["items"]  # sent: the record is let go
    [sent] = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in outbox.rglob("*.eml")
    ]
    text = sent.get_body(preferencelist=("plain",)).get_content()
    assert sent["Subject"] == msg.subject and text.replace("\r\n", "\n").strip() == msg.body_text.strip()
    assert "RE-5" in text and "80,00" in text


class Killed(BaseException):
    """Not an error a message can have: the process stops."""


@pytest.mark.django_db
def test_a_crash_while_rendering_leaves_the_rest_for_the_next_call(
    company: Any, make_debtor: Any, make_invoice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(5):
        make_invoice(make_debtor(name=f"Kunde {n}"), f"RE-{n}", "100.00", "2026-03-01")
    run_collection(company, D("2026-03-08"), send=False)
    monkeypatch.setattr(compose_module, "CHUNK", 2)
    real = compose_module.compose
    calls = 0

    def dies_on_the_fourth(msg: Any, company_: Any, debtor: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise Killed  # the process ends here (what a SIGKILL does, as far as the database sees it)
        real(msg, company_, debtor)

    monkeypatch.setattr(compose_module, "compose", dies_on_the_fourth)
    with pytest.raises(Killed):
        render_pending(company)
    # the first chunk (two messages) is written with its events; the chunk in flight is not
    rendered = [m for m in _queued(company) if not m.render_pending]
    assert len(rendered) == 2 and all(m.body_text for m in rendered)
    from mahnwerk.ledger.models import TimelineEvent

    assert TimelineEvent.objects.filter(company=company, kind="message_queued").count() == 2
    monkeypatch.setattr(compose_module, "compose", real)
    assert render_pending(company) == 3
    assert all(not m.render_pending and m.body_text for m in _queued(company))
    queued_events = TimelineEvent.objects.filter(company=company, kind="message_queued")
    assert sorted(queued_events.values_list("debtor_id", flat=True)) == sorted(
        m.debtor_id for m in _queued(company)
    )


@pytest.mark.django_db
def test_a_page_showing_a_message_renders_it_first(company: Any, make_debtor: Any, make_invoice: Any) -> None:
    from mahnwerk.comms.compose import ensure_rendered

    debtor = make_debtor(name="Carla Christ")
    make_invoice(debtor, "RE-9", "50.00", "2026-03-01")
    run_collection(company, D("2026-03-08"), send=False)
    [msg] = _queued(company)
    ensure_rendered([msg])
    assert not msg.render_pending and "RE-9" in msg.body_text
    assert OutboundMessage.objects.get(pk=msg.pk).body_text == msg.body_text


@pytest.mark.django_db
def test_outbox_render_writes_what_the_run_left_and_says_how_many(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    import json
    from io import StringIO

    from django.core.management import CommandError, call_command

    for n in range(3):
        make_invoice(make_debtor(name=f"Firma {n}"), f"RE-{n}", "100.00", "2026-03-01")
    run_collection(company, D("2026-03-08"), send=False)
    out = StringIO()
    from django.db import connection

    # on SQLite two workers asked for are one: it takes one writer at a time (on PostgreSQL helper processes
    # would not see this test's uncommitted ledger: one there too)
    workers = "2" if connection.vendor == "sqlite" else "1"
    call_command("outbox", "render", "--workers", workers, "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"rendered": 3}
    assert not OutboundMessage.objects.filter(render_pending=True).exists()
    with pytest.raises(CommandError, match="--workers"):
        call_command("outbox", "render", "--workers", "0", stdout=StringIO())


@pytest.mark.django_db
def test_a_message_that_cannot_be_written_fails_alone_and_the_others_go(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mahnwerk.comms.outbox import retry_failed

    for n in range(3):
        make_invoice(make_debtor(name=f"Kunde {n}"), f"RE-{n}", "100.00", "2026-03-01")
    run_collection(company, D("2026-03-08"), send=False)
    broken = _queued(company)[1]
    real = compose_module.compose

    def breaks_on_one(msg: Any, company_: Any, debtor: Any) -> None:
        if msg.pk == broken.pk:
            raise ValueError("the template names a placeholder that does not exist")
        real(msg, company_, debtor)

    monkeypatch.setattr(compose_module, "compose", breaks_on_one)
    counts = send_queued(company=company)
    assert counts["sent"] == 2  # the others went out
    broken.refresh_from_db()
    assert broken.status == MessageStatus.FAILED and broken.render_pending and broken.body_text == ""
    assert "could not be written: the template names a placeholder" in broken.last_error
    # mended, a person queues it again and it is written and sent
    monkeypatch.setattr(compose_module, "compose", real)
    with time_machine.travel("2026-03-09 09:00 +0000", tick=False):  # its deadline, 03-18, still 9 days off
        assert broken.pk in retry_failed(company, [broken.pk]).requeued
    assert send_queued(company=company)["sent"] == 1
    broken.refresh_from_db()
    assert broken.status == MessageStatus.SENT and "RE-" in broken.body_text
