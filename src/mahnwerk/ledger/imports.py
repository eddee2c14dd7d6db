"""Spreadsheet imports (CSV and XLSX) of debtors, invoices and payments: every cell checked first, then
written atomically.

An error names the row as a spreadsheet shows it (header = row 1) and the column; nothing is written unless
every row is valid. Cells are read strictly (:mod:`mahnwerk.core.tabular`): a date column's format is the
one that reads all its values, an amount column's decimal separator is inferred from its values, amounts are
bounded, every text is checked against its database column's length. Headers are read in any spelling
and under their common other names (:func:`resolve_columns`); ``options.mapping`` renames file columns to our
field names (``{"Nr": "number"}``); columns nobody knows are listed and ignored (refused with
``options.strict``). An invoice file may name customers instead of numbering them, and say what is still open
of each invoice (an open-item list). Mappings can be saved per company and source as JSON files in the data
directory (:func:`save_mapping`, :func:`load_mapping`).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import tomllib
import zipfile
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple, cast, overload

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from mahnwerk.core import tabular
from mahnwerk.core.collector import collector_paused
from mahnwerk.core.rulesets import RuleSetError
from mahnwerk.core.sms import is_phone_number
from mahnwerk.core.tabular import MAX_DATE, MIN_DATE, DateFormat, TabularError
from mahnwerk.ledger import services, timeline
from mahnwerk.ledger.bulk import bulk_insert, bulk_insert_rows
from mahnwerk.ledger.claims import rules_begin
from mahnwerk.ledger.models import (
    ChannelChoice,
    Company,
    Contact,
    ContactKind,
    Debtor,
    DebtorKind,
    Invoice,
    Jurisdiction,
    Language,
    Payment,
    Salutation,
    validate_channels,
    validate_time_zone,
)
from mahnwerk.ledger.setup import country_codes

Cell = str | date | Decimal
Row = dict[str, Cell]
Rows = list[tuple[int, Row]]


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        # row 0: the file as a whole (its encoding, its header); column "-": the row as a whole
        if self.row == 0:
            if self.column == "-":
                return self.message
            return _("column '{column}': {message}").format(column=self.column, message=self.message)
        if self.column == "-":
            return _("row {row}: {message}").format(row=self.row, message=self.message)
        return _("row {row}, column '{column}': {message}").format(
            row=self.row, column=self.column, message=self.message
        )


class ImportFailed(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        shown = "\n".join(f"  {e}" for e in errors[:50])
        more = f"\n  ... and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(f"{len(errors)} error(s), nothing was imported:\n{shown}{more}")


@dataclass
class ImportResult:
    kind: str
    created: int
    details: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False


@dataclass
class ImportOptions:
    """How to read a file: column mapping, unknown columns refused (``strict``), the date format and decimal
    separator when they cannot be inferred, the accepted date range, the XLSX sheet."""

    mapping: dict[str, str] = field(default_factory=dict)
    strict: bool = False
    date_format: str | None = None
    decimal: str | None = None
    min_date: date = MIN_DATE
    max_date: date = MAX_DATE
    sheet: str | None = None
    header_row: int = 1  # the row of the file's header, where a column's own error is reported (read_table)


FIELDS: dict[str, dict[str, bool]] = {
    # field -> required
    "debtors": {
        "number": True,
        "name": True,
        "kind": False,
        "language": False,
        "jurisdiction": False,
        "time_zone": False,
        "email": False,
        "phone": False,
        "street": False,
        "postcode": False,
        "city": False,
        "country": False,
        "preferred_channel": False,
        "salutation": False,
        "title": False,
        "family_name": False,
        "contact_person": False,
        "agreed_channels": False,
        "vat_id": False,
    },
    "invoices": {
        "number": True,
        "debtor": False,  # the customer number, or
        "debtor_name": False,  # the customer's name: one of them is required (ONE_OF)
        "issue_date": True,
        "due_date": True,
        "amount": True,
        "open_amount": False,  # what is still open of the amount, or
        "paid_amount": False,  # what was paid of it before the import
        "currency": False,
        "reference": False,
        "due_date_agreed": False,
        "received_on": False,
        "consumer_notice": False,
    },
    "payments": {
        "value_date": True,
        "amount": True,
        "currency": False,
        "reference": False,
        "payer": False,
        "debtor": False,
        "invoice": False,
        "external_id": False,
    },
}


def _column_names() -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """Other names columns commonly have (``core/data/column_names.toml``): per import, header key -> field;
    the specific ones and the loose ones (which give way to any other column naming the field)."""
    data = tomllib.loads(
        resources.files("mahnwerk.core").joinpath("data/column_names.toml").read_text(encoding="utf-8")
    )

    def table(section: dict[str, list[str]]) -> dict[str, str]:
        return {name: field for field, names in section.items() for name in names}

    loose = data.pop("loose", {})
    return (
        {kind: table(data.get(kind, {})) for kind in FIELDS},
        {kind: table(loose.get(kind, {})) for kind in FIELDS},
    )


# Other names a column of these fields commonly has, in English, German and Latvian (header key -> field)
ALIASES, LOOSE_ALIASES = _column_names()


def header_key(header: str) -> str:
    """A column header as :data:`ALIASES` writes it: case folded, every run of characters that are not
    letters or digits one ``_`` ("Due Date", "due-date" and "DUE_DATE" are all ``due_date``)."""
    return re.sub(r"[\W_]+", "_", header.casefold()).strip("_")


def resolve_columns(kind: str, header: Sequence[str], mapping: Mapping[str, str]) -> list[str]:
    """Our field name for each header (or the header itself, for a column we do not know). Most certain
    first: the caller's ``mapping``; a field's own name in any spelling; a common other name
    (:data:`ALIASES`); a general one (:data:`LOOSE_ALIASES`). When several columns would be the same field,
    the most certain is; the others stay unknown columns — unless they are equally certain, which
    :func:`read_table` then reports."""
    known = FIELDS[kind]
    aliases = ALIASES.get(kind, {})
    loose = LOOSE_ALIASES.get(kind, {})
    claims: list[tuple[str, int]] = []
    for h in header:
        key = header_key(h)
        if h in mapping:
            claims.append((mapping[h], 0))
        elif key in known:
            claims.append((key, 1))
        elif key in aliases:
            claims.append((aliases[key], 2))
        elif key in loose:
            claims.append((loose[key], 3))
        else:
            claims.append((h, 9))
    best: dict[str, int] = {}
    for name, rank in claims:
        if name in known:
            best[name] = min(rank, best.get(name, rank))
    return [
        name if rank == 9 or name not in known or rank == best[name] else h
        for h, (name, rank) in zip(header, claims, strict=True)
    ]


# at least one of these columns, per kind
ONE_OF: dict[str, tuple[str, ...]] = {"invoices": ("debtor", "debtor_name")}
DATE_FIELDS = {
    "debtors": (),
    "invoices": ("issue_date", "due_date", "received_on"),
    "payments": ("value_date",),
}
AMOUNT_FIELDS = {
    "debtors": (),
    "invoices": ("amount", "open_amount", "paid_amount"),
    "payments": ("amount",),
}
# field -> the database column whose length limits it
LENGTHS: dict[str, dict[str, tuple[type[models.Model], str]]] = {
    "debtors": {
        "number": (Debtor, "number"),
        "name": (Debtor, "name"),
        "time_zone": (Debtor, "time_zone"),
        "street": (Debtor, "street"),
        "postcode": (Debtor, "postcode"),
        "city": (Debtor, "city"),
        "country": (Debtor, "country"),
        "title": (Debtor, "title"),
        "family_name": (Debtor, "family_name"),
        "contact_person": (Debtor, "contact_person"),
        "agreed_channels": (Debtor, "agreed_channels"),
        "vat_id": (Debtor, "vat_id"),
    },
    "invoices": {
        "number": (Invoice, "number"),
        "debtor": (Debtor, "number"),
        "debtor_name": (Debtor, "name"),
        "reference": (Invoice, "reference"),
    },
    "payments": {
        "reference": (Payment, "reference"),
        "payer": (Payment, "payer"),
        "external_id": (Payment, "external_id"),
        "debtor": (Debtor, "number"),
        "invoice": (Invoice, "number"),
    },
}


def max_length(model: type[models.Model], name: str) -> int:
    length = model._meta.get_field(name).max_length  # type: ignore[union-attr]
    assert isinstance(length, int)
    return length


# --------------------------------------------------------------------------------------------------
# Reading files


class Records(Sequence[tuple[int, Row]]):
    """Rows held a column at a time: each row's number (as a spreadsheet shows it) and, per field, the cells of
    every row (``""`` where a row has no cell). Read by position, they are the (row number, row) pairs of
    :data:`Rows`; the importers read the columns as they are (a million rows are no million dicts).

    ``source``: the rows they were made of, when they were given as pairs (each row is then that pair's)."""

    def __init__(
        self,
        lines: list[int],
        columns: dict[str, list[Cell]],
        source: Sequence[tuple[int, Row]] | None = None,
    ) -> None:
        self.lines = lines
        self.columns = columns  # only the fields some row has a cell of
        self.source = source

    @classmethod
    def of(cls, rows: Sequence[tuple[int, Row]]) -> Records:
        """``rows`` a column at a time (as they are when they are :class:`Records` already)."""
        if isinstance(rows, Records):
            return rows
        present: dict[str, None] = {}
        for _line, row in rows:
            present.update(dict.fromkeys(row))
        columns = {name: [row.get(name, "") for _line, row in rows] for name in present}
        return cls([line for line, _row in rows], columns, rows)

    def row(self, k: int) -> Row:
        """The ``k``-th row as a dict of its cells."""
        if self.source is not None:
            return self.source[k][1]
        return {name: cells[k] for name, cells in self.columns.items()}

    def __len__(self) -> int:
        return len(self.lines)

    def __iter__(self) -> Iterator[tuple[int, Row]]:
        if self.source is not None:
            yield from self.source
            return
        for k, line in enumerate(self.lines):
            yield line, self.row(k)

    @overload
    def __getitem__(self, k: int) -> tuple[int, Row]: ...

    @overload
    def __getitem__(self, k: slice) -> list[tuple[int, Row]]: ...

    def __getitem__(self, k: int | slice) -> tuple[int, Row] | list[tuple[int, Row]]:
        if isinstance(k, slice):
            return [self[n] for n in range(len(self))[k]]
        if k < 0:
            k += len(self)
        if not 0 <= k < len(self):
            raise IndexError("row index out of range")
        return self.lines[k], self.row(k)


@dataclass
class Table:
    rows: Records
    warnings: list[str] = field(default_factory=list)
    header_row: int = 1


def _text(value: object) -> str:
    """A cell as text (numbers as written without a trailing ``.0``, dates as ISO)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    return str(value).strip()


# A file made by a person may start with a title, a date or a blank line above its header.
HEADER_SEARCH_ROWS = 20


def _delimiter(lines: Sequence[str]) -> str:
    """The delimiter of a CSV: the one a line of the file's start uses most often (a title line above the
    header may have none)."""
    best, most = ",", 0
    for line in lines:
        outside = re.sub(r'"[^"]*"', "", line)
        for d in (",", ";", "\t"):
            count = outside.count(d)
            if count > most or (count == most and count and d == ","):
                best, most = d, count
    return best


def _utf16_without_mark(head: bytes) -> bool:
    """Text whose every other byte is NUL (and only those): UTF-16 of Latin letters, without its mark."""
    if len(head) < 8:
        return False
    even, odd = head[0::2], head[1::2]
    for zeros, other in ((odd, even), (even, odd)):
        if zeros.count(0) > 0.9 * len(zeros) and other.count(0) < 0.1 * len(other):
            return True
    return False


def _read_csv(path: Path) -> tuple[list[tuple[int, list[Cell]]], str]:
    """Every record of the file with the row number a spreadsheet shows (blank lines count as rows)."""
    raw = path.read_bytes()
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode Text" (tab-separated)
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportFailed(
                [RowError(0, "-", _("the file starts as UTF-16 text but is not: save it as CSV (UTF-8)"))]
            ) from None
    elif _utf16_without_mark(raw[:4096]):
        raise ImportFailed(
            [
                RowError(
                    0,
                    "-",
                    _("the file looks like UTF-16 text without a byte-order mark: save it as CSV (UTF-8)"),
                )
            ]
        )
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = raw.decode("cp1252")
            except UnicodeDecodeError as exc:  # an old DOS code page (cp850), or no text at all
                raise ImportFailed(
                    [
                        RowError(
                            raw.count(b"\n", 0, exc.start) + 1,
                            "-",
                            _(
                                "the file is neither UTF-8 nor Windows-1252 text (byte 0x{byte:02X}): save it "
                                "as CSV (UTF-8)"
                            ).format(byte=raw[exc.start]),
                        )
                    ]
                ) from None
    delimiter = _delimiter(text.split("\n", HEADER_SEARCH_ROWS)[:HEADER_SEARCH_ROWS])
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    # (the reader's lists are the rows' cells: all text)
    return list(enumerate(cast("Iterator[list[Cell]]", records), start=1)), delimiter


def _read_xlsx(path: Path, sheet: str | None) -> list[tuple[int, list[Cell]]]:
    """Every row of the sheet that has a cell, with its row number."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # data_only: a formula cell gives the value the spreadsheet program saved with it
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise ImportFailed(
            [RowError(0, "-", _("cannot read the spreadsheet: {error}").format(error=exc))]
        ) from None
    try:
        if sheet is None:
            ws = workbook.worksheets[0]
        elif sheet in workbook.sheetnames:
            ws = workbook[sheet]
        else:
            raise ImportFailed(
                [
                    RowError(
                        0,
                        "-",
                        _("no sheet {sheet!r} (sheets: {sheets})").format(
                            sheet=sheet, sheets=", ".join(workbook.sheetnames)
                        ),
                    )
                ]
            )
        records: list[tuple[int, list[Cell]]] = []
        for row in ws.iter_rows():
            cells = list(row)
            number = next((c.row for c in cells if getattr(c, "row", None)), None)
            if number is not None:
                records.append((number, [_cell(c.value) for c in cells]))
        return records
    finally:
        workbook.close()


