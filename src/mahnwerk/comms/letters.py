"""PDF letters (reminders, statements, confirmations) for window envelopes, rendered with WeasyPrint.

The layout follows DIN 5008 form B, which German readers expect and which fits DL and C5/6 window
envelopes across Europe, so Latvian and English letters use it too, with their own words:

- letterhead in the top 45 mm;
- address field 20 mm from the left edge and 45 mm from the top, 85 x 45 mm: a 12.7 mm zone for the
  return address and remarks, then six lines (27.3 mm) for the recipient;
- information block on the right, 125 mm from the left edge and 50 mm from the top, 75 mm wide: date,
  customer number, invoice numbers, contact person;
- fold marks at 105 mm and 210 mm and the punch mark at 148.5 mm from the top;
- subject, greeting, text, the list of open items with interest and fees, totals, the new deadline,
  the EPC payment QR code; "Page 1 of 2" and the creditor's bank and legal details at the foot of
  every page.

All labels are translated with gettext (context ``letter``) into the letter's language; the texts of
the letter itself (subject, greeting, paragraphs) arrive already written in that language.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from babel.dates import format_date
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import pgettext

from mahnwerk.core import calendar
from mahnwerk.core.epc_qr import (
    build_epc_payload,
    creditor_payment,
    format_amount,
    render_epc_qr,
)
from mahnwerk.core.money import babel_locale, format_money

LANGUAGES = ("de", "lv", "en")
ADDRESS_LINES = 6  # DIN 5008: six lines in the address zone of the window field
A4_POINTS = (595.28, 841.89)

_LV_MONTHS_LOCATIVE = (
    "janvārī",
    "februārī",
    "martā",
    "aprīlī",
    "maijā",
    "jūnijā",
    "jūlijā",
    "augustā",
    "septembrī",
    "oktobrī",
    "novembrī",
    "decembrī",
)


class LetterError(ValueError):
    """A letter that cannot be laid out (too many address lines, unknown language...)."""


@dataclass(frozen=True, slots=True)
class LetterItem:
    """One open invoice as listed in the letter. Amounts in minor units of the letter's currency."""

    invoice_number: str
    invoice_date: date
    due_date: date
    open_minor: int
    interest_minor: int = 0
    fees_minor: int = 0

    @property
    def total_minor(self) -> int:
        return self.open_minor + self.interest_minor + self.fees_minor


@dataclass(frozen=True, slots=True)
class LetterCharge:
    """A charge not tied to one invoice, such as this reminder's fee; ``label`` in the letter's language."""

    label: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class LetterTotals:
    open_minor: int
    interest_minor: int
    fees_minor: int
    charges_minor: int

    @property
    def total_minor(self) -> int:
        return self.open_minor + self.interest_minor + self.fees_minor + self.charges_minor


@dataclass(frozen=True, slots=True)
class LetterContext:
    """Everything one letter shows. The totals are summed from the items and charges, never passed in."""

    creditor_name: str
    creditor_address_lines: tuple[str, ...]
    creditor_iban: str
    creditor_bic: str
    recipient_name: str
    recipient_address_lines: tuple[str, ...]  # street, "10115 Berlin", country (abroad only)
    recipient_postcode: str
    language: str
    letter_date: date
    subject: str
    greeting: str
    paragraphs: tuple[str, ...]
    items: tuple[LetterItem, ...] = ()
    charges: tuple[LetterCharge, ...] = ()
    currency: str = "EUR"
    customer_number: str = ""
    new_deadline: date | None = None
    payment_reference: str = ""
    qr_payload: str | None = None
    closing: str = ""  # empty: "Yours sincerely" in the letter's language
    signature: str = ""
    recipient_country: str = ""  # ISO 3166 code, for sorting a print batch
    creditor_bank_name: str = ""
    creditor_contact_name: str = ""
    creditor_phone: str = ""
    creditor_email: str = ""
    creditor_website: str = ""
    creditor_legal_lines: tuple[str, ...] = ()  # register court and number, VAT id, managing directors
    remark: str = ""  # a line in the remarks zone above the address, e.g. "Einschreiben"

    @property
    def totals(self) -> LetterTotals:
        return LetterTotals(
            open_minor=sum(i.open_minor for i in self.items),
            interest_minor=sum(i.interest_minor for i in self.items),
            fees_minor=sum(i.fees_minor for i in self.items),
            charges_minor=sum(c.amount_minor for c in self.charges),
        )

    def validate(self) -> None:
        if self.language not in LANGUAGES:
            raise LetterError(f"unknown letter language {self.language!r}; expected one of {LANGUAGES}")
        lines = 1 + len(self.recipient_address_lines)
        if lines > ADDRESS_LINES:
            raise LetterError(f"the recipient's address has {lines} lines, the window holds {ADDRESS_LINES}")
        if not self.recipient_name.strip():
            raise LetterError("the recipient's name is empty")
        if self.qr_payload and (self.items or self.charges):
            elements = self.qr_payload.split("\n")
            amount = elements[7] if len(elements) > 7 else ""
            expected = format_amount(self.totals.total_minor)
            if amount and amount != expected:
                raise LetterError(f"the QR code asks for {amount}, the letter's total is {expected}")


