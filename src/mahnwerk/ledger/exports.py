"""Data out for accounting: open items, payments and the timeline as rows, and CSV / XLSX writers.

Each export is one function returning an iterator of rows (dicts keyed by the export's column keys);
the ``mahnwerk export`` command and a web download share them. Rows are produced chunk by chunk
(keyset pagination, a fixed number of queries per chunk, never one per debtor), so memory stays
constant however large the company is.

Money leaves as :class:`~decimal.Decimal` in major units with the currency in its own column, dates
as :class:`~datetime.date`. What the system names — how default began, the timeline's texts with the choices,
amounts and dates in them, who acted — is written in the export's language when the row is made, whatever
language is active; what users named (customers, playbook steps, references) leaves as they wrote it, and
codes (currencies, the timeline's event kinds) as they are. The open items carry the statement of account's figures
(``ledger.claims.statement``): the same ``claim_views`` computed for a chunk of debtors at a time.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Protocol

from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from mahnwerk.collection.models import ActionItem, ActionStatus
from mahnwerk.core.money import digits, to_decimal
from mahnwerk.ledger.claims import claim_views, default_rule_label, law_for
from mahnwerk.ledger.models import Allocation, Company, Debtor, Invoice, Payment, TimelineEvent
from mahnwerk.ledger.timeline_display import actor_label, describe

CHUNK_SIZE = 500  # debtors (open items) or payments per chunk; timeline rows are fetched this many at a time

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an export: its key in the rows, its header and how its cells are typed."""

    key: str
    label: str | Promise
    kind: str = "text"  # text | date | datetime | money | int


OPEN_ITEM_COLUMNS = (
    Column("debtor_number", _("debtor number")),
    Column("debtor_name", _("debtor name")),
    Column("invoice_number", _("invoice number")),
    Column("issue_date", _("issue date"), "date"),
    Column("due_date", _("due date"), "date"),
    Column("currency", _("currency")),
    Column("amount", _("amount"), "money"),
    Column("principal_open", _("principal open"), "money"),
    Column("interest_to_date", _("interest to date"), "money"),
    Column("costs_open", _("costs open"), "money"),
    Column("total_open", _("total open"), "money"),
    Column("default_from", _("default from"), "date"),
    Column("default_rule", _("default began by")),
    Column("last_step", _("last step"), "int"),
    Column("last_step_name", _("last step name")),
    Column("last_step_date", _("last step on"), "date"),
)

PAYMENT_COLUMNS = (
    Column("payment_id", _("payment id"), "int"),
    Column("value_date", _("value date"), "date"),
    Column("debtor_number", _("debtor number")),
    Column("debtor_name", _("debtor name")),
    Column("currency", _("currency")),
    Column("amount", _("amount"), "money"),
    Column("reference", _("reference")),
    Column("payer", _("payer")),
    Column("invoice_number", _("invoice number")),
    Column("principal_paid", _("principal paid"), "money"),
    Column("interest_paid", _("interest paid"), "money"),
    Column("costs_paid", _("costs paid"), "money"),
    Column("unallocated", _("unallocated credit"), "money"),
    Column("reversed_on", _("reversed on"), "date"),
)

TIMELINE_COLUMNS = (
    Column("date", _("date"), "date"),
    Column("at", _("recorded at (UTC)"), "datetime"),
    Column("debtor_number", _("debtor number")),
    Column("debtor_name", _("debtor name")),
    Column("kind", _("kind")),
    Column("actor", _("actor")),
    Column("text", _("text")),
)


def _money(minor: int, currency: str) -> Decimal:
    return to_decimal(minor, currency)


# --- open items ---------------------------------------------------------------------------------------


def _debtor_chunks(company: Company, chunk_size: int) -> Iterator[list[tuple[int, str, str, str, str, str]]]:
    """The company's debtors by customer number, ``chunk_size`` at a time (keyset pagination)."""
    after: str | None = None
    while True:
        qs = Debtor.objects.filter(company=company)
        if after is not None:
            qs = qs.filter(number__gt=after)
        chunk = list(
            qs.order_by("number").values_list("id", "number", "name", "kind", "country", "jurisdiction")[
                :chunk_size
            ]
        )
        if not chunk:
            return
        yield chunk
        if len(chunk) < chunk_size:
            return
        after = chunk[-1][1]


