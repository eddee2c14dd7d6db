"""A debtor's documents to download: copies of its invoices and the letters it was sent.

Invoices: those with a stored file, open ones and those settled within the last year. Letters: letter
messages queued or sent, and emails that carried the reminder or the written agreement as a PDF letter;
a sent one is the PDF kept when it went out (:mod:`mahnwerk.comms.sent_pdfs`), a waiting one is built from
the stored message as it would go out now. The portal and the clerk's case file both
use this module; a document is always looked up by (debtor, kind, id), so a document of another debtor or
another company is never found.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import PurePosixPath
from typing import NamedTuple

from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from mahnwerk.comms import sent_pdfs
from mahnwerk.comms.documents import letter_context, letter_date
from mahnwerk.comms.email_build import stored_invoice, wants_pdf
from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.ledger.models import ChannelChoice, Debtor, Invoice
from mahnwerk.ledger.services import company_today

INVOICE = "invoice"
LETTER = "letter"
KINDS = (INVOICE, LETTER)
SETTLED_SHOWN = timedelta(days=365)  # settled invoices stay available this long after settlement
LETTER_STATUSES = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT)


class DocumentNotFound(Exception):
    """No such document for this debtor (or its file is gone)."""


@dataclass(frozen=True, slots=True)
class DebtorDocument:
    kind: str  # INVOICE or LETTER
    id: int  # the invoice's or the message's primary key
    label: str
    date: date  # the invoice date, or the date the letter carries
    settled: bool = False  # an invoice that is paid (letters: always False)


class DocumentFile(NamedTuple):
    filename: str
    content_type: str
    content: bytes


# By debtor only (a debtor belongs to one company): with the company in the condition as well, the database
# may walk a company-wide index instead of the debtor's, which at a million invoices is a hundred times slower.


def _invoices(debtor: Debtor, today: date) -> QuerySet[Invoice]:
    return (
        Invoice.objects.filter(debtor_id=debtor.pk)
        .exclude(document="")
        .filter(Q(open_minor__gt=0) | Q(settled_on__gte=today - SETTLED_SHOWN))
    )


def _messages(debtor: Debtor) -> QuerySet[OutboundMessage]:
    """Candidates: :func:`_is_letter` decides on the payload whether an email carried a PDF letter."""
    from mahnwerk.comms.compose import render_debtor

    render_debtor(debtor.pk)
    return OutboundMessage.objects.filter(
        debtor_id=debtor.pk,
        channel__in=(ChannelChoice.LETTER, ChannelChoice.EMAIL),
        status__in=LETTER_STATUSES,
    ).select_related("company", "action")


def _is_letter(msg: OutboundMessage) -> bool:
    """A letter, or an email that carries one: once sent, only if its PDF was kept (what the setting says
    now does not matter); while it waits, if it will."""
    if msg.channel == ChannelChoice.LETTER:
        return True
    return msg.channel == ChannelChoice.EMAIL and (
        sent_pdfs.is_kept(msg) if msg.status == MessageStatus.SENT else wants_pdf(msg)
    )


def list_documents(debtor: Debtor, today: date | None = None) -> list[DebtorDocument]:
    """The debtor's invoices (open ones first, then settled ones; newest first within each) and then its
    letters, newest first. Labels are in the active language. Two queries, whatever the number."""
    today = today or company_today(debtor.company)
    invoices = sorted(
        _invoices(debtor, today).only("pk", "number", "issue_date", "open_minor"),
        key=lambda i: (i.open_minor == 0, -i.issue_date.toordinal(), i.number),
    )
    letters = sorted(
        ((letter_date(m), m) for m in _messages(debtor).defer("body_text") if _is_letter(m)),
        key=lambda pair: (pair[0], pair[1].pk),
        reverse=True,
    )
    return [
        DebtorDocument(
            INVOICE,
            i.pk,
            _("Invoice {number}").format(number=i.number),
            i.issue_date,
            settled=i.open_minor == 0,
        )
        for i in invoices
    ] + [DebtorDocument(LETTER, m.pk, m.subject, day) for day, m in letters]


def document_file(debtor: Debtor, kind: str, doc_id: int, today: date | None = None) -> DocumentFile:
    """One document of ``debtor``, as listed by :func:`list_documents`; :class:`DocumentNotFound` if the
    debtor has no such document (whichever debtor or company the id belongs to)."""
    if kind == INVOICE:
        invoice = _invoices(debtor, today or company_today(debtor.company)).filter(pk=doc_id).first()
        if invoice is None:
            raise DocumentNotFound(f"{kind} {doc_id}")
        try:
            content = stored_invoice(invoice)
        except OSError:
            raise DocumentNotFound(f"{kind} {doc_id}: the stored file is missing") from None
        extension = PurePosixPath(invoice.document.name or "").suffix or ".pdf"
        filename = safe_filename(invoice.number, extension)
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return DocumentFile(filename, content_type, content)
    if kind == LETTER:
        msg = _messages(debtor).select_related("debtor").filter(pk=doc_id).first()
        if msg is None or not _is_letter(msg):
            raise DocumentNotFound(f"{kind} {doc_id}")
        pdf = sent_pdfs.kept(msg)
        if pdf is None:  # not sent yet (or sent before letters were kept): as it would go out now
            from mahnwerk.comms.letters import render_letter_pdf  # loading WeasyPrint takes a moment

            pdf = render_letter_pdf(letter_context(msg))
        return DocumentFile(
            safe_filename(f"{letter_date(msg).isoformat()} {msg.subject}", ".pdf"), "application/pdf", pdf
        )
    raise DocumentNotFound(f"no document kind {kind!r}")


def safe_filename(stem: str, extension: str) -> str:
    """A file name any browser and file system takes: ASCII letters, digits, '.', '-' and '_' only."""
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9._]+", "-", ascii_stem).strip("-._")[:100].rstrip("-._") or "document"
    suffix = re.sub(r"[^a-z0-9]", "", extension.lower())[:10] or "pdf"
    return f"{cleaned}.{suffix}"


def as_download(document: DocumentFile) -> HttpResponse:
    """The document as a download (the API's documents; the case file and the debtor's page have their own)."""
    response = HttpResponse(document.content, content_type=document.content_type)
    response["Content-Disposition"] = content_disposition_header(True, document.filename)
    response["Content-Length"] = str(len(document.content))
    return response
