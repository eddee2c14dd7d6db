"""Rendering reminder messages in the debtor's language from the step's template."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.template.loader import get_template
from django.utils import translation
from django.utils.translation import gettext

from mahnwerk.core.calendar import format_date
from mahnwerk.core.money import format_money
from mahnwerk.ledger.claims import ClaimView
from mahnwerk.ledger.models import Company, Debtor, Invoice

LANGUAGES = ("de", "lv", "en")


@dataclass(frozen=True, slots=True)
class MessageItem:
    number: str
    issue_date: date
    due_date: date
    open_minor: int
    currency: str
    reference: str
    interest_minor: int = 0
    fees_minor: int = 0
    interest_unavailable: bool = False

    @property
    def total_minor(self) -> int:
        return self.open_minor + self.interest_minor + self.fees_minor


def message_item(invoice: Invoice, claim: ClaimView | None, open_minor: int) -> MessageItem:
    """One line of a message: the invoice with its open principal, interest and fees to date."""
    return MessageItem(
        invoice.number,
        invoice.issue_date,
        invoice.due_date,
        open_minor,
        invoice.currency,
        invoice.reference or invoice.number,
        interest_minor=claim.interest_open if claim else 0,
        fees_minor=claim.costs_open if claim else 0,
        interest_unavailable=bool(claim and claim.interest_error),
    )


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    subject: str
    body_text: str


def payment_reference(debtor: Debtor, items: Sequence[MessageItem]) -> str:
    """What the debtor should write on the transfer so the payment can be matched."""
    if len(items) == 1:
        return items[0].reference or items[0].number
    return f"{debtor.number} " + " ".join(i.number for i in items)


def _table(items: Sequence[MessageItem], language: str) -> str:
    charges = any(i.interest_minor or i.fees_minor for i in items)
    header: tuple[str, ...] = (
        gettext("Invoice"),
        gettext("Invoice date"),
        gettext("Due date"),
        gettext("Open amount"),
    )
    if charges:
        header += (gettext("Interest"), gettext("Fees"), gettext("Total"))
    rows = []
    for i in items:
        row: tuple[str, ...] = (
            i.number,
            format_date(i.issue_date, language),
            format_date(i.due_date, language),
            format_money(i.open_minor, i.currency, language),
        )
        if charges:
            row += (
                format_money(i.interest_minor, i.currency, language),
                format_money(i.fees_minor, i.currency, language),
                format_money(i.total_minor, i.currency, language),
            )
        rows.append(row)
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if c < 3 else cell.rjust(w)
            for c, (cell, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in [header, *rows]
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(line.rstrip() for line in lines)


def totals_text(items: Sequence[MessageItem], language: str) -> str:
    sums: dict[str, int] = {}
    for i in items:
        sums[i.currency] = sums.get(i.currency, 0) + i.total_minor
    return " + ".join(format_money(v, k, language) for k, v in sorted(sums.items()))


def _bank_block(company: Company, reference: str) -> str:
    holder_label = gettext("Account holder")
    reference_label = gettext("Payment reference")
    lines = [f"{holder_label}: {company.name}", f"IBAN: {_group_iban(company.iban)}"]
    if company.bic:
        lines.append(f"BIC: {company.bic}")
    lines.append(f"{reference_label}: {reference}")
    return "\n".join(lines)


def _group_iban(iban: str) -> str:
    compact = iban.replace(" ", "")
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def render_reminder(
    company: Company,
    debtor: Debtor,
    template: str,
    items: Sequence[MessageItem],
    deadline: date | None,
    as_of: date,
) -> RenderedMessage:
    language = debtor.language if debtor.language in LANGUAGES else company.default_language
    with translation.override(language):
        reference = payment_reference(debtor, items)
        context = {
            "company": company,
            "debtor": debtor,
            "numbers": ", ".join(i.number for i in items),
            "items_table": _table(items, language),
            "total": totals_text(items, language),
            "deadline": format_date(deadline, language) if deadline else "",
            "due": format_date(min(i.due_date for i in items), language),
            "date": format_date(as_of, language),
            "bank_block": _bank_block(company, reference),
            "reference": reference,
            "signature": "\n".join(
                [company.name, *company.address_lines(), company.email, company.phone]
            ).strip(),
        }
        rendered = get_template(f"comms/messages/{template}.{language}.txt").render(context)
    first, _, body = rendered.lstrip().partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"template {template}.{language} must start with 'Subject: ...'")
    return RenderedMessage(subject=first.removeprefix("Subject:").strip(), body_text=body.strip() + "\n")