def _cell(value: object) -> Cell:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _text(value)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return _text(value)


def read_table(path: Path | str, kind: str, options: ImportOptions | None = None) -> Table:
    """Read a CSV (UTF-8 with or without BOM, or Windows-1252; comma, semicolon or tab) or XLSX file into
    (row number, row) pairs with our field names; column problems raise :class:`ImportFailed`."""
    options = options or ImportOptions()
    if kind not in FIELDS:
        raise ImportFailed([RowError(0, "-", _("unknown import kind {kind!r}").format(kind=kind))])
    path = Path(path)
    delimiter = ""
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        records = _read_xlsx(path, options.sheet)
    else:
        records, delimiter = _read_csv(path)
    warnings: list[str] = []
    header_row, header, body = _split_header(kind, records, options.mapping)
    above = [
        n
        for n, values in records[: len(records) - len(body)]
        if n < header_row and any(v != "" for v in values)
    ]
    if above:
        warnings.append(
            _("the header is row {row}; the rows above it ({rows}) are not read").format(
                row=header_row, rows=", ".join(map(str, above))
            )
        )
    known = FIELDS[kind]
    mapped = resolve_columns(kind, header, options.mapping)
    errors: list[RowError] = []
    unknown = [(orig, name) for orig, name in zip(header, mapped, strict=True) if name not in known and orig]
    missing = [f for f, required in known.items() if required and f not in mapped]
    if unknown and (options.strict or missing):
        errors += [
            RowError(
                header_row,
                orig,
                _("unknown column (known: {known}); use --map").format(known=", ".join(known)),
            )
            for orig, _name in unknown
        ]
    elif unknown:
        warnings.append(
            _(
                "unknown column(s) ignored: {columns} (known: {known}; --map reads them, --strict refuses them)"
            ).format(columns=", ".join(repr(orig) for orig, _name in unknown), known=", ".join(known))
        )
    errors += [RowError(header_row, f, "required column is missing") for f in missing]
    one_of = ONE_OF.get(kind, ())
    if one_of and not any(f in mapped for f in one_of):
        errors.append(
            RowError(
                header_row,
                one_of[0],
                _("required column is missing: {fields} (one of them)").format(fields=" or ".join(one_of)),
            )
        )
    seen: dict[str, str] = {}
    for orig, name in zip(header, mapped, strict=True):
        if name in known and name in seen:
            errors.append(
                RowError(
                    header_row,
                    orig,
                    _("column {first!r} is read as {field!r} already").format(first=seen[name], field=name),
                )
            )
        seen.setdefault(name, orig)
    unused = [c for c in options.mapping if c not in header]
    if unused:
        warnings.append(
            _("--map names column(s) not in the file: {columns}").format(columns=", ".join(unused))
        )
    if errors:
        raise ImportFailed(errors)
    keep = [(i, name) for i, name in enumerate(mapped) if name in known]
    # the columns a totals row leaves empty: the required ones that are no amount
    keys = [i for i, name in keep if known[name] and name not in AMOUNT_FIELDS[kind]]
    first_key = keys[0] if keys else None
    width = len(header)
    lines = [number for number, _values in body]
    cells = [values for _number, values in body]
    # most rows are plainly rows: as wide as the header, their first key cell text that cannot begin a totals
    # word (so not empty either); the others are looked at one by one
    plain = _NO_TOTAL_START
    look = (
        range(len(cells))
        if first_key is None
        else [
            k
            for k, values in enumerate(cells)
            if len(values) != width or type(key := values[first_key]) is not str or key[:1] not in plain
        ]
    )
    totals: list[str] = []
    dropped: set[int] = set()
    reach = width if len(look) < len(cells) else 0  # the cells the kept rows have (a plain row has all)
    for k in look:
        number, values = lines[k], cells[k]
        if not any(values) and all(v == "" for v in values):
            dropped.add(k)
            continue
        # (a row whose first key cell is text that cannot begin a totals word is no totals row)
        key = values[first_key] if first_key is not None and first_key < len(values) else ""
        cannot = type(key) is str and key != "" and key.lstrip()[:1].casefold() not in _TOTAL_INITIALS
        if not cannot and _is_totals_row(values, keys):
            totals.append(str(number))
            dropped.add(k)
            continue
        if len(values) > len(header):
            extra = (
                _(
                    "{count} values for {columns} columns; is a decimal comma unquoted in a comma-separated file? "
                    'Write "1234,56" in quotes, or separate the columns with semicolons'
                )
                if delimiter == ","
                else _("{count} values for {columns} columns")
            )
            errors.append(RowError(number, "-", extra.format(count=len(values), columns=len(header))))
            dropped.add(k)
            continue
        reach = max(reach, len(values))
        if len(values) < width:  # (a short row: no cell in the columns it does not reach)
            cells[k] = [*values, *[""] * (width - len(values))]
    if errors:
        raise ImportFailed(errors)
    if totals:
        warnings.append(_("totals row(s) not imported: row {rows}").format(rows=", ".join(totals)))
    if dropped:
        lines = [number for k, number in enumerate(lines) if k not in dropped]
        cells = [values for k, values in enumerate(cells) if k not in dropped]
    by_column = list(zip(*cells, strict=True))
    columns = {name: _stripped(by_column[i]) for i, name in keep if i < reach and cells}
    return Table(Records(lines, columns), warnings, header_row)


