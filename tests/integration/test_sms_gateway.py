"""The JSON-over-HTTP SMS adapter against a real HTTP server on the loopback address."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from mahnwerk.comms.sms_gateway import JsonHttpSmsGateway, SmsGateway, SmsMessage, SmsSendError

TOKEN = "test-token-0123456789"


@dataclass
class Provider:
    """What the fake provider received, and how it answers next."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    answer: bytes = b'{"id": "msg-1"}'


@pytest.fixture
def provider() -> Iterator[tuple[Provider, str]]:
    state = Provider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = self.rfile.read(length)
            state.requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "raw": body,
                    "json": json.loads(body.decode("utf-8")),
                }
            )
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.answer)))
            self.end_headers()
            self.wfile.write(state.answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/v1/sms"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_latvian_text_goes_out_as_ucs2_with_two_segments(provider: tuple[Provider, str]) -> None:
    state, url = provider
    gateway = JsonHttpSmsGateway(url, TOKEN, timeout=5)
    assert isinstance(gateway, SmsGateway)
    text = (
        "Labdien! Atgādinām, ka rēķins Nr. 2026-17 par 125,00 EUR nav apmaksāts. "
        "Lūdzam samaksāt līdz 30.11.2026."
    )
    # 72 + 32 = 104 characters (ā, ē, ķ, ū, ī force UCS-2): more than 70, at most 2 x 67 = 134 -> 2 segments.
    assert len(text) == 104
    receipt = gateway.send(SmsMessage(to="+37120000000", sender="Mahnwerk", text=text, message_id="m-42"))

    assert (receipt.provider_id, receipt.encoding, receipt.segments) == ("msg-1", "UCS-2", 2)
    [request] = state.requests
    assert request["path"] == "/v1/sms"
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert request["headers"]["Content-Type"].startswith("application/json")
    assert request["headers"]["Idempotency-Key"] == "m-42"
    assert request["json"] == {"to": "+37120000000", "from": "Mahnwerk", "text": text, "encoding": "UCS-2"}
    assert "rēķins".encode() in request["raw"]  # sent as UTF-8, not as \u escapes


def test_german_text_goes_out_as_gsm7(provider: tuple[Provider, str]) -> None:
    state, url = provider
    receipt = JsonHttpSmsGateway(url, TOKEN).send(
        SmsMessage(to="+4915112345678", sender="+4930123456", text="Grüße: bitte 12,50 € bis 30.11. zahlen.")
    )
    assert (receipt.encoding, receipt.segments) == ("GSM-7", 1)
    assert state.requests[0]["json"]["encoding"] == "GSM-7"


@pytest.mark.parametrize(
    ("status", "permanent"), [(400, True), (401, False), (403, False), (429, False), (503, False)]
)
def test_provider_errors_say_whether_to_retry(
    provider: tuple[Provider, str], status: int, permanent: bool
) -> None:
    state, url = provider
    state.status, state.answer = status, b'{"error": "nope"}'
    with pytest.raises(SmsSendError) as caught:
        JsonHttpSmsGateway(url, TOKEN).send(SmsMessage(to="+37120000000", sender="Mahnwerk", text="x"))
    assert caught.value.status == status
    assert caught.value.permanent is permanent
    assert "nope" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "answer", "invalid"),
    [
        (400, b'{"error": "The To phone number is not a valid mobile number"}', True),
        (422, b'{"error": "invalid recipient"}', True),
        (400, b'{"error": "message text too long"}', False),
        (401, b'{"error": "bad token for number +37120000000"}', False),
    ],
)
def test_a_refused_number_is_told_apart_from_other_refusals(
    provider: tuple[Provider, str], status: int, answer: bytes, invalid: bool
) -> None:
    state, url = provider
    state.status, state.answer = status, answer
    with pytest.raises(SmsSendError) as caught:
        JsonHttpSmsGateway(url, TOKEN).send(SmsMessage(to="+37120000000", sender="Mahnwerk", text="x"))
    assert caught.value.invalid_number is invalid
    assert caught.value.unreachable is (status == 401)  # our account, not the message: SMS wait


