"""Request and response bodies. Money is in integer minor units (cents) with an ISO 4217 currency."""

from __future__ import annotations

from datetime import date
from typing import Any

from ninja import Field, Schema


class ErrorItem(Schema):
    loc: list[str | int]
    msg: str


class Errors(Schema):
    detail: list[ErrorItem] | str


class DebtorRow(Schema):
    id: int
    number: str
    name: str
    kind: str
    language: str
    do_not_contact: bool
    open_minor: int


class DebtorPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[DebtorRow]


class InvoiceIn(Schema):
    number: str = Field(..., min_length=1, max_length=50)
    debtor: str = Field(..., min_length=1, description="the debtor's number")
    issue_date: date
    due_date: date
    amount_minor: int = Field(..., gt=0)
    currency: str | None = Field(
        None, pattern="^[A-Za-z]{3}$", description="ISO 4217; default: company currency"
    )
    reference: str = ""


class Created(Schema):
    created: int
    ids: list[int]


class PaymentIn(Schema):
    debtor: str = Field(..., min_length=1, description="the debtor's number")
    amount_minor: int = Field(..., gt=0)
    currency: str | None = Field(
        None, pattern="^[A-Za-z]{3}$", description="ISO 4217; default: company currency"
    )
    value_date: date
    reference: str = ""
    payer: str = ""
    invoice: str | None = Field(None, description="number of the invoice to pay first")
    external_id: str | None = None


class PaymentOut(Schema):
    id: int
    debtor_id: int
    amount_minor: int
    currency: str
    value_date: date
    unallocated_minor: int


class RunIn(Schema):
    as_of: date | None = Field(None, description="business date of the run (default: today for the company)")
    dry_run: bool = False
    approve: bool = Field(
        False,
        description="also take the steps waiting for a person's approval (playbooks in approval mode, "
        "messages that would claim interest without a known rate)",
    )


class PromiseIn(Schema):
    invoice_ids: list[int] | None = Field(None, description="default: all the debtor's open invoices")
    promised_date: date
    amount_minor: int | None = Field(None, gt=0, description="default: everything open on the invoices")
    grace_days: int | None = Field(None, ge=0)
    note: str = Field("", max_length=500)


class PromiseOut(Schema):
    id: int
    debtor_id: int
    promised_date: date
    amount_minor: int
    currency: str
    grace_days: int
    status: str
    invoice_ids: list[int]


class DisputeIn(Schema):
    invoice_id: int
    reason: str
    amount_minor: int | None = Field(None, gt=0)
    notes: str = ""


class DisputeOut(Schema):
    id: int
    debtor_id: int
    invoice_id: int
    reason: str
    amount_minor: int | None
    status: str
    opened_on: date


Document = dict[str, Any]


class CancelIn(Schema):
    reason: str = Field(min_length=3, max_length=500, description="Why (it goes on the timeline).")