def letter_qr_payload(ctx: LetterContext, *, purpose: str | None = None) -> str | None:
    """The EPC QR payload paying the letter's total to the creditor, or None when it cannot carry one (a
    creditor without a bank account gets none).

    An ISO 11649 payment reference goes into the structured field, any other reference into the text.
    Only euro amounts from 0.01 EUR can be paid by an EPC QR code.
    """
    total = ctx.totals.total_minor
    if ctx.currency != "EUR" or total <= 0 or not ctx.creditor_iban:
        return None  # no bank account: nothing to transfer to
    return build_epc_payload(
        creditor_payment(
            ctx.creditor_name, ctx.creditor_iban, ctx.creditor_bic, total, ctx.payment_reference, purpose
        )
    )


def format_letter_date(day: date, language: str) -> str:
    """The date as written in a letter: "23. November 2026", "2026. gada 23. novembrī", "23 November 2026"."""
    if language == "lv":
        return f"{day.year}. gada {day.day}. {_LV_MONTHS_LOCATIVE[day.month - 1]}"
    return format_date(day, "long", locale=babel_locale(language))


def format_deadline(day: date, language: str) -> str:
    """The date after "by": long in German and English; numeric in Latvian, where "līdz" would need the
    dative of the month name ("līdz 7. decembrim") that no date library gives."""
    return format_short_date(day, language) if language == "lv" else format_letter_date(day, language)


def format_short_date(day: date, language: str) -> str:
    """The date in tables: "23.11.2026" (de), "23.11.2026." (lv), "23 Nov 2026" (en)."""
    return calendar.format_date(day, language)


def _css_string(text: str) -> str:
    """A CSS string literal that cannot leave the string or the style element."""
    out = []
    for char in text:
        if char in '"\\<>\n\r' or ord(char) < 32:
            out.append(f"\\{ord(char):x} ")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _page_counter_css(template: str) -> SafeString:
    """Turn "Seite {page} von {pages}" into CSS ``content``: "Seite " counter(page) " von " counter(pages)."""
    parts: list[str] = []
    rest = template
    while rest:
        positions = [(rest.find(token), token) for token in ("{pages}", "{page}") if token in rest]
        if not positions:
            parts.append(_css_string(rest))
            break
        index, token = min(positions)
        if index:
            parts.append(_css_string(rest[:index]))
        parts.append("counter(pages)" if token == "{pages}" else "counter(page)")
        rest = rest[index + len(token) :]
    return mark_safe(" ".join(parts))


def _labels() -> dict[str, str]:
    return {
        "date": pgettext("letter", "Date"),
        "customer_number": pgettext("letter", "Customer number"),
        "invoice_number": pgettext("letter", "Invoice number"),
        "invoice_numbers": pgettext("letter", "Invoice numbers"),
        "see_list": pgettext("letter", "see the list below"),
        "contact": pgettext("letter", "Contact"),
        "phone": pgettext("letter", "Phone"),
        "email": pgettext("letter", "Email"),
        "invoice_date": pgettext("letter", "Invoice date"),
        "due_date": pgettext("letter", "Due date"),
        "open_amount": pgettext("letter", "Open amount"),
        "fees": pgettext("letter", "Costs"),
        "sum": pgettext("letter", "Sum"),
        "total": pgettext("letter", "Total due"),
        "bank_details": pgettext("letter", "Bank details"),
        "payment_reference": pgettext("letter", "Payment reference"),
        "scan_to_pay": pgettext("letter", "Scan with your banking app to pay"),
        "amount": pgettext("letter", "Amount"),
        "beneficiary": pgettext("letter", "Beneficiary"),
        "closing": pgettext("letter", "Yours sincerely"),
    }


