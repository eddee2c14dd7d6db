"""Downloads of a debtor's invoices and letters: on its portal page (by its personal link) and on the clerk's
case file. A document is only ever found for its own debtor; the portal page's queries do not grow with the
number of documents."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.test import Client
from pypdf import PdfReader

from mahnwerk.collection.services import run_collection
from mahnwerk.comms.compose import render_pending
from mahnwerk.comms.debtor_documents import DocumentNotFound, document_file, list_documents, safe_filename
from mahnwerk.comms.models import OutboundMessage
from mahnwerk.ledger.models import Invoice
from mahnwerk.web.portal import links

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

D = date.fromisoformat
INVOICE_PDF = b"%PDF-1.4\n% the invoice R-300 as the company issued it\n%%EOF\n"


@pytest.fixture(autouse=True)
def storage(file_storage: Path) -> Path:
    """Stored invoices and printed letters in this test's own folder."""
    return file_storage.parent


def postal(**kw: Any) -> dict[str, Any]:
    return {"street": "Lindenallee 5", "postcode": "04109", "city": "Leipzig", "country": "DE"} | kw


def store(invoice: Invoice, content: bytes = INVOICE_PDF) -> Invoice:
    invoice.document.save(f"{invoice.number.replace('/', '-')}.pdf", ContentFile(content))
    return invoice


def settle(invoice: Invoice, on: str) -> None:
    Invoice.objects.filter(pk=invoice.pk).update(open_minor=0, settled_on=D(on))


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def document_url(token: str, kind: str, doc_id: int) -> str:
    return f"/portal/{token}/documents/{kind}/{doc_id}"


@pytest.fixture
def lange(make_debtor: Callable[..., Any], make_invoice: Callable[..., Any], company: Any) -> Any:
    """A debtor without an email address: its reminder goes by post. R-300 has a stored copy."""
    debtor = make_debtor(name="Druckerei Lange KG", email=None, **postal())
    store(make_invoice(debtor, "R-300", "480.00", "2026-10-01", issue="2026-09-01"))
    make_invoice(debtor, "R-301", "20.00", "2026-12-15")  # no stored copy: nothing to download
    return debtor


