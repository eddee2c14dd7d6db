"""A reminder travels through a real SMTP server on loopback and is parsed back."""

from __future__ import annotations

import email
import email.policy
from datetime import date
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink


class Collect(Sink):
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Any:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


@pytest.mark.django_db
def test_reminder_delivered_over_smtp(
    company: Any, make_debtor: Any, make_invoice: Any, settings: Any, smtp_server: Any
) -> None:
    from mahnwerk.collection.services import run_collection
    from mahnwerk.comms.models import OutboundMessage

    controller, handler = smtp_server
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": controller.port, "timeout": 10},
        }
    }
    settings.DEFAULT_FROM_EMAIL = "Acme Buchhaltung <buchhaltung@acme.example>"
    debtor = make_debtor(name="Tischlerei Weber KG", email="rechnungen@weber.example")
    make_invoice(debtor, "RE-2026-0042", "2380.00", "2026-03-01", issue="2026-02-01")

    result = run_collection(company, date(2026, 3, 8))
    assert result.messages_queued == 1
    assert len(handler.messages) == 1
    mail_from, rcpt, raw = handler.messages[0]
    assert mail_from == "buchhaltung@acme.example" and rcpt == ["rechnungen@weber.example"]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == "Zahlungserinnerung: RE-2026-0042"
    assert msg["Message-ID"] == OutboundMessage.objects.get().message_id
    text = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert text.splitlines()[0] == "Guten Tag,"  # a business is not greeted like a person
    assert "RE-2026-0042" in text and "01.02.2026" in text and "01.03.2026" in text and "2.380,00" in text
    assert "bis zum 18.03.2026" in text
    assert "DE89 3704 0044 0532 0130 00" in text
    # the table and bank labels come from the German catalogue
    assert "Rechnung" in text and "Fällig am" in text and "Offener Betrag" in text
    assert "Verwendungszweck: RE-2026-0042" in text
    assert OutboundMessage.objects.get().status == "sent"


@pytest.mark.django_db
def test_while_the_server_is_down_messages_stay_queued_and_go_out_later(
    company: Any, make_debtor: Any, make_invoice: Any, settings: Any, smtp_server: Any
) -> None:
    import socket

    from mahnwerk.collection.services import run_collection
    from mahnwerk.comms.models import OutboundMessage
    from mahnwerk.comms.outbox import send_queued

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": dead_port, "timeout": 2},
        }
    }
    make_invoice(make_debtor(), "RE-1", "10.00", "2026-03-01")
    result = run_collection(company, date(2026, 3, 8))
    assert result.messages_queued == 1
    msg = OutboundMessage.objects.get()
    assert msg.status == "queued" and msg.attempts == 0

    controller, handler = smtp_server
    settings.MAILERS["default"]["OPTIONS"]["port"] = controller.port
    assert send_queued(company)["sent"] == 1
    assert len(handler.messages) == 1
    assert OutboundMessage.objects.get().status == "sent"


def _smtp(settings: Any, controller: Any) -> None:
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": controller.port, "timeout": 10},
        }
    }


@pytest.mark.django_db
def test_the_email_comes_from_the_company_and_replies_go_to_its_collections_address(
    company: Any, make_debtor: Any, make_invoice: Any, settings: Any, smtp_server: Any
) -> None:
    from mahnwerk.collection.services import run_collection

    controller, handler = smtp_server
    _smtp(settings, controller)
    settings.DEFAULT_FROM_EMAIL = "Mahnwerk <versand@mahnwerk.example>"
    debtor = make_debtor(name="Tischlerei Weber KG", email="rechnungen@weber.example")
    make_invoice(debtor, "RE-2026-0042", "2380.00", "2026-03-01")

    run_collection(company, date(2026, 3, 8))
    [(mail_from, rcpt, raw)] = handler.messages
    # the envelope stays the configured sender, the one the SMTP server accepts and bounces go to
    assert mail_from == "versand@mahnwerk.example" and rcpt == ["rechnungen@weber.example"]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["From"] == "Acme Werkzeug GmbH <buchhaltung@acme.example>"
    assert msg["Reply-To"] == "Acme Werkzeug GmbH <forderungen@acme.example>"
    assert msg["Sender"] == "Mahnwerk <versand@mahnwerk.example>"
    text = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    signature = text[text.index("Mit freundlichen Grüßen") :]
    assert "forderungen@acme.example" in signature and "+49 30 5550120" in signature
    legal = next(line for line in signature.splitlines() if "Amtsgericht" in line)
    assert legal.startswith("Acme Werkzeug GmbH · ")
    assert "Amtsgericht Charlottenburg HRB 204711 B" in legal and "Anna Acker" in legal
    assert "DE811907980" in legal


@pytest.mark.django_db
def test_a_company_without_an_address_sends_from_the_configured_sender(
    company: Any, make_debtor: Any, make_invoice: Any, settings: Any, smtp_server: Any
) -> None:
    from mahnwerk.collection.services import run_collection

    controller, handler = smtp_server
    _smtp(settings, controller)
    settings.DEFAULT_FROM_EMAIL = "Mahnwerk <versand@mahnwerk.example>"
    company.email = company.collections_email = ""
    company.save()
    make_invoice(make_debtor(), "RE-1", "100.00", "2026-03-01")

    run_collection(company, date(2026, 3, 8))
    [(mail_from, _, raw)] = handler.messages
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail_from == "versand@mahnwerk.example"
    assert msg["From"] == "Mahnwerk <versand@mahnwerk.example>"
    assert msg["Reply-To"] is None and msg["Sender"] is None


@pytest.mark.django_db
def test_replies_go_to_the_company_address_without_a_collections_address(
    company: Any, make_debtor: Any, make_invoice: Any, settings: Any, smtp_server: Any
) -> None:
    from mahnwerk.collection.services import run_collection

    controller, handler = smtp_server
    _smtp(settings, controller)
    settings.DEFAULT_FROM_EMAIL = "Acme <buchhaltung@acme.example>"
    company.name, company.collections_email = "Acme, Werkzeug & Söhne GmbH", ""
    company.save()
    make_invoice(make_debtor(), "RE-1", "100.00", "2026-03-01")

    run_collection(company, date(2026, 3, 8))
    [(mail_from, _, raw)] = handler.messages
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail_from == "buchhaltung@acme.example"
    assert msg["From"].addresses[0].display_name == "Acme, Werkzeug & Söhne GmbH"
    assert msg["From"].addresses[0].addr_spec == "buchhaltung@acme.example"
    assert msg["Reply-To"].addresses[0].addr_spec == "buchhaltung@acme.example"
    assert msg["Sender"] is None  # From is the configured sender's address