def _stripped(cells: Sequence[Cell]) -> list[Cell]:
    """A column's cells, text without the white space around it."""
    if set(map(type, cells)) == {str}:
        return list(map(str.strip, cast("Sequence[str]", cells)))
    return [value.strip() if isinstance(value, str) else value for value in cells]


def _split_header(
    kind: str, records: list[tuple[int, list[Cell]]], mapping: Mapping[str, str]
) -> tuple[int, list[str], list[tuple[int, list[Cell]]]]:
    """The header's row number, the header and the rows below it. The header is the first of the file's first
    non-empty rows that names every required column (a title, a date or a note may stand above it); when none
    does, the one naming most of our columns (else the first non-empty row), whose gaps are then reported."""
    filled = list(
        islice(
            (k for k, (_n, values) in enumerate(records) if any(v != "" for v in values)), HEADER_SEARCH_ROWS
        )
    )
    if not filled:
        return 1, [], []
    known = FIELDS[kind]
    required = [f for f, needed in known.items() if needed]
    one_of = ONE_OF.get(kind, ())
    at, most = filled[0], 0
    for k in filled[:HEADER_SEARCH_ROWS]:
        mapped = set(resolve_columns(kind, [_text(v).strip() for v in records[k][1]], mapping))
        if all(f in mapped for f in required) and (not one_of or any(f in mapped for f in one_of)):
            at = k
            break
        named = len(mapped & set(known))
        if named > most:  # no complete header: the row naming most of our columns, whose gaps are reported
            at, most = k, named
    number, values = records[at]
    return number, [_text(v).strip() for v in values], records[at + 1 :]


# What a totals row says instead of an invoice number ("Summe", "Gesamt: ", "Kopā", "Total EUR").
TOTAL_WORDS = frozenset(
    {"summe", "gesamt", "gesamtsumme", "insgesamt", "total", "totals", "sum", "kopā", "kopa"}
)


_TOTAL_INITIALS = frozenset(word[0] for word in TOTAL_WORDS)
# characters a cell can begin with when it is no totals word for sure (not white space, no initial of one);
# a cell beginning with any other is looked at
_NO_TOTAL_START = frozenset(
    c for c in map(chr, range(0x250)) if not c.isspace() and c.casefold() not in _TOTAL_INITIALS
)


def _is_totals_row(values: Sequence[Cell], keys: Sequence[int]) -> bool:
    """A row that sums the ones above: one of its cells starts with a totals word, and its required columns
    other than the amounts are empty (or hold that word)."""
    for i in keys:  # most rows: a key cell holding something other than a totals word
        value = values[i] if i < len(values) else ""
        if value != "" and (
            not isinstance(value, str)
            or value.lstrip()[:1].casefold() not in _TOTAL_INITIALS
            or not _is_total_word(value)
        ):
            return False
    return any(isinstance(value, str) and _is_total_word(value) for value in values)


def _is_total_word(value: str) -> bool:
    return _WORD_END.split(value.strip().casefold(), maxsplit=1)[0] in TOTAL_WORDS


_WORD_END = re.compile(r"[\s:]+")


def read_rows(path: Path | str, kind: str, mapping: Mapping[str, str] | None = None) -> Rows:
    """The rows of a file (see :func:`read_table`), the warnings dropped."""
    return list(read_table(path, kind, ImportOptions(mapping=dict(mapping or {}))).rows)


# --------------------------------------------------------------------------------------------------
# Checking cells


def _reason(exc: Exception) -> str:
    """What a cell's error says."""
    if isinstance(exc, TabularError):
        return exc.render(_)
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


@dataclass(frozen=True, slots=True)
class _Refused:
    reason: str


_UNKNOWN = object()


