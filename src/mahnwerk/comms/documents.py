"""A stored message as a document: the PDF letter context, the HTML part, the GiroCode image."""

from __future__ import annotations

import base64
import html
import io
import re
from datetime import date
from typing import TYPE_CHECKING, Any

from django.utils import translation

from mahnwerk.comms import creditor
from mahnwerk.comms.letters import LetterContext, LetterItem
from mahnwerk.comms.models import OutboundMessage
from mahnwerk.comms.rendering import named_items, payment_reference
from mahnwerk.comms.salutation import country_line, recipient_lines
from mahnwerk.core.calendar import today_in
from mahnwerk.core.epc_qr import make_epc_qr
from mahnwerk.ledger.models import Company, Debtor

if TYPE_CHECKING:
    from mahnwerk.comms.templates_store import Preview

CLOSINGS = ("Mit freundlichen Grüßen", "Kind regards", "Yours faithfully", "Ar cieņu")


def _is_table(paragraph: str) -> bool:
    lines = paragraph.splitlines()
    return len(lines) > 1 and set(lines[1]) == {"-"}


def _is_bank_block(paragraph: str) -> bool:
    return "IBAN:" in paragraph


def split_body(body: str, keep_tables: bool = False) -> tuple[str, list[str], str]:
    """Greeting, the paragraphs a letter prints (no items table unless ``keep_tables``, no bank block, no
    signature), the closing."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body.strip()) if p.strip()]
    greeting = paragraphs[0] if paragraphs else ""
    rest, closing = [], ""
    for paragraph in paragraphs[1:]:
        if paragraph in CLOSINGS:
            closing = paragraph
            break
        if (keep_tables or not _is_table(paragraph)) and not _is_bank_block(paragraph):
            rest.append(paragraph)
    return greeting, rest, closing


def letter_date(msg: OutboundMessage) -> date:
    """The date the letter of ``msg`` carries: its step's business date; a message of no step (a written
    agreement) the day it went out in the company's time zone, or today while it waits. A copy made later
    therefore carries the date of the original."""
    if msg.payload.get("letter_date"):  # printed after the day it was written: re-dated
        return date.fromisoformat(msg.payload["letter_date"])
    if msg.action is not None:
        return msg.action.as_of
    return today_in(msg.company.time_zone, msg.sent_at)


def letter_context(msg: OutboundMessage) -> LetterContext:
    company, debtor, data = msg.company, msg.debtor, msg.payload
    if "letter" in data:  # written from the letter template
        greeting, closing = data["letter"]["greeting"], data["letter"]["closing"]
        paragraphs = list(data["letter"]["paragraphs"])
    else:  # an email as a PDF: its text without the items table (the letter prints its own), bank block, signature
        greeting, paragraphs, closing = split_body(
            msg.body_text, keep_tables=data.get("document") == "agreement"
        )
    items = tuple(
        LetterItem(
            invoice_number=i["number"],
            invoice_date=date.fromisoformat(i["issue_date"]),
            due_date=date.fromisoformat(i["due_date"]),
            open_minor=i["open_minor"],
            interest_minor=i.get("interest_minor", 0),
            fees_minor=i.get("fees_minor", 0),
        )
        for i in named_items(data)
    )
    currencies = {i.get("currency", company.currency) for i in named_items(data)} or {company.currency}
    country = country_line(company, debtor)
    recipient, attention = recipient_lines(debtor, msg.language)
    address = [*attention, *debtor.address_lines(), *([country] if country else [])]
    return LetterContext(
        creditor_name=company.name,
        creditor_address_lines=tuple(company.address_lines()),
        creditor_iban=company.iban,
        creditor_bic=company.bic,
        recipient_name=recipient,
        recipient_address_lines=tuple(address),
        recipient_postcode=debtor.postcode,
        language=msg.language,
        letter_date=letter_date(msg),
        subject=msg.subject,
        greeting=greeting,
        paragraphs=tuple(paragraphs),
        items=items,
        currency=sorted(currencies)[0],
        customer_number=debtor.number,
        new_deadline=date.fromisoformat(data["deadline"]) if data.get("deadline") else None,
        payment_reference=data.get("reference", ""),
        qr_payload=data.get("qr") if len(currencies) == 1 else None,
        closing=closing,
        recipient_country=debtor.country,
        **creditor_details(company, msg.language),
    )


def creditor_details(company: Company, language: str) -> dict[str, Any]:
    """The creditor's contact for questions and its legal details (register, managing directors, VAT ID) as
    a letter in ``language`` prints them: ``LetterContext`` fields."""
    with translation.override(language):
        legal = tuple(creditor.legal_parts(company, with_name=False))
    return {
        "creditor_phone": creditor.contact_phone(company),
        "creditor_email": creditor.contact_email(company),
        "creditor_legal_lines": legal,
    }


def qr_image(payload: str) -> bytes:
    """The GiroCode of an EPC payload as a PNG image."""
    image = io.BytesIO()
    make_epc_qr(payload).save(image, kind="png", scale=4, border=4)
    return image.getvalue()


def qr_png(msg: OutboundMessage) -> bytes | None:
    payload = msg.payload.get("qr")
    return qr_image(payload) if payload else None


def email_html(msg: OutboundMessage, qr_cid: str | None) -> str:
    """The HTML part: the same text, the items as a table, the GiroCode image to scan."""
    return html_message(msg.subject, msg.body_text, msg.language, f"cid:{qr_cid}" if qr_cid else None)


def html_message(subject: str, body_text: str, language: str, qr_src: str | None) -> str:
    """An email's HTML part from its subject and text; ``qr_src`` the address of the GiroCode image (shown
    after the bank details), None for none."""
    parts = []
    for paragraph in re.split(r"\n\s*\n", body_text.strip()):
        if _is_table(paragraph):
            lines = paragraph.splitlines()
            head = re.split(r"\s{2,}", lines[0].strip())
            rows = [re.split(r"\s{2,}", line.strip()) for line in lines[2:]]
            cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
            body = "".join(
                "<tr>"
                + "".join(
                    f'<td style="text-align:{"right" if n >= 3 else "left"};padding:2px 8px">{html.escape(c)}</td>'
                    for n, c in enumerate(r)
                )
                + "</tr>"
                for r in rows
            )
            parts.append(
                f'<table style="border-collapse:collapse"><thead><tr>{cells}</tr></thead>'
                f"<tbody>{body}</tbody></table>"
            )
        else:
            parts.append("<p>" + html.escape(paragraph).replace("\n", "<br>") + "</p>")
        if _is_bank_block(paragraph) and qr_src:
            parts.append(f'<p><img src="{html.escape(qr_src)}" alt="GiroCode" width="180" height="180"></p>')
    return (
        f'<!doctype html><html lang="{html.escape(language)}"><head><meta charset="utf-8"><title>'
        f'{html.escape(subject)}</title></head><body style="font-family:sans-serif">'
        + "".join(parts)
        + "</body></html>"
    )


def preview_email_html(company: Company, debtor: Debtor, shown: Preview) -> str:
    """The HTML part of a previewed email (``templates_store.preview_source``) as it would be sent, the
    GiroCode embedded as a data: address instead of an attachment."""
    from mahnwerk.comms.compose import epc_payload

    payload = (
        epc_payload(company, shown.items, payment_reference(debtor, shown.items)) if shown.items else None
    )
    src = "data:image/png;base64," + base64.b64encode(qr_image(payload)).decode() if payload else None
    return html_message(shown.rendered.subject, shown.rendered.body_text, shown.language, src)
