"""Outgoing webhooks against a real HTTP server on 127.0.0.1: signatures, retries, 410, idempotence, crashes,
subscriptions and company isolation. Time is controlled by passing ``now=``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from mahnwerk.hooks import services
from mahnwerk.hooks.models import DeliveryStatus, Webhook, WebhookDelivery
from mahnwerk.hooks.services import (
    BACKOFF,
    SETTLE,
    WebhookError,
    add_webhook,
    deliver_webhooks,
    verify_signature,
)
from mahnwerk.ledger import timeline
from mahnwerk.ledger.models import Company, TimelineEvent

D = date.fromisoformat
SECRET = "whsec_test-secret-0123456789"


class Receiver:
    """What the endpoint received, and what it answers next (200 when nothing is queued)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Message, bytes]] = []
        self.answers: list[tuple[int, dict[str, str]]] = []
        self.url = ""
        self.port = 0

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _path, _headers, body in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            rec.requests.append((self.path, self.headers, body))
            code, headers = rec.answers.pop(0) if rec.answers else (200, {})
            self.send_response(code)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    rec.port = server.server_port
    rec.url = f"http://127.0.0.1:{rec.port}/hook"
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def note(debtor: Any, kind: str, **data: Any) -> TimelineEvent:
    event = timeline.event(debtor.pk, debtor.company_id, kind, D("2026-07-01"), **data)
    event.save()
    return event


def start() -> datetime:
    return timezone.now().replace(microsecond=0)


@pytest.mark.django_db
def test_a_payment_is_posted_signed_and_the_signature_verifies(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any, receiver: Receiver
) -> None:
    debtor = make_debtor(number="K1")
    make_invoice(debtor, "RE-1", "100.00", "2026-06-01")
    hook = add_webhook(company, receiver.url, "payment.recorded", secret=SECRET)
    pay(debtor, "100.00", "2026-07-01", reference="RE-1")
    now = start()
    result = deliver_webhooks(now=now)
    assert (result.created, result.delivered) == (1, 1)
    ((path, headers, body),) = receiver.requests
    assert path == "/hook" and headers["Content-Type"].startswith("application/json")
    payload = json.loads(body)
    event = TimelineEvent.objects.get(kind="payment_recorded")
    assert payload["id"] == f"evt_{event.pk}" == headers["Mahnwerk-Event-Id"]
    assert payload["type"] == "payment.recorded" and payload["company"] == "acme"
    assert payload["debtor"] == {"id": debtor.pk, "number": "K1"}
    assert payload["data"]["kind"] == "payment_recorded" and payload["data"]["business_date"] == "2026-07-01"
    assert payload["data"]["details"]["reference"] == "RE-1" and "100.00" in payload["data"]["text"]
    assert datetime.fromisoformat(payload["created"]).tzinfo is not None
    signature = headers["Mahnwerk-Signature"]
    assert signature.startswith(f"t={int(now.timestamp())},v1=")
    assert verify_signature(SECRET, signature, body, now=now)
    assert verify_signature(SECRET, signature, body, now=now + timedelta(seconds=299))
    assert not verify_signature(SECRET, signature, body, now=now + timedelta(seconds=301))  # a replay
    assert not verify_signature(SECRET, signature, body.replace(b"K1", b"K2"), now=now)  # tampered
    assert not verify_signature("whsec_another-secret-0000", signature, body, now=now)
    assert not verify_signature(SECRET, "v1=abc", body, now=now)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.webhook, delivery.status, delivery.attempts, delivery.last_status_code) == (
        hook,
        DeliveryStatus.DELIVERED,
        1,
        200,
    )
    assert delivery.delivered_at == now


