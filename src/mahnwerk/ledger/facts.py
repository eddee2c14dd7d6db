"""An invoice's figures as plain values, for work over many invoices at once.

A collection run writes for tens of thousands of invoices per chunk; building a model instance for each
(Django's ``__init__`` over every field, per-value converters) took more time than the queries. The run reads
what it needs of them as :class:`InvoiceFacts` (one ``values_list`` query); code that only reads an invoice
(:func:`mahnwerk.ledger.claims.claim_views`, the message lines) takes either, as :class:`InvoiceLike`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from mahnwerk.ledger.ids import id_in
from mahnwerk.ledger.models import Invoice


class InvoiceLike(Protocol):
    """What claims and message lines read of an invoice: a model instance or :class:`InvoiceFacts`."""

    @property
    def pk(self) -> Any: ...
    @property
    def debtor_id(self) -> int: ...
    @property
    def number(self) -> str: ...
    @property
    def issue_date(self) -> date: ...
    @property
    def due_date(self) -> date: ...
    @property
    def amount_minor(self) -> int: ...
    @property
    def open_minor(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def reference(self) -> str: ...
    @property
    def default_from(self) -> date | None: ...
    @property
    def contract_rate_percent(self) -> Decimal | None: ...


@dataclass(slots=True)
class InvoiceFacts:
    """An invoice's figures as the database holds them (``default_from``/``default_rule`` are updated by
    the run that starts default, together with the row)."""

    pk: int
    debtor_id: int
    number: str
    issue_date: date
    due_date: date
    amount_minor: int
    open_minor: int
    currency: str
    reference: str
    default_from: date | None
    default_rule: str
    contract_rate_percent: Decimal | None


FACT_FIELDS = (
    "id",
    "debtor_id",
    "number",
    "issue_date",
    "due_date",
    "amount_minor",
    "open_minor",
    "currency",
    "reference",
    "default_from",
    "default_rule",
    "contract_rate_percent",
)


def invoice_facts(invoice_ids: Iterable[int]) -> dict[int, InvoiceFacts]:
    """Invoice id -> its :class:`InvoiceFacts`, in one query."""
    return {
        row[0]: InvoiceFacts(*row)
        for row in Invoice.objects.filter(id_in(Invoice, "id", invoice_ids)).values_list(*FACT_FIELDS)
    }
