"""Every channel the playbook names, end to end: email, letter, SMS, call task; bounces and returned mail."""

from __future__ import annotations

import email
import email.policy
import io
import json
import threading
from datetime import UTC, date, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from mahnwerk.collection.models import Step, Task
from mahnwerk.collection.services import run_collection
from mahnwerk.comms.inbound import process_inbound
from mahnwerk.comms.letters_batch import print_letters, record_returned_letter
from mahnwerk.comms.models import OutboundMessage
from mahnwerk.comms.outbox import send_queued
from mahnwerk.ledger.models import Contact

D = date.fromisoformat


def postal(**kw: Any) -> dict[str, Any]:
    return {"street": "Lindenallee 5", "postcode": "04109", "city": "Leipzig", "country": "DE"} | kw


def eml_files(outbox: Path) -> list[EmailMessage]:
    out = []
    for p in sorted((outbox / "acme").glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        m = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        assert isinstance(m, EmailMessage)
        out.append(m)
    return out


@pytest.mark.django_db
def test_no_email_address_means_a_letter_in_the_print_batch(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path, settings: Any, tmp_path: Path
) -> None:
    from pypdf import PdfReader

    settings.DOCUMENTS_DIR = tmp_path / "documents"
    debtor = make_debtor(name="Druckerei Lange KG", email=None, **postal())
    make_invoice(debtor, "RE-77", "480.00", "2026-03-01", issue="2026-02-01")
    result = run_collection(company, D("2026-03-08"))
    assert result.channels == {"letter": 1} and result.messages_queued == 1
    assert debtor.timeline.filter(kind="channel_fallback").exists()
    batch = print_letters(company, D("2026-03-08"))
    assert batch.letters == 1 and batch.path is not None
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(batch.path.read_bytes())).pages)
    assert "Druckerei Lange KG" in text and "Lindenallee 5" in text and "04109 Leipzig" in text
    assert "RE-77" in text and "480,00" in text and "Zahlungserinnerung" in text
    assert OutboundMessage.objects.get().status == "sent"
    assert print_letters(company, D("2026-03-08")).letters == 0  # printed once only


