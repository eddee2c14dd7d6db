"""Rendering reminder messages in the debtor's language from the step's template."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from mahnwerk.comms import creditor
from mahnwerk.comms.salutation import greeting
from mahnwerk.core.calendar import format_date
from mahnwerk.core.money import format_money
from mahnwerk.ledger.claims import ClaimView
from mahnwerk.ledger.facts import InvoiceLike
from mahnwerk.ledger.models import Company, Debtor

LANGUAGES = ("de", "lv", "en")
# Placeholders a reminder's caller may fill; reminder_context() leaves them empty.
OPTIONAL_PLACEHOLDERS = frozenset(
    {
        "portal_link",
        "opt_out_line",
        "objection_notice",
        "qr_note",
        "incentive_note",
        "coming_due",
        "costs_capped",
    }
)


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
    interest: InterestBasis | None = None  # how the interest was computed (None: none claimed)
    interest_missing_from: date | None = None  # in default, but no rate is known from this day on
    costs: tuple[tuple[str, int], ...] = ()  # open costs by kind ("flat_compensation", "reminder_fee")

    @property
    def total_minor(self) -> int:
        return self.open_minor + self.interest_minor + self.fees_minor


@dataclass(frozen=True, slots=True)
class InterestBasis:
    """What a reader needs to check an item's interest: from when to when, on what, at which rate."""

    first_day: date
    last_day: date
    rate: Decimal  # the rate of the last day, percent a year
    margin: Decimal | None  # percentage points over the reference rate (None: a fixed or agreed rate)
    table: str  # the reference rate's table ("" for a fixed or agreed rate)
    agreed: bool  # the contract's rate
    principal_minor: int | None  # the principal interest ran on (None: it changed with part payments)


def interest_basis(claim: ClaimView | None) -> InterestBasis | None:
    """The explanation of ``claim``'s interest from its segments (None where no interest is claimed)."""
    if claim is None or not claim.segments or claim.interest_open <= 0:
        return None
    first, last = claim.segments[0], claim.segments[-1]
    principals = {s.principal_minor for s in claim.segments}
    return InterestBasis(
        first_day=first.start,
        last_day=last.end,
        rate=last.rate,
        margin=last.margin if last.base_units is not None else None,
        table=claim.rate_table if last.base_units is not None else "",
        agreed=claim.agreed_rate,
        principal_minor=first.principal_minor if len(principals) == 1 else None,
    )


def _missing_from(claim: ClaimView | None) -> date | None:
    """The first day of default for which no rate is known (None: every day's interest is in the figures)."""
    if claim is None or claim.interest_until is None:
        return None
    first = claim.interest_until + timedelta(days=1)
    return max(first, claim.default_from) if claim.default_from else first


def item_to_json(item: MessageItem) -> dict[str, Any]:
    """``item`` as JSON the outbox keeps with a message until it renders it (:func:`item_from_json`).

    What an item usually has is left out (its number as the reference, no interest, no costs): a run at a
    million invoices writes this for every item it names, and the bytes are written out at each commit."""
    out: dict[str, Any] = {
        "number": item.number,
        "issue_date": item.issue_date.isoformat(),
        "due_date": item.due_date.isoformat(),
        "open_minor": item.open_minor,
        "currency": item.currency,
    }
    if item.reference != item.number:
        out["reference"] = item.reference
    if item.interest_minor:
        out["interest_minor"] = item.interest_minor
    if item.fees_minor:
        out["fees_minor"] = item.fees_minor
    if item.interest_unavailable:
        out["interest_unavailable"] = True
    basis = item.interest
    if basis is not None:
        out["interest"] = {
            "first_day": basis.first_day.isoformat(),
            "last_day": basis.last_day.isoformat(),
            "rate": str(basis.rate),
            "margin": None if basis.margin is None else str(basis.margin),
            "table": basis.table,
            "agreed": basis.agreed,
            "principal_minor": basis.principal_minor,
        }
    if item.interest_missing_from is not None:
        out["interest_missing_from"] = item.interest_missing_from.isoformat()
    if item.costs:
        out["costs"] = [list(c) for c in item.costs]
    return out


def item_rows(items: Sequence[MessageItem]) -> list[dict[str, Any]]:
    """The items as a rendered message keeps them in its payload (the lines and amounts it names)."""
    return [
        {
            "number": i.number,
            "issue_date": i.issue_date.isoformat(),
            "due_date": i.due_date.isoformat(),
            "open_minor": i.open_minor,
            "interest_minor": i.interest_minor,
            "fees_minor": i.fees_minor,
            "currency": i.currency,
        }
        for i in items
    ]