def test_unreachable_provider_is_temporary() -> None:
    # Port 9 on the loopback address: nothing listens there, so the connection is refused.
    gateway = JsonHttpSmsGateway("http://127.0.0.1:9/sms", TOKEN, timeout=2)
    with pytest.raises(SmsSendError) as caught:
        gateway.send(SmsMessage(to="+37120000000", sender="Mahnwerk", text="x"))
    assert caught.value.permanent is False


def test_answer_without_id_is_an_error(provider: tuple[Provider, str]) -> None:
    state, url = provider
    state.answer = b"{}"
    with pytest.raises(SmsSendError):
        JsonHttpSmsGateway(url, TOKEN).send(SmsMessage(to="+37120000000", sender="Mahnwerk", text="x"))


def test_bad_numbers_are_refused_before_sending(provider: tuple[Provider, str]) -> None:
    state, url = provider
    gateway = JsonHttpSmsGateway(url, TOKEN)
    for message in (
        SmsMessage(to="0049151123", sender="Mahnwerk", text="x"),
        SmsMessage(to="+37120000000", sender="Sender name too long", text="x"),
        SmsMessage(to="+37120000000", sender="Mahnwerk", text=""),
    ):
        with pytest.raises(SmsSendError) as caught:
            gateway.send(message)
        assert caught.value.permanent
    assert state.requests == []


def test_plain_http_is_refused_except_on_loopback() -> None:
    with pytest.raises(ValueError):
        JsonHttpSmsGateway("http://sms.example.com/send", TOKEN)
    with pytest.raises(ValueError):
        JsonHttpSmsGateway("https://sms.example.com/send", "")
    JsonHttpSmsGateway("https://sms.example.com/send", TOKEN)


def _sms_step_to(company: Any, make_debtor: Any, make_invoice: Any) -> None:
    from mahnwerk.collection.models import Step
    from mahnwerk.ledger.models import Contact

    Step.objects.filter(playbook__company=company, level=1).update(channel="sms")
    debtor = make_debtor(name="Jonas Weber", email=None)
    Contact.objects.create(debtor=debtor, kind="phone", value="+49 151 12345678", is_primary=True)
    make_invoice(debtor, "RE-7", "45.00", "2026-03-02")


@pytest.mark.django_db
def test_the_company_sms_sender_name_reaches_the_provider(
    provider: tuple[Provider, str], company: Any, make_debtor: Any, make_invoice: Any, settings: Any
) -> None:
    from datetime import date

    from mahnwerk.collection.services import run_collection

    state, url = provider
    settings.SMS_URL, settings.SMS_TOKEN, settings.SMS_SENDER = url, TOKEN, "Mahnwerk"
    _sms_step_to(company, make_debtor, make_invoice)
    assert run_collection(company, date(2026, 3, 9)).channels == {"sms": 1}
    [request] = state.requests
    assert request["json"]["from"] == "AcmeWerkzeu" and request["json"]["to"] == "+4915112345678"


@pytest.mark.django_db
def test_without_a_company_sender_name_the_configured_one_is_used(
    provider: tuple[Provider, str], company: Any, make_debtor: Any, make_invoice: Any, settings: Any
) -> None:
    from datetime import date

    from mahnwerk.collection.services import run_collection

    state, url = provider
    settings.SMS_URL, settings.SMS_TOKEN, settings.SMS_SENDER = url, TOKEN, "Mahnwerk"
    company.sms_sender = ""
    company.save()
    _sms_step_to(company, make_debtor, make_invoice)
    run_collection(company, date(2026, 3, 9))
    [request] = state.requests
    assert request["json"]["from"] == "Mahnwerk"


@pytest.mark.django_db
def test_a_sender_name_the_providers_refuse_is_refused_on_the_company() -> None:
    from django.core.exceptions import ValidationError

    from mahnwerk.ledger.models import validate_registration_number, validate_sms_sender

    validate_sms_sender("Acme 24")
    for bad in ("Sender name too long", "Acme-Werk", "12345", "Müller"):
        with pytest.raises(ValidationError):
            validate_sms_sender(bad)
    validate_registration_number("40003123456")
    for bad in ("4000312345", "400031234567", "LV40003123456", "40003 12345"):
        with pytest.raises(ValidationError):
            validate_registration_number(bad)
