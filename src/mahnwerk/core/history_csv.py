"""Import of a plain invoice-history CSV (one row per invoice) into :class:`InvoiceRecord` objects.

A column mapping names, for each CSV column that is used, the field it fills (``column=field``).
Fields:

================  ==========================================================================
invoice_date      required; the date the invoice was issued (what the prediction may know)
due_date          required
amount            required; the invoice total in major units ("1234.56", "1.234,56")
customer          required; the debtor's name or number
paid_date         the date the invoice was fully paid; empty while open
days_to_pay       alternative to ``paid_date``: days from the invoice date to the payment
outstanding       amount still open at the time of the export; 0 means fully paid
settled           amount paid so far (used for the date of a partial payment)
invoice_number    optional; ``row-<line>`` when missing
created           optional; when the record was entered (checked, not used for predictions)
================  ==========================================================================

Either ``paid_date``, or ``days_to_pay`` together with ``outstanding``, is needed to know payments.

The public sample ``invoices_public_sample.csv`` (8,753 invoices of 3,276 customers, invoice dates
2011-03-24 .. 2017-11-05) has these columns; what they mean, as checked against the data:

* ``Description`` - free text of the invoice, empty on 7,492 rows; not used.
* ``Vendor_Name`` - despite the name, the *customer* who owes the money (3,276 names; 2,581 appear once).
* ``Created`` - when the row was entered (``26-04-2011 11:50``). Usually the invoice date, up to months
  later for some rows; in 389 rows it lies *before* the invoice date. The payment date never lies before
  it, so it is a bookkeeping date, not information an invoice-date prediction could use.
* ``Invoice_Date``, ``Due_Date`` - ``26-Apr-11`` style dates; terms are 30 days on 64 % of rows, 14 on 12 %,
  and range from 1 to 79 days; no due date lies before its invoice date.
* ``Amount`` - invoice total; always > 0 and always ``Settled + Outstanding``.
* ``Settled``, ``Outstanding`` - paid and still open at the export. 634 rows are partly paid (no row is
  wholly unpaid); their remainder is treated as open.
* ``Number_of_Days_until_Payment`` - days from the invoice date to the (last) payment, -23 .. 141. For
  fully paid rows the paid date is ``Invoice_Date + days``; for a partly paid row it is the date of the
  partial payment. The 9 negative values are rows whose ``Created`` date lies before the invoice date:
  the payment was booked on the ``Created`` day; they are kept as paid early.
* The export date is not in the file; it is taken as the latest date seen in it (2017-11-08, a payment
  date), which :attr:`HistoryImport.as_of` reports.

There is no invoice number: 117 (customer, invoice date, amount) combinations occur more than once,
some of them the same invoice with different partial payments; one row is an exact duplicate. Rows are
kept as they are (each one an invoice, numbered by its line) and the duplicates are reported as a warning.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import InvalidOperation
from functools import lru_cache
from pathlib import Path

from mahnwerk.core.behaviour import InvoiceRecord, Reason, gettext_noop
from mahnwerk.core.money import MoneyError, to_minor

FIELDS = (
    "invoice_date",
    "due_date",
    "amount",
    "customer",
    "paid_date",
    "days_to_pay",
    "outstanding",
    "settled",
    "invoice_number",
    "created",
)
REQUIRED = ("invoice_date", "due_date", "amount", "customer")

PUBLIC_SAMPLE_MAPPING: Mapping[str, str] = {
    "Vendor_Name": "customer",
    "Invoice_Date": "invoice_date",
    "Due_Date": "due_date",
    "Amount": "amount",
    "Settled": "settled",
    "Outstanding": "outstanding",
    "Number_of_Days_until_Payment": "days_to_pay",
    "Created": "created",
}

DATE_FORMATS = ("%Y-%m-%d", "%d-%b-%y", "%d-%b-%Y", "%d.%m.%Y", "%d/%m/%Y", "%d.%m.%y")
DATETIME_FORMATS = (
    "%d-%m-%Y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d.%m.%Y %H:%M",
)
MAX_ERRORS = 50


@dataclass(frozen=True, slots=True)
class RowError:
    line: int  # line number in the file (the header is line 1)
    column: str
    message: Reason

    def render(self, translate: Callable[[str], str] | None = None) -> str:
        tr = translate or (lambda message: message)
        return tr(gettext_noop("line {line}, column {column}: {message}")).format(
            line=self.line, column=self.column, message=self.message.render(tr)
        )


class HistoryCsvError(ValueError):
    """The file cannot be imported; ``errors`` names each bad row and column (at most 50)."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(e.render() for e in self.errors))


@dataclass(frozen=True, slots=True)
class HistoryImport:
    records: list[InvoiceRecord]
    as_of: date  # the export date: the latest date found in the file
    warnings: list[Reason] = field(default_factory=list)


