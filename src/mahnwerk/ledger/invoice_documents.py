"""Invoice copies: the PDF of an invoice, stored with it and attached to reminders and downloads.

One use case, ``attach_invoice_documents``, for the case file's upload and ``mahnwerk documents attach``:
every file is checked first (a PDF, not too large, an invoice of the company), then all are stored in one
transaction; a file stored for a transaction that then fails is removed again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import PurePath
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import transaction
from django.db.models import FileField
from django.utils.translation import gettext as _

from mahnwerk.ledger import timeline
from mahnwerk.ledger.models import Company, Invoice
from mahnwerk.ledger.services import company_today

MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class InvoiceFile:
    number: str  # the invoice number it belongs to
    filename: str  # where it came from (for messages)
    content: bytes


class DocumentRejected(ValueError):
    """One or more files cannot be stored; ``problems`` names each file and why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _problem(item: InvoiceFile, invoice: Invoice | None) -> str | None:
    if invoice is None:
        return _("{file}: no invoice {number} in this company").format(file=item.filename, number=item.number)
    if not item.content.startswith(b"%PDF-"):
        return _("{file}: not a PDF file").format(file=item.filename)
    if len(item.content) > MAX_BYTES:
        return _("{file}: larger than {limit} MB").format(
            file=item.filename, limit=MAX_BYTES // (1024 * 1024)
        )
    return None


def _storage() -> Storage:
    field = Invoice._meta.get_field("document")
    assert isinstance(field, FileField)
    return field.storage


def attach_invoice_documents(
    company: Company, files: Sequence[InvoiceFile], actor: str = "system"
) -> list[Invoice]:
    """Store each file as the copy of its invoice (replacing an earlier copy); all or nothing."""
    invoices = {
        inv.number: inv
        for inv in Invoice.objects.filter(company=company, number__in={f.number for f in files})
    }
    problems = [p for f in files if (p := _problem(f, invoices.get(f.number)))]
    seen: set[str] = set()
    for f in files:
        if f.number in seen:
            problems.append(
                _("{file}: a second file for invoice {number}").format(file=f.filename, number=f.number)
            )
        seen.add(f.number)
    if problems:
        raise DocumentRejected(problems)
    today = company_today(company)
    stored: list[str] = []
    replaced: list[str] = []
    try:
        with transaction.atomic():
            events = []
            for f in files:
                invoice = invoices[f.number]
                if invoice.document:
                    replaced.append(str(invoice.document.name))
                safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f.number)
                invoice.document.save(f"{safe}.pdf", ContentFile(f.content), save=False)
                stored.append(str(invoice.document.name))
                Invoice.objects.filter(pk=invoice.pk).update(document=invoice.document.name)
                events.append(
                    timeline.event(
                        invoice.debtor_id,
                        company.pk,
                        "invoice_document_stored",
                        today,
                        actor=actor,
                        number=invoice.number,
                        file=PurePath(f.filename).name,
                    )
                )
            timeline.record(events)
    except BaseException:
        for name in stored:
            _storage().delete(name)
        raise
    for name in replaced:
        if name not in stored:
            transaction.on_commit(partial(_storage().delete, name))
    return [invoices[f.number] for f in files]


# --- copies stored by other imports (e-invoices) ------------------------------------------------------


@dataclass(frozen=True)
class InvoiceCopy:
    """A checked copy for an invoice saved in the caller's transaction: a PDF or an e-invoice's XML."""

    invoice: Invoice
    filename: str  # where it came from (for the timeline)
    content: bytes
    extension: str = ".pdf"  # ".pdf" or ".xml"
    data: dict[str, Any] = field(default_factory=dict)  # more data for the timeline event


def copy_problem(filename: str, content: bytes, extension: str) -> str | None:
    """Why ``content`` cannot be stored as an invoice copy with ``extension``, or None."""
    if extension == ".pdf" and not content.startswith(b"%PDF-"):
        return _("{file}: not a PDF file").format(file=filename)
    if extension == ".xml" and not content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return _("{file}: not an XML file").format(file=filename)
    if extension not in {".pdf", ".xml"}:
        return _("{file}: only PDF or XML copies are kept").format(file=filename)
    if len(content) > MAX_BYTES:
        return _("{file}: larger than {limit} MB").format(file=filename, limit=MAX_BYTES // (1024 * 1024))
    return None


def store_invoice_copies(company: Company, copies: Sequence[InvoiceCopy], actor: str = "system") -> list[str]:
    """Save each copy as its invoice's document inside the caller's transaction and note it on the timeline
    (``invoice_document_stored``, with ``data``); an earlier copy is removed once the transaction commits.

    Returns the names stored. If this fails, what it stored is removed; a caller whose transaction fails
    afterwards removes them with :func:`remove_stored`.
    """
    today = company_today(company)
    stored: list[str] = []
    try:
        events = []
        for copy in copies:
            invoice = copy.invoice
            previous = str(invoice.document.name) if invoice.document else ""
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in invoice.number)
            invoice.document.save(f"{safe}{copy.extension}", ContentFile(copy.content), save=False)
            name = str(invoice.document.name)
            stored.append(name)
            Invoice.objects.filter(pk=invoice.pk).update(document=name)
            if previous and previous != name:
                transaction.on_commit(partial(_storage().delete, previous))
            events.append(
                timeline.event(
                    invoice.debtor_id,
                    company.pk,
                    "invoice_document_stored",
                    today,
                    actor=actor,
                    number=invoice.number,
                    file=PurePath(copy.filename).name,
                    **copy.data,
                )
            )
        timeline.record(events)
    except BaseException:
        remove_stored(stored)
        raise
    return stored


def remove_stored(names: Sequence[str]) -> None:
    """Remove stored copies again (their transaction failed)."""
    for name in names:
        _storage().delete(name)