def _context(ctx: LetterContext) -> dict[str, Any]:
    language = ctx.language

    def money(minor: int) -> str:
        return format_money(minor, ctx.currency, language)

    totals = ctx.totals
    interest_to = pgettext("letter", "Interest to {date}").format(
        date=format_short_date(ctx.letter_date, language)
    )
    deadline_text = ""
    if ctx.new_deadline is not None:
        deadline_text = pgettext("letter", "Please pay the total of {amount} by {date}.").format(
            amount=money(totals.total_minor), date=format_deadline(ctx.new_deadline, language)
        )
    qr_uri = ""
    if ctx.qr_payload:
        svg = render_epc_qr(ctx.qr_payload, scale=1, border=4).svg
        qr_uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    invoice_numbers = [item.invoice_number for item in ctx.items]
    return {
        "ctx": ctx,
        "lang": language,
        "labels": _labels(),
        "interest_to": interest_to,
        # interest and costs columns only where something is claimed, as in the email (a note before the due
        # date or a first reminder lists what is open, not a row of zeros)
        "claims": any(item.interest_minor or item.fees_minor for item in ctx.items),
        "page_counter": _page_counter_css(pgettext("letter", "Page {page} of {pages}")),
        "letter_date": format_letter_date(ctx.letter_date, language),
        "return_address": " · ".join((ctx.creditor_name, *ctx.creditor_address_lines)),
        "invoice_numbers": invoice_numbers if len(invoice_numbers) <= 3 else [],
        "rows": [
            {
                "number": item.invoice_number,
                "invoice_date": format_short_date(item.invoice_date, language),
                "due_date": format_short_date(item.due_date, language),
                "open": money(item.open_minor),
                "interest": money(item.interest_minor),
                "fees": money(item.fees_minor),
                "total": money(item.total_minor),
            }
            for item in ctx.items
        ],
        "charges": [{"label": c.label, "amount": money(c.amount_minor)} for c in ctx.charges],
        "totals": {
            "open": money(totals.open_minor),
            "interest": money(totals.interest_minor),
            "fees": money(totals.fees_minor),
            "total": money(totals.total_minor),
        },
        "deadline_text": deadline_text,
        "qr_uri": qr_uri,
        "closing": ctx.closing or pgettext("letter", "Yours sincerely"),
    }


def render_letter_html(ctx: LetterContext) -> str:
    ctx.validate()
    with translation.override(ctx.language):
        return render_to_string("comms/letter.html", _context(ctx))


def _html(source: str) -> Any:
    # Imported here: loading Pango takes a moment and only letters need it. The fetcher loads nothing but
    # the data: URI of the QR code: no files, no network, whatever text a letter contains.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    return HTML(string=source, url_fetcher=URLFetcher(allowed_protocols={"data"}, timeout=1))


def _document(ctx: LetterContext) -> Any:
    return _html(render_letter_html(ctx)).render()


def render_letter_pdf(ctx: LetterContext) -> bytes:
    """One letter as a PDF (A4)."""
    pdf = _document(ctx).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf


def _postcode_key(ctx: LetterContext) -> tuple[str, str, str]:
    postcode = "".join(ctx.recipient_postcode.split()).upper()
    return (ctx.recipient_country.upper(), postcode, ctx.recipient_name.casefold())


def batch_order(contexts: Iterable[LetterContext]) -> list[LetterContext]:
    """Letters in the order of a postal batch: by country, then postcode, then recipient name."""
    return sorted(contexts, key=_postcode_key)


def render_print_batch(
    contexts: Sequence[LetterContext],
    *,
    duplex: bool = False,
    enclosures: Mapping[int, Sequence[bytes]] | None = None,
    keep: Callable[[int, bytes], None] | None = None,
) -> bytes:
    """All letters in one PDF, in postcode order, each starting on a new page.

    ``enclosures``: PDFs to put behind a letter (by its index in ``contexts``), such as copies of the
    invoices it lists; one that cannot be read is left out. With ``duplex`` a blank page follows every
    letter (with its enclosures) of an odd number of pages, so that each letter starts on the front of a sheet.
    ``keep`` is given each letter alone (its index in ``contexts`` and its PDF, without enclosures).
    """
    if not contexts:
        raise LetterError("a print batch needs at least one letter")
    order = sorted(range(len(contexts)), key=lambda i: _postcode_key(contexts[i]))
    documents = [_document(contexts[i]) for i in order]
    if keep is not None:
        for index, document in zip(order, documents, strict=True):
            keep(index, document.write_pdf())
    enclosures = {i: list(e) for i, e in (enclosures or {}).items() if e}
    if not enclosures:
        pages = []
        blank = None
        for document in documents:
            pages.extend(document.pages)
            if duplex and len(document.pages) % 2:
                if blank is None:
                    blank = _html("<style>@page{size:A4;margin:0}</style><p></p>").render().pages[0]
                pages.append(blank)
        pdf = documents[0].copy(pages).write_pdf()
        assert isinstance(pdf, bytes)
        return pdf
    from pypdf import PdfReader, PdfWriter  # imported here: pypdf is slow to import and rarely needed
    from pypdf.errors import PdfReadError

    letters = PdfReader(io.BytesIO(documents[0].copy([p for d in documents for p in d.pages]).write_pdf()))
    writer = PdfWriter()
    first = 0
    for index, document in zip(order, documents, strict=True):
        added = [letters.pages[n] for n in range(first, first + len(document.pages))]
        first += len(document.pages)
        for content in enclosures.get(index, ()):
            try:
                added += list(PdfReader(io.BytesIO(content)).pages)
            except (PdfReadError, ValueError, OSError):
                continue  # a damaged copy does not stop the batch: the letter goes without it
        for page in added:
            writer.add_page(page)
        if duplex and len(added) % 2:
            writer.add_blank_page(width=A4_POINTS[0], height=A4_POINTS[1])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