def parse_mapping(pairs: Iterable[str]) -> dict[str, str]:
    """``["Vendor_Name=customer", ...]`` -> ``{"Vendor_Name": "customer"}``; checks the field names."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        column, sep, target = pair.rpartition("=")
        if not sep or not column or target not in FIELDS:
            raise ValueError(f"bad mapping {pair!r}: use COLUMN=FIELD with FIELD one of {', '.join(FIELDS)}")
        mapping[column] = target
    return mapping


def default_mapping(header: Sequence[str]) -> dict[str, str]:
    """Columns named like the fields map to them; the public sample's columns are recognised."""
    if all(column in header for column in PUBLIC_SAMPLE_MAPPING):
        return dict(PUBLIC_SAMPLE_MAPPING)
    return {column: column.strip().lower() for column in header if column.strip().lower() in FIELDS}


def _pick_format(values: Iterable[str], formats: Sequence[str]) -> str | None:
    for value in values:
        value = value.strip()
        if not value:
            continue
        for fmt in formats:
            try:
                datetime.strptime(value, fmt)
            except ValueError:
                continue
            return fmt
        return None
    return formats[0]


@lru_cache(maxsize=65536)
def _strpdate(value: str, fmt: str) -> date:
    return datetime.strptime(value, fmt).date()


def _amount(text: str, currency: str) -> int:
    """ "1234.56", "1,234.56", "1.234,56" and "1234,56" are all 1234.56."""
    value = text.strip().replace(" ", "").replace("\u00a0", "")
    if "," in value and "." in value:
        if value.rfind(",") > value.rfind("."):
            value = value.replace(".", "").replace(",", ".")
        else:
            value = value.replace(",", "")
    elif "," in value:
        value = value.replace(",", ".")
    return to_minor(value, currency)


