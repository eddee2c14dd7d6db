"""Ledger use cases: the one place that writes companies, debtors, invoices, payments and credits.

The UI, API, CLI and jobs all call these functions.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from django.db import models, transaction
from django.utils.translation import gettext as _

from mahnwerk.core.calendar import today_in
from mahnwerk.core.money import format_money
from mahnwerk.core.playbook import threshold_minor
from mahnwerk.ids import parse_id
from mahnwerk.ledger import timeline
from mahnwerk.ledger.bulk import bulk_insert, bulk_insert_rows, bulk_load
from mahnwerk.ledger.claims import ClaimBook, debtor_laws, default_start, limitation_date, rules_begin
from mahnwerk.ledger.ids import id_in
from mahnwerk.ledger.models import (
    Allocation,
    Charge,
    Company,
    Contact,
    ContactKind,
    CreditNote,
    Debtor,
    Invoice,
    Payment,
    TimelineEvent,
    WriteOff,
    WriteOffReason,
)
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
            raise LedgerError(
                "there is no company yet: create one with 'mahnwerk company create' (or try 'mahnwerk demo')"
            )
        raise LedgerError("there are several companies: name one with --company")
    pk = parse_id(ident)
    lookup: dict[str, object] = {"pk": pk} if pk is not None else {"slug": str(ident)}
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


# How far after the company's today a payment's value date may lie: a bank books a transfer a few banking days
# ahead; later than that is a typing error (and would lower what is open today).
VALUE_DATE_AHEAD_DAYS = 7
# up to this many ids of the payer's system are looked up by name, more by reading all the company has
LOOKUP_CHUNK = 500


class ReceiptProblem(NamedTuple):
    """Why a receipt cannot be recorded: its position in the list, the field, the message."""

    position: int
    field: str
    message: str


class PaymentRefused(LedgerError):
    """Receipts that :func:`record_payments` does not record (nothing of the call is written)."""

    def __init__(self, problems: Sequence[ReceiptProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in self.problems))


def receipt_problems(company: Company, receipts: Sequence[Receipt]) -> list[ReceiptProblem]:
    """What keeps receipts from being recorded, for every caller alike (a file, the API, a form, an agency's
    report): a value date before the debtor's rules begin or more than a few days after today, a named
    invoice of another customer or in another currency, an id of the payer's system recorded before or
    given twice."""
    if not receipts:
        return []
    problems: list[ReceiptProblem] = []
    laws = debtor_laws(company, {r.debtor_id for r in receipts})
    today = company_today(company)
    latest = today + timedelta(days=VALUE_DATE_AHEAD_DAYS)
    invoice_ids = {r.invoice_id for r in receipts if r.invoice_id is not None}
    named = {
        pk: (debtor_id, currency, number)
        for pk, debtor_id, currency, number in (
            Invoice.objects.filter(id_in(Invoice, "pk", invoice_ids), company=company).values_list(
                "pk", "debtor_id", "currency", "number"
            )
            if invoice_ids
            else ()
        )
    }
    external = {r.external_id for r in receipts if r.external_id}
    recorded = Payment.objects.filter(company=company, external_id__isnull=False)
    if len(external) <= LOOKUP_CHUNK:  # (a long list: every id the company has, not a parameter each)
        recorded = recorded.filter(external_id__in=external)
    known = set(recorded.values_list("external_id", flat=True)) if external else set()
    seen: set[str] = set()
    for k, r in enumerate(receipts):
        begin = rules_begin(laws[r.debtor_id])
        if begin is not None and r.value_date < begin:
            problems.append(
                ReceiptProblem(
                    k,
                    "value_date",
                    _("{date} is before {begin}, the first day the rules for this customer cover").format(
                        date=r.value_date.isoformat(), begin=begin.isoformat()
                    ),
                )
            )
        elif r.value_date > latest:
            problems.append(
                ReceiptProblem(
                    k,
                    "value_date",
                    _(
                        "{date} is more than {days} days after today ({today}): the money cannot be here yet"
                    ).format(
                        date=r.value_date.isoformat(),
                        days=VALUE_DATE_AHEAD_DAYS,
                        today=today.isoformat(),
                    ),
                )
            )
        if r.invoice_id is not None:
            owner, currency, number = named.get(r.invoice_id, (None, "", ""))
            if owner != r.debtor_id:
                problems.append(ReceiptProblem(k, "invoice", _("the invoice belongs to another customer")))
            elif currency != r.currency:
                problems.append(
                    ReceiptProblem(
                        k,
                        "currency",
                        _("the payment is in {currency}, invoice {number} in {invoice_currency}").format(
                            currency=r.currency, number=number, invoice_currency=currency
                        ),
                    )
                )
        if r.external_id:
            if r.external_id in known:
                problems.append(
                    ReceiptProblem(
                        k,
                        "external_id",
                        _("payment {id} was recorded before").format(id=r.external_id),
                    )
                )
            elif r.external_id in seen:
                problems.append(
                    ReceiptProblem(
                        k, "external_id", _("payment {id} is given twice").format(id=r.external_id)
                    )
                )
            seen.add(r.external_id)
    return problems


def record_payment(company: Company, receipt: Receipt, actor: str = "system") -> Payment:
    return record_payments(company, [receipt], actor=actor)[0]


@transaction.atomic
def record_payments(
    company: Company, receipts: Sequence[Receipt], actor: str = "system", *, checked: bool = False
) -> list[Payment]:
    """Record payments and apply each to the debtor's open items (named invoice first, then oldest due).

    Set-based: one query loads the open items of all debtors involved. What a payment cannot
    apply (overpayment, other currency) stays on it as ``unallocated_minor`` (a credit on account).
    Small balances left on an invoice (and, by the company's policy, leftover interest and fees) are
    written off and said on the timeline (see ``ledger.claims``).

    Receipts with a problem (:func:`receipt_problems`) are refused together: :class:`PaymentRefused`, nothing
    written (``checked``: the caller has just asked :func:`receipt_problems` itself, in this transaction).
    """
    problems = [] if checked else receipt_problems(company, receipts)
    if problems:
        raise PaymentRefused(problems)
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
    # The collection run locks the debtors it writes to (PostgreSQL): a payment waits for that chunk, then
    # sees its queued messages and withdraws the ones it makes stale — or the chunk sees the payment.
    list(
        Debtor.objects.select_for_update()
        .filter(pk__in=sorted({p.debtor_id for p in payments}))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    book = ClaimBook(company, debtor_laws(company, {p.debtor_id for p in payments}))
    for p in payments:
        if p.invoice_id is None and p.reference:
            p.invoice_id = named_invoice(book, p.debtor_id, p.reference)
    bulk_insert(payments)
    for p in sorted(payments, key=lambda p: (p.value_date, p.pk)):
        p.unallocated_minor = book.apply(
            p, p.debtor_id, p.amount_minor, p.currency, p.value_date, p.invoice_id
        )
    book.save()
    Payment.objects.bulk_update(
        [p for p in payments if p.unallocated_minor], ["unallocated_minor"], batch_size=1000
    )
    bulk_insert(
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
    timeline.record(_write_off_events(company, book.write_offs, actor))
    _settled({p.debtor_id for p in payments}, max((p.value_date for p in payments), default=None))
    return payments


def named_invoice(book: ClaimBook, debtor_id: int, reference: str) -> int | None:
    """The debtor's open invoice a transfer's reference names (its number or payment reference as a word of
    it), if exactly one: the debtor's own designation of what it pays (§ 367(2) BGB)."""
    words = {w for w in re.split(r"[\s,;/]+", reference.strip()) if w}
    found = {
        entry.invoice.pk
        for entry in book.open.values()
        if entry.invoice.debtor_id == debtor_id
        and (entry.invoice.number in words or (entry.invoice.reference and entry.invoice.reference in words))
    }
    return found.pop() if len(found) == 1 else None


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
    book = ClaimBook(company, debtor_laws(company, {debtor.pk}))
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
    timeline.record(_write_off_events(company, book.write_offs, actor))
    _settled({debtor.pk}, issue_date)
    return note


def _write_off_events(company: Company, write_offs: Sequence[WriteOff], actor: str) -> list[TimelineEvent]:
    """One event per small balance written off, one per invoice for its leftover interest and fees."""
    events = []
    leftovers: dict[tuple[int, date], list[WriteOff]] = defaultdict(list)
    for w in write_offs:
        if w.reason == WriteOffReason.LEFTOVER:
            leftovers[(w.invoice_id, w.business_date)].append(w)
            continue
        events.append(
            timeline.event(
                w.debtor_id,
                company.pk,
                "small_balance_written_off",
                w.business_date,
                actor=actor,
                id=w.pk,
                number=w.invoice.number,
                amount=format_money(w.amount_minor, w.currency),
                tolerance=format_money(
                    threshold_minor(company.small_balance_tolerance, w.currency), w.currency
                ),
            )
        )
    for (_invoice_id, on), rows in leftovers.items():
        first = rows[0]
        by_component = {w.component: w.amount_minor for w in rows}
        events.append(
            timeline.event(
                first.debtor_id,
                company.pk,
                "leftover_written_off",
                on,
                actor=actor,
                ids=", ".join(f"#{w.pk}" for w in rows),
                number=first.invoice.number,
                interest=format_money(by_component.get("interest", 0), first.currency),
                fees=format_money(by_component.get("costs", 0), first.currency),
            )
        )
    return events


@transaction.atomic
def reverse_write_off(
    company: Company, write_off: WriteOff | int, actor: str = "system", *, on: date | None = None
) -> WriteOff:
    """Undo a write-off: its allocations go, the invoice's principal (or the charges) are open again
    as before, a settled invoice becomes open again; the write-off stays, marked reversed on ``on``
    (default: the company's today), and the timeline says so.

    A write-off of another company, or one already reversed, is refused with :class:`LedgerError`.
    """
    pk = write_off.pk if isinstance(write_off, WriteOff) else int(write_off)
    found = (
        WriteOff.objects.select_for_update().select_related("invoice").filter(pk=pk, company=company).first()
    )
    if found is None:
        raise LedgerError(_("no write-off #{id} in {company}").format(id=pk, company=company.name))
    if found.reversed_on is not None:
        raise LedgerError(
            _("write-off #{id} was already reversed on {date}").format(id=pk, date=found.reversed_on)
        )
    day = on or company_today(company)
    invoice = Invoice.objects.select_for_update().get(pk=found.invoice_id)
    allocations = list(Allocation.objects.filter(write_off=found))
    principal = sum(a.amount_minor for a in allocations if a.component == "principal")
    by_charge: dict[int, int] = defaultdict(int)
    for a in allocations:
        if a.charge_id is not None:
            by_charge[a.charge_id] += a.amount_minor
    Allocation.objects.filter(write_off=found).delete()
    for charge_id, amount in by_charge.items():
        Charge.objects.filter(pk=charge_id).update(open_minor=models.F("open_minor") + amount)
    if principal:
        invoice.open_minor += principal
        invoice.settled_on = None
        invoice.save(update_fields=["open_minor", "settled_on"])
    found.reversed_on = day
    found.reversed_by = actor
    found.save(update_fields=["reversed_on", "reversed_by"])
    timeline.event(
        found.debtor_id,
        company.pk,
        "write_off_reversed",
        day,
        actor=actor,
        id=found.pk,
        number=invoice.number,
        amount=format_money(found.amount_minor, found.currency),
    ).save()
    return found


def _settled(debtor_ids: set[int], business_date: date | None) -> None:
    if debtor_ids:
        items_settled.send(sender=Invoice, debtor_ids=debtor_ids, business_date=business_date)


class NewInvoice(NamedTuple):
    """A validated invoice to create, as a spreadsheet import gives it (no model instance needed; a tuple,
    made a million times by a large import)."""

    debtor_id: int
    number: str
    issue_date: date
    due_date: date
    amount_minor: int
    currency: str
    reference: str = ""
    due_date_agreed: bool = False
    received_on: date | None = None
    consumer_notice: bool = False


# first day of default interest, how default began, time-barred after
InvoiceRules = tuple[date | None, str, date]


class RuleBook:
    """The default and limitation rules of new invoices by their debtor's law, worked out once per distinct
    combination of the few fields they depend on (an import of 100,000 invoices has a few hundred)."""

    def __init__(self, company: Company, debtor_ids: Iterable[int]) -> None:
        self.laws = debtor_laws(company, set(debtor_ids))
        self.found: dict[tuple[object, ...], InvoiceRules] = {}

    def __call__(
        self,
        debtor_id: int,
        issue_date: date,
        due_date: date,
        due_date_agreed: bool,
        received_on: date | None,
        consumer_notice: bool,
    ) -> InvoiceRules:
        """The rules for one invoice; raises ``RuleSetError`` when no rule set covers its dates."""
        law = self.laws[debtor_id]
        key: tuple[object, ...] = (
            law.jurisdiction,
            law.debtor_kind,
            due_date,
            due_date_agreed,
            received_on or issue_date,
            consumer_notice,
        )
        found = self.found.get(key)
        if found is None:
            probe = Invoice(
                issue_date=issue_date,
                due_date=due_date,
                due_date_agreed=due_date_agreed,
                received_on=received_on,
                consumer_notice=consumer_notice,
            )
            start = default_start(probe, law.jurisdiction, law.debtor_kind)
            barred = limitation_date(law.jurisdiction, law.debtor_kind, due_date)
            found = self.found[key] = (start.first_interest_day, start.rule, barred)
        return found

    def of(self, invoice: NewInvoice | Invoice) -> InvoiceRules:
        """:meth:`__call__` with an invoice's own fields (a new one or a model instance)."""
        return self(
            invoice.debtor_id,
            invoice.issue_date,
            invoice.due_date,
            invoice.due_date_agreed,
            invoice.received_on,
            invoice.consumer_notice,
        )

    def column(
        self,
        debtor_ids: Sequence[int],
        issue_dates: Sequence[date],
        due_dates: Sequence[date],
        due_dates_agreed: Sequence[bool],
        received_on: Sequence[date | None],
        consumer_notices: Sequence[bool],
    ) -> list[InvoiceRules | Exception]:
        """:meth:`__call__` for many invoices given a field at a time: each one's rules, or the
        ``RuleSetError`` that says no rule set covers its dates. The invoices are grouped by what their rules
        depend on, and each group's rules worked out (from its first invoice) once."""
        from operator import itemgetter

        from mahnwerk.core.rulesets import RuleSetError

        count = len(debtor_ids)
        if not count == len(issue_dates) == len(due_dates) == len(due_dates_agreed) == len(received_on):
            raise ValueError("RuleBook.column needs every field of every invoice")
        if count != len(consumer_notices):
            raise ValueError("RuleBook.column needs every field of every invoice")
        laws = {pk: (law.jurisdiction, law.debtor_kind) for pk, law in self.laws.items()}
        effective = (
            issue_dates
            if received_on.count(None) == count
            else [received or issue for received, issue in zip(received_on, issue_dates, strict=True)]
        )
        depends: tuple[Sequence[object], ...] = (
            list(map(laws.__getitem__, debtor_ids)),
            due_dates,
            due_dates_agreed,
            effective,
            consumer_notices,
        )
        # what the rules depend on (as __call__ keys them), leaving out what every invoice has alike
        varying = [values for values in depends if values.count(values[0]) != count] if count else []
        keys: Sequence[object] = (
            [None] * count
            if not varying
            else varying[0]
            if len(varying) == 1
            else list(zip(*varying, strict=True))
        )
        # each key's first invoice: the last one written wins, so they are written back to front
        first = dict(zip(reversed(keys), range(count - 1, -1, -1), strict=True))
        found: dict[object, InvoiceRules | Exception] = {}
        for key, k in sorted(first.items(), key=itemgetter(1)):
            try:
                found[key] = self(
                    debtor_ids[k],
                    issue_dates[k],
                    due_dates[k],
                    due_dates_agreed[k],
                    received_on[k],
                    consumer_notices[k],
                )
            except RuleSetError as exc:
                found[key] = exc
        return list(map(found.__getitem__, keys))


@transaction.atomic
def create_invoices(
    company: Company, invoices: Iterable[Invoice], actor: str = "system", business_date: date | None = None
) -> list[Invoice]:
    """Create validated invoices in bulk (open amount = amount) and note them on each debtor's timeline."""
    rows = list(invoices)
    rules = RuleBook(company, {inv.debtor_id for inv in rows})
    for inv in rows:
        if inv.open_minor is None:
            inv.open_minor = inv.amount_minor
        inv.default_from, inv.default_rule, inv.time_barred_on = rules.of(inv)
    created = bulk_insert(rows)
    _invoices_created(company, [(inv.debtor_id, inv.number) for inv in created], actor, business_date)
    return created


# what create_invoice_rows writes; the other fields get their defaults
_INVOICE_COLUMNS = (
    "company_id",
    "debtor_id",
    "number",
    "issue_date",
    "due_date",
    "amount_minor",
    "open_minor",
    "currency",
    "reference",
    "due_date_agreed",
    "received_on",
    "consumer_notice",
    "default_from",
    "default_rule",
    "time_barred_on",
)


@transaction.atomic
def create_invoice_rows(
    company: Company,
    rows: Sequence[NewInvoice],
    actor: str = "system",
    business_date: date | None = None,
    *,
    rules: RuleBook | None = None,
    paid_before: Sequence[int] = (),
    found_rules: Sequence[InvoiceRules] = (),
) -> int:
    """:func:`create_invoices` for the spreadsheet import: the same rows written, the same credits applied
    and timeline events, without building a model instance per invoice. Returns how many were created.

    ``paid_before`` (per row, minor units, less than its amount): what had been paid of the invoice before
    it came here, on a day nobody told us — booked as a payment on the invoice's issue date, so that no
    interest is ever claimed on it. ``found_rules`` (per row): the rules the import checked the rows with,
    else they are worked out here."""
    from operator import sub

    from mahnwerk.ledger.bulk import bulk_insert_columns

    if not found_rules:
        book = rules or RuleBook(company, {r.debtor_id for r in rows})
        found_rules = [book.of(r) for r in rows]
    count = len(rows)
    paid = list(paid_before) or [0] * count
    if not len(paid) == len(found_rules) == count:
        raise ValueError("create_invoice_rows needs what was paid and the rules of each row")
    # the rows a field at a time (the columns of the insert)
    fields = list(zip(*rows, strict=True)) if rows else [()] * len(NewInvoice._fields)
    debtor_ids, numbers, issues, dues, amounts, currencies, references, agreed, received, notices = fields
    starts, began, barred = zip(*found_rules, strict=True) if found_rules else ((), (), ())
    values = [
        [company.pk] * count,
        debtor_ids,
        numbers,
        issues,
        dues,
        amounts,
        list(map(sub, amounts, paid)),
        currencies,
        references,
        agreed,
        received,
        notices,
        starts,
        began,
        barred,
    ]
    with bulk_load(Invoice, count):
        ids = bulk_insert_columns(Invoice, _INVOICE_COLUMNS, values)
        _paid_before_import(company, rows, ids, paid)
        _invoices_created(company, list(zip(debtor_ids, numbers, strict=True)), actor, business_date)
    return count


def _paid_before_import(
    company: Company, rows: Sequence[NewInvoice], ids: Sequence[int], paid: Sequence[int]
) -> None:
    """A payment and its allocation to the principal for each invoice partly paid before the import."""
    if not any(paid):
        return
    parts = [(r, pk, amount) for r, pk, amount in zip(rows, ids, paid, strict=True) if amount > 0]
    if not parts:
        return
    payment_ids = bulk_insert_rows(
        Payment,
        ("company_id", "debtor_id", "value_date", "amount_minor", "currency", "reference", "invoice_id"),
        [
            (company.pk, r.debtor_id, r.issue_date, amount, r.currency, r.number, pk)
            for r, pk, amount in parts
        ],
    )
    bulk_insert_rows(
        Allocation,
        ("invoice_id", "component", "payment_id", "amount_minor", "value_date"),
        [
            (pk, "principal", payment_id, amount, r.issue_date)
            for (r, pk, amount), payment_id in zip(parts, payment_ids, strict=True)
        ],
    )


def _invoices_created(
    company: Company, made: Sequence[tuple[int, str]], actor: str, business_date: date | None
) -> None:
    """After new invoices: what the debtors have on account applied to them, one timeline event per debtor."""
    by_debtor: dict[int, list[str]] = defaultdict(list)
    for debtor_id, number in made:
        by_debtor[debtor_id].append(number)
    today = business_date or company_today(company)
    apply_credits(company, set(by_debtor), actor=actor)
    with bulk_load(TimelineEvent, len(by_debtor)):
        timeline.record_rows(
            "invoices_imported",
            company.pk,
            today,
            actor,
            [
                (
                    debtor_id,
                    {
                        "count": len(numbers),
                        "numbers": ", ".join(numbers[:10]) + (" ..." if len(numbers) > 10 else ""),
                    },
                )
                for debtor_id, numbers in by_debtor.items()
            ],
        )


@transaction.atomic
def apply_credits(company: Company, debtor_ids: Iterable[int], actor: str = "system") -> int:
    """Apply what the debtors have on account — overpayments, credit notes not yet used — to their open
    items, oldest first, so that no reminder asks for money the customer has already given us. Each credit
    counts from its own date, or from the issue date of the oldest item it pays when that is later. Returns
    the amount applied (minor units, all currencies)."""
    ids = set(debtor_ids)
    if len(ids) > 1000:  # many (an import): only those who have something on account, found without a
        # parameter per debtor
        ids &= {
            *Payment.objects.filter(company=company, unallocated_minor__gt=0).values_list(
                "debtor_id", flat=True
            ),
            *CreditNote.objects.filter(company=company, unallocated_minor__gt=0).values_list(
                "debtor_id", flat=True
            ),
        }
    if not ids:
        return 0
    payments = list(
        Payment.objects.filter(company=company, debtor_id__in=ids, unallocated_minor__gt=0).order_by(
            "value_date", "pk"
        )
    )
    notes = list(
        CreditNote.objects.filter(company=company, debtor_id__in=ids, unallocated_minor__gt=0).order_by(
            "issue_date", "pk"
        )
    )
    if not payments and not notes:
        return 0
    holders = {p.debtor_id for p in payments} | {n.debtor_id for n in notes}
    list(Debtor.objects.select_for_update().filter(pk__in=sorted(holders)).order_by("pk").values_list("pk"))
    book = ClaimBook(company, debtor_laws(company, holders))
    applied = 0
    sources: list[tuple[Payment | CreditNote, date]] = [(p, p.value_date) for p in payments]
    sources += [(n, n.issue_date) for n in notes]
    for source, since in sources:
        open_items = [
            e.invoice
            for e in book.by_debtor.get(source.debtor_id, ())
            if e.invoice.currency == source.currency and e.invoice.open_minor > 0
        ]
        if not open_items:
            continue
        on = max(since, min(i.issue_date for i in open_items))
        left = book.apply(
            source,
            source.debtor_id,
            source.unallocated_minor,
            source.currency,
            on,
            None,
            principal_only=isinstance(source, CreditNote),
        )
        applied += source.unallocated_minor - left
        if left != source.unallocated_minor:
            timeline.event(
                source.debtor_id,
                company.pk,
                "credit_applied",
                on,
                actor=actor,
                amount=format_money(source.unallocated_minor - left, source.currency),
                source=getattr(source, "number", "") or getattr(source, "reference", "") or "-",
            ).save()
            source.unallocated_minor = left
            source.save(update_fields=["unallocated_minor"])
    book.save()
    timeline.record(_write_off_events(company, book.write_offs, actor))
    _settled(holders, None)
    return applied


# What a clerk may change on a debtor's record (the case file's "customer details", the API).
DEBTOR_DETAIL_FIELDS = (
    "name",
    "kind",
    "language",
    "country",
    "jurisdiction",
    "salutation",
    "title",
    "family_name",
    "contact_person",
    "vat_id",
    "street",
    "postcode",
    "city",
    "preferred_channel",
    "agreed_channels",
    "do_not_contact",
    "do_not_contact_reason",
)
# The timeline kind of a change of the debtor's email address or phone number (by the debtor on its page, a
# clerk on the case file, the address research).
CONTACT_UPDATED = "contact_updated"


@transaction.atomic
def update_debtor(
    company: Company,
    debtor: Debtor,
    changes: dict[str, object],
    actor: str = "system",
    *,
    email: str = "",
    phone: str = "",
) -> list[str]:
    """Change the debtor's details (only :data:`DEBTOR_DETAIL_FIELDS`), validated as a whole; the fields that
    changed go on the timeline, each with its old and new value (``changes``, cut by :func:`_detail_value`).
    ``email``/``phone`` (when given) become its primary contacts (:func:`set_primary_contacts`). Returns the
    fields that changed ("email"/"phone" among them). Raises ``ValidationError`` (nothing saved) for bad
    values."""
    if debtor.company_id != company.pk:
        raise LedgerError("the debtor belongs to another company")
    unknown = set(changes) - set(DEBTOR_DETAIL_FIELDS)
    if unknown:
        raise LedgerError(f"not a detail of a debtor: {', '.join(sorted(unknown))}")
    contacts = [
        kind
        for kind, _change in set_primary_contacts(
            debtor, email=email, phone=phone, actor=actor, label="clerk"
        )
    ]
    changed = [f for f, v in changes.items() if getattr(debtor, f) != v]
    if not changed:
        return contacts
    before = {f: getattr(debtor, f) for f in changed}
    for field_name in changed:
        setattr(debtor, field_name, changes[field_name])
    debtor.full_clean(exclude=["company"])
    debtor.save(update_fields=changed)
    if any(f in LAW_DETAILS for f in changed):  # another law: its default and limitation for the open items
        refresh_invoice_rules(company, [debtor.pk])
    timeline.event(
        debtor.pk,
        company.pk,
        "debtor_details_changed",
        company_today(company),
        actor=actor,
        fields=", ".join(str(getattr(Debtor._meta.get_field(f), "verbose_name", f)) for f in changed),
        changes=[
            {"field": f, "old": _detail_value(before[f]), "new": _detail_value(getattr(debtor, f))}
            for f in changed
        ],
    ).save()
    return changed + contacts


# the details of a debtor its law depends on (``claims.debtor_laws``)
LAW_DETAILS = frozenset({"kind", "country", "jurisdiction"})
# the ways a reminder puts a debtor in default (``claims.default_start`` with a reminder)
_BY_REMINDER = frozenset({"reminder", "reminder_deadline"})


def refresh_invoice_rules(company: Company, debtor_ids: Iterable[int]) -> int:
    """Work out again, by each debtor's law as it is now, when default begins and when the claim is
    time-barred for its open invoices: after its kind, country or jurisdiction changed (a consumer first
    imported as a business owes no interest from the 30-day rule it was not told of; a business corrected
    from a consumer is in default 30 days after the invoice). Default a reminder caused stays where the law
    alone would begin it later; where the law begins it earlier, that applies. Part payments restart the
    limitation period as when they were booked. Returns how many invoices changed."""
    from mahnwerk.core.rulesets import RuleSetError
    from mahnwerk.ledger.signals import debtor_law_changed

    ids = sorted(set(debtor_ids))
    if not ids:
        return 0
    laws = debtor_laws(company, ids)
    invoices = list(Invoice.objects.filter(company=company, debtor_id__in=ids, open_minor__gt=0))
    paid: dict[int, list[date]] = defaultdict(list)
    for invoice_id, day in Allocation.objects.filter(invoice__in=invoices, payment__isnull=False).values_list(
        "invoice_id", "value_date"
    ):
        paid[invoice_id].append(day)
    changed: list[Invoice] = []
    later: list[int] = []  # default begins later than before, or not at all
    for inv in invoices:
        law = laws[inv.debtor_id]
        try:
            start = default_start(inv, law.jurisdiction, law.debtor_kind)
            barred = limitation_date(law.jurisdiction, law.debtor_kind, inv.due_date, sorted(paid[inv.pk]))
        except RuleSetError:  # no rule set covers its dates: left as it is
            continue
        first, rule = start.first_interest_day, start.rule
        reminded = inv.default_from if inv.default_rule in _BY_REMINDER else None
        if reminded is not None and (first is None or reminded <= first):
            first, rule = reminded, inv.default_rule
        if (first, rule, barred) != (inv.default_from, inv.default_rule, inv.time_barred_on):
            if inv.default_from is not None and (first is None or first > inv.default_from):
                later.append(inv.pk)
            inv.default_from, inv.default_rule, inv.time_barred_on = first, rule, barred
            changed.append(inv)
    if changed:
        Invoice.objects.bulk_update(changed, ["default_from", "default_rule", "time_barred_on"])
    # what the reminders booked on that law: a flat compensation no longer owed, interest paid for days no
    # longer in default (``collection.consequences.law_changed``)
    debtor_law_changed.send(sender=Debtor, company=company, debtor_ids=ids, later=later)
    return len(changed)


@transaction.atomic
def set_primary_contacts(
    debtor: Debtor, *, email: str = "", phone: str = "", actor: str = "debtor", label: str = ""
) -> list[tuple[str, str]]:
    """Make ``email`` and ``phone`` the debtor's primary contacts (a new value is added, an earlier one stays
    as a secondary contact); returns what changed as (kind, value). An address given again counts as valid
    again and takes SMS again. One timeline event for the change."""
    changes: list[tuple[str, str]] = []
    for kind, value in ((ContactKind.EMAIL, email.strip()), (ContactKind.PHONE, phone.strip())):
        if not value:
            continue
        if kind == ContactKind.EMAIL:  # an address the debtor has in another case is that address
            stored = debtor.contacts.filter(kind=kind, value__iexact=value).values_list("value", flat=True)
            value = stored.first() or value
        current = debtor.contacts.filter(kind=kind, is_primary=True).first()
        if current is not None and current.value == value and current.is_valid and not current.opted_out:
            continue
        debtor.contacts.filter(kind=kind, is_primary=True).exclude(value=value).update(is_primary=False)
        contact, created = Contact.objects.get_or_create(
            debtor=debtor, kind=kind, value=value, defaults={"is_primary": True, "label": label or actor}
        )
        if not created:
            Contact.objects.filter(pk=contact.pk).update(
                is_primary=True, is_valid=True, opted_out=False, sms_refused=False
            )
        changes.append((str(kind), value))
    if changes:
        TimelineEvent(
            debtor_id=debtor.pk,
            company_id=debtor.company_id,
            kind=CONTACT_UPDATED,
            business_date=company_today(debtor.company),
            actor=actor,
            data={"changes": ", ".join(f"{kind}: {value}" for kind, value in changes)},
        ).save()
    return changes


# A detail's old and new value on the timeline are cut to this many characters (long free text).
DETAIL_VALUE_MAX_CHARS = 200


def _detail_value(value: object) -> str:
    """A detail's value as the timeline keeps it: the stored value (a choice's code) as text, cut with "…"."""
    text = "" if value is None else str(value)
    return text if len(text) <= DETAIL_VALUE_MAX_CHARS else text[: DETAIL_VALUE_MAX_CHARS - 1] + "…"