def named_items(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The lines a message's payload names (:func:`item_rows`): as written when it was rendered, or from the
    figures the run recorded for a message not rendered yet."""
    if "items" in payload:
        return list(payload["items"])
    facts = payload.get("compose") or {}
    return item_rows([item_from_json(i) for i in facts.get("items", ())])


def item_from_json(data: Mapping[str, Any]) -> MessageItem:
    """The :class:`MessageItem` :func:`item_to_json` wrote, equal to the original (also from the longer form
    that names every field, which messages recorded before it keep)."""
    basis = data.get("interest")
    missing = data.get("interest_missing_from")
    return MessageItem(
        data["number"],
        date.fromisoformat(data["issue_date"]),
        date.fromisoformat(data["due_date"]),
        data["open_minor"],
        data["currency"],
        data.get("reference", data["number"]),
        interest_minor=data.get("interest_minor", 0),
        fees_minor=data.get("fees_minor", 0),
        interest_unavailable=data.get("interest_unavailable", False),
        interest=None
        if basis is None
        else InterestBasis(
            first_day=date.fromisoformat(basis["first_day"]),
            last_day=date.fromisoformat(basis["last_day"]),
            rate=Decimal(basis["rate"]),
            margin=None if basis["margin"] is None else Decimal(basis["margin"]),
            table=basis["table"],
            agreed=basis["agreed"],
            principal_minor=basis["principal_minor"],
        ),
        interest_missing_from=None if missing is None else date.fromisoformat(missing),
        costs=tuple((kind, minor) for kind, minor in data.get("costs", ())),
    )


def message_item(invoice: InvoiceLike, claim: ClaimView | None, open_minor: int) -> MessageItem:
    """One line of a message: the invoice with its open principal, interest and fees to date."""
    costs: dict[str, int] = {}
    for charge in claim.charges if claim else ():
        if charge["open_minor"] > 0:
            costs[charge["kind"]] = costs.get(charge["kind"], 0) + charge["open_minor"]
    return MessageItem(
        invoice.number,
        invoice.issue_date,
        invoice.due_date,
        open_minor,
        invoice.currency,
        invoice.reference or invoice.number,
        interest_minor=claim.interest_open if claim else 0,
        fees_minor=claim.costs_open if claim else 0,
        interest_unavailable=bool(claim and claim.interest_error and not claim.interest_until),
        interest=interest_basis(claim),
        interest_missing_from=_missing_from(claim),
        costs=tuple(sorted(costs.items())) if claim and claim.costs_open else (),
    )


def _percent(value: Decimal, language: str) -> str:
    from babel.numbers import format_decimal

    return format_decimal(
        value, format="#,##0.00##", locale={"de": "de_DE", "lv": "lv_LV"}.get(language, "en_GB")
    )


def rate_text(basis: InterestBasis, language: str) -> str:
    """ "9 percentage points above the base rate (currently 10.27 % a year)", in the active language."""
    rate = _percent(basis.rate, language)
    if basis.agreed:
        return gettext("the agreed rate of {rate} % a year").format(rate=rate)
    if basis.margin is None:
        return gettext("{rate} % a year").format(rate=rate)
    margin = _percent(basis.margin, language).removesuffix(",00").removesuffix(".00")
    if basis.table == "de_basiszinssatz":
        return gettext(
            "{margin} percentage points above the base rate of § 247 BGB (currently {rate} % a year)"
        ).format(margin=margin, rate=rate)
    return gettext(
        "{margin} percentage points above the reference rate of the European Central Bank (currently "
        "{rate} % a year)"
    ).format(margin=margin, rate=rate)


COST_NAMES = {
    "flat_compensation": gettext_noop("flat-rate compensation for late payment"),
    "reminder_fee": gettext_noop("reminder costs"),
}


def claim_details(items: Sequence[MessageItem], language: str) -> str:
    """Per item: the interest (from when, on what, at which rate, how much) and each cost by its name."""
    lines = []
    with translation.override(language):
        for i in items:
            b = i.interest
            if b is not None:
                on = (
                    format_money(b.principal_minor, i.currency, language)
                    if b.principal_minor is not None
                    else gettext("the amount open at the time")
                )
                lines.append(
                    gettext(
                        "Interest on {number}: {amount} for {first} to {last} on {principal}, at {rate}."
                    ).format(
                        number=i.number,
                        amount=format_money(i.interest_minor, i.currency, language),
                        first=format_date(b.first_day, language),
                        last=format_date(b.last_day, language),
                        principal=on,
                        rate=rate_text(b, language),
                    )
                )

            if i.interest_missing_from is not None:
                lines.append(
                    gettext("Interest on {number} from {day} on is not included in this amount.").format(
                        number=i.number, day=format_date(i.interest_missing_from, language)
                    )
                )
            if i.costs:
                lines.append(
                    gettext("Costs for {number}: {costs}.").format(
                        number=i.number,
                        costs="; ".join(
                            f"{gettext(COST_NAMES.get(kind, kind))} {format_money(amount, i.currency, language)}"
                            for kind, amount in i.costs
                        ),
                    )
                )
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A rendered message. Email: subject and text; SMS: text only; letter: subject, greeting, paragraphs and
    closing (``body_text`` then holds the same text joined, for the record)."""

    subject: str
    body_text: str
    kind: str = "email"
    greeting: str = ""
    paragraphs: tuple[str, ...] = ()
    closing: str = ""

    @property
    def text(self) -> str:
        return self.body_text


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
        header += (gettext("Interest"), gettext("Costs"), gettext("Total"))
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


def coming_due_text(items: Sequence[MessageItem], language: str) -> str:
    """The line about items not yet due: named apart, never in a reminder's total (in ``language``)."""
    if not items:
        return ""
    with translation.override(language):
        parts = [
            gettext("{number} due on {due} ({amount})").format(
                number=i.number,
                due=format_date(i.due_date, language),
                amount=format_money(i.open_minor, i.currency, language),
            )
            for i in items
        ]
        return gettext("Coming due, not included in the total: {items}.").format(items="; ".join(parts))


def _bank_block(company: Company, reference: str) -> str:
    """The account to pay to and the reference; a company without a bank account (no IBAN) gives the
    reference alone, never an empty IBAN line."""
    holder_label = gettext("Account holder")
    reference_label = gettext("Payment reference")
    lines = []
    if company.iban:
        lines = [f"{holder_label}: {company.name}", f"IBAN: {group_iban(company.iban)}"]
        if company.bic:
            lines.append(f"BIC: {company.bic}")
    lines.append(f"{reference_label}: {reference}")
    return "\n".join(lines)


def has_bank_account(company: Company) -> bool:
    """Whether the company takes payments to a bank account (it has an IBAN): a message without one asks for
    the payment with the reference alone, never for a transfer "to the following account"."""
    return bool(company.iban)


def group_iban(iban: str) -> str:
    compact = iban.replace(" ", "")
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _charge_total(items: Sequence[MessageItem], language: str, minor: Callable[[MessageItem], int]) -> str:
    sums: dict[str, int] = {}
    for i in items:
        sums[i.currency] = sums.get(i.currency, 0) + minor(i)
    return " + ".join(format_money(v, k, language) for k, v in sorted(sums.items()) if v)


def reminder_context(
    company: Company,
    debtor: Debtor,
    items: Sequence[MessageItem],
    deadline: date | None,
    as_of: date,
    language: str,
    tone: str = "formal",
    kind: str = "email",
) -> dict[str, Any]:
    """The placeholders of a reminder (see ``comms.placeholders.ALLOWED_PLACEHOLDERS``) in ``language``.

    The optional ones not known here (portal link, opt-out line, objection notice, QR note) are empty;
    callers that have them add them to the returned dictionary.
    """
    with translation.override(language):
        reference = payment_reference(debtor, items)
        return {
            "company": company,
            "debtor": debtor,
            "numbers": ", ".join(i.number for i in items),
            "items_table": _table(items, language),
            "total": totals_text(items, language),
            "interest_total": _charge_total(items, language, lambda i: i.interest_minor),
            "fees_total": _charge_total(items, language, lambda i: i.fees_minor),
            "claim_details": claim_details(items, language),
            "greeting": greeting(debtor, language, "formal" if kind == "letter" else tone),
            "deadline": format_date(deadline, language) if deadline else "",
            "due": format_date(min(i.due_date for i in items), language) if items else "",
            "date": format_date(as_of, language),
            "bank_block": _bank_block(company, reference),
            "has_bank_account": has_bank_account(company),
            "reference": reference,
            "signature": creditor.signature(company),
            "portal_link": "",
            "opt_out_line": "",
            "objection_notice": "",
            "qr_note": "",
            "incentive_note": "",
            "coming_due": "",
            "costs_capped": "",
        }


def message_language(company: Company, debtor: Debtor) -> str:
    """The debtor's language if Mahnwerk writes it, else the company's default language."""
    return debtor.language if debtor.language in LANGUAGES else company.default_language


def render_reminder(
    company: Company,
    debtor: Debtor,
    template: str,
    items: Sequence[MessageItem],
    deadline: date | None,
    as_of: date,
    *,
    tone: str | None = None,
    kind: str = "email",
    extra: Mapping[str, str] | None = None,
) -> RenderedMessage:
    """A reminder to ``debtor`` listing ``items``, from the company's version of the template (edited in the
    database or shipped as a file) in the debtor's language; ``tone`` None: the template's natural tone.

    ``extra`` fills the optional placeholders (``objection_notice``, ``opt_out_line``, ``qr_note``,
    ``portal_link``), already in the debtor's language; the shipped templates place them where they belong.
    """
    from mahnwerk.comms.templates_store import natural_tone, render_message

    language = message_language(company, debtor)
    tone = tone or natural_tone(template)
    context = reminder_context(company, debtor, items, deadline, as_of, language, tone, kind)
    if extra:
        unknown = set(extra) - OPTIONAL_PLACEHOLDERS
        if unknown:
            raise ValueError(f"not an optional placeholder: {', '.join(sorted(unknown))}")
        context.update(extra)
    return render_message(company, debtor, template, tone, language, kind, context)