@pytest.mark.django_db
def test_a_hard_bounce_marks_the_address_invalid_and_the_step_goes_out_as_a_letter(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    debtor = make_debtor(name="Autohaus Wolf GmbH", email="buchhaltung@wolf.example", **postal())
    make_invoice(debtor, "RE-5", "99.00", "2026-03-01")
    run_collection(company, D("2026-03-08"))
    (sent,) = eml_files(outbox)
    raw = (
        "From: MAILER-DAEMON@mx.example\r\nTo: noreply@localhost\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"\r\n\r\n'
        "--BOUNDARY\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver your message.\r\n"
        "--BOUNDARY\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example\r\n\r\n"
        "Final-Recipient: rfc822; buchhaltung@wolf.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        "--BOUNDARY\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {sent['Message-ID']}\r\nTo: buchhaltung@wolf.example\r\n\r\n"
        "--BOUNDARY--\r\n"
    ).encode()
    result = process_inbound(raw)
    assert result.kind == "hard_bounce" and result.status == "5.1.1"
    assert not Contact.objects.get(debtor=debtor, kind="email").is_valid
    assert debtor.timeline.filter(kind="message_bounced").count() == 1
    again = run_collection(company, D("2026-03-09"))
    assert again.channels == {"letter": 1}  # the same reminder, now by post
    letter = OutboundMessage.objects.get(channel="letter")
    assert letter.subject.startswith("Zahlungserinnerung")


@pytest.mark.django_db
def test_a_returned_letter_without_any_other_channel_leads_to_one_research_task(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path, settings: Any, tmp_path: Path
) -> None:
    settings.DOCUMENTS_DIR = tmp_path / "documents"
    debtor = make_debtor(email=None, **postal())
    make_invoice(debtor, "RE-6", "10.00", "2026-03-01")
    run_collection(company, D("2026-03-08"))
    print_letters(company, D("2026-03-08"))
    record_returned_letter(OutboundMessage.objects.get())
    debtor.refresh_from_db()
    assert debtor.address_invalid
    assert run_collection(company, D("2026-03-09")).no_contact == 1
    assert run_collection(company, D("2026-03-10")).no_contact == 1
    assert list(Task.objects.values_list("kind", "status")) == [("address_research", "open")]


@pytest.mark.django_db
def test_a_call_step_creates_a_task_for_a_person(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    Step.objects.filter(playbook__company=company, level=3).update(channel="call")
    debtor = make_debtor()
    Contact.objects.create(debtor=debtor, kind="phone", value="+49 30 1234567", is_primary=True)
    make_invoice(debtor, "RE-8", "700.00", "2026-03-01")
    run_collection(company, D("2026-03-08"))
    result = run_collection(company, D("2026-03-22"))
    assert result.tasks == 1 and result.messages_queued == 0
    task = Task.objects.get()
    assert (task.kind, task.debtor_id, task.due_on) == ("call", debtor.pk, D("2026-03-22"))


class _Provider(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append(body | {"auth": self.headers["Authorization"]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": "sms-1"}')

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.django_db
def test_an_sms_step_reaches_the_provider_in_ucs2_for_latvian(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path, settings: Any
) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.SMS_URL = f"http://127.0.0.1:{server.server_address[1]}/messages"
        settings.SMS_TOKEN = "secret-token"
        Step.objects.filter(playbook__company=company, level=2).update(channel="sms")
        debtor = make_debtor(
            name="Ilze Kalniņa", language="lv", email=None, jurisdiction="LV", time_zone="Europe/Riga"
        )
        Contact.objects.create(debtor=debtor, kind="phone", value="+371 20000000", is_primary=True)
        make_invoice(debtor, "R-3", "45.00", "2026-03-02")
        result = run_collection(company, D("2026-03-09"))  # a Monday
        assert result.channels == {"sms": 1}, result
        (got,) = _Provider.received
        assert got["to"] == "+37120000000" and got["auth"] == "Bearer secret-token"
        # a business whose contract follows Latvian law: in default from the day after the due date
        # (Commercial Law, 2011/7/EU), so 40.00 compensation and interest at 2.15 + 8 = 10.15 % for
        # 03-03..03-09 = 7 days: 45.00 x 0.1015 x 7 / 365 = 0.0876 -> 0.09; 45.00 + 40.00 + 0.09 = 85.09
        assert got["encoding"] == "UCS-2" and "85,09" in got["text"] and "R-3" in got["text"]
        assert OutboundMessage.objects.get().provider_id == "sms-1"
    finally:
        server.shutdown()


@pytest.mark.django_db
def test_a_latvian_consumer_is_not_written_to_on_a_sunday(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    import time_machine

    company.jurisdiction = "LV"
    company.save()
    debtor = make_debtor(
        language="lv", kind="consumer", jurisdiction="LV", time_zone="Europe/Riga", country="LV"
    )
    make_invoice(debtor, "R-1", "30.00", "2026-03-01")
    sunday_noon = datetime(2026, 3, 8, 10, 0, tzinfo=UTC)  # 12:00 in Riga
    with time_machine.travel(sunday_noon, tick=False):
        result = run_collection(company, D("2026-03-08"), now=sunday_noon)
        assert result.deferred == 1 and result.messages_queued == 1
        msg = OutboundMessage.objects.get()
        assert msg.not_before == datetime(2026, 3, 9, 6, 0, tzinfo=UTC)  # Monday 08:00 in Riga
        assert msg.status == "queued" and eml_files(outbox) == []
        assert "21" in msg.body_text  # the time to object is stated in the first notice
    with time_machine.travel(datetime(2026, 3, 9, 6, 0, 1, tzinfo=UTC), tick=False):
        assert send_queued(company)["sent"] == 1
    assert debtor.timeline.filter(kind="message_deferred").count() == 1


@pytest.mark.django_db
def test_the_email_has_an_html_part_a_scannable_girocode_and_for_the_final_notice_a_pdf(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    import zxingcpp
    from PIL import Image

    company.claim_interest = company.charge_fees = False
    company.save()
    debtor = make_debtor(language="en")
    make_invoice(debtor, "INV-9", "150.00", "2026-03-01")
    for day in ("2026-03-08", "2026-03-22", "2026-04-05"):
        run_collection(company, D(day))
    first, _second, final = eml_files(outbox)
    html = first.get_body(preferencelist=("html",))
    assert html is not None and "<table" in html.get_content() and "INV-9" in html.get_content()
    images = [p for p in first.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(images[0].get_content())))
    lines = decoded[0].text.split("\n")
    assert lines[:4] == ["BCD", "002", "1", "SCT"]
    assert lines[5:8] == ["Acme Werkzeug GmbH", "DE89370400440532013000", "EUR150.00"]
    assert not [p for p in first.walk() if p.get_content_type() == "application/pdf"]
    pdfs = [p for p in final.walk() if p.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1 and pdfs[0].get_content()[:4] == b"%PDF"


@pytest.mark.django_db
def test_the_inbound_endpoint_takes_a_reply_with_the_token_only(
    client: Any, company: Any, make_debtor: Any, make_invoice: Any, outbox: Path, settings: Any
) -> None:
    settings.INBOUND_TOKEN = "t0ken-for-tests"
    debtor = make_debtor()
    make_invoice(debtor, "RE-1", "20.00", "2026-03-01")
    run_collection(company, D("2026-03-08"))
    (sent,) = eml_files(outbox)
    reply = (
        f"From: {debtor.contacts.get().value}\r\nTo: noreply@localhost\r\nSubject: Re: {sent['Subject']}\r\n"
        f"In-Reply-To: {sent['Message-ID']}\r\n\r\nWe paid last week, see attachment.\r\n"
    ).encode()
    denied = client.post(
        "/inbound/email", reply, content_type="message/rfc822", HTTP_AUTHORIZATION="Bearer wrong"
    )
    assert denied.status_code == 401
    ok = client.post(
        "/inbound/email", reply, content_type="message/rfc822", HTTP_AUTHORIZATION="Bearer t0ken-for-tests"
    )
    assert ok.status_code == 200 and ok.json()["kind"] == "reply"
    assert Task.objects.get().kind == "review"
    assert debtor.timeline.filter(kind="reply_received").count() == 1


@pytest.mark.django_db
def test_a_stored_invoice_pdf_goes_with_the_reminder(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path, settings: Any, tmp_path: Path
) -> None:
    from django.core.files.base import ContentFile

    settings.STORAGES = settings.STORAGES | {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        }
    }
    debtor = make_debtor()
    invoice = make_invoice(debtor, "RE-42", "20.00", "2026-03-01")
    invoice.document.save("RE-42.pdf", ContentFile(b"%PDF-1.4 invoice RE-42"))
    run_collection(company, D("2026-02-26"))  # the friendly note: no copy
    run_collection(company, D("2026-03-08"))  # the reminder after the due date: with the copy
    note, reminder = eml_files(outbox)
    assert not [p for p in note.walk() if p.get_filename() == "RE-42.pdf"]
    (copy,) = [p for p in reminder.walk() if p.get_filename() == "RE-42.pdf"]
    assert copy.get_content() == b"%PDF-1.4 invoice RE-42"


@pytest.mark.django_db
def test_a_written_plan_agreement_goes_as_email_with_the_agreement_as_pdf(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    from pypdf import PdfReader

    from mahnwerk.collection import agreements

    company.claim_interest = company.charge_fees = False
    company.save()
    debtor = make_debtor(name="Gartenbau Koch KG", **postal())
    invoice = make_invoice(debtor, "RE-3", "1200.00", "2026-03-01")
    agreements.propose_plan(
        company,
        debtor,
        [invoice],
        3,
        down_payment_minor=30000,
        first_due=D("2026-03-27"),
        as_of=D("2026-03-10"),
    )
    send_queued(company)
    (mail,) = eml_files(outbox)
    (pdf,) = [p for p in mail.walk() if p.get_content_type() == "application/pdf"]
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.get_content())).pages)
    assert "Gartenbau Koch KG" in text and "Lindenallee 5" in text
    assert "27.03.2026" in text and "300,00" in text  # the first instalment date and the down payment


@pytest.mark.django_db
def test_every_email_carries_a_working_link_to_the_debtor_s_page(
    client: Any, company: Any, make_debtor: Any, make_invoice: Any, outbox: Path, settings: Any
) -> None:
    import re

    settings.BASE_URL = "https://mahnwerk.example"
    debtor = make_debtor(language="en")
    make_invoice(debtor, "INV-77", "60.00", "2026-03-01")
    run_collection(company, D("2026-03-08"))
    (mail,) = eml_files(outbox)
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    link = re.search(r"https://mahnwerk\.example(/portal/\S+)", text)
    assert link is not None, text
    page = client.get(link.group(1))
    assert page.status_code == 200 and "INV-77" in page.content.decode()
