"""Building the email for a queued message: plain text and HTML, the GiroCode, the letter as PDF."""

from __future__ import annotations

import logging
import re
from email.message import MIMEPart

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from mahnwerk.comms import creditor, sent_pdfs
from mahnwerk.comms.documents import email_html, letter_context, qr_png
from mahnwerk.comms.models import OutboundMessage
from mahnwerk.comms.rendering import named_items
from mahnwerk.ledger.models import Invoice

log = logging.getLogger(__name__)


def wants_pdf(msg: OutboundMessage) -> bool:
    if msg.payload.get("document") == "agreement":  # a written agreement always goes as a PDF too
        return True
    mode = settings.EMAIL_PDF
    return bool(named_items(msg.payload)) and (
        mode == "all" or (mode == "formal" and msg.payload.get("tone") == "formal")
    )


def build_email(msg: OutboundMessage, *, keep_pdf: bool = False) -> EmailMultiAlternatives:
    """The email of ``msg``; with ``keep_pdf`` (when it is about to be sent) its PDF letter is kept as sent.

    ``From`` is the company (its name and address), ``Reply-To`` its address for replies; the envelope sender
    stays the configured ``DEFAULT_FROM_EMAIL`` (the one the SMTP server accepts), named in ``Sender`` when
    it differs from ``From``.
    """
    company = msg.company
    sender = creditor.from_header(company)
    headers = {
        "From": sender,
        "Message-ID": msg.message_id,
        "X-Mahnwerk-Company": company.slug,
        "Content-Language": msg.language,
    }
    if not creditor.is_configured_sender(sender):
        headers["Sender"] = str(settings.DEFAULT_FROM_EMAIL)
    email = EmailMultiAlternatives(
        subject=msg.subject,
        body=msg.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[msg.recipient],
        reply_to=creditor.reply_to(company),
        headers=headers,
    )
    png = qr_png(msg)
    cid = "girocode@mahnwerk" if png else None
    email.attach_alternative(email_html(msg, cid), "text/html")
    if png:
        image = MIMEPart()
        image.set_content(png, "image", "png", disposition="inline", filename="girocode.png", cid=f"<{cid}>")
        email.attach(image)
    for name, content in invoice_copies(msg):
        email.attach(name, content, "application/xml" if name.endswith(".xml") else "application/pdf")
    if wants_pdf(msg):
        from mahnwerk.comms.letters import render_letter_pdf

        pdf = render_letter_pdf(letter_context(msg))
        if keep_pdf:
            sent_pdfs.keep(msg, pdf)
        email.attach(letter_filename(msg.subject), pdf, "application/pdf")
    return email


def letter_filename(subject: str, limit: int = 60) -> str:
    """The name of the PDF letter attached to an email: its subject, cut at a word or list boundary within
    ``limit`` characters (no dangling ',' or ':'), the items of a list joined with '_', and made safe for any
    file system by :func:`~mahnwerk.comms.debtor_documents.safe_filename` — ``Letzte Mahnung: RE-1, RE-2``
    is ``Letzte-Mahnung-RE-1_RE-2.pdf``."""
    from mahnwerk.comms.debtor_documents import safe_filename  # it imports this module

    text = " ".join(subject.split())
    if len(text) > limit:
        head = text[: limit + 1]
        space = head.rfind(" ")
        text = head[:space] if space > 0 else text[:limit]
    text = re.sub(r"\s*,\s+", "_", text.rstrip(" ,;:-–—"))
    return safe_filename(text, "pdf")


def invoice_copies(msg: OutboundMessage, *, pdf_only: bool = False) -> list[tuple[str, bytes]]:
    """Stored invoice copies of the items a reminder after the due date lists (not for the friendly pre-due
    note), named ``<number>.pdf`` or, for an e-invoice kept as XML, ``<number>.xml`` (``pdf_only``: PDFs alone,
    for letters that print them)."""
    if msg.payload.get("template") == "pre_due":
        return []
    numbers = [i["number"] for i in named_items(msg.payload)]
    invoices = Invoice.objects.filter(company_id=msg.company_id, number__in=numbers).exclude(document="")
    copies = []
    for invoice in invoices.order_by("due_date", "number"):
        suffix = ".xml" if (invoice.document.name or "").lower().endswith(".xml") else ".pdf"
        if pdf_only and suffix != ".pdf":
            continue
        try:
            copies.append((f"{invoice.number}{suffix}".replace("/", "-"), stored_invoice(invoice)))
        except OSError as exc:  # a file gone from the storage: the reminder goes without this copy
            log.warning("invoice copy %s not readable: %s", invoice.document.name, exc)
    return copies


def stored_invoice(invoice: Invoice) -> bytes:
    """The content of the invoice's stored file (from the default storage); OSError if it is missing."""
    with invoice.document.open("rb") as fh:
        content = fh.read()
    assert isinstance(content, bytes)
    return content