def read_history(
    source: str | Path | io.TextIOBase,
    mapping: Mapping[str, str] | None = None,
    currency: str = "EUR",
    delimiter: str | None = None,
) -> HistoryImport:
    """Read and validate the whole file; raise :class:`HistoryCsvError` listing bad rows and columns.

    ``mapping`` is ``{column: field}``; when None, :func:`default_mapping` is used.
    """
    if isinstance(source, (str, Path)):
        with open(source, newline="", encoding="utf-8-sig") as handle:
            text = handle.read()
    else:
        text = source.read()
    if delimiter is None:
        first = text.split("\n", 1)[0]
        delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise HistoryCsvError([RowError(1, "-", Reason(gettext_noop("The file is empty.")))]) from None
    rows = list(reader)
    mapping = dict(default_mapping(header) if mapping is None else mapping)
    errors: list[RowError] = []
    for column in mapping:
        if column not in header:
            errors.append(
                RowError(1, column, Reason(gettext_noop("The mapped column is not in the header.")))
            )
    col_of = {target: column for column, target in mapping.items()}
    for target in REQUIRED:
        if target not in col_of:
            errors.append(
                RowError(
                    1,
                    target,
                    Reason(
                        gettext_noop("No column is mapped to the required field {field}."), {"field": target}
                    ),
                )
            )
    if "paid_date" not in col_of and not {"days_to_pay", "outstanding"} <= col_of.keys():
        errors.append(
            RowError(
                1,
                "paid_date",
                Reason(
                    gettext_noop(
                        "Map a paid_date column, or days_to_pay together with outstanding, "
                        "to know the payments."
                    )
                ),
            )
        )
    if errors:
        raise HistoryCsvError(errors)
    index = {column: header.index(column) for column in mapping}

    def cell(row: list[str], target: str) -> str:
        column = col_of.get(target)
        if column is None:
            return ""
        i = index[column]
        return row[i].strip() if i < len(row) else ""

    date_fmt: dict[str, str] = {}
    for target in ("invoice_date", "due_date", "paid_date"):
        if target in col_of:
            fmt = _pick_format((cell(r, target) for r in rows), DATE_FORMATS)
            date_fmt[target] = fmt or DATE_FORMATS[0]
    if "created" in col_of:
        date_fmt["created"] = (
            _pick_format((cell(r, "created") for r in rows), DATETIME_FORMATS + DATE_FORMATS) or ""
        )

    def parse_date(row: list[str], target: str, line: int, required: bool) -> date | None:
        value = cell(row, target)
        if not value:
            if required:
                errors.append(RowError(line, col_of[target], Reason(gettext_noop("A date is required."))))
            return None
        try:
            return _strpdate(value, date_fmt[target])
        except ValueError:
            errors.append(
                RowError(
                    line,
                    col_of[target],
                    Reason(
                        gettext_noop('"{value}" is not a date in the column\'s format {format}.'),
                        {"value": value, "format": date_fmt[target]},
                    ),
                )
            )
            return None

    def parse_amount(row: list[str], target: str, line: int) -> int | None:
        value = cell(row, target)
        try:
            return _amount(value, currency)
        except (MoneyError, InvalidOperation):
            errors.append(
                RowError(
                    line,
                    col_of[target],
                    Reason(
                        gettext_noop('"{value}" is not an amount in {currency}.'),
                        {"value": value, "currency": currency},
                    ),
                )
            )
            return None

    records: list[InvoiceRecord] = []
    latest = date.min
    seen: Counter[tuple[str, ...]] = Counter()
    for offset, row in enumerate(rows):
        line = offset + 2
        if not any(c.strip() for c in row):
            continue
        if len(errors) >= MAX_ERRORS:
            break
        seen[tuple(row)] += 1
        customer = cell(row, "customer")
        if not customer:
            errors.append(
                RowError(line, col_of["customer"], Reason(gettext_noop("The customer is missing.")))
            )
        issued = parse_date(row, "invoice_date", line, True)
        due = parse_date(row, "due_date", line, True)
        amount = parse_amount(row, "amount", line)
        if amount is not None and amount <= 0:
            errors.append(
                RowError(line, col_of["amount"], Reason(gettext_noop("The amount must be positive.")))
            )
            amount = None
        if issued and due and due < issued:
            errors.append(
                RowError(
                    line,
                    col_of["due_date"],
                    Reason(gettext_noop("The due date lies before the invoice date.")),
                )
            )
        if "created" in col_of and cell(row, "created"):
            try:
                created = _strpdate(cell(row, "created"), date_fmt["created"])
                latest = max(latest, created)
            except ValueError:
                errors.append(
                    RowError(
                        line,
                        col_of["created"],
                        Reason(
                            gettext_noop('"{value}" is not a date in the column\'s format {format}.'),
                            {"value": cell(row, "created"), "format": date_fmt["created"]},
                        ),
                    )
                )

        paid: date | None = None
        partial: tuple[tuple[date, int], ...] = ()
        if "paid_date" in col_of:
            paid = parse_date(row, "paid_date", line, False)
        if "days_to_pay" in col_of and issued is not None and amount is not None:
            outstanding = parse_amount(row, "outstanding", line) if "outstanding" in col_of else 0
            days_text = cell(row, "days_to_pay")
            days: int | None = None
            if days_text:
                try:
                    days = int(days_text)
                except ValueError:
                    errors.append(
                        RowError(
                            line,
                            col_of["days_to_pay"],
                            Reason(
                                gettext_noop('"{value}" is not a whole number of days.'), {"value": days_text}
                            ),
                        )
                    )
            if outstanding is not None:
                if outstanding < 0 or outstanding > amount:
                    errors.append(
                        RowError(
                            line,
                            col_of["outstanding"],
                            Reason(
                                gettext_noop(
                                    "The outstanding amount must lie between 0 and the invoice amount."
                                )
                            ),
                        )
                    )
                elif outstanding == 0 and paid is None:
                    if days is None:
                        errors.append(
                            RowError(
                                line,
                                col_of["days_to_pay"],
                                Reason(gettext_noop("A paid invoice needs its days until payment.")),
                            )
                        )
                    else:
                        paid = issued + timedelta(days=days)
                elif outstanding > 0 and days is not None and outstanding < amount:
                    partial = ((issued + timedelta(days=days), amount - outstanding),)
                    paid = None
        if paid is not None and issued is not None:
            latest = max(latest, paid)
        for when, _ in partial:
            latest = max(latest, when)
        if issued is not None:
            latest = max(latest, issued)
        if customer and issued and due and amount is not None and not (due < issued):
            number = cell(row, "invoice_number") or f"row-{line}"
            records.append(InvoiceRecord(number, customer, issued, due, amount, paid, partial, currency))
    if errors:
        raise HistoryCsvError(errors[:MAX_ERRORS])
    if not records:
        raise HistoryCsvError([RowError(2, "-", Reason(gettext_noop("The file has no invoice rows.")))])
    warnings: list[Reason] = []
    duplicates = sum(n - 1 for n in seen.values() if n > 1)
    if duplicates:
        warnings.append(
            Reason(
                gettext_noop(
                    "Rows that repeat an earlier row exactly: {count}; each is imported as its own invoice."
                ),
                {"count": duplicates},
            )
        )
    numbers = Counter(r.invoice_id for r in records)
    repeated = [n for n, c in numbers.items() if c > 1]
    if repeated:
        raise HistoryCsvError(
            [
                RowError(
                    1,
                    col_of.get("invoice_number", "-"),
                    Reason(
                        gettext_noop("Invoice numbers repeat: {numbers}."),
                        {"numbers": ", ".join(sorted(repeated)[:10])},
                    ),
                )
            ]
        )
    return HistoryImport(records, latest, warnings)