@pytest.fixture
def other(make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> Any:
    """Another debtor of the same company, with its own stored invoice."""
    debtor = make_debtor(name="Autohaus Wolf GmbH", email=None, **postal(street="Ringstraße 9"))
    store(make_invoice(debtor, "W-1", "99.00", "2026-10-01"), b"%PDF-1.4 Wolf only")
    return debtor


def letter_of(debtor: Any) -> OutboundMessage:
    run_collection(
        debtor.company, D("2026-11-20"), send=False, approved=True
    )  # interest past 2026-06-30: approved
    render_pending(debtor.company)  # the outbox writes what the run decided
    return OutboundMessage.objects.get(debtor=debtor, channel="letter")


# -- the list --------------------------------------------------------------------------------------------


def test_the_list_has_stored_invoices_open_first_then_recently_settled_then_letters(
    lange: Any, make_invoice: Callable[..., Any]
) -> None:
    old_open = store(make_invoice(lange, "R-100", "10.00", "2026-02-01", issue="2026-01-01"))
    paid = store(make_invoice(lange, "R-200", "10.00", "2026-06-01", issue="2026-05-01"))
    settle(paid, "2026-06-10")
    long_ago = store(make_invoice(lange, "R-050", "10.00", "2025-08-01", issue="2025-07-01"))
    settle(long_ago, "2025-08-15")  # settled more than a year ago: no longer offered
    letter = letter_of(lange)

    documents = list_documents(lange)

    r300 = Invoice.objects.get(number="R-300")
    assert [(d.kind, d.id) for d in documents] == [
        ("invoice", r300.pk),  # open, newest first
        ("invoice", old_open.pk),
        ("invoice", paid.pk),  # settled within the last year
        ("letter", letter.pk),
    ]
    assert [d.settled for d in documents] == [False, False, True, False]
    assert documents[0].label == "Invoice R-300" and documents[0].date == D("2026-09-01")
    assert documents[3].label == letter.subject and documents[3].date == D("2026-11-20")


@pytest.fixture
def koch(
    company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> tuple[Any, list[Any]]:
    """Koch is emailed three reminders for RE-9: friendly, friendly and the formal final notice, which alone
    carries the PDF letter (the default setting); all three are sent."""
    from mahnwerk.experiments.models import ChannelLearning

    company.claim_interest = company.charge_fees = False
    company.save()
    # the playbook's channels as they are: no switch to a letter after two unanswered emails
    ChannelLearning.objects.create(company=company, enabled=False)
    debtor = make_debtor(name="Gartenbau Koch KG", **postal())
    make_invoice(debtor, "RE-9", "150.00", "2026-03-01")
    for day in ("2026-03-08", "2026-03-22", "2026-04-05"):
        run_collection(company, D(day), approved=True)
    emails = list(OutboundMessage.objects.filter(debtor=debtor).order_by("pk"))
    assert [m.payload.get("tone") for m in emails][-1] == "formal" and len(emails) == 3
    assert {m.status for m in emails} == {"sent"}
    return debtor, emails


def test_letters_are_the_letters_and_the_emails_that_carried_a_pdf(
    company: Any, koch: tuple[Any, list[Any]]
) -> None:
    debtor, emails = koch
    cancelled = OutboundMessage.objects.create(
        company=company,
        debtor=debtor,
        channel="letter",
        recipient="post",
        language="de",
        subject="Never sent",
        body_text="x",
        message_id="<cancelled@test>",
        status="cancelled",
    )

    listed = [(d.kind, d.id) for d in list_documents(debtor)]

    assert listed == [("letter", emails[-1].pk)]  # only the final notice went with a PDF letter
    for msg in (*emails[:2], cancelled):
        with pytest.raises(DocumentNotFound):
            document_file(debtor, "letter", msg.pk)


def test_a_printed_letter_is_downloaded_as_it_was_printed(
    client: Client,
    lange: Any,
    company: Any,
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
) -> None:
    from mahnwerk.comms.letters_batch import print_letters

    letter = letter_of(lange)
    print_letters(company, D("2026-11-20"))
    company.name, company.iban = "Neuwerk Holding AG", "DE02120300000000202051"
    company.save()
    lange.street = "Am Markt 7"
    lange.save()
    sommer = make_debtor(name="Bäckerei Sommer", email=None, **postal(street="Feldweg 2"))
    make_invoice(sommer, "S-1", "75.00", "2026-10-01")
    waiting = letter_of(sommer)

    printed = pdf_text(client.get(document_url(links.make_token(lange), "letter", letter.pk)).content)
    queued = pdf_text(document_file(waiting.debtor, "letter", waiting.pk).content)

    # the creditor, its bank account and the address of the day it was printed
    assert "Acme Werkzeug GmbH" in printed and "Lindenallee 5" in printed
    assert "IBAN DE89370400440532013000" in printed
    assert "Neuwerk" not in printed and "Am Markt" not in printed and "DE02" not in printed
    assert "Neuwerk Holding AG" in queued and "Feldweg 2" in queued  # not sent yet: as it would go out now


def test_an_email_keeps_the_pdf_letter_it_carried(
    company: Any, koch: tuple[Any, list[Any]], settings: Any
) -> None:
    debtor, emails = koch
    company.name = "Neuwerk Holding AG"
    company.save()
    settings.EMAIL_PDF = "all"  # what the setting says now does not change what went out

    assert [(d.kind, d.id) for d in list_documents(debtor)] == [("letter", emails[-1].pk)]
    text = pdf_text(document_file(debtor, "letter", emails[-1].pk).content)
    assert "Acme Werkzeug GmbH" in text and "RE-9" in text and "Neuwerk" not in text
    settings.EMAIL_PDF = "none"
    assert [(d.kind, d.id) for d in list_documents(debtor)] == [("letter", emails[-1].pk)]


# -- the portal ------------------------------------------------------------------------------------------


def test_portal_lists_the_invoice_and_downloads_it_byte_identical(client: Client, lange: Any) -> None:
    token = links.make_token(lange)
    invoice = Invoice.objects.get(number="R-300")

    page = client.get(f"/portal/{token}/")

    assert page.status_code == 200
    text = page.content.decode()
    url = document_url(token, "invoice", invoice.pk)
    assert f'href="{url}"' in text and "Rechnung R-300" in text  # in the debtor's language
    assert [d["label"] for d in page.context["documents"]] == ["Rechnung R-300"]  # R-301 has no stored copy
    response = client.get(url)
    assert response.status_code == 200
    assert response.content == INVOICE_PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="R-300.pdf"'
    assert "no-store" in response["Cache-Control"]


def test_the_debtors_visits_and_downloads_reach_the_case_file_once_a_day(
    client: Client, alice: Client, lange: Any, other: Any
) -> None:
    from mahnwerk.ledger.models import TimelineEvent

    token = links.make_token(lange)
    invoice = Invoice.objects.get(number="R-300")
    case_file = f"/debtors/{lange.pk}/"

    def seen() -> list[tuple[str, str, str]]:
        return [
            (e.kind, e.business_date.isoformat(), e.data.get("document", ""))
            for e in TimelineEvent.objects.filter(
                debtor=lange, kind__in=["portal_opened", "document_downloaded"]
            ).order_by("id")
        ]

    assert "not opened recently" in alice.get(case_file).content.decode()
    for _ in range(2):  # a reload the same day adds nothing
        client.get(f"/portal/{token}/")
        client.get(document_url(token, "invoice", invoice.pk))
    client.post(f"/portal/{token}/", {"action": "contact", "email": "bad"})  # a post is not a visit
    client.get(document_url(token, "invoice", 999_999))  # not found: nothing downloaded
    assert seen() == [("portal_opened", "2026-11-20", ""), ("document_downloaded", "2026-11-20", "R-300.pdf")]

    with time_machine.travel("2026-11-23 09:00 +0000", tick=False):  # the next business day: seen again
        client.get(f"/portal/{token}/")
        page = alice.get(case_file).content.decode()
    assert seen()[-1] == ("portal_opened", "2026-11-23", "")
    assert "The customer opened the payment page" in page
    assert "The customer downloaded R-300.pdf from the payment page" in page
    assert "last opened on 11/23/2026" in page
    assert "downloaded: R-300.pdf" in page
    # the other debtor's case file knows nothing of it
    assert "not opened recently" in alice.get(f"/debtors/{other.pk}/").content.decode()


def test_portal_letter_is_a_real_pdf_with_the_debtor_and_the_invoice(client: Client, lange: Any) -> None:
    letter = letter_of(lange)
    token = links.make_token(lange)
    url = document_url(token, "letter", letter.pk)
    assert f'href="{url}"' in client.get(f"/portal/{token}/").content.decode()

    response = client.get(url)

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="2026-11-20-')
    assert "no-store" in response["Cache-Control"]
    text = pdf_text(response.content)
    assert "Druckerei Lange KG" in text and "Lindenallee 5" in text and "R-300" in text


def test_portal_letter_printed_in_a_batch_is_rebuilt_for_its_debtor_only(
    client: Client, lange: Any, other: Any
) -> None:
    from mahnwerk.comms.letters_batch import print_letters

    run_collection(lange.company, D("2026-11-20"), send=False, approved=True)
    batch = print_letters(lange.company, D("2026-11-20"))
    assert batch.letters == 2  # one print file for both debtors: it is not what a debtor downloads
    letter = OutboundMessage.objects.get(debtor=lange, status="sent")

    response = client.get(document_url(links.make_token(lange), "letter", letter.pk))

    text = pdf_text(response.content)
    assert "Druckerei Lange KG" in text and "Autohaus Wolf" not in text and "W-1" not in text


def test_a_link_cannot_fetch_another_debtors_documents(
    client: Client,
    lange: Any,
    other: Any,
    other_company: Any,
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
) -> None:
    baltic = make_debtor(name="SIA Kalns", company=other_company, email=None, **postal(country="LV"))
    baltic_invoice = store(make_invoice(baltic, "B-1", "50.00", "2026-10-01"), b"%PDF-1.4 Baltic only")
    letter_of(lange)
    other_letter = OutboundMessage.objects.get(debtor=other, channel="letter")
    token = links.make_token(lange)

    for kind, doc_id in (
        ("invoice", Invoice.objects.get(number="W-1").pk),
        ("letter", other_letter.pk),
        ("invoice", baltic_invoice.pk),
        ("invoice", Invoice.objects.get(number="R-301").pk),  # its own, but no stored copy
        ("letter", Invoice.objects.get(number="R-300").pk + 10_000),
        ("contract", Invoice.objects.get(number="R-300").pk),
    ):
        response = client.get(document_url(token, kind, doc_id))
        assert response.status_code == 404, (kind, doc_id)
        text = response.content.decode()
        assert "Dieses Dokument ist nicht verfügbar" in text, (kind, doc_id)
        assert b"%PDF" not in response.content
        assert response.get("Content-Disposition") is None
    # the same ids with the right debtor's link do download
    assert client.get(document_url(links.make_token(other), "letter", other_letter.pk)).status_code == 200


def test_tampered_and_expired_links_get_the_clear_page(client: Client, lange: Any, other: Any) -> None:
    invoice = Invoice.objects.get(number="R-300")
    token = links.make_token(lange)
    payload = links.make_token(other).split(":")[0]
    forged = ":".join([payload, *token.split(":")[1:]])  # another debtor's id under this link's signature
    for bad in (token[:-2] + "xx", forged, "nonsense"):
        response = client.get(document_url(bad, "invoice", invoice.pk))
        assert response.status_code == 404, bad
        assert "This link is not valid" in response.content.decode()
        assert response.content != INVOICE_PDF

    with time_machine.travel("2026-11-20 10:00 +0000", tick=False) as traveller:
        traveller.shift(links.MAX_AGE + timedelta(minutes=1))
        expired = client.get(document_url(token, "invoice", invoice.pk))
    assert expired.status_code == 410
    assert "This link has expired" in expired.content.decode()


def test_downloads_count_against_the_rate_limit(client: Client, lange: Any) -> None:
    from mahnwerk.web.models import PortalAttempt
    from mahnwerk.web.portal import ratelimit

    url = document_url(links.make_token(lange), "invoice", Invoice.objects.get(number="R-300").pk)
    assert client.get(url).status_code == 200
    PortalAttempt.objects.bulk_create(
        PortalAttempt(key="portal:127.0.0.1") for _ in range(ratelimit.LIMIT - 1)
    )
    limited = client.get(url)
    assert limited.status_code == 429 and "Too many attempts" in limited.content.decode()


def test_a_missing_stored_file_is_not_found_not_an_error(client: Client, lange: Any) -> None:
    invoice = Invoice.objects.get(number="R-300")
    invoice.document.storage.delete(invoice.document.name)
    response = client.get(document_url(links.make_token(lange), "invoice", invoice.pk))
    assert response.status_code == 404 and "Dieses Dokument ist nicht verfügbar" in response.content.decode()


def test_the_file_name_is_safe_whatever_the_invoice_number(
    client: Client, lange: Any, make_invoice: Callable[..., Any]
) -> None:
    odd = store(make_invoice(lange, 'RE/2026\\"7"; x=ü', "10.00", "2026-10-01"))
    response = client.get(document_url(links.make_token(lange), "invoice", odd.pk))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="RE-2026-7-x-u.pdf"'
    assert safe_filename("../../etc/passwd", ".pdf") == "etc-passwd.pdf"
    assert safe_filename("Mahnung für Müller – Kunde K1", ".PDF") == "Mahnung-fur-Muller-Kunde-K1.pdf"
    assert safe_filename("§§§", "") == "document.pdf"


def test_portal_page_queries_do_not_grow_with_documents(
    client: Client,
    lange: Any,
    make_invoice: Callable[..., Any],
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    letter_of(lange)
    path = links.portal_path(lange)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        assert response.status_code == 200
        return len(ctx.captured_queries)

    client.get(path)  # the first request of a rate-limit window also clears old attempts: one query more
    few = count()
    for n in range(15):
        store(make_invoice(lange, f"N-{n}", "10.00", "2026-10-01"))
    for n in range(10):
        OutboundMessage.objects.create(
            company=lange.company,
            debtor=lange,
            channel="letter",
            recipient="post",
            language="de",
            subject=f"Brief {n}",
            body_text="Sehr geehrte Damen und Herren,\n\nText.\n\nMit freundlichen Grüßen",
            message_id=f"<letter-{n}@test>",
            status="sent",
        )
    assert len(list_documents(lange)) == 1 + 15 + 1 + 10
    assert count() == few
    # the rate limit (2), the debtor, its contacts, whether today's visit is noted, the documents (2), the
    # open items with their claims (allocations, charges, waivers, the debtor's law: 4), plans, promises,
    # disputes and the agreement forms' items (3), the customer's segment terms for what the page offers (3),
    # whether the segment's playbook exists (1), the payments the customer told us of ("I have paid": 1),
    # whether a letter is still to be rendered (1)
    with django_assert_max_num_queries(24):
        client.get(path)


# -- the clerk's case file ------------------------------------------------------------------------------


def test_a_viewer_sees_the_documents_card_and_downloads(carol: Client, lange: Any) -> None:
    letter = letter_of(lange)
    invoice = Invoice.objects.get(number="R-300")

    page = carol.get(f"/debtors/{lange.pk}/")

    text = page.content.decode()
    invoice_url = f"/debtors/{lange.pk}/documents/invoice/{invoice.pk}"
    letter_url = f"/debtors/{lange.pk}/documents/letter/{letter.pk}"
    assert f'href="{invoice_url}"' in text and f'href="{letter_url}"' in text
    response = carol.get(invoice_url)
    assert response.status_code == 200 and response.content == INVOICE_PDF
    assert response["Content-Disposition"] == 'attachment; filename="R-300.pdf"'
    assert "no-store" in response["Cache-Control"]
    letter_pdf = carol.get(letter_url)
    assert letter_pdf.status_code == 200
    assert "Druckerei Lange KG" in pdf_text(letter_pdf.content)


def test_the_clerk_of_another_company_gets_404(
    dave: Client,
    alice: Client,
    lange: Any,
    other: Any,
    other_company: Any,
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
) -> None:
    letter = letter_of(lange)
    invoice = Invoice.objects.get(number="R-300")
    for kind, doc_id in (("invoice", invoice.pk), ("letter", letter.pk)):
        response = dave.get(f"/debtors/{lange.pk}/documents/{kind}/{doc_id}")
        assert response.status_code == 404, kind
        assert response.content != INVOICE_PDF
    # nor through one of its own debtors
    baltic = make_debtor(name="SIA Kalns", company=other_company, email=None, **postal(country="LV"))
    assert dave.get(f"/debtors/{baltic.pk}/documents/invoice/{invoice.pk}").status_code == 404
    assert dave.get(f"/debtors/{baltic.pk}/documents/letter/{letter.pk}").status_code == 404
    # and Acme's clerk cannot fetch Baltic's invoice, nor one debtor's document under another debtor
    baltic_invoice = store(make_invoice(baltic, "B-1", "50.00", "2026-10-01"), b"%PDF-1.4 Baltic only")
    assert alice.get(f"/debtors/{baltic.pk}/documents/invoice/{baltic_invoice.pk}").status_code == 404
    assert alice.get(f"/debtors/{lange.pk}/documents/invoice/{baltic_invoice.pk}").status_code == 404
    assert alice.get(f"/debtors/{other.pk}/documents/invoice/{invoice.pk}").status_code == 404
    assert alice.get(f"/debtors/{other.pk}/documents/letter/{letter.pk}").status_code == 404
    assert alice.get(f"/debtors/{lange.pk}/documents/invoice/{invoice.pk}").status_code == 200


def test_downloads_need_a_signed_in_member(client: Client, lange: Any) -> None:
    invoice = Invoice.objects.get(number="R-300")
    response = client.get(f"/debtors/{lange.pk}/documents/invoice/{invoice.pk}")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# -- the letter's date -----------------------------------------------------------------------------------


def test_a_written_agreement_copied_later_carries_the_day_it_went_out(
    company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any], rated: Callable[..., Any]
) -> None:
    from mahnwerk.collection import agreements
    from mahnwerk.comms.documents import letter_context
    from mahnwerk.comms.outbox import send_queued

    debtor = make_debtor(name="Gartenbau Koch KG", **postal())
    invoice = make_invoice(debtor, "RE-3", "1200.00", "2026-10-01")
    rated(debtor, "best")  # a plan without down payment inside the segment's terms: agreed at once
    agreements.propose_plan(company, debtor, [invoice], 3, as_of=D("2026-11-20"))
    send_queued(company)
    (agreement,) = OutboundMessage.objects.filter(debtor=debtor, payload__document="agreement")
    (listed,) = [d for d in list_documents(debtor) if d.kind == "letter"]
    assert listed.id == agreement.pk and listed.date == D("2026-11-20")

    with time_machine.travel("2026-12-05 10:00 +0000", tick=False):
        ctx = letter_context(OutboundMessage.objects.get(pk=agreement.pk))
        copy = document_file(debtor, "letter", agreement.pk)
    assert ctx.letter_date == D("2026-11-20")
    assert "RE-3" in pdf_text(copy.content)