@pytest.mark.django_db
def test_failures_are_retried_with_backoff_then_the_delivery_fails(
    company: Any, make_debtor: Any, receiver: Receiver
) -> None:
    debtor = make_debtor()
    add_webhook(company, receiver.url, "promise.broken,plan.breached", secret=SECRET)
    note(debtor, "promise_broken", last_day="2026-06-30")
    t0 = start()
    receiver.answers = [(500, {})]
    assert deliver_webhooks(now=t0).retrying == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.last_status_code, delivery.next_attempt_at) == (
        1,
        500,
        t0 + timedelta(minutes=1),
    )
    assert "500" in delivery.last_error
    deliver_webhooks(now=t0 + timedelta(seconds=59))  # not yet
    assert len(receiver.requests) == 1
    assert deliver_webhooks(now=t0 + timedelta(minutes=1)).delivered == 1  # the server answers 200 now
    assert len(receiver.requests) == 2
    (first, second) = receiver.requests
    assert first[2] == second[2]  # the same event, the same body
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.DELIVERED, 2, "")

    # always 500: attempts at 0, +1 min, +5 min, +30 min, +2 h, +12 h; then it has failed
    note(debtor, "plan_breached", number=2)
    receiver.answers = [(500, {})] * 10
    now = t0 + timedelta(hours=1)
    deliver_webhooks(now=now)
    failing = WebhookDelivery.objects.get(event_type="plan.breached")
    for wait in BACKOFF:
        failing.refresh_from_db()
        assert failing.next_attempt_at == now + wait
        deliver_webhooks(now=now + wait - timedelta(seconds=1))  # early: nothing
        now += wait
        deliver_webhooks(now=now)
    failing.refresh_from_db()
    assert (failing.status, failing.attempts, failing.next_attempt_at) == (DeliveryStatus.FAILED, 6, None)
    assert len(receiver.requests) == 2 + 6
    deliver_webhooks(now=now + timedelta(days=2))
    assert len(receiver.requests) == 8


@pytest.mark.django_db
def test_410_gone_disables_the_webhook(company: Any, make_debtor: Any, receiver: Receiver) -> None:
    debtor = make_debtor()
    hook = add_webhook(company, receiver.url, "dispute.opened", secret=SECRET)
    note(debtor, "dispute_opened", number="RE-1", amount="10.00", reason="quality")
    receiver.answers = [(410, {})]
    t0 = start()
    result = deliver_webhooks(now=t0)
    assert result.disabled == [hook.pk]
    hook.refresh_from_db()
    assert not hook.active and "410" in hook.disabled_reason
    assert WebhookDelivery.objects.get().status == DeliveryStatus.FAILED
    note(debtor, "dispute_opened", number="RE-2", amount="20.00", reason="quality")
    deliver_webhooks(now=t0 + timedelta(days=1))
    assert len(receiver.requests) == 1 and WebhookDelivery.objects.count() == 1


@pytest.mark.django_db
def test_two_passes_deliver_each_event_once(company: Any, make_debtor: Any, receiver: Receiver) -> None:
    debtor = make_debtor()
    add_webhook(company, receiver.url, "promise.made", secret=SECRET)
    for n in range(3):
        note(debtor, "promise_recorded", amount=f"{n}0.00", promised_date="2026-07-10")
    t0 = start()
    assert deliver_webhooks(now=t0).delivered == 3
    again = deliver_webhooks(now=t0 + timedelta(minutes=1))
    assert (again.created, again.delivered) == (0, 0)
    # once the newest id seen has settled, the cursor moves past them: they are not even looked at again
    for passes in (1, 2):
        later = deliver_webhooks(now=t0 + passes * (SETTLE + timedelta(minutes=1)))
        assert (later.created, later.delivered) == (0, 0)
    assert len(receiver.requests) == 3
    assert len({b["id"] for b in receiver.bodies()}) == 3
    hook = Webhook.objects.get()
    assert hook.cursor == TimelineEvent.objects.order_by("-id").values_list("id", flat=True)[0]


