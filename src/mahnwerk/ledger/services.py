"""Ledger use cases: the one place that writes companies, debtors, invoices, payments and credits.

The UI, API, CLI and jobs all call these functions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from django.db import transaction

from mahnwerk.core.calendar import today_in
from mahnwerk.core.money import format_money
from mahnwerk.ledger import timeline
from mahnwerk.ledger.claims import ClaimBook, default_start, limitation_date
from mahnwerk.ledger.models import Company, CreditNote, Debtor, Invoice, Payment
from mahnwerk.ledger.signals import items_settled


class LedgerError(Exception):
    """A ledger operation that cannot be done as asked."""


def company_today(company: Company) -> date:
    return today_in(company.time_zone)


def get_company(ident: str | int | None) -> Company:
    """The company named by id or short name; with none given, the only company there is."""
    if ident is None:
        companies = list(Company.objects.order_by("id")[:2])
        if len(companies) == 1:
            return companies[0]
        if not companies:
            raise LedgerError("there is no company yet: run 'mahnwerk demo' or create one")
        raise LedgerError("there are several companies: name one with --company")
    lookup = {"pk": int(ident)} if str(ident).isdigit() else {"slug": str(ident)}
    try:
        return Company.objects.get(**lookup)
    except Company.DoesNotExist:
        raise LedgerError(f"no company {ident!r}") from None


@dataclass(frozen=True, slots=True)
class Receipt:
    """Money received from (or credited to) a debtor, before it is applied."""

    debtor_id: int
    amount_minor: int
    currency: str
    value_date: date
    reference: str = ""
    payer: str = ""
    invoice_id: int | None = None
    external_id: str | None = None


def record_payment(company: Company, receipt: Receipt, actor: str = "system") -> Payment:
    return record_payments(company, [receipt], actor=actor)[0]


@transaction.atomic
def record_payments(company: Company, receipts: Sequence[Receipt], actor: str = "system") -> list[Payment]:
    """Record payments and apply each to the debtor's open items (named invoice first, then oldest due).

    Set-based: one query loads the open items of all debtors involved. What a payment cannot
    apply (overpayment, other currency) stays on it as ``unallocated_minor`` (a credit on account).
    """
    payments = [
        Payment(
            company=company,
            debtor_id=r.debtor_id,
            value_date=r.value_date,
            amount_minor=r.amount_minor,
            currency=r.currency,
            reference=r.reference,
            payer=r.payer,
            invoice_id=r.invoice_id,
            external_id=r.external_id,
        )
        for r in receipts
    ]
    Payment.objects.bulk_create(payments, batch_size=1000)
    book = ClaimBook(company, _kinds({p.debtor_id for p in payments}))
    for p in sorted(payments, key=lambda p: (p.value_date, p.pk)):
        p.unallocated_minor = book.apply(
            p, p.debtor_id, p.amount_minor, p.currency, p.value_date, p.invoice_id
        )
    book.save()
    Payment.objects.bulk_update(
        [p for p in payments if p.unallocated_minor], ["unallocated_minor"], batch_size=1000
    )
    timeline.record(
        timeline.event(
            p.debtor_id,
            company.pk,
            "payment_recorded",
            p.value_date,
            actor=actor,
            amount=format_money(p.amount_minor, p.currency),
            value_date=p.value_date,
            reference=p.reference or "-",
        )
        for p in payments
    )
    _settled({p.debtor_id for p in payments}, max((p.value_date for p in payments), default=None))
    return payments


@transaction.atomic
def record_credit_note(
    company: Company,
    *,
    debtor: Debtor,
    number: str,
    issue_date: date,
    amount_minor: int,
    currency: str,
    invoice: Invoice | None = None,
    reason: str = "",
    actor: str = "system",
) -> CreditNote:
    note = CreditNote(
        company=company,
        debtor=debtor,
        number=number,
        issue_date=issue_date,
        amount_minor=amount_minor,
        currency=currency,
        invoice=invoice,
        reason=reason,
    )
    note.save()
    book = ClaimBook(company, _kinds({debtor.pk}))
    note.unallocated_minor = book.apply(
        note,
        debtor.pk,
        amount_minor,
        currency,
        issue_date,
        invoice.pk if invoice else None,
        principal_only=True,
    )
    book.save()
    if note.unallocated_minor:
        note.save(update_fields=["unallocated_minor"])
    timeline.event(
        debtor.pk,
        company.pk,
        "credit_note_recorded",
        issue_date,
        actor=actor,
        note=reason,
        number=number,
        amount=format_money(amount_minor, currency),
    ).save()
    _settled({debtor.pk}, issue_date)
    return note


def _kinds(debtor_ids: set[int]) -> dict[int, str]:
    return dict(Debtor.objects.filter(pk__in=list(debtor_ids)).values_list("id", "kind"))


def _settled(debtor_ids: set[int], business_date: date | None) -> None:
    if debtor_ids:
        items_settled.send(sender=Invoice, debtor_ids=debtor_ids, business_date=business_date)


@transaction.atomic
def create_invoices(
    company: Company, invoices: Iterable[Invoice], actor: str = "system", business_date: date | None = None
) -> list[Invoice]:
    """Create validated invoices in bulk (open amount = amount) and note them on each debtor's timeline."""
    rows = list(invoices)
    kinds = _kinds({inv.debtor_id for inv in rows})
    for inv in rows:
        if inv.open_minor is None:
            inv.open_minor = inv.amount_minor
        kind = kinds[inv.debtor_id]
        start = default_start(inv, company.jurisdiction, kind)
        inv.default_from, inv.default_rule = start.first_interest_day, start.rule
        inv.time_barred_on = limitation_date(company.jurisdiction, kind, inv.due_date)
    created = Invoice.objects.bulk_create(rows, batch_size=1000)
    by_debtor: dict[int, list[Invoice]] = defaultdict(list)
    for inv in created:
        by_debtor[inv.debtor_id].append(inv)
    today = business_date or company_today(company)
    timeline.record(
        timeline.event(
            debtor_id,
            company.pk,
            "invoices_imported",
            today,
            actor=actor,
            count=len(items),
            numbers=", ".join(i.number for i in items[:10]) + (" ..." if len(items) > 10 else ""),
        )
        for debtor_id, items in by_debtor.items()
    )
    return created