class _Validator:
    """Collects errors by row and column; reads cells with the formats found for their columns. The rows are
    read a column at a time (:class:`Records`); a row is known by its position ``k`` and its row number."""

    def __init__(self, kind: str, rows: Sequence[tuple[int, Row]], options: ImportOptions) -> None:
        self.kind = kind
        self.options = options
        self.errors: list[RowError] = []
        self.bad_lines: set[int] = set()
        self.known: dict[tuple[str, str], Any] = {}  # (column, text): what once() found
        self.pending: dict[int, list[RowError]] | None = None  # errors by row, while by_row() lasts
        self.dates: dict[str, DateFormat | None] = {}
        self.decimals: dict[str, str] = {}
        self.broken: set[str] = set()  # columns with a column-wide error: their cells are not read
        self.records = Records.of(rows)
        self.lines = self.records.lines
        self.columns = self.records.columns
        self.count = len(self.lines)
        # the columns the rows have (a column no row has is empty everywhere: nothing to read or detect)
        self.present: set[str] = set(self.columns)
        # the columns whose every cell is text (as every cell of a CSV file is)
        self.all_text = {column for column, cells in self.columns.items() if set(map(type, cells)) == {str}}
        for column in sorted(self.present):  # (a column at a time: a look at the whole of it first)
            cells = self.columns[column]
            texts = self._texts(column) if column in self.all_text else [v for v in cells if type(v) is str]
            if "\x00" in "".join(texts):
                for line, value in zip(self.lines, cells, strict=True):
                    if type(value) is str and "\x00" in value:
                        # no text holds one (PostgreSQL refuses it); a file with one is damaged or binary
                        self.add(line, column, _("contains a NUL character: not text"))
        for column in DATE_FIELDS[kind]:
            if column not in self.present:
                self.dates[column] = None
                continue
            try:
                if options.date_format:
                    self.dates[column] = tabular.date_format(options.date_format)
                else:
                    self.dates[column] = tabular.detect_date_format(self._texts(column))
            except TabularError as exc:
                self.column_error(column, exc)
        for column in AMOUNT_FIELDS[kind]:
            if column not in self.present:
                self.decimals[column] = options.decimal or "."
                continue
            try:
                self.decimals[column] = options.decimal or tabular.detect_decimal_separator(
                    self._texts(column)
                )
            except TabularError as exc:
                self.column_error(column, exc)
        self.limits = {column: max_length(*limit) for column, limit in LENGTHS[kind].items()}
        # whole columns read at once (core.tabular): per row, the date or amount or the error (None: a cell
        # not read with its column); a column none of whose cells are read has no entry
        self.read: dict[str, list[Any]] = {}
        self.currencies: dict[str, str | TabularError] = {}
        self.positive: dict[str, bool] = {}  # amount columns that may be zero or negative: False
        for column in DATE_FIELDS[kind]:
            if column in self.broken or column not in self.present:
                continue
            cells = self.columns[column]
            given = cells if column in self.all_text else [_date_cell(value) for value in cells]
            # (an empty cell is read too, but only by date_at(), which tells it from a wrong one)
            self.read[column] = tabular.parse_dates(
                cast("list[str | date]", given), self.dates.get(column), options.min_date, options.max_date
            )

    def _texts(self, column: str) -> list[str]:
        """The column's text cells."""
        cells = self.columns[column]
        if column in self.all_text:
            return cast("list[str]", cells)
        return [value for value in cells if isinstance(value, str)]

    def cell(self, k: int, column: str) -> Cell:
        """The cell of the ``k``-th row in ``column`` (``""`` when there is none)."""
        cells = self.columns.get(column)
        return "" if cells is None else cells[k]

    def column_error(self, column: str, exc: TabularError) -> None:
        self.errors.append(RowError(self.options.header_row, column, exc.render(_)))
        self.broken.add(column)

    def add(self, line: int, column: str, message: str) -> None:
        error = RowError(line, column, message)
        if self.pending is None:
            self.errors.append(error)
        else:
            self.pending.setdefault(line, []).append(error)
        self.bad_lines.add(line)

    @contextmanager
    def by_row(self) -> Iterator[None]:
        """Errors found a column at a time are listed row by row: each row's in the order they were found,
        the rows in the file's order (as if every cell had been checked row after row)."""
        self.pending = {}
        try:
            yield
        finally:
            pending, self.pending = self.pending, None
            if pending:
                self.errors += [e for line in self.lines if line in pending for e in pending[line]]

    # Whole columns, in row order, each as the cell reader of the same name gives it: the usual cell by a
    # look-up or a comprehension, any other (empty, refused, not read with the column) by that reader.

    def text_column(self, column: str) -> list[str]:
        """:meth:`text` of the column's cell in every row."""
        if column not in self.present:
            return [""] * self.count
        cells = self.columns[column]
        if column in self.all_text:
            values = list(map(str.strip, cast("list[str]", cells)))
        else:
            values = [c.strip() if type(c) is str else _text(c) for c in cells]
        limit = self.limits.get(column)
        if limit is not None and values and max(map(len, values)) > limit:
            for k in [k for k, value in enumerate(values) if len(value) > limit]:
                values[k] = self.text(self.lines[k], self.records.row(k), column)
        return values

    def date_column(self, column: str, *, required: bool = True) -> list[date | None]:
        """:meth:`date_at` of the column's cell in every row."""
        read = self.read.get(column)
        found: list[Any] = list(read) if read is not None else [None] * self.count
        for k in [k for k, value in enumerate(found) if type(value) is not date]:
            found[k] = self.date_at(k, column, required=required)
        return found

    def amount_column(self, column: str, currencies: Sequence[str | None]) -> list[int | None]:
        """:meth:`amount_at` of the column's cell in every row, with the row's currency."""
        read = self.read.get(column)
        found: list[Any] = list(read) if read is not None else [None] * self.count
        for k in [k for k, value in enumerate(found) if type(value) is not int or currencies[k] is None]:
            found[k] = self.amount_at(k, column, currencies[k])
        return found

    def currency_column(self, default: str) -> list[str | None]:
        """:meth:`currency` of every row."""
        codes = self.currency_codes(default)
        found: list[str | None] = [None if isinstance(code, TabularError) else code for code in codes]
        for k in [k for k, code in enumerate(found) if code is None]:
            self.add(self.lines[k], "currency", cast("TabularError", codes[k]).render(_))
        return found

    def boolean_column(self, column: str) -> list[bool]:
        """:meth:`boolean_at` of the column's cell in every row (text read once per distinct text)."""
        if column not in self.all_text:
            return [self.boolean_at(k, column) for k in range(self.count)]
        cells = cast("list[str]", self.columns[column])
        read: dict[str, bool | _Refused] = {}
        for value in dict.fromkeys(cells):
            try:
                read[value] = value != "" and tabular.parse_bool(value)
            except (TabularError, ValidationError, ValueError) as exc:
                read[value] = _Refused(_reason(exc))
        found = list(map(read.__getitem__, cells))
        for k in [k for k, value in enumerate(found) if type(value) is _Refused]:
            self.add(self.lines[k], column, cast("_Refused", found[k]).reason)
            found[k] = False
        return cast("list[bool]", found)

    def take(self, line: int, column: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (TabularError, ValidationError, ValueError) as exc:
            self.add(line, column, _reason(exc))
        return None

    def once(self, line: int, column: str, text: str, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(text, *args)`` as :meth:`take` gives it, worked out once per column and text (a column of
        200,000 customers holds a handful of kinds, languages and time zones)."""
        key = (column, text)
        found = self.known.get(key, _UNKNOWN)
        if found is _UNKNOWN:
            try:
                found = fn(text, *args)
            except (TabularError, ValidationError, ValueError) as exc:
                found = _Refused(_reason(exc))
            self.known[key] = found
        if isinstance(found, _Refused):
            self.add(line, column, found.reason)
            return None
        return found

    def text(self, line: int, row: Row, column: str) -> str:
        """A text cell, checked against its database column's length."""
        cell = row.get(column, "")
        value = cell.strip() if type(cell) is str else _text(cell)
        limit = self.limits.get(column)
        if limit is not None and len(value) > limit:
            self.take(line, column, lambda: tabular.check_length(value, limit))
            return value[:limit]
        return value

    def required(self, line: int, row: Row, column: str) -> str | None:
        value = self.text(line, row, column)
        if not value:
            self.add(line, column, "is required")
            return None
        return value

    def date_at(self, k: int, column: str, *, required: bool = True) -> date | None:
        """The date in the ``k``-th row's cell of ``column``."""
        value = self.cell(k, column)
        if column in self.broken or (value == "" and not required):
            return None
        line = self.lines[k]
        found = self.read[column][k] if value != "" else None
        if found is None:  # an empty cell
            fmt = self.dates.get(column)
            o = self.options
            result: date | None = self.take(
                line, column, lambda: tabular.parse_date(_date_cell(value), fmt, o.min_date, o.max_date)
            )
            return result
        if isinstance(found, TabularError):
            self.add(line, column, found.render(_))
            return None
        assert isinstance(found, date)
        return found

    def read_amounts(self, column: str, default_currency: str, *, positive: bool = True) -> None:
        """Read the amount column at once, each cell with its row's currency (rows whose currency is wrong
        or whose cell is a date are left to :meth:`amount_at`)."""
        if column in self.broken:
            return
        self.positive[column] = positive
        if column not in self.present:
            return
        cells = self.columns[column]
        codes: list[str | TabularError]
        if "currency" not in self.present:  # one currency for every row: the cells alone
            code = self._currency_of("", default_currency)
            if isinstance(code, TabularError):  # (the company's own currency: each row's reader says so)
                return
            codes = [code] * self.count
        else:
            codes = self.currency_codes(default_currency)
        sep = self.decimals.get(column, ".")
        if column in self.all_text and "" not in cells and set(map(type, codes)) == {str}:
            self.read[column] = tabular.parse_amounts(
                self._texts(column), cast("list[str]", codes), sep, positive=positive
            )
            return
        # an empty cell is "not given" (a required one is reported by its reader)
        take = [
            k
            for k, (value, code) in enumerate(zip(cells, codes, strict=True))
            if value != "" and not isinstance(value, date) and not isinstance(code, TabularError)
        ]
        parsed = tabular.parse_amounts(
            [cast("str | Decimal", cells[k]) for k in take],
            [cast("str", codes[k]) for k in take],
            sep,
            positive=positive,
        )
        read: list[Any] = [None] * self.count
        for k, found in zip(take, parsed, strict=True):
            read[k] = found
        self.read[column] = read

    def amount_at(self, k: int, column: str, currency: str | None) -> int | None:
        """The amount in the ``k``-th row's cell of ``column``, in ``currency``."""
        if column in self.broken or currency is None:
            return None
        line = self.lines[k]
        value = self.cell(k, column)
        if isinstance(value, date):
            self.add(line, column, _("not an amount: {value!r}").format(value=_text(value)))
            return None
        read = self.read.get(column)
        found = None if read is None else read[k]
        if found is None:  # not read with the column
            sep = self.decimals.get(column, ".")
            positive = self.positive.get(column, True)
            result: int | None = self.take(
                line, column, lambda: tabular.parse_amount(value, currency, sep, positive=positive)
            )
            return result
        if isinstance(found, TabularError):
            self.add(line, column, found.render(_))
            return None
        assert isinstance(found, int)
        return found

    def _currency_of(self, cell: Cell, default: str) -> str | TabularError:
        key = cell if type(cell) is str else _text(cell)
        found = self.currencies.get(key)
        if found is None:
            try:
                found = tabular.parse_currency(_text(key), default)
            except TabularError as exc:
                found = exc
            self.currencies[key] = found
        return found

    def currency_codes(self, default: str) -> list[str | TabularError]:
        """The currency of every row, or what is wrong with it (each distinct text read once)."""
        if "currency" not in self.present:
            return [self._currency_of("", default)] * self.count
        cells = self.columns["currency"]
        keys = [c if type(c) is str else _text(c) for c in cells]
        found = {key: self._currency_of(key, default) for key in dict.fromkeys(keys)}
        return list(map(found.__getitem__, keys))

    def currency(self, line: int, row: Row, default: str) -> str | None:
        found = self._currency_of(row.get("currency", ""), default)
        if isinstance(found, TabularError):
            self.add(line, "currency", found.render(_))
            return None
        return found

    def boolean_at(self, k: int, column: str) -> bool:
        """The yes or no in the ``k``-th row's cell of ``column``."""
        value = self.cell(k, column)
        if value == "":
            return False  # parse_bool's default for an empty cell
        cell = value if isinstance(value, str | Decimal) else _text(value)
        return bool(self.take(self.lines[k], column, lambda: tabular.parse_bool(cell)))


def _date_cell(value: Cell) -> str | date:
    """A date cell as :func:`tabular.parse_date` takes it (a number from a spreadsheet as its text)."""
    return value if not isinstance(value, Decimal) else _text(value)


def _choice(value: str, choices: type[Any], default: str) -> str:
    if not value:
        return default
    allowed = {c.value for c in choices}
    if value not in allowed:
        raise ValueError(
            _("{value!r} is not one of {choices}").format(value=value, choices=", ".join(sorted(allowed)))
        )
    return value


# What spreadsheets write for a customer's kind (English, German, Latvian), folded as ``header_key`` folds
KIND_WORDS = {
    DebtorKind.CONSUMER: {
        "consumer", "private", "private_person", "individual", "person", "b2c", "c", "verbraucher",
        "privat", "privatkunde", "privatperson", "privatkundin", "endkunde", "natürliche_person",
        "natuerliche_person", "patērētājs", "privātpersona", "fiziska_persona", "fiziskā_persona",
    },
    DebtorKind.BUSINESS: {
        "business", "company", "b2b", "b", "commercial", "corporate", "firma", "unternehmen", "gewerbe",
        "gewerblich", "geschäftskunde", "geschaeftskunde", "firmenkunde", "unternehmer", "juristische_person",
        "uzņēmums", "juridiska_persona", "juridiskā_persona", "komersants",
    },
}  # fmt: skip
_KIND_BY_WORD = {word: kind.value for kind, words in KIND_WORDS.items() for word in words}


def _kind(value: str, default: str) -> str:
    """A customer's kind as written (``consumer``, ``Privatkunde``, ``B2B``, ``privātpersona``, ...)."""
    if not value:
        return default
    found = _KIND_BY_WORD.get(header_key(value))
    if found is None:
        raise ValueError(
            _("{value!r} is no kind of customer: write consumer (Verbraucher, privātpersona) or business "
              "(Firma, uzņēmums)").format(value=value)
        )  # fmt: skip
    return found


def _tz(value: str, default: str) -> str:
    if not value:
        return default
    try:
        validate_time_zone(value)
    except Exception:
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


def _channels(value: str) -> str:
    validate_channels(value)
    return ", ".join(
        dict.fromkeys(c.strip().lower() for c in value.replace(";", ",").split(",") if c.strip())
    )


# --------------------------------------------------------------------------------------------------
# Importers


def import_debtors(
    company: Company,
    rows: Sequence[tuple[int, Row]],
    actor: str = "import",
    *,
    options: ImportOptions | None = None,
    dry_run: bool = False,
    refuse_known: bool = False,
) -> ImportResult:
    """Create the file's customers; one known already (by number) gets what the file changes of its details
    (:func:`_debtor_updates`) — or, with ``refuse_known`` (the API's create), is an error of its row."""
    v = _Validator("debtors", rows, options or ImportOptions())
    existing = set(Debtor.objects.filter(company=company).values_list("number", flat=True))
    seen: dict[str, int] = {}
    debtors: list[Debtor] = []
    contacts: list[tuple[int, str, str]] = []
    known: list[tuple[Debtor, Row, str, str]] = []  # customers imported before: (as read, row, email, phone)
    contact_limit = max_length(Contact, "value")
    countries = country_codes()
    for line, row in rows:
        number = v.required(line, row, "number")
        name = v.required(line, row, "name")
        _check_number(v, "debtor", line, number, seen, existing if refuse_known else ())
        t = _texts(v, line, row)
        country = t("country").upper()
        if country and country not in countries:
            v.add(
                line,
                "country",
                _("not a two-letter country code (ISO 3166): {value!r}").format(value=country),
            )
        debtor = Debtor(
            company=company,
            number=number or "",
            name=name or "",
            kind=v.once(line, "kind", t("kind"), _kind, DebtorKind.BUSINESS),
            language=v.once(line, "language", t("language"), _choice, Language, company.default_language),
            jurisdiction=v.once(
                line, "jurisdiction", t("jurisdiction").upper(), _choice, Jurisdiction, company.jurisdiction
            ),
            time_zone=v.once(line, "time_zone", t("time_zone"), _tz, company.time_zone),
            preferred_channel=v.once(
                line, "preferred_channel", t("preferred_channel").lower(), _choice, ChannelChoice, ""
            ),
            salutation=v.once(line, "salutation", t("salutation").lower(), _choice, Salutation, ""),
            title=t("title"),
            family_name=t("family_name"),
            contact_person=t("contact_person"),
            vat_id=t("vat_id").replace(" ", "").upper(),
            agreed_channels=v.once(line, "agreed_channels", t("agreed_channels"), _channels) or "",
            street=t("street"),
            postcode=t("postcode"),
            city=t("city"),
            country=country,
        )
        # an address or number given twice in a row's cell is one contact (an address in any case, a number
        # in any spacing)
        given: set[tuple[str, str]] = set()
        for address in filter(None, (a.strip() for a in _text(row.get("email", "")).split(";"))):
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address) or len(address) > contact_limit:
                v.add(line, "email", f"not an email address: {address!r}")
            if (ContactKind.EMAIL, address.casefold()) not in given:
                given.add((ContactKind.EMAIL, address.casefold()))
                contacts.append((len(debtors), ContactKind.EMAIL, address))
        for phone in filter(None, (p.strip() for p in _text(row.get("phone", "")).split(";"))):
            if not is_phone_number(phone):
                v.add(line, "phone", _("not a phone number: {value!r}").format(value=phone))
            digits = re.sub(r"[^0-9+]", "", phone)
            if (ContactKind.PHONE, digits) not in given:
                given.add((ContactKind.PHONE, digits))
                contacts.append((len(debtors), ContactKind.PHONE, phone))
        if number in existing:
            mine = [c for c in contacts if c[0] == len(debtors)]
            del contacts[len(contacts) - len(mine) :]
            first = {kind: value for _i, kind, value in reversed(mine)}
            known.append((debtor, row, first.get(ContactKind.EMAIL, ""), first.get(ContactKind.PHONE, "")))
            continue
        debtors.append(debtor)
    if v.errors:
        raise ImportFailed(v.errors)
    updates = _debtor_updates(company, known)
    details = {"updated": len(updates), "unchanged": len(known) - len(updates)} if known else {}
    if dry_run:
        return ImportResult("debtors", len(debtors), details, dry_run=True)
    with transaction.atomic():
        for stored, changes, email, phone in updates:
            try:
                services.update_debtor(company, stored, changes, actor=actor, email=email, phone=phone)
            except ValidationError as exc:  # (the row was checked: a rule of the whole record)
                raise ImportFailed(
                    [RowError(0, "number", f"{stored.number}: {' '.join(exc.messages)}")]
                ) from None
        bulk_insert(debtors)
        first_seen: set[tuple[int, str]] = set()
        rows_contacts = []
        for index, kind, value in contacts:
            rows_contacts.append((debtors[index].pk, str(kind), value, (index, kind) not in first_seen))
            first_seen.add((index, kind))
        bulk_insert_rows(Contact, ("debtor_id", "kind", "value", "is_primary"), rows_contacts)
        today = services.company_today(company)
        timeline.record_rows("debtor_created", company.pk, today, actor, [(d.pk, {}) for d in debtors])
    return ImportResult("debtors", len(debtors), details)


def _debtor_updates(
    company: Company, known: Sequence[tuple[Debtor, Row, str, str]]
) -> list[tuple[Debtor, dict[str, object], str, str]]:
    """For the customers a file names again: what the file changes — the details in its non-empty cells
    that differ from ours, and a new email address or phone number (which becomes the primary one).
    (stored customer, changes, email, phone), only for those with a change."""
    numbers = [d.number for d, *_rest in known]
    stored: dict[str, Debtor] = {}
    for at in range(0, len(numbers), 900):
        stored.update(
            (d.number, d) for d in Debtor.objects.filter(company=company, number__in=numbers[at : at + 900])
        )
    primary = {
        (debtor_id, kind): value
        for debtor_id, kind, value in Contact.objects.filter(
            debtor__in=list(stored.values()), is_primary=True
        ).values_list("debtor_id", "kind", "value")
    }
    out = []
    for read, row, email, phone in known:
        ours = stored[read.number]
        changes: dict[str, object] = {
            f: getattr(read, f)
            for f in services.DEBTOR_DETAIL_FIELDS
            if row.get(f, "") != "" and getattr(read, f) != getattr(ours, f)
        }
        email = email if email and primary.get((ours.pk, ContactKind.EMAIL)) != email else ""
        phone = phone if phone and primary.get((ours.pk, ContactKind.PHONE)) != phone else ""
        if changes or email or phone:
            out.append((ours, changes, email, phone))
    return out


def _texts(v: _Validator, line: int, row: Row) -> Callable[[str], str]:
    return lambda column: v.text(line, row, column)


def _name_key(name: str) -> str:
    """A customer's name as names are compared: case folded, runs of white space one space."""
    return " ".join(name.casefold().split())


class _Customers:
    """The invoice file's customers: by number, or by name when the file has the customers' names (an
    existing customer of that exact name, else a new one — one per distinct name or number)."""

    def __init__(self, company: Company, v: _Validator, with_names: bool) -> None:
        self.company = company
        self.v = v
        self.by_number = dict(Debtor.objects.filter(company=company).values_list("number", "id"))
        self.names_given = "debtor_name" in v.present
        self.by_name: dict[str, list[tuple[str, int]]] = {}
        if with_names:
            for pk, number, name in Debtor.objects.filter(company=company).values_list(
                "id", "number", "name"
            ):
                self.by_name.setdefault(_name_key(name), []).append((number, pk))
        # new customers: (number or None, name) -> a negative stand-in id until they are written
        self.new: dict[tuple[str | None, str], int] = {}
        self.names: dict[int, tuple[str | None, str]] = {}
        self.numbers_as_names = 0  # rows whose customer name is the number of a customer (see resolve)

    def __call__(self, line: int, row: Row) -> int | None:
        v = self.v
        number = v.text(line, row, "debtor")
        name = v.text(line, row, "debtor_name") if self.names_given else ""
        return self.resolve(line, number, name)

    def column(self) -> list[int | None]:
        """The customer of every row (:meth:`__call__` a column at a time)."""
        v = self.v
        numbers = v.text_column("debtor")
        names = v.text_column("debtor_name") if self.names_given else [""] * len(numbers)
        by_number = self.by_number
        found = (
            list(map(by_number.get, numbers))
            if "" not in by_number
            else [by_number.get(number) if number else None for number in numbers]
        )
        for k in [k for k, pk in enumerate(found) if pk is None]:
            found[k] = self.resolve(v.lines[k], numbers[k], names[k])
        return found

    def resolve(self, line: int, number: str, name: str) -> int | None:
        """The customer of a row naming ``number`` and/or ``name`` (either may be empty)."""
        v = self.v
        if number:
            found = self.by_number.get(number)
            if found is not None:
                return found
            if not name:
                v.add(
                    line,
                    "debtor",
                    _(
                        "no customer with number {number!r}: import the customers first, or add their names"
                    ).format(number=number),
                )
                return None
            return self._new(number, name)
        if not name:
            v.add(line, "debtor", _("is required: the customer's number or name"))
            return None
        named = self.by_name.get(_name_key(name), [])
        if len(named) > 1:
            v.add(
                line,
                "debtor_name",
                _(
                    "{count} customers are named {name!r} (numbers {numbers}): give the customer number"
                ).format(count=len(named), name=name, numbers=", ".join(sorted(n for n, _pk in named))),
            )
            return None
        if named:
            return named[0][1]
        # no customer of that name, but one with that number: a column headed "Kunde" or "Customer" that
        # holds the customers' numbers (no new customer called "10001" beside customer 10001)
        numbered = self.by_number.get(name)
        if numbered is not None:
            self.numbers_as_names += 1
            return numbered
        return self._new(None, name)

    def _new(self, number: str | None, name: str) -> int:
        key = (number, _name_key(name) if number is None else name)
        if key not in self.new:
            self.new[key] = -(len(self.new) + 1)
            self.names[self.new[key]] = (number, name)
        return self.new[key]

    def keep(self, used: set[int]) -> None:
        """Forget the new customers no imported invoice is for (their invoices were paid in full)."""
        self.names = {s: n for s, n in self.names.items() if s in used}
        self.new = {k: s for k, s in self.new.items() if s in used}

    def write(self, actor: str) -> dict[int, int]:
        """Create the new customers (the company's defaults: business customers, its language and law, numbers
        ``K-00001``… where the file gives none); their stand-in id -> the real one."""
        if not self.new:
            return {}
        taken = set(self.by_number)
        counter = 0

        def next_number() -> str:
            nonlocal counter
            while True:
                counter += 1
                candidate = f"K-{counter:05d}"
                if candidate not in taken:
                    taken.add(candidate)
                    return candidate

        stand_ins = sorted(self.names, reverse=True)  # -1, -2, ...: the order of the file
        made = bulk_insert(
            [
                Debtor(
                    company=self.company,
                    number=self.names[s][0] or next_number(),
                    name=self.names[s][1],
                    kind=DebtorKind.BUSINESS,
                    language=self.company.default_language,
                    jurisdiction=self.company.jurisdiction,
                    time_zone=self.company.time_zone,
                )
                for s in stand_ins
            ]
        )
        today = services.company_today(self.company)
        timeline.record(
            timeline.event(d.pk, self.company.pk, "debtor_created", today, actor=actor) for d in made
        )
        return {s: d.pk for s, d in zip(stand_ins, made, strict=True)}

    def law(self) -> Any:
        """The law of a new customer (a business customer under the company's own law)."""
        from mahnwerk.ledger.claims import debtor_law

        return debtor_law(
            self.company,
            Debtor(kind=DebtorKind.BUSINESS, country="", jurisdiction=self.company.jurisdiction),
        )


def import_invoices(
    company: Company,
    rows: Sequence[tuple[int, Row]],
    actor: str = "import",
    *,
    options: ImportOptions | None = None,
    dry_run: bool = False,
    refuse_known: bool = False,
) -> ImportResult:
    """Create the file's invoices; one imported before (same number, customer, dates, amount and currency)
    is skipped — or, with ``refuse_known`` (the API's create), is an error of its row."""
    v = _Validator("invoices", rows, options or ImportOptions())
    v.read_amounts("amount", company.currency)
    v.read_amounts("open_amount", company.currency, positive=False)
    v.read_amounts("paid_amount", company.currency, positive=False)
    customers = _Customers(company, v, with_names="debtor_name" in v.present)
    existing = {
        number: rest
        for number, *rest in Invoice.objects.filter(company=company).values_list(
            "number", "debtor_id", "issue_date", "due_date", "amount_minor", "currency"
        )
    }
    settled = again = 0
    # every column checked at once, in the order a row's cells are (errors listed row by row); optional
    # columns the file does not have are not looked at
    has = v.present.__contains__
    count = v.count
    lines = v.lines
    with v.by_row():
        numbers: list[str | None] = [value or None for value in v.text_column("number")]
        for k in [k for k, number in enumerate(numbers) if number is None]:
            v.add(lines[k], "number", "is required")
        if refuse_known or len(set(numbers)) != count:
            seen: dict[str, int] = {}
            known = existing if refuse_known else ()
            for line, number in zip(lines, numbers, strict=True):
                _check_number(v, "invoice", line, number, seen, known)
        debtor_ids = customers.column()
        if has("currency"):
            currencies = v.currency_column(company.currency)
        else:
            currencies = [v.currency(0, {}, company.currency)] * count
        issues = v.date_column("issue_date")
        dues = v.date_column("due_date")
        for k in [k for k, (i, d) in enumerate(zip(issues, dues, strict=True)) if i and d and d < i]:
            v.add(lines[k], "due_date", "is before the issue date")
        received_on: list[date | None] = [None] * count
        if has("received_on"):
            received_on = v.date_column("received_on", required=False)
            for k, (received, issue) in enumerate(zip(received_on, issues, strict=True)):
                if received and issue and received < issue:
                    v.add(lines[k], "received_on", _("is before the issue date"))
        amounts = v.amount_column("amount", currencies)
        paid_parts = [0] * count
        if has("open_amount") or has("paid_amount"):
            paid_parts = [
                _paid_part(v, k, currency, amount)
                for k, (currency, amount) in enumerate(zip(currencies, amounts, strict=True))
            ]
        references = v.text_column("reference")
        agreed = v.boolean_column("due_date_agreed") if has("due_date_agreed") else [False] * count
        notices = v.boolean_column("consumer_notice") if has("consumer_notice") else [False] * count
        # the rows to import: not refused, not imported before, not paid in full
        kept: Sequence[int] = range(count)
        if v.broken:
            kept = []
        elif v.bad_lines:
            kept = [k for k, line in enumerate(lines) if line not in v.bad_lines]
        if existing and not refuse_known:
            skipped = set()
            for k in [k for k in kept if numbers[k] in existing]:
                # imported before (a file imported twice, or a list of open items sent again): the same
                # invoice is skipped, another one under its number refused
                number = numbers[k]
                assert number is not None
                given = (debtor_ids[k], issues[k], dues[k], amounts[k], currencies[k])
                differs = _differences(existing[number], given)
                if differs:
                    v.add(
                        lines[k],
                        "number",
                        _("invoice {number} is in Mahnwerk already, with another {fields}").format(
                            number=number, fields=", ".join(differs)
                        ),
                    )
                again += 1
                skipped.add(k)
            if skipped:
                kept = [k for k in kept if k not in skipped]
        if any(paid_parts):
            # nothing open: not a receivable (its payment date is not known either)
            paid_up = {k for k in kept if paid_parts[k] == amounts[k]}
            settled = len(paid_up)
            if paid_up:
                kept = [k for k in kept if k not in paid_up]

    def take[T](column: Sequence[T]) -> Sequence[T]:
        """The column's cells of the rows to import."""
        return column if len(kept) == count else [column[k] for k in kept]

    # the invoices to create, a field at a time (the rows to import are valid: no field is None)
    new = _NewInvoices(
        cast("Sequence[int]", take(debtor_ids)),
        cast("Sequence[str]", take(numbers)),
        cast("Sequence[date]", take(issues)),
        cast("Sequence[date]", take(dues)),
        cast("Sequence[int]", take(amounts)),
        cast("Sequence[str]", take(currencies)),
        take([reference or number or "" for reference, number in zip(references, numbers, strict=True)]),
        take(agreed),
        take(received_on),
        take(notices),
    )
    paid_before = take(paid_parts)
    rows_kept = take(lines)
    # the columns are in the invoices' fields now: their memory for the write (a million rows hold hundreds of
    # MiB)
    del numbers, debtor_ids, currencies, issues, dues, received_on, amounts, paid_parts, references
    del agreed, notices
    v.read.clear()
    customers.keep(set(new.debtor_id))
    rules = services.RuleBook(company, {pk for pk in set(new.debtor_id) if pk > 0})
    if customers.new:
        law = customers.law()
        rules.laws.update(dict.fromkeys(customers.names, law))
    found_rules = _check_rules(rows_kept, new, v, rules) if not v.errors else []
    if v.errors:
        raise ImportFailed(v.errors)
    details: dict[str, Any] = {}
    warnings: list[str] = []
    if customers.new:
        details["customers_created"] = len(customers.new)
        warnings.append(
            _(
                "{count} new customer(s) from their names: check their address, language and kind afterwards"
            ).format(count=len(customers.new))
        )
    if customers.numbers_as_names:
        details["customer_numbers_as_names"] = customers.numbers_as_names
        warnings.append(
            _(
                "{count} row(s) name their customer by a customer number in the customer name column: read as "
                "that customer"
            ).format(count=customers.numbers_as_names)
        )
    if again:
        details["already_imported"] = again
        warnings.append(_("{count} invoice(s) imported before, skipped").format(count=again))
    if settled:
        details["paid_skipped"] = settled
        warnings.append(
            _("{count} invoice(s) paid in full, not imported (nothing is open on them)").format(count=settled)
        )
    if any(paid_before):
        details["partly_paid"] = sum(1 for p in paid_before if p)
    if dry_run:
        return ImportResult("invoices", len(rows_kept), details, warnings=warnings, dry_run=True)
    with transaction.atomic():
        real = customers.write(actor)
        customer_ids = new.debtor_id
        if real:
            for law_id, pk in real.items():
                rules.laws[pk] = rules.laws[law_id]
            customer_ids = [real[pk] if pk < 0 else pk for pk in customer_ids]
        invoices = list(
            map(
                services.NewInvoice,
                customer_ids,
                new.number,
                new.issue_date,
                new.due_date,
                new.amount_minor,
                new.currency,
                new.reference,
                new.due_date_agreed,
                new.received_on,
                new.consumer_notice,
            )
        )
        del new
        created = services.create_invoice_rows(
            company, invoices, actor=actor, rules=rules, paid_before=paid_before, found_rules=found_rules
        )
    return ImportResult("invoices", created, details, warnings=warnings)


def _check_number(
    v: _Validator, what: str, line: int, number: str | None, seen: dict[str, int], known: Collection[str]
) -> None:
    """A row's number is new (with ``known``: not one already there) and not on an earlier row of the file."""
    if number in known:
        v.add(line, "number", f"{what} {number} already exists")
    elif number and number in seen:
        v.add(line, "number", f"{what} {number} also on row {seen[number]}")
    if number:
        seen[number] = line


def _differences(stored: Sequence[Any], given: tuple[Any, ...]) -> list[str]:
    """The fields (as the file names them) in which an invoice of the file differs from the stored one."""
    names = ("debtor", "issue_date", "due_date", "amount", "currency")
    return [name for name, a, b in zip(names, stored, given, strict=True) if a != b]


def _paid_part(v: _Validator, k: int, currency: str | None, amount: int | None) -> int:
    """What of the ``k``-th row's invoice amount was paid before the import, from its open amount or its paid
    amount (0 when the file has neither)."""
    paid = 0
    for column in ("open_amount", "paid_amount"):
        if v.cell(k, column) == "":
            continue
        value = v.amount_at(k, column, currency)
        line = v.lines[k]
        if value is None or amount is None:
            return 0
        if value < 0:
            v.add(line, column, _("is negative"))
        elif value > amount:
            v.add(line, column, _("is more than the invoice's amount"))
        else:
            part = amount - value if column == "open_amount" else value
            if column == "paid_amount" and v.cell(k, "open_amount") != "" and part != paid:
                v.add(line, column, _("does not agree with the open amount"))
            paid = part
    return paid


class _NewInvoices(NamedTuple):
    """The invoices an import creates, a field at a time (the fields of :class:`services.NewInvoice`)."""

    debtor_id: Sequence[int]
    number: Sequence[str]
    issue_date: Sequence[date]
    due_date: Sequence[date]
    amount_minor: Sequence[int]
    currency: Sequence[str]
    reference: Sequence[str]
    due_date_agreed: Sequence[bool]
    received_on: Sequence[date | None]
    consumer_notice: Sequence[bool]


def _check_rules(
    lines: Sequence[int], new: _NewInvoices, v: _Validator, rules: services.RuleBook
) -> list[services.InvoiceRules]:
    """Each invoice's default and limitation rules (they exist for its dates: a rule set starts on a day)."""
    found = rules.column(
        new.debtor_id, new.issue_date, new.due_date, new.due_date_agreed, new.received_on, new.consumer_notice
    )
    for k in [k for k, rule in enumerate(found) if isinstance(rule, RuleSetError)]:
        begin = rules_begin(rules.laws[new.debtor_id[k]])
        early = min(new.due_date[k], new.received_on[k] or new.issue_date[k])
        if begin is not None and early < begin:
            message = _("{date} is before {begin}, the first day the rules for this customer cover").format(
                date=early.isoformat(), begin=begin.isoformat()
            )
        else:
            message = str(found[k])
        v.add(lines[k], "due_date", message)
    return cast("list[services.InvoiceRules]", found)


def import_payments(
    company: Company,
    rows: Sequence[tuple[int, Row]],
    actor: str = "import",
    *,
    options: ImportOptions | None = None,
    dry_run: bool = False,
) -> ImportResult:
    v = _Validator("payments", rows, options or ImportOptions())
    v.read_amounts("amount", company.currency)
    debtors = dict(Debtor.objects.filter(company=company).values_list("number", "id"))
    by_number: dict[str, tuple[int, int]] = {}
    by_reference: dict[str, tuple[int, int]] = {}
    for pk, owner, number, reference in Invoice.objects.filter(company=company).values_list(
        "id", "debtor_id", "number", "reference"
    ):
        by_number[number] = (pk, owner)
        if reference:
            by_reference[reference] = (pk, owner)
    receipts: list[services.Receipt] = []
    receipt_lines: list[int] = []
    for k, (line, row) in enumerate(rows):
        currency = v.currency(line, row, company.currency)
        value_date = v.date_at(k, "value_date")
        amount = v.amount_at(k, "amount", currency)
        reference = v.text(line, row, "reference")
        payer = v.text(line, row, "payer")
        invoice_number = v.text(line, row, "invoice")
        debtor_number = v.text(line, row, "debtor")
        invoice_id: int | None = None
        debtor_id: int | None = None
        if invoice_number:
            match = by_number.get(invoice_number)
            if match is None:
                v.add(line, "invoice", f"no invoice {invoice_number!r}")
            else:
                invoice_id, debtor_id = match
        if debtor_number:
            named = debtors.get(debtor_number)
            if named is None:
                v.add(line, "debtor", f"no debtor with number {debtor_number!r}")
            elif debtor_id is not None and named != debtor_id:
                v.add(line, "invoice", "the invoice belongs to another debtor")
            debtor_id = debtor_id or named
        if debtor_id is None and reference:
            found = _match_reference(reference, by_reference, by_number)
            if found:
                invoice_id, debtor_id = found
        if debtor_id is None and line not in v.bad_lines:
            v.add(line, "reference", "cannot tell whose payment this is: give debtor or invoice")
        # (one recorded before, or given twice in the file: services.receipt_problems below)
        external_id = v.text(line, row, "external_id") or None
        if line in v.bad_lines or v.broken:
            continue
        assert (
            debtor_id is not None and value_date is not None and amount is not None and currency is not None
        )
        receipts.append(
            services.Receipt(
                debtor_id=debtor_id,
                amount_minor=amount,
                currency=currency,
                value_date=value_date,
                reference=reference,
                payer=payer,
                invoice_id=invoice_id,
                external_id=external_id,
            )
        )
        receipt_lines.append(line)
    problems = services.receipt_problems(company, receipts)
    for problem in problems:
        v.add(receipt_lines[problem.position], problem.field, problem.message)
    if v.errors:
        raise ImportFailed(sorted(v.errors, key=lambda e: e.row))  # (a stable sort: each row's in order)
    if dry_run:
        return ImportResult("payments", len(receipts), {"unallocated_minor": None}, dry_run=True)
    payments = services.record_payments(company, receipts, actor=actor, checked=True)
    unallocated = sum(p.unallocated_minor for p in payments)
    return ImportResult("payments", len(payments), {"unallocated_minor": unallocated})


def _match_reference(
    reference: str, by_reference: dict[str, tuple[int, int]], by_number: dict[str, tuple[int, int]]
) -> tuple[int, int] | None:
    if reference in by_reference:
        return by_reference[reference]
    for token in re.split(r"[\s,;/]+", reference):
        if token in by_number:
            return by_number[token]
        if token in by_reference:
            return by_reference[token]
    return None


IMPORTERS = {"debtors": import_debtors, "invoices": import_invoices, "payments": import_payments}


def import_file(
    company: Company,
    kind: str,
    path: Path | str,
    mapping: Mapping[str, str] | None = None,
    actor: str = "import",
    *,
    options: ImportOptions | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Read and import one CSV or XLSX file; ``mapping`` (or ``options.mapping``) renames its columns."""
    options = options or ImportOptions()
    if mapping:
        options.mapping = {**options.mapping, **mapping}
    with collector_paused():
        table = read_table(path, kind, options)
        options = replace(options, header_row=table.header_row)
        result = IMPORTERS[kind](company, table.rows, actor=actor, options=options, dry_run=dry_run)
    result.warnings = table.warnings + result.warnings
    return result


# --------------------------------------------------------------------------------------------------
# Saved mappings


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass
class SavedMapping:
    kind: str
    columns: dict[str, str]
    date_format: str | None = None
    decimal: str | None = None


def mapping_path(company: Company, name: str) -> Path:
    if not _NAME.fullmatch(name) or ".." in name:
        raise ValueError(
            _("a mapping name has letters, digits, '-', '_' or '.' (at most 64): {name!r}").format(name=name)
        )
    return Path(settings.DATA_DIR) / "mappings" / f"{company.slug}-{name}.json"


def save_mapping(company: Company, name: str, mapping: SavedMapping) -> Path:
    path = mapping_path(company, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"kind": mapping.kind, "columns": mapping.columns}
    if mapping.date_format:
        data["date_format"] = mapping.date_format
    if mapping.decimal:
        data["decimal"] = mapping.decimal
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def load_mapping(company: Company, name: str) -> SavedMapping:
    path = mapping_path(company, name)
    if not path.is_file():
        raise ValueError(_("no saved mapping {name!r} (looked for {path})").format(name=name, path=path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        columns = data["columns"]
        if not isinstance(columns, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
        ):
            raise TypeError
        return SavedMapping(
            str(data.get("kind", "")), dict(columns), data.get("date_format"), data.get("decimal")
        )
    except (ValueError, KeyError, TypeError):
        raise ValueError(_("the saved mapping {path} cannot be read").format(path=path)) from None


def saved_mappings(company: Company) -> Sequence[str]:
    folder = Path(settings.DATA_DIR) / "mappings"
    prefix = f"{company.slug}-"
    return sorted(p.stem[len(prefix) :] for p in folder.glob(f"{prefix}*.json")) if folder.is_dir() else []