@pytest.mark.django_db
def test_a_crash_between_collecting_and_sending_loses_nothing_and_sends_once(
    company: Any, make_debtor: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    debtor = make_debtor()
    add_webhook(company, receiver.url, "promise.made,promise.broken", secret=SECRET)
    note(debtor, "promise_recorded", amount="10.00", promised_date="2026-07-10")
    note(debtor, "promise_broken", last_day="2026-07-14")

    def killed(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt("killed")

    real_send = services.send_due
    monkeypatch.setattr(services, "send_due", killed)
    t0 = start()
    with pytest.raises(KeyboardInterrupt):
        deliver_webhooks(now=t0)
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count() == 2
    assert receiver.requests == []
    monkeypatch.setattr(services, "send_due", real_send)
    result = deliver_webhooks(now=t0 + SETTLE + timedelta(seconds=1))
    assert (result.created, result.delivered) == (0, 2)
    deliver_webhooks(now=t0 + 2 * SETTLE)
    assert sorted(b["type"] for b in receiver.bodies()) == ["promise.broken", "promise.made"]


@pytest.mark.django_db
def test_a_claimed_delivery_is_not_sent_twice_at_once(
    company: Any, make_debtor: Any, receiver: Receiver
) -> None:
    debtor = make_debtor()
    add_webhook(company, receiver.url, "promise.made", secret=SECRET)
    note(debtor, "promise_recorded", amount="10.00", promised_date="2026-07-10")
    t0 = start()
    deliver_webhooks(now=t0, send=False)
    delivery = WebhookDelivery.objects.get()
    stale = WebhookDelivery.objects.get()  # a second worker's copy, read before the first claims it
    services._send_one(delivery, t0, services.PassResult())
    services._send_one(stale, t0, services.PassResult())
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_only_the_subscribed_kinds_are_sent(company: Any, make_debtor: Any, receiver: Receiver) -> None:
    debtor = make_debtor()
    add_webhook(company, receiver.url, ["promise.broken"], secret=SECRET)
    note(debtor, "promise_recorded", amount="10.00", promised_date="2026-07-10")
    note(debtor, "hold_set", reason="checking")
    note(debtor, "promise_partly_kept", paid="5.00", amount="10.00", last_day="2026-07-14")
    deliver_webhooks(now=start())
    assert [(b["type"], b["data"]["kind"]) for b in receiver.bodies()] == [
        ("promise.broken", "promise_partly_kept")
    ]


@pytest.mark.django_db
def test_another_companys_events_are_never_sent(company: Any, make_debtor: Any, receiver: Receiver) -> None:
    other = Company.objects.create(
        slug="other",
        name="Other SIA",
        iban="LV80BANK0000435195001",
        jurisdiction="LV",
        time_zone="Europe/Riga",
        default_language="lv",
    )
    ours = make_debtor(number="K1")
    theirs = make_debtor(number="K1", company=other)
    add_webhook(company, receiver.url, "payment.recorded", secret=SECRET)
    note(theirs, "payment_recorded", amount="1.00", value_date="2026-07-01", reference="-")
    note(ours, "payment_recorded", amount="2.00", value_date="2026-07-01", reference="-")
    note(theirs, "payment_recorded", amount="3.00", value_date="2026-07-01", reference="-")
    deliver_webhooks(now=start())
    assert [(b["company"], b["debtor"]["id"]) for b in receiver.bodies()] == [("acme", ours.pk)]


@pytest.mark.django_db
def test_redirects_are_followed_on_the_same_host_only(
    company: Any, make_debtor: Any, receiver: Receiver
) -> None:
    debtor = make_debtor()
    add_webhook(company, receiver.url, "promise.made", secret=SECRET)
    note(debtor, "promise_recorded", amount="10.00", promised_date="2026-07-10")
    receiver.answers = [(307, {"Location": "/moved"}), (200, {})]
    t0 = start()
    assert deliver_webhooks(now=t0).delivered == 1
    assert [path for path, _h, _b in receiver.requests] == ["/hook", "/moved"]
    assert receiver.requests[0][2] == receiver.requests[1][2]  # the same body POSTed again

    note(debtor, "promise_recorded", amount="20.00", promised_date="2026-07-11")
    receiver.answers = [(307, {"Location": f"http://localhost:{receiver.port}/elsewhere"})]
    result = deliver_webhooks(now=t0 + timedelta(seconds=1))
    assert result.retrying == 1 and len(receiver.requests) == 3  # another host: not followed
    failed = WebhookDelivery.objects.get(status=DeliveryStatus.PENDING)
    assert failed.last_status_code == 307 and "not followed" in failed.last_error


@pytest.mark.django_db
def test_an_endpoint_that_does_not_answer_is_retried(company: Any, make_debtor: Any) -> None:
    debtor = make_debtor()
    add_webhook(company, "http://127.0.0.1:9/closed", "promise.made", secret=SECRET)
    note(debtor, "promise_recorded", amount="10.00", promised_date="2026-07-10")
    t0 = start()
    assert deliver_webhooks(now=t0).retrying == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_status_code is None and delivery.last_error
    assert delivery.next_attempt_at == t0 + BACKOFF[0]


@pytest.mark.django_db
def test_bad_urls_and_events_are_refused(company: Any) -> None:
    with pytest.raises(WebhookError):
        add_webhook(company, "file:///etc/passwd", "payment.recorded")
    with pytest.raises(WebhookError, match=r"payment\.matched"):
        add_webhook(company, "https://example.com/hook", "payment.matched")
    with pytest.raises(WebhookError):
        add_webhook(company, "https://example.com/hook", "payment.recorded", secret="short")


def cli(*args: str) -> str:
    out = StringIO()
    call_command("webhook", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_the_webhook_command(company: Any, make_debtor: Any, receiver: Receiver) -> None:
    added = cli("add", receiver.url, "--events", "payment.recorded,promise.made")
    hook = Webhook.objects.get()
    assert hook.secret.startswith("whsec_") and hook.secret in added  # printed once, at creation
    assert hook.secret not in cli("list")
    listed = json.loads(cli("list", "--json"))
    assert listed[0]["url"] == receiver.url and listed[0]["events"] == ["payment.recorded", "promise.made"]
    debtor = make_debtor()
    note(debtor, "promise_recorded", amount="10.00", promised_date="2026-07-10")
    assert json.loads(cli("deliver", "--json"))["delivered"] == 1
    log = json.loads(cli("log", str(hook.pk), "--json"))
    assert [(r["type"], r["status"], r["attempts"]) for r in log] == [("promise.made", "delivered", 1)]
    assert "promise.made" in cli("log")
    with pytest.raises(CommandError):
        cli("add", receiver.url, "--events", "nothing.happened")
    with pytest.raises(CommandError):
        cli("remove", "999")
    cli("remove", str(hook.pk))
    assert not Webhook.objects.exists() and not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_an_event_committed_late_with_a_lower_id_is_still_sent(
    company: Any, make_debtor: Any, receiver: Receiver
) -> None:
    debtor = make_debtor()
    hook = add_webhook(company, receiver.url, "promise.made", secret=SECRET)

    def promise_with_id(pk: int) -> None:
        event = timeline.event(debtor.pk, company.pk, "promise_recorded", D("2026-07-01"), amount=f"{pk}.00")
        event.pk = pk  # as a transaction that took its id earlier and commits later would
        TimelineEvent.objects.bulk_create([event])

    promise_with_id(hook.cursor + 10)
    t0 = start()
    deliver_webhooks(now=t0)
    promise_with_id(hook.cursor + 5)  # committed after the pass that saw a higher id
    deliver_webhooks(now=t0 + timedelta(minutes=1))
    assert [b["id"] for b in receiver.bodies()] == [f"evt_{hook.cursor + 10}", f"evt_{hook.cursor + 5}"]