def _last_steps(invoice_ids: list[int], as_of: date) -> dict[int, tuple[int, str, date]]:
    """Per invoice: the level, name and date of the last collection step it received up to ``as_of``."""
    last: dict[int, tuple[int, str, date]] = {}
    for invoice_id, level, name, on in (
        ActionItem.objects.filter(
            invoice_id__in=invoice_ids, status=ActionStatus.ACTIVE, action__as_of__lte=as_of
        )
        .order_by("action__as_of", "level", "id")
        .values_list("invoice_id", "level", "action__step__name", "action__as_of")
    ):
        last[invoice_id] = (level, name, on)  # ordered: the last one wins
    return last


def open_items(
    company: Company, as_of: date, *, language: str = "en", chunk_size: int = CHUNK_SIZE
) -> Iterator[Row]:
    """Every invoice with something open as of ``as_of`` — principal, interest to date, costs — with the
    statement of account's figures, by debtor number, then due date and invoice number; how default began
    in ``language``, the last step's name as the playbook names it.

    Per chunk of debtors: one query for the debtors, one for their invoices, ``claim_views``' queries
    (allocations, charges, waivers) and one for the last steps.
    """
    still_open = Q(open_minor__gt=0) | Q(charges__open_minor__gt=0)
    if company.claim_interest:  # principal paid after default began: interest may still be open
        still_open |= Q(
            open_minor=0,
            settled_on__isnull=False,
            default_from__isnull=False,
            default_from__lte=F("settled_on"),
        )
    for chunk in _debtor_chunks(company, chunk_size):
        debtors = {pk: (number, name) for pk, number, name, *_rest in chunk}
        laws = {
            pk: law_for(company, kind, country, jurisdiction)
            for pk, _n, _m, kind, country, jurisdiction in chunk
        }
        invoices = list(
            Invoice.objects.filter(company=company, debtor_id__in=list(debtors), issue_date__lte=as_of)
            .filter(still_open)
            .distinct()
            .order_by("debtor_id", "due_date", "number")
            .only(
                "id",
                "debtor_id",
                "number",
                "issue_date",
                "due_date",
                "currency",
                "amount_minor",
                "open_minor",
                "settled_on",
                "default_from",
                "default_rule",
                "due_date_agreed",
                "contract_rate_percent",
            )
        )
        if not invoices:
            continue
        views = claim_views(company, invoices, laws, as_of)
        steps = _last_steps([inv.pk for inv in invoices], as_of)
        with translation.override(language):
            rules = {rule: default_rule_label(rule) for rule in {inv.default_rule for inv in invoices}}
        rows: list[Row] = []
        for inv in invoices:
            view = views[inv.pk]
            if view.total_open == 0:
                continue
            number, name = debtors[inv.debtor_id]
            level, step_name, step_on = steps.get(inv.pk, (None, "", None))
            cur = inv.currency
            rows.append(
                {
                    "debtor_number": number,
                    "debtor_name": name,
                    "invoice_number": inv.number,
                    "issue_date": inv.issue_date,
                    "due_date": inv.due_date,
                    "currency": cur,
                    "amount": _money(inv.amount_minor, cur),
                    "principal_open": _money(view.principal_open, cur),
                    "interest_to_date": _money(view.interest_open, cur),
                    "costs_open": _money(view.costs_open, cur),
                    "total_open": _money(view.total_open, cur),
                    "default_from": view.default_from,
                    "default_rule": rules[inv.default_rule],
                    "last_step": level,
                    "last_step_name": step_name,
                    "last_step_date": step_on,
                }
            )
        rows.sort(key=lambda r: (r["debtor_number"], r["due_date"], r["invoice_number"]))
        yield from rows


# --- payments -------------------------------------------------------------------------------------------


