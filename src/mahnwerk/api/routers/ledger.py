"""Bulk writes to the ledger: invoices (validated like a CSV import, all or nothing) and payments."""

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from mahnwerk.api.auth import writer
from mahnwerk.api.errors import FieldError, Invalid
from mahnwerk.api.schemas import Created, Errors, InvoiceIn, PaymentIn, PaymentOut
from mahnwerk.core.money import to_decimal
from mahnwerk.ledger import imports
from mahnwerk.ledger.models import Debtor, Invoice
from mahnwerk.ledger.services import Receipt, receipt_problems, record_payments

router = Router(tags=["ledger"])

# the CSV import's column names -> this API's field names
_INVOICE_FIELDS = {"amount": "amount_minor"}
# numbers per IN (...) query: well below SQLite's limit on bound parameters
LOOKUP_CHUNK = 5000


@router.post("/invoices", response={201: Created, 400: Errors, 401: Errors, 403: Errors, 422: Errors})
def create_invoices(request: HttpRequest, payload: list[InvoiceIn]) -> Status[dict[str, Any]]:
    """Create invoices in bulk. Every row is checked first (debtor exists, number unused, due date not before
    the issue date, dates within 1990..2100, amount below 10^12 minor units, ISO currency, lengths); one bad
    row and nothing is created: 422 with the row's index and field."""
    who = writer(request)
    rows: imports.Rows = []
    for index, inv in enumerate(payload):
        currency = inv.currency or who.company.currency
        row: imports.Row = {
            "number": inv.number,
            "debtor": inv.debtor,
            "issue_date": inv.issue_date,
            "due_date": inv.due_date,
            "amount": to_decimal(inv.amount_minor, currency),
            "currency": currency,
            "reference": inv.reference,
            "due_date_agreed": "yes" if inv.due_date_agreed else "",
            "consumer_notice": "yes" if inv.consumer_notice else "",
        }
        if inv.received_on is not None:
            row["received_on"] = inv.received_on
        rows.append((index, row))
    numbers = [inv.number.strip() for inv in payload]  # as the import stores them ("0 " is invoice "0")
    try:
        with transaction.atomic():
            imports.import_invoices(who.company, rows, actor=who.actor, refuse_known=True)
    except imports.ImportFailed as exc:
        raise Invalid(
            [
                FieldError(("body", e.row, _INVOICE_FIELDS.get(e.column, e.column)), e.message)
                for e in exc.errors
            ]
        ) from None
    by_number: dict[str, int] = {}
    for start in range(0, len(numbers), LOOKUP_CHUNK):
        chunk = numbers[start : start + LOOKUP_CHUNK]
        by_number.update(
            Invoice.objects.filter(company=who.company, number__in=chunk).values_list("number", "pk")
        )
    return Status(201, {"created": len(numbers), "ids": [by_number[n] for n in numbers]})


@router.post(
    "/payments", response={201: list[PaymentOut], 400: Errors, 401: Errors, 403: Errors, 422: Errors}
)
def create_payments(request: HttpRequest, payload: list[PaymentIn]) -> Status[list[dict[str, Any]]]:
    """Record receipts and apply each to the debtor's open items (the named invoice first, then oldest due)."""
    who = writer(request)
    company = who.company
    debtors = dict(
        Debtor.objects.filter(company=company, number__in={p.debtor for p in payload}).values_list(
            "number", "pk"
        )
    )
    named = {p.invoice for p in payload if p.invoice}
    invoices = {
        number: (pk, debtor_id)
        for number, pk, debtor_id in Invoice.objects.filter(company=company, number__in=named).values_list(
            "number", "pk", "debtor_id"
        )
    }
    errors: list[FieldError] = []
    receipts: list[Receipt] = []
    positions: list[int] = []  # each receipt's index in the payload
    for index, p in enumerate(payload):
        debtor_id = debtors.get(p.debtor)
        if debtor_id is None:
            errors.append(FieldError(("body", index, "debtor"), _("No debtor with this number.")))
            continue
        invoice_id = None
        if p.invoice:
            found = invoices.get(p.invoice)
            if found is None or found[1] != debtor_id:
                errors.append(
                    FieldError(("body", index, "invoice"), _("No invoice with this number for the debtor."))
                )
                continue
            invoice_id = found[0]
        receipts.append(
            Receipt(
                debtor_id=debtor_id,
                amount_minor=p.amount_minor,
                currency=(p.currency or company.currency).upper(),
                value_date=p.value_date,
                reference=p.reference,
                payer=p.payer,
                invoice_id=invoice_id,
                external_id=p.external_id,
            )
        )
        positions.append(index)
    errors += [
        FieldError(("body", positions[problem.position], problem.field), problem.message)
        for problem in receipt_problems(company, receipts)
    ]
    if errors:
        raise Invalid(sorted(errors, key=lambda e: int(e.loc[1])))
    payments = record_payments(company, receipts, actor=who.actor, checked=True)
    return Status(
        201,
        [
            {
                "id": p.pk,
                "debtor_id": p.debtor_id,
                "amount_minor": p.amount_minor,
                "currency": p.currency,
                "value_date": p.value_date,
                "unallocated_minor": p.unallocated_minor,
            }
            for p in payments
        ],
    )
