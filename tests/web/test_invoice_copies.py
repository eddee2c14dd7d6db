"""Invoice copies (PDF) stored with their invoices: by the case file's upload and ``mahnwerk documents
attach``; checked first, all or nothing; only for the own company's invoices."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from mahnwerk.ledger.invoice_documents import DocumentRejected, InvoiceFile, attach_invoice_documents
from mahnwerk.ledger.models import Invoice, TimelineEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

PDF = b"%PDF-1.4\n% invoice copy\n%%EOF\n"


@pytest.fixture(autouse=True)
def storage(file_storage: Path) -> Path:
    return file_storage


@pytest.fixture
def items(make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> dict[str, Any]:
    debtor = make_debtor(name="Bäckerei Müller", number="K0001")
    return {
        "debtor": debtor,
        "r100": make_invoice(debtor, "R-100", "1000.00", "2026-10-01"),
        "r101": make_invoice(debtor, "R-101", "250.00", "2026-12-01"),
    }


def stored(number: str) -> bytes | None:
    invoice = Invoice.objects.get(number=number)
    if not invoice.document:
        return None
    with invoice.document.open("rb") as fh:
        return fh.read()


def test_all_files_are_checked_first_and_nothing_is_stored_if_one_fails(
    company: Any, items: dict[str, Any], storage: Path
) -> None:
    files = [
        InvoiceFile("R-100", "R-100.pdf", PDF),
        InvoiceFile("R-101", "R-101.pdf", b"not a pdf"),
        InvoiceFile("R-999", "R-999.pdf", PDF),
    ]
    with pytest.raises(DocumentRejected) as caught:
        attach_invoice_documents(company, files)
    assert caught.value.problems == [
        "R-101.pdf: not a PDF file",
        "R-999.pdf: no invoice R-999 in this company",
    ]
    assert stored("R-100") is None and not any(storage.rglob("*.pdf"))
    attach_invoice_documents(
        company, [*files[:1], InvoiceFile("R-101", "R-101.pdf", PDF + b"2")], actor="test"
    )
    assert stored("R-100") == PDF and stored("R-101") == PDF + b"2"
    event = TimelineEvent.objects.get(kind="invoice_document_stored", data__number="R-100")
    assert event.actor == "test" and event.data["file"] == "R-100.pdf"


def test_a_new_copy_replaces_the_old_file(
    company: Any, items: dict[str, Any], storage: Path, django_capture_on_commit_callbacks: Any
) -> None:
    attach_invoice_documents(company, [InvoiceFile("R-100", "a.pdf", PDF)])
    first = Invoice.objects.get(number="R-100").document.name
    with django_capture_on_commit_callbacks(execute=True):
        attach_invoice_documents(company, [InvoiceFile("R-100", "b.pdf", PDF + b"new")])
    assert stored("R-100") == PDF + b"new"
    assert not (storage / first).exists() and len(list(storage.rglob("*.pdf"))) == 1


def test_command_attaches_a_folder_by_file_name(
    company: Any, items: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "R-100.pdf").write_bytes(PDF)
    (folder / "notes.txt").write_text("not a copy")
    call_command("documents", "attach", str(folder))
    assert "1 invoice copies stored" in capsys.readouterr().out
    assert stored("R-100") == PDF
    (folder / "R-404.pdf").write_bytes(PDF)
    with pytest.raises(CommandError, match=r"R-404\.pdf: no invoice R-404"):
        call_command("documents", "attach", str(folder / "R-404.pdf"))


def test_case_file_upload(bob: Client, carol: Client, dave: Client, items: dict[str, Any]) -> None:
    url = f"/debtors/{items['debtor'].pk}/invoice-copy"
    page = bob.get(f"/debtors/{items['debtor'].pk}/").content.decode()
    assert 'data-testid="upload-form"' in page
    assert 'data-testid="upload-form"' not in carol.get(f"/debtors/{items['debtor'].pk}/").content.decode()

    def upload(client: Client, content: bytes) -> Any:
        return client.post(
            url,
            {
                "copy-invoice": items["r100"].pk,
                "copy-file": SimpleUploadedFile("scan.pdf", content, "application/pdf"),
            },
            follow=True,
        )

    assert upload(carol, PDF).status_code == 403
    assert upload(dave, PDF).status_code == 404
    refused = upload(bob, b"GIF89a")
    assert any("not a PDF file" in str(m) for m in refused.context["messages"])
    assert stored("R-100") is None
    done = upload(bob, PDF)
    assert any("Copy of invoice R-100 stored." in str(m) for m in done.context["messages"])
    assert stored("R-100") == PDF
    # the copy is listed and downloads as it was uploaded
    invoice = Invoice.objects.get(number="R-100")
    download = bob.get(f"/debtors/{items['debtor'].pk}/documents/invoice/{invoice.pk}")
    assert download.status_code == 200 and download.content == PDF


def test_the_printed_letter_carries_the_stored_copy(
    company: Any,
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
    settings: Any,
    tmp_path: Path,
) -> None:
    import io

    from pypdf import PdfReader
    from weasyprint import HTML

    from mahnwerk.collection.services import run_collection
    from mahnwerk.comms.letters_batch import print_letters

    settings.DOCUMENTS_DIR = tmp_path / "documents"
    debtor = make_debtor(
        name="Druckerei Lange KG",
        email=None,
        street="Lindenallee 5",
        postcode="04109",
        city="Leipzig",
        country="DE",
    )
    make_invoice(debtor, "R-300", "300.00", "2026-10-01")
    copy = HTML(string="<p>Invoice R-300 as issued on 1 September</p>").write_pdf()
    assert isinstance(copy, bytes)
    attach_invoice_documents(company, [InvoiceFile("R-300", "R-300.pdf", copy)])
    run_collection(company, send=False, approved=True)
    batch = print_letters(company)
    assert batch.letters == 1 and batch.path is not None
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(batch.path.read_bytes())).pages]
    assert "Druckerei Lange KG" in pages[0]
    assert "Invoice R-300 as issued on 1 September" in pages[-1] and len(pages) >= 2


@pytest.mark.django_db
def test_an_e_invoice_kept_as_xml_goes_with_the_email_as_xml_and_never_into_a_printed_letter(
    company: Any,
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
    settings: Any,
    tmp_path: Path,
) -> None:
    from django.core.files.base import ContentFile

    from mahnwerk.collection.services import run_collection
    from mahnwerk.comms.email_build import invoice_copies
    from mahnwerk.comms.models import OutboundMessage

    settings.DOCUMENTS_DIR = tmp_path / "documents"
    debtor = make_debtor(name="Amt für Straßenbau")
    invoice = make_invoice(debtor, "R-400", "300.00", "2026-10-01")
    xml = b"<?xml version='1.0'?><Invoice>R-400</Invoice>"
    invoice.document.save("R-400.xml", ContentFile(xml))
    run_collection(company, send=False, approved=True)
    message = OutboundMessage.objects.get(debtor=debtor)
    assert invoice_copies(message) == [("R-400.xml", xml)]
    assert invoice_copies(message, pdf_only=True) == []