def payments(
    company: Company,
    date_from: date | None = None,
    date_to: date | None = None,
    *,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[Row]:
    """Every payment with a value date in the period: one row per invoice it paid (principal, interest and
    costs paid), one row without an invoice when it paid none; its amount and unallocated credit repeat on
    each of its rows. Write-offs and credit notes are no payments and do not appear.

    Per chunk of payments: one query for the payments, one for their allocations.
    """
    base = Payment.objects.filter(company=company)
    if date_from is not None:
        base = base.filter(value_date__gte=date_from)
    if date_to is not None:
        base = base.filter(value_date__lte=date_to)
    after: tuple[date, int] | None = None
    while True:
        qs = base
        if after is not None:
            qs = qs.filter(Q(value_date__gt=after[0]) | Q(value_date=after[0], id__gt=after[1]))
        chunk = list(
            qs.order_by("value_date", "id").values(
                "id",
                "value_date",
                "amount_minor",
                "currency",
                "reference",
                "payer",
                "unallocated_minor",
                "debtor__number",
                "debtor__name",
                "reversal__reversed_on",
            )[:chunk_size]
        )
        if not chunk:
            return
        paid: dict[int, dict[str, dict[str, int]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(int))
        )
        for payment_id, number, component, amount in (
            Allocation.objects.filter(payment_id__in=[p["id"] for p in chunk])
            .order_by("invoice__due_date", "invoice__number", "id")
            .values_list("payment_id", "invoice__number", "component", "amount_minor")
        ):
            paid[payment_id][number][component] += amount
        for p in chunk:
            cur = p["currency"]
            head = {
                "payment_id": p["id"],
                "value_date": p["value_date"],
                "debtor_number": p["debtor__number"],
                "debtor_name": p["debtor__name"],
                "currency": cur,
                "amount": _money(p["amount_minor"], cur),
                "reference": p["reference"],
                "payer": p["payer"],
                "unallocated": _money(p["unallocated_minor"], cur),
                "reversed_on": p["reversal__reversed_on"],
            }
            parts = paid.get(p["id"]) or {"": {}}
            for number, components in parts.items():
                yield {
                    **head,
                    "invoice_number": number,
                    "principal_paid": _money(components.get("principal", 0), cur),
                    "interest_paid": _money(components.get("interest", 0), cur),
                    "costs_paid": _money(components.get("costs", 0) + components.get("penalty", 0), cur),
                }
        if len(chunk) < chunk_size:
            return
        after = (chunk[-1]["value_date"], chunk[-1]["id"])


# --- timeline -------------------------------------------------------------------------------------------


def timeline(
    company: Company,
    date_from: date | None = None,
    date_to: date | None = None,
    *,
    language: str = "en",
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[Row]:
    """The timeline events of the period by business date, each rendered in ``language`` as the case file
    shows it (choices, amounts and dates in the text the language's way; who acted). One query, read
    ``chunk_size`` rows at a time."""
    qs = TimelineEvent.objects.filter(company=company)
    if date_from is not None:
        qs = qs.filter(business_date__gte=date_from)
    if date_to is not None:
        qs = qs.filter(business_date__lte=date_to)
    qs = (
        qs.select_related("debtor")
        .only("id", "business_date", "at", "kind", "actor", "note", "data", "debtor__number", "debtor__name")
        .order_by("business_date", "id")
    )
    for event in qs.iterator(chunk_size=chunk_size):
        with translation.override(language):  # not around the yield: the caller's language stays its own
            text, actor = describe(event), actor_label(event.actor)
        yield {
            "date": event.business_date,
            "at": event.at,
            "debtor_number": event.debtor.number,
            "debtor_name": event.debtor.name,
            "kind": event.kind,
            "actor": actor,
            "text": text,
        }


EXPORTS: dict[str, tuple[Column, ...]] = {
    "open-items": OPEN_ITEM_COLUMNS,
    "payments": PAYMENT_COLUMNS,
    "timeline": TIMELINE_COLUMNS,
}
TITLES: dict[str, str | Promise] = {
    "open-items": _("Open items"),
    "payments": _("Payments"),
    "timeline": _("Timeline"),
}


def export_title(kind: str, language: str) -> str:
    """The export's name in ``language``, as an XLSX sheet may be named (at most 31 characters, none of
    ``[]:*?/\\``)."""
    with translation.override(language):
        title = str(TITLES.get(kind, kind))
    return "".join(c for c in title if c not in "[]:*?/\\")[:31] or "export"


# --- writers --------------------------------------------------------------------------------------------

# Locales whose spreadsheets expect ";" between fields and a decimal comma.
COMMA_LOCALES = frozenset({"de", "lv"})


def export_language(locale: str | None, language: str | None, default: str) -> str:
    """The language of an export's headers and texts: the one asked for, else the locale's, else ``default``
    (the company's).

    The number rule goes with it (:func:`write_csv`): without a locale a CSV is the unambiguous form for
    programs (``,`` between fields, a decimal point); a locale asks for a CSV as that language's spreadsheets
    open it (de, lv: ``;`` and a decimal comma; en: ``,`` and a point). XLSX cells are numbers and dates in
    every case, so there the locale chooses the language only. Dates are ISO (YYYY-MM-DD) in every CSV.
    """
    return language or locale or default


class TextSink(Protocol):
    """Where CSV text goes: an open text file, a response, the command's output."""

    def write(self, text: str, /) -> Any: ...


def _headers(columns: Iterable[Column], language: str) -> list[str]:
    with translation.override(language):
        return [str(c.label) for c in columns]


def _csv_cell(value: Any, column: Column, decimal_comma: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _naive_utc(value).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.replace(".", ",") if decimal_comma else text
    return str(value)


def write_csv(
    rows: Iterable[Row],
    columns: Iterable[Column],
    out: TextSink,
    *,
    locale: str | None = None,
    language: str = "en",
) -> int:
    """Write ``rows`` as CSV to ``out`` (opened with ``newline=""``): a UTF-8 byte order mark for Excel,
    then a header row in ``language``; ``;`` and a decimal comma for ``locale`` de or lv, else (en, or no
    locale) ``,`` and ``.``; ISO dates. Returns the number of rows written."""
    cols = list(columns)
    comma = locale in COMMA_LOCALES
    writer = csv.writer(out, delimiter=";" if comma else ",", lineterminator="\r\n")
    out.write("\ufeff")
    writer.writerow(_headers(cols, language))
    count = 0
    for row in rows:
        writer.writerow([_csv_cell(row.get(c.key), c, comma) for c in cols])
        count += 1
    return count


def _money_format(currency: str) -> str:
    places = digits(currency)
    return "#,##0" + ("." + "0" * places if places else "")


def write_xlsx(
    rows: Iterable[Row],
    columns: Iterable[Column],
    path: Path | str | IO[bytes],
    *,
    title: str = "export",
    language: str = "en",
) -> int:
    """Write ``rows`` as an XLSX workbook (write-only: constant memory): a bold, frozen header row, numbers
    as number cells with the currency's decimal places, dates as date cells. Returns the rows written."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    cols = list(columns)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for label in _headers(cols, language):
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    formats: dict[str, str] = {}
    count = 0
    for row in rows:
        cells: list[Any] = []
        for c in cols:
            value = row.get(c.key)
            if value is None or value == "":
                cells.append(None)
                continue
            cell = WriteOnlyCell(sheet, value=_xlsx_value(value))
            if c.kind == "money":
                currency = str(row.get("currency") or "EUR")
                if currency not in formats:
                    formats[currency] = _money_format(currency)
                cell.number_format = formats[currency]
            elif c.kind == "date":
                cell.number_format = "yyyy-mm-dd"
            elif c.kind == "datetime":
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            cells.append(cell)
        sheet.append(cells)
        count += 1
    book.save(path)
    return count


def _naive_utc(value: datetime) -> datetime:
    """A timestamp in UTC without its time zone (spreadsheets know none)."""
    return value.astimezone(UTC).replace(tzinfo=None) if timezone.is_aware(value) else value


def _xlsx_value(value: Any) -> Any:
    return _naive_utc(value) if isinstance(value, datetime) else value


def export_rows(
    kind: str,
    company: Company,
    *,
    as_of: date,
    date_from: date | None = None,
    date_to: date | None = None,
    language: str = "en",
    chunk_size: int = CHUNK_SIZE,
) -> tuple[tuple[Column, ...], Iterator[Row]]:
    """The columns and rows of the export ``kind`` (``open-items``, ``payments``, ``timeline``), what the
    system names in them in ``language``."""
    makers: dict[str, Callable[[], Iterator[Row]]] = {
        "open-items": lambda: open_items(company, as_of, language=language, chunk_size=chunk_size),
        "payments": lambda: payments(company, date_from, date_to, chunk_size=chunk_size),
        "timeline": lambda: timeline(company, date_from, date_to, language=language, chunk_size=chunk_size),
    }
    if kind not in makers:
        raise ValueError(f"unknown export {kind!r}")
    return EXPORTS[kind], makers[kind]()
