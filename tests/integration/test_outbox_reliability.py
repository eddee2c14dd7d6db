"""The outbox against a misbehaving mail server on loopback: nothing lost, nothing sent twice.

An aiosmtpd server on 127.0.0.1 answers as told: 451 (try again later), 550 (user unknown, or a refused
message), slowly, or drops the connection in the middle of DATA. Time passes through ``now=``.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import re
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.core.management import CommandError, call_command
from django.utils import timezone

from mahnwerk.collection.models import Action, Run, RunStatus
from mahnwerk.collection.services import run_collection
from mahnwerk.comms import outbox as outbox_module
from mahnwerk.comms.audit import audit_messages
from mahnwerk.comms.compose import render_pending
from mahnwerk.comms.letters_batch import print_letters
from mahnwerk.comms.models import OutboundMessage
from mahnwerk.comms.outbox import (
    CLAIM_LEASE,
    RETRY_GIVE_UP_AFTER,
    RUN_STALE_AFTER,
    retry_delay,
    send_queued,
)
from mahnwerk.ledger.models import Contact

D = date.fromisoformat
POSTAL = {"street": "Lindenallee 5", "postcode": "04109", "city": "Leipzig", "country": "DE"}


@dataclass
class Script:
    """How the server answers next, and what it accepted."""

    rcpt: list[str] = field(default_factory=list)  # answers to RCPT TO, one per command ("" = accept)
    data: list[str] = field(default_factory=list)  # answers to DATA: "250", "451 ...", "drop", "slow"
    accepted: list[bytes] = field(default_factory=list)
    tried: int = 0  # DATA commands seen

    def next(self, answers: list[str]) -> str:
        return answers.pop(0) if answers else ""

    def message_ids(self) -> list[str]:
        return [
            str(email.message_from_bytes(raw, policy=email.policy.default)["Message-ID"])
            for raw in self.accepted
        ]


class Misbehaving:
    def __init__(self, script: Script) -> None:
        self.script = script

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        answer = self.script.next(self.script.rcpt)
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.script.tried += 1
        answer = self.script.next(self.script.data)
        if answer == "drop":  # the connection breaks before the answer to the message
            server.transport.close()
            return "421 gone"
        if answer == "slow":  # answers long after the client gave up
            await asyncio.sleep(2.5)
            return "451 4.4.2 too slow"
        if answer and not answer.startswith("250"):
            return answer
        self.script.accepted.append(envelope.original_content)
        return "250 OK"


@pytest.fixture
def smtp(settings: Any) -> Iterator[Script]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = Script()
    controller = Controller(Misbehaving(script), hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 1},
        }
    }
    try:
        yield script
    finally:
        controller.stop()


def cli(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def reload(msg: OutboundMessage) -> OutboundMessage:
    msg.refresh_from_db()
    return msg


@pytest.mark.django_db
def test_451_is_tried_again_on_later_calls_with_growing_pauses(
    company: Any, make_debtor: Any, make_invoice: Any, smtp: Script
) -> None:
    debtor = make_debtor()
    make_invoice(debtor, "RE-1", "100.00", "2026-03-01")
    smtp.data = ["451 4.3.0 try again later", "451 4.3.0 try again later"]
    start = timezone.now()
    run_collection(company, D("2026-03-08"))  # the run sends at once: 451
    msg = OutboundMessage.objects.get()
    assert (msg.status, msg.attempts) == ("queued", 1) and "451" in msg.last_error
    assert msg.next_attempt_at is not None
    assert start + timedelta(seconds=55) < msg.next_attempt_at < timezone.now() + timedelta(seconds=65)
    assert Action.objects.get().status == "active"  # the step is still under way

    assert send_queued(company) == {"sent": 0, "failed": 0, "retry": 0, "withdrawn": 0}  # not yet
    assert smtp.tried == 1
    first_retry = msg.next_attempt_at + timedelta(seconds=1)
    assert send_queued(company, now=first_retry)["retry"] == 1
    msg = reload(msg)
    assert msg.attempts == 2 and msg.next_attempt_at is not None
    pause = msg.next_attempt_at - first_retry
    assert timedelta(seconds=115) < pause < timedelta(seconds=125)  # doubled: 2 minutes

    assert send_queued(company, now=msg.next_attempt_at)["sent"] == 1
    msg = reload(msg)
    assert (msg.status, msg.attempts, msg.next_attempt_at, msg.last_error) == ("sent", 3, None, "")
    assert smtp.message_ids() == [msg.message_id]
    assert list(debtor.timeline.filter(kind__in=["message_sent", "message_failed"]).values_list("kind")) == [
        ("message_sent",)
    ]
    assert "retrying" not in cli("outbox", "list")


def test_the_pause_doubles_from_a_minute_up_to_a_cap() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert retry_delay(30) == retry_delay(500) == outbox_module.RETRY_MAX_DELAY <= timedelta(hours=6)


@pytest.mark.django_db
def test_temporary_failures_for_three_days_fail_the_message_and_take_the_step_back(
    company: Any, make_debtor: Any, make_invoice: Any, smtp: Script
) -> None:
    debtor = make_debtor()
    make_invoice(debtor, "RE-1", "100.00", "2026-03-08")
    smtp.data = ["451 4.3.0 try again later"] * 1000
    run_collection(company, D("2026-03-15"))
    msg = OutboundMessage.objects.get()
    first = msg.first_attempt_at
    assert first is not None
    calls = 0
    while reload(msg).status == "queued":
        assert msg.next_attempt_at is not None
        send_queued(company, now=msg.next_attempt_at + timedelta(seconds=1))
        calls += 1
        assert calls < 60
    assert msg.status == "failed" and msg.last_error.startswith(f"given up after {msg.attempts} attempts")
    assert msg.next_attempt_at is None
    # every pause at most the cap; given up once the three days were over, not before
    assert 20 < msg.attempts < 40
    assert timezone.now() < first + RETRY_GIVE_UP_AFTER
    assert Action.objects.get().status == "cancelled"
    failed = debtor.timeline.get(kind="message_failed")
    assert "451" in failed.data["error"] and failed.note
    assert smtp.accepted == []


@pytest.mark.django_db
def test_550_user_unknown_marks_the_address_invalid_and_the_next_run_sends_a_letter(
    company: Any, make_debtor: Any, make_invoice: Any, smtp: Script, settings: Any, tmp_path: Path
) -> None:
    settings.DOCUMENTS_DIR = tmp_path / "documents"
    debtor = make_debtor(name="Autohaus Wolf GmbH", email="buchhaltung@wolf.example", **POSTAL)
    make_invoice(debtor, "RE-5", "99.00", "2026-03-01")
    smtp.rcpt = ["550 5.1.1 <buchhaltung@wolf.example>: Recipient address rejected: User unknown"]
    first = run_collection(company, D("2026-03-08"))
    assert first.channels == {"email": 1}
    msg = OutboundMessage.objects.get()
    assert (msg.status, msg.attempts) == ("bounced", 1) and "550 5.1.1" in msg.last_error
    assert not Contact.objects.get(debtor=debtor, kind="email").is_valid
    assert Action.objects.get().status == "cancelled"  # the step counts as not done
    assert debtor.timeline.filter(kind="message_bounced").count() == 1
    assert debtor.timeline.filter(kind="message_failed").count() == 1
    assert smtp.accepted == []

    again = run_collection(company, D("2026-03-09"))
    assert again.channels == {"letter": 1}  # the same reminder, now by post
    letter = OutboundMessage.objects.get(channel="letter")
    assert letter.subject.startswith("Zahlungserinnerung") and letter.status == "queued"
    print_letters(company, D("2026-03-09"))
    assert audit_messages(company).violations == []  # the email never reached the debtor: no cadence breach


@pytest.mark.django_db
def test_a_slow_server_times_out_and_the_message_goes_out_later(
    company: Any, make_debtor: Any, make_invoice: Any, smtp: Script
) -> None:
    make_invoice(make_debtor(), "RE-1", "100.00", "2026-03-01")
    smtp.data = ["slow"]
    run_collection(company, D("2026-03-08"))
    msg = OutboundMessage.objects.get()
    assert msg.status == "queued" and msg.attempts == 1 and "timed out" in msg.last_error
    assert msg.next_attempt_at is not None
    assert send_queued(company, now=msg.next_attempt_at)["sent"] == 1
    assert smtp.message_ids() == [reload(msg).message_id] and msg.status == "sent"


@pytest.mark.django_db
def test_a_connection_dropped_mid_data_costs_one_retry_and_the_batch_goes_on(
    company: Any, make_debtor: Any, make_invoice: Any, smtp: Script
) -> None:
    for n in range(3):
        make_invoice(make_debtor(), f"RE-{n}", "100.00", "2026-03-01")
    run_collection(company, D("2026-03-08"), send=False)
    smtp.data = ["drop"]
    counts = send_queued(company)
    assert (counts["sent"], counts["retry"], counts["failed"]) == (2, 1, 0)
    first, second, third = OutboundMessage.objects.order_by("id")
    assert (reload(first).status, second.status, third.status) == ("queued", "sent", "sent")
    assert "closed the connection" in first.last_error
    assert first.next_attempt_at is not None
    assert send_queued(company, now=first.next_attempt_at)["sent"] == 1
    assert sorted(smtp.message_ids()) == sorted(m.message_id for m in (first, second, third))


@pytest.mark.django_db
def test_a_claimed_message_whose_lease_ran_out_is_sent_by_the_next_sender_exactly_once(
    company: Any, make_debtor: Any, make_invoice: Any, smtp: Script
) -> None:
    for n in range(3):
        make_invoice(make_debtor(), f"RE-{n}", "100.00", "2026-03-01")
    run_collection(company, D("2026-03-08"), send=False)
    render_pending(company)  # the outbox writes the messages before it claims them
    now = timezone.now()
    # a sender claims the batch and is killed (SIGKILL) before it sends anything
    claimed = outbox_module._claim(company, "email", 500, now, CLAIM_LEASE)
    assert claimed is not None and len(claimed[0]) == 3
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"sending"}
    ids = sorted(OutboundMessage.objects.values_list("message_id", flat=True))

    assert send_queued(company, now=now + CLAIM_LEASE / 2)["sent"] == 0  # its lease still holds
    assert smtp.accepted == []
    assert send_queued(company, now=now + CLAIM_LEASE + timedelta(seconds=1))["sent"] == 3
    assert send_queued(company, now=now + 2 * CLAIM_LEASE)["sent"] == 0
    assert sorted(smtp.message_ids()) == ids  # each once, with the Message-ID it always had
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_a_sender_interrupted_mid_batch_keeps_what_it_sent_and_frees_the_rest(
    company: Any, make_debtor: Any, make_invoice: Any, smtp: Script, monkeypatch: Any
) -> None:
    for n in range(4):
        make_invoice(make_debtor(), f"RE-{n}", "100.00", "2026-03-01")
    run_collection(company, D("2026-03-08"), send=False)
    real, calls = outbox_module._send_one, []

    def dies_on_the_third(transport: Any, msg: Any) -> str:
        calls.append(msg.pk)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as a sender stopped while the third message is in flight
        return real(transport, msg)

    monkeypatch.setattr(outbox_module, "_send_one", dies_on_the_third)
    now = timezone.now()
    with pytest.raises(KeyboardInterrupt):
        send_queued(company, now=now)
    monkeypatch.setattr(outbox_module, "_send_one", real)
    statuses = list(OutboundMessage.objects.order_by("id").values_list("status", flat=True))
    assert statuses == ["sent", "sent", "sending", "queued"]  # each outcome committed as it came
    assert send_queued(company, now=now)["sent"] == 1  # the untried one at once
    assert send_queued(company, now=now + CLAIM_LEASE + timedelta(seconds=5))["sent"] == 1  # in flight
    messages = list(OutboundMessage.objects.order_by("id"))
    assert [m.status for m in messages] == ["sent"] * 4
    assert sorted(smtp.message_ids()) == sorted(m.message_id for m in messages)


@pytest.mark.django_db
def test_the_lease_is_extended_while_the_sender_works(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    make_invoice(make_debtor(), "RE-1", "100.00", "2026-03-01")
    run_collection(company, D("2026-03-08"), send=False)
    render_pending(company)  # the outbox writes the messages before it claims them
    now = timezone.now()
    claimed = outbox_module._claim(company, "email", 500, now, CLAIM_LEASE)
    assert claimed is not None
    batch, token = claimed
    sender = outbox_module._Sender("email", object(), {}, lambda: now + timedelta(seconds=50))
    sender.heartbeat(token)
    assert reload(batch[0]).claimed_until == now + timedelta(seconds=50) + sender.lease


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` read-only, even for root (immutable attribute), or skip."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o555)
    immutable = False
    if os.access(path, os.W_OK):  # root ignores the mode
        immutable = subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0
        if not immutable:
            path.chmod(0o755)
            pytest.skip("cannot make a folder read-only here")
    try:
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o755)


@pytest.mark.django_db
def test_a_read_only_outbox_folder_makes_run_and_send_fail_and_keeps_the_messages_queued(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    for n in range(2):
        make_invoice(make_debtor(), f"RE-{n}", "100.00", "2026-03-01")
    with read_only(outbox / "acme"):
        with pytest.raises(CommandError) as raised:
            cli("run", "--date", "2026-03-08")
        line = str(raised.value)
        assert "\n" not in line and "cannot write to the outbox folder" in line and "stay queued" in line
        assert list(OutboundMessage.objects.values_list("status", "attempts")) == [("queued", 0)] * 2
        assert Action.objects.filter(status="active").count() == 2
        with pytest.raises(CommandError, match="cannot write to the outbox folder"):
            cli("outbox", "send")
        assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"queued"}
    assert "sent: 2" in cli("outbox", "send")
    assert len(list((outbox / "acme").glob("*.eml"))) == 2


@pytest.mark.django_db
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_keeps_the_message_queued(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    make_invoice(make_debtor(), "RE-1", "100.00", "2026-03-01")
    run_collection(company, D("2026-03-08"), send=False)
    msg = OutboundMessage.objects.get()
    folder = outbox / "acme"
    folder.mkdir(parents=True)
    name = msg.message_id.strip("<>")
    (folder / f"{name}.tmp").symlink_to("/dev/full")  # every byte written there: "No space left"
    counts = send_queued(company)
    assert "No space left on device" in counts["error"] and counts["sent"] == counts["failed"] == 0
    assert (reload(msg).status, msg.attempts, msg.last_error) == ("queued", 0, "")
    assert send_queued(company)["sent"] == 1  # the temporary file is gone, the disk has room again


@pytest.mark.django_db
def test_outbox_retry_queues_failed_messages_again_and_withdraws_stale_ones(
    company: Any, make_debtor: Any, make_invoice: Any, smtp: Script, pay: Any
) -> None:
    kept, paid = make_debtor(), make_debtor()
    make_invoice(kept, "RE-1", "100.00", "2026-03-01")
    invoice = make_invoice(paid, "RE-2", "200.00", "2026-03-01")
    smtp.data = ["550 5.7.1 message refused"] * 2
    run_collection(company, D("2026-03-08"))
    assert list(OutboundMessage.objects.values_list("status", flat=True)) == ["failed", "failed"]
    assert set(Action.objects.values_list("status", flat=True)) == {"cancelled"}
    assert Contact.objects.filter(is_valid=False).count() == 0  # not an unknown user
    listed = cli("outbox", "list")
    assert "failed: 2" in listed and "550 5.7.1" in listed
    pay(paid, "200.00", "2026-03-09", invoice=invoice)

    with time_machine.travel("2026-03-09 09:00 +0000", tick=False):  # the deadline, 03-18, still 9 days off
        out = cli("outbox", "retry", "--status", "failed")
    assert "1 message(s) queued again" in out and "1 withdrawn instead" in out
    first, second = OutboundMessage.objects.order_by("id")
    assert (first.status, second.status) == ("queued", "cancelled")
    assert first.action is not None and first.action.status == "active"
    assert paid.timeline.filter(kind="message_withdrawn").count() == 1
    assert "sent: 1" in cli("outbox", "send")
    assert smtp.message_ids() == [first.message_id]
    with pytest.raises(CommandError):
        cli("outbox", "retry", "--status", "sent")


@pytest.mark.django_db
def test_outbox_retry_by_id_and_not_after_a_later_step(
    company: Any, make_debtor: Any, make_invoice: Any, smtp: Script, settings: Any, tmp_path: Path
) -> None:
    settings.DOCUMENTS_DIR = tmp_path / "documents"
    debtor = make_debtor(email="ap@wolf.example", **POSTAL)
    other = make_debtor()
    make_invoice(debtor, "RE-1", "100.00", "2026-03-01")
    make_invoice(other, "RE-2", "100.00", "2026-03-01")
    smtp.data = ["554 5.7.1 refused", "554 5.7.1 refused"]
    run_collection(company, D("2026-03-08"))
    first, second = OutboundMessage.objects.order_by("id")
    assert (first.status, second.status) == ("failed", "failed")
    Contact.objects.filter(debtor=other).update(is_valid=False)  # as a bounce that came back later
    run_collection(company, D("2026-03-09"))  # the first debtor gets the step again (the second by post)
    smtp.accepted.clear()
    out = cli("outbox", "retry", "--id", str(first.pk), str(second.pk), "9999")
    assert "0 message(s) queued again" in out and f"later step meanwhile ({first.pk})" in out
    assert f"no valid email address ({second.pk})" in out
    assert (reload(first).status, reload(second).status) == ("failed", "failed")
    # the address corrected: the message goes there
    Contact.objects.filter(debtor=other).update(value="ap@corrected.example", is_valid=True)
    with time_machine.travel("2026-03-09 09:00 +0000", tick=False):
        out = cli("outbox", "retry", "--id", str(second.pk))
    assert "1 message(s) queued again" in out
    assert (reload(second).status, second.recipient) == ("queued", "ap@corrected.example")
    assert "sent: 1" in cli("outbox", "send")
    [raw] = smtp.accepted[-1:]
    assert email.message_from_bytes(raw, policy=email.policy.default)["To"] == "ap@corrected.example"


@pytest.mark.django_db
def test_the_run_summary_and_the_list_show_retrying_and_failed(
    company: Any, make_debtor: Any, make_invoice: Any, smtp: Script
) -> None:
    for n in range(3):
        make_invoice(make_debtor(), f"RE-{n}", "100.00", "2026-03-01")
    smtp.data = ["451 4.3.0 later", "451 4.3.0 later", "554 5.7.1 refused"]
    out = cli("run", "--date", "2026-03-08")
    assert re.search(r"emails and SMS of the day, sent +0\n", out)
    assert re.search(r"\n    retrying +2\n", out) and re.search(r"\n    failed +1\n", out)
    listed = cli("outbox", "list")
    assert "failed: 1" in listed and "queued: 2" in listed and "retrying: 2" in listed
    assert "attempt 1 failed, next" in listed
    data = call_json("outbox", "list", "--json")
    assert data["retrying"] == 2 and data["counts"] == {"failed": 1, "queued": 2}


def call_json(*args: str) -> Any:
    import json

    return json.loads(cli(*args))


@pytest.mark.django_db
def test_a_run_left_running_by_a_killed_process_is_marked_at_the_next_start(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    make_invoice(make_debtor(), "RE-1", "100.00", "2026-03-01")
    killed = Run.objects.create(company=company, as_of=D("2026-03-07"))
    Run.objects.filter(pk=killed.pk).update(started_at=timezone.now() - RUN_STALE_AFTER - timedelta(1))
    alive = Run.objects.create(company=company, as_of=D("2026-03-08"))  # another worker, just started
    cli("run", "--date", "2026-03-08", "--dry-run")  # a dry run writes nothing
    assert Run.objects.get(pk=killed.pk).status == RunStatus.RUNNING
    cli("run", "--date", "2026-03-08")
    killed.refresh_from_db()
    assert (killed.status, killed.stats, killed.finished_at is not None) == ("failed", {"killed": True}, True)
    assert Run.objects.get(pk=alive.pk).status == RunStatus.RUNNING


@pytest.mark.django_db
def test_a_run_whose_process_is_gone_is_marked_at_once_one_still_at_work_is_not(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    import socket
    import subprocess
    import sys

    make_invoice(make_debtor(), "RE-1", "100.00", "2026-03-01")
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()  # its process id is free: the run it started was killed
    host = socket.gethostname()
    killed = Run.objects.create(
        company=company, as_of=D("2026-03-07"), stats={"host": host, "pid": ended.pid}
    )
    working = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        alive = Run.objects.create(
            company=company, as_of=D("2026-03-08"), stats={"host": host, "pid": working.pid}
        )
        elsewhere = Run.objects.create(
            company=company, as_of=D("2026-03-08"), stats={"host": "another-host", "pid": ended.pid}
        )
        cli("run", "--date", "2026-03-08")
    finally:
        working.kill()
        working.wait()
    assert Run.objects.get(pk=killed.pk).status == RunStatus.FAILED  # minutes later, not hours
    assert Run.objects.get(pk=killed.pk).stats == {"killed": True}
    assert Run.objects.get(pk=alive.pk).status == RunStatus.RUNNING
    assert Run.objects.get(pk=elsewhere.pk).status == RunStatus.RUNNING  # its host is the one to tell
    this = Run.objects.exclude(pk__in=[killed.pk, alive.pk, elsewhere.pk]).get()
    assert this.status == RunStatus.DONE


@pytest.fixture
def sms_provider(settings: Any) -> Iterator[list[int | tuple[int, str]]]:
    """A loopback SMS provider answering with the statuses in the list (then 200), a status with the error
    text it gives as ``(status, text)``; what it got is kept."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    answers: list[int | tuple[int, str]] = []
    received: list[str] = []

    class Provider(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            answer = answers.pop(0) if answers else 200
            status, error = answer if isinstance(answer, tuple) else (answer, "no")
            if status == 200:
                received.append(self.headers["Idempotency-Key"])
            body = json.dumps({"id": f"sms-{len(received)}"} if status == 200 else {"error": error}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    settings.SMS_URL = f"http://127.0.0.1:{server.server_address[1]}/messages"
    settings.SMS_TOKEN = "secret-token"
    try:
        yield answers
    finally:
        server.shutdown()
        server.server_close()


def _sms_debtor(company: Any, make_debtor: Any, make_invoice: Any) -> Any:
    from mahnwerk.collection.models import Step

    Step.objects.filter(playbook__company=company, level=2).update(channel="sms")
    debtor = make_debtor(language="lv", email=None, jurisdiction="LV", time_zone="Europe/Riga")
    Contact.objects.create(debtor=debtor, kind="phone", value="+371 20000000", is_primary=True)
    make_invoice(debtor, f"R-{debtor.pk}", "45.00", "2026-03-02")
    return debtor


@pytest.mark.django_db
def test_an_sms_provider_503_is_tried_again_and_a_400_fails_the_step(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path, sms_provider: list[int | tuple[int, str]]
) -> None:
    debtor = _sms_debtor(company, make_debtor, make_invoice)
    sms_provider.extend([503, 429])
    assert run_collection(company, D("2026-03-09")).channels == {"sms": 1}
    msg = OutboundMessage.objects.get()
    assert (msg.status, msg.attempts) == ("queued", 1) and "503" in msg.last_error
    assert msg.next_attempt_at is not None
    assert send_queued(company, now=msg.next_attempt_at)["retry"] == 1  # 429: later again
    assert send_queued(company, now=reload(msg).next_attempt_at)["sent"] == 1
    assert (reload(msg).status, msg.provider_id, msg.attempts) == ("sent", "sms-1", 3)

    other = _sms_debtor(company, make_debtor, make_invoice)
    sms_provider.append(400)
    run_collection(company, D("2026-03-10"))
    failed = OutboundMessage.objects.get(debtor=other)
    assert failed.status == "failed" and "400" in failed.last_error
    assert Action.objects.get(debtor=other).status == "cancelled"
    assert Action.objects.get(debtor=debtor).status == "active"
    assert not Contact.objects.get(
        debtor=other
    ).sms_refused  # a 400 about the text says nothing of the number


@pytest.mark.django_db
def test_a_number_the_sms_provider_refuses_is_marked_invalid_and_the_step_goes_on_another_channel(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path, sms_provider: list[int | tuple[int, str]]
) -> None:
    from mahnwerk.comms.dispatch import reachability

    debtor = _sms_debtor(company, make_debtor, make_invoice)
    sms_provider.append((400, "The 'To' number is not a valid mobile number"))  # as for a landline number
    run_collection(company, D("2026-03-09"))
    failed = OutboundMessage.objects.get(debtor=debtor)
    assert failed.status == "failed" and "not a valid mobile number" in failed.last_error
    contact = Contact.objects.get(debtor=debtor)
    assert (contact.sms_refused, contact.is_valid) == (True, True)  # no more SMS; a clerk may still call
    assert Action.objects.get(debtor=debtor).status == "cancelled"
    reach = reachability({debtor.pk: debtor})[debtor.pk]
    assert "sms" not in {c.value for c in reach.available()} and "call" in {
        c.value for c in reach.available()
    }
    result = run_collection(company, D("2026-03-10"))  # the step again, not by SMS: a person takes it
    assert (result.actions_created, result.channels, result.tasks) == (1, {}, 1)
    assert OutboundMessage.objects.filter(debtor=debtor).count() == 1


@pytest.mark.django_db
def test_a_number_the_sms_provider_refuses_is_on_the_timeline_as_a_bounced_address_is(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path, sms_provider: list[int | tuple[int, str]]
) -> None:
    from mahnwerk.ledger.timeline import describe

    debtor = _sms_debtor(company, make_debtor, make_invoice)
    sms_provider.append((400, "The 'To' number is not a valid mobile number"))
    run_collection(company, D("2026-03-09"))
    [refused] = debtor.timeline.filter(kind="sms_refused")
    assert refused.data == {"recipient": "+37120000000", "status": "400"}
    assert refused.business_date == D("2026-03-09")
    assert "+37120000000" in describe(refused) and "calls still go to it" in describe(refused)
    assert debtor.timeline.filter(kind="message_failed").count() == 1
    # a 400 about the text says nothing of the number: no such event
    other = _sms_debtor(company, make_debtor, make_invoice)
    sms_provider.append(400)
    run_collection(company, D("2026-03-10"))
    assert not other.timeline.filter(kind="sms_refused").exists()


@pytest.mark.django_db
def test_an_unreachable_sms_provider_stops_sending_and_keeps_the_rest_queued(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path, settings: Any
) -> None:
    for _ in range(3):
        _sms_debtor(company, make_debtor, make_invoice)
    run_collection(company, D("2026-03-09"), send=False)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        settings.SMS_URL = f"http://127.0.0.1:{s.getsockname()[1]}/messages"
    settings.SMS_TOKEN = "secret-token"
    counts = send_queued(company)
    assert counts["retry"] == 1 and "not reachable" in counts["unavailable"]
    rows = list(OutboundMessage.objects.order_by("id").values_list("status", "attempts"))
    assert rows == [("queued", 1), ("queued", 0), ("queued", 0)]


class SlowCollector:
    """A server that takes a moment for each message and keeps every Message-ID it accepted."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.15)
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.ids.append(str(parsed["Message-ID"]))
        return "250 OK"


def test_a_sender_killed_with_sigkill_loses_nothing_and_doubles_at_most_the_one_in_flight(
    tmp_path: Path,
) -> None:
    """The real thing: ``mahnwerk outbox send`` as its own process, killed with SIGKILL mid-batch."""
    import json
    import signal
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = SlowCollector()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    environ = os.environ | {
        "MAHNWERK_DATA_DIR": str(tmp_path),
        "MAHNWERK_SMTP_HOST": "127.0.0.1",
        "MAHNWERK_SMTP_PORT": str(port),
        "MAHNWERK_SMTP_TIMEOUT": "5",
    }
    environ.pop("MAHNWERK_DATABASE_URL", None)

    def mahnwerk(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "mahnwerk", *args], env=environ, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    try:
        mahnwerk("migrate", "-v0")
        iban = "DE89370400440532013000"
        mahnwerk("company", "create", "acme", "--name", "Acme GmbH", "--country", "DE", "--iban", iban)
        count = 16
        (tmp_path / "d.csv").write_text(
            "number,name,email\n" + "".join(f"K{n},Kunde {n} GmbH,ap@k{n}.example\n" for n in range(count))
        )
        (tmp_path / "i.csv").write_text(
            "number,debtor,issue_date,due_date,amount\n"
            + "".join(f"RE-{n},K{n},2026-02-01,2026-03-01,100.00\n" for n in range(count))
        )
        mahnwerk("import", "debtors", str(tmp_path / "d.csv"))
        mahnwerk("import", "invoices", str(tmp_path / "i.csv"))
        mahnwerk("run", "--date", "2026-03-08", "--no-send")
        sender = subprocess.Popen(
            [sys.executable, "-m", "mahnwerk", "outbox", "send"],
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while len(handler.ids) < 6 and time.monotonic() < deadline and sender.poll() is None:
            time.sleep(0.02)
        sender.send_signal(signal.SIGKILL)
        sender.wait(timeout=20)
        assert 6 <= len(handler.ids) < count

        listed = json.loads(mahnwerk("outbox", "list", "--json", "--limit", "100"))
        statuses = [m["status"] for m in listed["messages"]]
        assert (
            statuses.count("sent") >= len(handler.ids) - 1
        )  # every delivery but the one in flight is recorded
        assert set(statuses) <= {"sent", "sending"}
        # the next sender, once the dead one's lease has run out
        later = (timezone.now() + CLAIM_LEASE + timedelta(seconds=5)).isoformat()
        mahnwerk(
            "shell",
            "-c",
            f"from datetime import datetime; from mahnwerk.comms.outbox import send_queued; "
            f"send_queued(now=datetime.fromisoformat({later!r}))",
        )
        listed = json.loads(mahnwerk("outbox", "list", "--json", "--limit", "100"))
        assert [m["status"] for m in listed["messages"]] == ["sent"] * count
        assert len(set(handler.ids)) == count  # nothing lost
        assert len(handler.ids) - count <= 1  # at most the one in flight went twice, with its Message-ID
    finally:
        controller.stop()
