"""Request and response bodies. Money is in integer minor units (cents) with an ISO 4217 currency."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from django.utils.translation import gettext
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, Strict, field_validator

from mahnwerk.core import tabular
from mahnwerk.core.tabular import MAX_ABS_MINOR, TabularError

# the largest id a database column holds: a bigger one is not found rather than an overflow
from mahnwerk.ids import MAX_ID as MAX_ID
from mahnwerk.ledger.imports import max_length
from mahnwerk.ledger.models import Debtor, Invoice, Payment


def _in_range(value: date) -> date:
    try:
        return tabular.check_date_range(value)
    except TabularError as exc:
        raise ValueError(str(exc)) from None


def _currency(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return tabular.parse_currency(value, "")
    except TabularError as exc:
        raise ValueError(str(exc)) from None


# a business date: within the range the ledger accepts (1990-01-01 .. 2100-12-31); the pattern says so in the
# OpenAPI document (JSON Schema has no bounds for dates)
IN_DATE_RANGE: dict[str, Any] = {
    "pattern": r"^(199[0-9]|20[0-9][0-9]|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
    "description": "1990-01-01 .. 2100-12-31",
}
BusinessDate = Annotated[date, AfterValidator(_in_range), Field(json_schema_extra=IN_DATE_RANGE)]
# the same range, said in the document only: the route checks it and answers with the translated message
RangeDate = Annotated[date, Field(json_schema_extra=IN_DATE_RANGE)]
# an amount in minor units: above zero, below 10^12; a whole JSON number (true is no amount, nor is 1.5 or "100")
Amount = Annotated[int, Strict(), Field(gt=0, lt=MAX_ABS_MINOR)]
Currency = Annotated[
    str | None,
    Field(None, pattern="^[A-Za-z]{3}$", description="ISO 4217; default: company currency"),
    AfterValidator(_currency),
]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _refuse_nul(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(gettext("contains a NUL character: not text"))
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_nul(item)


class In(Schema):
    """A request body: no text in it may hold a NUL character (no text has one, and PostgreSQL refuses it:
    without this check a server error instead of a 422 naming the field), and no field the endpoint does not
    know (``{"date": ...}`` for ``as_of`` ran for today before: a misspelt field is a 422 naming it)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _text_only(cls, value: Any) -> Any:
        _refuse_nul(value)
        return value


def _text(model: Any, name: str, **kwargs: Any) -> Any:
    return Field(**kwargs, max_length=max_length(model, name))


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


class InvoiceIn(In):
    number: str = _text(Invoice, "number", default=..., min_length=1)
    debtor: str = _text(Debtor, "number", default=..., min_length=1, description="the debtor's number")
    issue_date: BusinessDate
    due_date: BusinessDate
    amount_minor: Amount
    currency: Currency = None
    reference: str = _text(Invoice, "reference", default="")
    due_date_agreed: bool = Field(False, description="the due date is a calendar date agreed by contract")
    received_on: BusinessDate | None = Field(None, description="when the debtor received the invoice")
    consumer_notice: bool = Field(False, description="the invoice warns a consumer of default after 30 days")


class Created(Schema):
    created: int
    ids: list[int]


class PaymentIn(In):
    debtor: str = _text(Debtor, "number", default=..., min_length=1, description="the debtor's number")
    amount_minor: Amount
    currency: Currency = None
    value_date: BusinessDate
    reference: str = _text(Payment, "reference", default="")
    payer: str = _text(Payment, "payer", default="")
    invoice: str | None = _text(
        Invoice, "number", default=None, description="number of the invoice to pay first"
    )
    external_id: str | None = _text(Payment, "external_id", default=None)


class DebtorIn(In):
    number: str = _text(Debtor, "number", default=..., min_length=1, description="customer number")
    name: str = _text(Debtor, "name", default=..., min_length=1)
    kind: str = Field("", description="business (default) or consumer")
    language: str = Field("", description="de, lv or en; default: the company's")
    jurisdiction: str = Field(
        "", description="DE, LV, EU or US: the law of the contract; default: the company's"
    )
    time_zone: str = _text(Debtor, "time_zone", default="", description="default: the company's")
    email: list[str] = Field(default_factory=list, max_length=20, description="the first is the primary one")
    phone: list[str] = Field(default_factory=list, max_length=20)
    street: str = _text(Debtor, "street", default="")
    postcode: str = _text(Debtor, "postcode", default="")
    city: str = _text(Debtor, "city", default="")
    country: str = _text(Debtor, "country", default="", description="ISO 3166 code, e.g. DE")
    preferred_channel: str = Field("", description="email, letter, sms or call; empty: each step's")
    salutation: str = Field("", description="mr, ms or empty (by name)")
    title: str = _text(Debtor, "title", default="")
    family_name: str = _text(Debtor, "family_name", default="")
    contact_person: str = _text(Debtor, "contact_person", default="")
    agreed_channels: str = _text(Debtor, "agreed_channels", default="", description="e.g. 'email, letter'")


class PaymentOut(Schema):
    id: int
    debtor_id: int
    amount_minor: int
    currency: str
    value_date: date
    unallocated_minor: int


class RunIn(In):
    as_of: BusinessDate | None = Field(
        None, description="business date of the run (default: today for the company)"
    )
    dry_run: bool = False
    approve: bool = Field(
        False,
        description="also take the steps waiting for a person's approval (playbooks in approval mode, "
        "messages that would claim interest without a known rate)",
    )
    exclude_debtors: list[Id] = Field(
        [], max_length=10_000, description="debtor ids left out of this run (they get nothing from it)"
    )
    exclude_items: list[Id] = Field(
        [],
        max_length=10_000,
        description="invoice ids left out of this run: not named in their debtor's message, not in its total",
    )
    only_debtors: list[Id] | None = Field(
        None, max_length=10_000, description="the debtors approved: the run writes for no other"
    )


class PromiseIn(In):
    invoice_ids: list[Id] | None = Field(None, description="default: all the debtor's open invoices")
    promised_date: BusinessDate
    amount_minor: Amount | None = Field(None, description="default: everything open on the invoices")
    grace_days: int | None = Field(None, ge=0, le=365)
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


class DisputeIn(In):
    invoice_id: Id
    reason: str = Field(..., max_length=200)
    amount_minor: Amount | None = None
    notes: str = Field("", max_length=10_000)


class DisputeOut(Schema):
    id: int
    debtor_id: int
    invoice_id: int
    reason: str
    amount_minor: int | None
    status: str
    opened_on: date


Document = dict[str, Any]


class CancelIn(In):
    reason: str = Field(min_length=3, max_length=500, description="Why (it goes on the timeline).")
