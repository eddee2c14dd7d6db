"""CSV imports of debtors, invoices and payments: validate every row first, then apply atomically.

An error names the row (line number in the file, header = line 1) and the column. Nothing is
written unless every row is valid. ``mapping`` renames file columns to our field names
(``{"Rechnungsnr": "number"}``) for files with other headers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from django.db import transaction

from mahnwerk.core.money import MoneyError, to_minor
from mahnwerk.ledger import services, timeline
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
    validate_time_zone,
)


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column '{self.column}': {self.message}"


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
    },
    "invoices": {
        "number": True,
        "debtor": True,
        "issue_date": True,
        "due_date": True,
        "amount": True,
        "currency": False,
        "reference": False,
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


def parse_date(text: str) -> date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%Y."):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date (expected YYYY-MM-DD or DD.MM.YYYY): {text!r}")


_GROUPED = re.compile(r"^-?\d{1,3}([.,' ]\d{3})+([.,]\d+)?$")


def parse_amount(text: str, currency: str) -> int:
    """Amounts as written in DE/LV/EN files: 1234.56, 1234,56, 1.234,56, 1,234.56."""
    value = text.strip().replace("\u00a0", " ")
    if "," in value and "." in value:
        decimal_sep = "," if value.rfind(",") > value.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        value = value.replace(thousands, "").replace(decimal_sep, ".")
    elif "," in value:
        value = (
            value.replace(",", ".")
            if value.count(",") == 1 and not _GROUPED.match(value)
            else value.replace(",", "")
        )
    value = value.replace(" ", "").replace("'", "")
    try:
        minor = to_minor(value, currency)
    except MoneyError as exc:
        raise ValueError(str(exc)) from None
    if minor <= 0:
        raise ValueError(f"must be positive: {text!r}")
    return minor


def read_rows(
    path: Path | str, kind: str, mapping: Mapping[str, str] | None = None
) -> list[tuple[int, dict[str, str]]]:
    """Read a CSV file (UTF-8, with or without BOM; comma or semicolon) into (line number, row) pairs."""
    if kind not in FIELDS:
        raise ImportFailed([RowError(0, "-", f"unknown import kind {kind!r}")])
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    dialect: type[csv.Dialect] | None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = None
    reader = csv.DictReader(io.StringIO(text), dialect=dialect or csv.excel)
    mapping = dict(mapping or {})
    headers = [mapping.get(h.strip(), h.strip()) for h in (reader.fieldnames or [])]
    known = FIELDS[kind]
    errors = [
        RowError(1, h, f"unknown column (known: {', '.join(known)}); use --map")
        for h in headers
        if h not in known
    ]
    errors += [
        RowError(1, f, "required column is missing") for f, req in known.items() if req and f not in headers
    ]
    if errors:
        raise ImportFailed(errors)
    rows = []
    for values in reader:
        row = {
            mapped: (values.get(orig) or "").strip()
            for orig, mapped in zip(reader.fieldnames or [], headers, strict=True)
        }
        rows.append((reader.line_num, row))
    return rows


class _Validator:
    def __init__(self) -> None:
        self.errors: list[RowError] = []

    def take(self, line: int, column: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except ValueError as exc:
            self.errors.append(RowError(line, column, str(exc)))
            return None

    def required(self, line: int, row: dict[str, str], column: str) -> str | None:
        value = row.get(column, "")
        if not value:
            self.errors.append(RowError(line, column, "is required"))
            return None
        return value


def _choice(value: str, choices: type[Any], default: str) -> str:
    if not value:
        return default
    allowed = {c.value for c in choices}
    if value not in allowed:
        raise ValueError(f"{value!r} is not one of {', '.join(sorted(allowed))}")
    return value


def _tz(value: str, default: str) -> str:
    if not value:
        return default
    try:
        validate_time_zone(value)
    except Exception:
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


def import_debtors(
    company: Company, rows: list[tuple[int, dict[str, str]]], actor: str = "import"
) -> ImportResult:
    v = _Validator()
    existing = set(Debtor.objects.filter(company=company).values_list("number", flat=True))
    seen: dict[str, int] = {}
    debtors: list[Debtor] = []
    contacts: list[tuple[int, str, str]] = []
    for line, row in rows:
        number = v.required(line, row, "number")
        name = v.required(line, row, "name")
        if number in existing:
            v.errors.append(RowError(line, "number", f"debtor {number} already exists"))
        elif number and number in seen:
            v.errors.append(RowError(line, "number", f"debtor {number} also on row {seen[number]}"))
        if number:
            seen[number] = line
        debtor = Debtor(
            company=company,
            number=number or "",
            name=name or "",
            kind=v.take(line, "kind", partial(_choice, row.get("kind", ""), DebtorKind, DebtorKind.BUSINESS)),
            language=v.take(
                line,
                "language",
                partial(_choice, row.get("language", ""), Language, company.default_language),
            ),
            jurisdiction=v.take(
                line,
                "jurisdiction",
                partial(_choice, row.get("jurisdiction", ""), Jurisdiction, company.jurisdiction),
            ),
            time_zone=v.take(line, "time_zone", partial(_tz, row.get("time_zone", ""), company.time_zone)),
            preferred_channel=v.take(
                line,
                "preferred_channel",
                partial(_choice, row.get("preferred_channel", ""), ChannelChoice, ""),
            ),
            street=row.get("street", ""),
            postcode=row.get("postcode", ""),
            city=row.get("city", ""),
            country=row.get("country", "").upper(),
        )
        for address in filter(None, (a.strip() for a in row.get("email", "").split(";"))):
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
                v.errors.append(RowError(line, "email", f"not an email address: {address!r}"))
            contacts.append((len(debtors), ContactKind.EMAIL, address))
        for phone in filter(None, (p.strip() for p in row.get("phone", "").split(";"))):
            if not re.fullmatch(r"\+?[0-9 ()/-]{5,30}", phone):
                v.errors.append(RowError(line, "phone", f"not a phone number: {phone!r}"))
            contacts.append((len(debtors), ContactKind.PHONE, phone))
        debtors.append(debtor)
    if v.errors:
        raise ImportFailed(v.errors)
    with transaction.atomic():
        Debtor.objects.bulk_create(debtors, batch_size=1000)
        first_seen: set[tuple[int, str]] = set()
        rows_contacts = []
        for index, kind, value in contacts:
            rows_contacts.append(
                Contact(
                    debtor=debtors[index], kind=kind, value=value, is_primary=(index, kind) not in first_seen
                )
            )
            first_seen.add((index, kind))
        Contact.objects.bulk_create(rows_contacts, batch_size=1000)
        today = services.company_today(company)
        timeline.record(
            timeline.event(d.pk, company.pk, "debtor_created", today, actor=actor) for d in debtors
        )
    return ImportResult("debtors", len(debtors))


def import_invoices(
    company: Company, rows: list[tuple[int, dict[str, str]]], actor: str = "import"
) -> ImportResult:
    v = _Validator()
    debtors = dict(Debtor.objects.filter(company=company).values_list("number", "id"))
    existing = set(Invoice.objects.filter(company=company).values_list("number", flat=True))
    seen: dict[str, int] = {}
    invoices: list[Invoice] = []
    for line, row in rows:
        number = v.required(line, row, "number")
        if number in existing:
            v.errors.append(RowError(line, "number", f"invoice {number} already exists"))
        elif number and number in seen:
            v.errors.append(RowError(line, "number", f"invoice {number} also on row {seen[number]}"))
        if number:
            seen[number] = line
        debtor_number = v.required(line, row, "debtor")
        debtor_id = debtors.get(debtor_number or "")
        if debtor_number and debtor_id is None:
            v.errors.append(
                RowError(line, "debtor", f"no debtor with number {debtor_number!r}; import debtors first")
            )
        currency = row.get("currency") or company.currency
        issue = v.take(line, "issue_date", partial(parse_date, row.get("issue_date", "")))
        due = v.take(line, "due_date", partial(parse_date, row.get("due_date", "")))
        if issue and due and due < issue:
            v.errors.append(RowError(line, "due_date", "is before the issue date"))
        amount = v.take(line, "amount", partial(parse_amount, row.get("amount", ""), currency))
        if any(e.row == line for e in v.errors[-8:]):
            continue
        assert debtor_id is not None and number is not None
        invoices.append(
            Invoice(
                company=company,
                debtor_id=debtor_id,
                number=number,
                issue_date=issue,
                due_date=due,
                amount_minor=amount,
                open_minor=amount,
                currency=currency,
                reference=row.get("reference") or number or "",
            )
        )
    if v.errors:
        raise ImportFailed(v.errors)
    created = services.create_invoices(company, invoices, actor=actor)
    return ImportResult("invoices", len(created))


def import_payments(
    company: Company, rows: list[tuple[int, dict[str, str]]], actor: str = "import"
) -> ImportResult:
    v = _Validator()
    debtors = dict(Debtor.objects.filter(company=company).values_list("number", "id"))
    by_number: dict[str, tuple[int, int]] = {}
    by_reference: dict[str, tuple[int, int]] = {}
    for pk, owner, number, reference in Invoice.objects.filter(company=company).values_list(
        "id", "debtor_id", "number", "reference"
    ):
        by_number[number] = (pk, owner)
        if reference:
            by_reference[reference] = (pk, owner)
    known_ids = set(
        Payment.objects.filter(company=company, external_id__isnull=False).values_list(
            "external_id", flat=True
        )
    )
    receipts: list[services.Receipt] = []
    for line, row in rows:
        currency = row.get("currency") or company.currency
        value_date = v.take(line, "value_date", partial(parse_date, row.get("value_date", "")))
        amount = v.take(line, "amount", partial(parse_amount, row.get("amount", ""), currency))
        invoice_id: int | None = None
        debtor_id: int | None = None
        if row.get("invoice"):
            match = by_number.get(row["invoice"])
            if match is None:
                v.errors.append(RowError(line, "invoice", f"no invoice {row['invoice']!r}"))
            else:
                invoice_id, debtor_id = match
        if row.get("debtor"):
            named = debtors.get(row["debtor"])
            if named is None:
                v.errors.append(RowError(line, "debtor", f"no debtor with number {row['debtor']!r}"))
            elif debtor_id is not None and named != debtor_id:
                v.errors.append(RowError(line, "invoice", "the invoice belongs to another debtor"))
            debtor_id = debtor_id or named
        if debtor_id is None and row.get("reference"):
            match = _match_reference(row["reference"], by_reference, by_number)
            if match:
                invoice_id, debtor_id = match
        if debtor_id is None and not any(e.row == line for e in v.errors):
            v.errors.append(
                RowError(line, "reference", "cannot tell whose payment this is: give debtor or invoice")
            )
        external_id = row.get("external_id") or None
        if external_id and external_id in known_ids:
            v.errors.append(RowError(line, "external_id", f"payment {external_id} was already imported"))
        if external_id:
            known_ids.add(external_id)
        if any(e.row == line for e in v.errors[-6:]):
            continue
        assert debtor_id is not None and value_date is not None and amount is not None
        receipts.append(
            services.Receipt(
                debtor_id=debtor_id,
                amount_minor=amount,
                currency=currency,
                value_date=value_date,
                reference=row.get("reference", ""),
                payer=row.get("payer", ""),
                invoice_id=invoice_id,
                external_id=external_id,
            )
        )
    if v.errors:
        raise ImportFailed(v.errors)
    payments = services.record_payments(company, receipts, actor=actor)
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
) -> ImportResult:
    rows = read_rows(path, kind, mapping)
    return IMPORTERS[kind](company, rows, actor=actor)
