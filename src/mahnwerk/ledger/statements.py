"""Bank statements (camt.052/053/054, MT940) imported, matched to open invoices and reviewed.

``import_statements`` is the one entry point for the CLI (and later the generic import and the web UI):
it parses each file in the core (``core.bank_statements``), checks that the statement's account is one
of the company's, skips bookings imported before (a unique key per account), decides every credit with
the core's rules (``core.payment_matching``) against the open items loaded once, applies the sure ones
through ``services.record_payments`` and keeps the rest in a review queue with their candidates and
reasons. Debits, bank fees and bookings not yet booked are recorded as ignored and never touch
receivables; a reversal of money received (a returned direct debit) reverses the payment it takes back,
so the items it paid are open again, and the timeline says so.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _

from mahnwerk.core.bank_statements import (
    AccountId,
    BankEntry,
    ParsedStatement,
    StatementFormatError,
    account_id,
    parse_statement,
)
from mahnwerk.core.money import format_money
from mahnwerk.core.payment_matching import (
    Decision,
    Incoming,
    Matcher,
    MatchReason,
    OpenItem,
    Part,
    reason_text,
    split_over,
)
from mahnwerk.ids import parse_id
from mahnwerk.ledger import timeline
from mahnwerk.ledger.bulk import bulk_insert, bulk_insert_rows
from mahnwerk.ledger.models import (
    Allocation,
    BankAccount,
    BankStatement,
    Charge,
    Company,
    Debtor,
    EntryStatus,
    Invoice,
    Payment,
    PaymentReversal,
    StatementEntry,
    WriteOff,
)
from mahnwerk.ledger.services import (
    LedgerError,
    Receipt,
    company_today,
    receipt_problems,
    record_payments,
    reverse_write_off,
)

MAX_CANDIDATES = 5


# --- reasons -------------------------------------------------------------------------------------------


def _note(message: str, **params: str | int) -> dict[str, Any]:
    """A reason as stored on an entry: its English message id (marked with ``gettext_noop``) and
    parameters, worded when shown (:func:`reason_texts`)."""
    return MatchReason(message, params).as_json()


def reason_texts(reasons: Iterable[Any], language: str | None = None) -> list[str]:
    """Stored reasons in the reader's language (the active one); reasons stored as English text by
    earlier versions are shown as they are."""
    lang = (language or get_language() or "en")[:2]
    return [reason_text(r, _, lang) for r in reasons]


def candidate_rows(
    candidates: Iterable[Mapping[str, Any]], language: str | None = None
) -> list[dict[str, Any]]:
    """An entry's stored candidates with their reasons worded in the reader's language."""
    return [{**c, "reasons": reason_texts(c.get("reasons") or (), language)} for c in candidates]


# --- accounts ------------------------------------------------------------------------------------------


def account_keys(account: BankAccount) -> set[str]:
    return AccountId(iban=account.iban, bank_code=account.blz, number=account.account_number).match_keys()


@transaction.atomic
def add_bank_account(
    company: Company,
    *,
    iban: str = "",
    bic: str = "",
    blz: str = "",
    account_number: str = "",
    name: str = "",
) -> BankAccount:
    """Register an account of the company (an IBAN, or a bank code and account number)."""
    from django.core.exceptions import ValidationError

    iban = iban.replace(" ", "").upper()
    if not iban and not account_number:
        raise LedgerError(_("a bank account needs an IBAN or an account number"))
    account = BankAccount(
        company=company,
        iban=iban,
        bic=bic.replace(" ", "").upper(),
        blz=blz.strip(),
        account_number=account_number.strip(),
        name=name.strip(),
    )
    try:
        account.full_clean(exclude=["company"])
    except ValidationError as exc:
        raise LedgerError("; ".join(m for msgs in exc.message_dict.values() for m in msgs)) from None
    keys = account_keys(account)
    for other in BankAccount.objects.filter(company=company):
        if account_keys(other) & keys:
            raise LedgerError(_("{account} is already registered").format(account=str(other)))
    account.save()
    return account


def bank_accounts(company: Company) -> list[BankAccount]:
    """The company's accounts; its main IBAN (``Company.iban``) is registered on first use."""
    accounts = list(BankAccount.objects.filter(company=company).order_by("id"))
    main = company.iban.replace(" ", "").upper()
    if main and not any(main in account_keys(a) for a in accounts):
        account, _created = BankAccount.objects.get_or_create(
            company=company, iban=main, defaults={"bic": company.bic, "name": "main"}
        )
        accounts.insert(0, account)
    return accounts


def find_account(company: Company, found: AccountId, accounts: Sequence[BankAccount]) -> BankAccount | None:
    keys = found.match_keys()
    return next((a for a in accounts if account_keys(a) & keys), None)


# --- the result ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class StatementImportResult:
    files: list[str] = field(default_factory=list)
    statements: int = 0
    entries: int = 0
    matched: int = 0
    review: int = 0
    ignored: int = 0
    reversed: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # files of which nothing was imported
    warnings: list[str] = field(default_factory=list)  # imported, but worth a look (balances not adding up)
    rows: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "statements": self.statements,
            "entries": self.entries,
            "matched": self.matched,
            "review": self.review,
            "ignored": self.ignored,
            "reversed": self.reversed,
            "duplicates": self.duplicates,
            "errors": self.errors,
            "refused": self.refused,
            "warnings": self.warnings,
            "dry_run": self.dry_run,
            "rows": self.rows,
        }


class _DryRun(Exception):
    pass


# --- matching context, loaded once ---------------------------------------------------------------------


@dataclass(slots=True)
class _Context:
    matcher: Matcher
    numbers: dict[int, str]
    debtor_names: dict[int, str]
    debtor_numbers: dict[int, str]
    known_ibans: dict[str, set[int]]

    @classmethod
    def load(cls, company: Company) -> _Context:
        items = {
            pk: OpenItem(pk, debtor_id, number, reference, open_minor, currency, due)
            for pk, debtor_id, number, reference, open_minor, currency, due in Invoice.objects.filter(
                company=company, open_minor__gt=0
            ).values_list("pk", "debtor_id", "number", "reference", "open_minor", "currency", "due_date")
        }
        debtors = (
            Debtor.objects.filter(company=company, invoices__open_minor__gt=0)
            .distinct()
            .values_list("pk", "name", "number")
        )
        known: dict[str, set[int]] = defaultdict(set)
        for iban, debtor_id in (
            StatementEntry.objects.filter(
                company=company, status=EntryStatus.MATCHED, credit=True, debtor__isnull=False
            )
            .exclude(counterparty_iban="")
            .values_list("counterparty_iban", "debtor_id")
            .distinct()
        ):
            known[iban].add(debtor_id)
        return cls(
            Matcher(items.values()),
            {pk: it.number for pk, it in items.items()},
            {pk: name for pk, name, _n in debtors},
            {pk: number for pk, _name, number in debtors},
            dict(known),
        )


def _incoming(entry: BankEntry) -> Incoming:
    return Incoming(
        amount_minor=entry.amount_minor,
        currency=entry.currency,
        text=" ".join(x for x in (entry.remittance, entry.additional_info) if x),
        creditor_reference=entry.creditor_reference,
        document_numbers=entry.document_numbers,
        end_to_end_id=entry.end_to_end_id,
        payer_iban=entry.counterparty_iban,
        payer_names=tuple(n for n in (entry.counterparty_name, entry.ultimate_name) if n),
    )


def _candidates_json(decision: Decision, ctx: _Context) -> list[dict[str, Any]]:
    return [
        {
            "score": c.score,
            "rules": c.rules,
            "reasons": [r.as_json() for r in c.reasons],
            "parts": [
                {
                    "debtor_id": p.debtor_id,
                    "debtor": ctx.debtor_numbers.get(p.debtor_id, ""),
                    "invoice_id": p.invoice_id,
                    "invoice": ctx.numbers.get(p.invoice_id, "") if p.invoice_id is not None else "",
                    "amount_minor": p.amount_minor,
                }
                for p in c.parts
            ],
        }
        for c in decision.candidates[:MAX_CANDIDATES]
    ]


# --- import --------------------------------------------------------------------------------------------


def import_statements(
    company: Company,
    paths: Sequence[str | Path],
    actor: str = "system",
    *,
    dry_run: bool = False,
    names: Sequence[str] = (),
) -> StatementImportResult:
    """Import bank statement files (camt.052/053/054, MT940; the format is read from each file).

    Every booking is recorded once per account (importing a file again changes nothing); credits are
    matched and the sure ones paid, the others wait in the review queue; debits and fees are ignored;
    a reversal reverses what it takes back. A file that cannot be read or is incomplete (an entry that
    does not parse, an MT940 statement without its closing balance, balances that do not add up) is
    refused as a whole: one line in ``errors`` naming the file and what is wrong, the file in ``refused``,
    nothing of it stored. A statement of an account that is not the company's is listed in ``errors``;
    the rest is imported. ``dry_run`` does everything and then rolls it back. ``names``: the files' own
    names, where they were stored under others (an upload), for the messages and the statements' records.
    """
    result = StatementImportResult(dry_run=dry_run)
    try:
        with transaction.atomic():
            _import(company, [Path(p) for p in paths], list(names), actor, result)
            if dry_run:
                raise _DryRun
    except _DryRun:
        for row in result.rows:
            row["id"] = None  # rolled back: no entry has an id
    return result


def _import(
    company: Company, paths: list[Path], names: list[str], actor: str, result: StatementImportResult
) -> None:
    accounts = bank_accounts(company)
    ctx = _Context.load(company)
    seen_keys: set[tuple[int, str]] = set()
    pending: list[tuple[StatementEntry, tuple[Part, ...]]] = []
    reversals: list[StatementEntry] = []
    made: list[tuple[StatementEntry, str, str]] = []
    for number, path in enumerate(paths):
        result.files.append(str(path))
        name = names[number] if number < len(names) else path.name
        try:
            data = path.read_bytes()
        except OSError as exc:
            _refuse(result, path, name if names else str(path), [exc.strerror or str(exc)])
            continue
        try:
            parsed = parse_statement(data, name)
        except StatementFormatError as exc:
            _refuse(result, path, name if names else str(path), [exc.render(_)])
            continue
        if parsed.refusals:
            _refuse(result, path, name, [problem.render(_) for problem in parsed.refusals])
            continue
        result.warnings += [f"{name}: {problem.render(_)}" for problem in parsed.warnings]
        digest = hashlib.sha256(data).hexdigest()
        for statement in parsed.statements:
            account = find_account(company, statement.account, accounts)
            if account is None:
                result.errors.append(
                    _(
                        "{file}: statement {statement} is for account {account}, which is not an account of "
                        "{company} (register it with 'mahnwerk accounts add')"
                    ).format(
                        file=name,
                        statement=statement.statement_id,
                        account=statement.account.label,
                        company=company.name,
                    )
                )
                continue
            result.statements += 1
            _import_statement(
                company,
                account,
                statement,
                name,
                digest,
                actor,
                ctx,
                seen_keys,
                pending,
                reversals,
                made,
                result,
            )
    _apply_matches(company, pending, actor, result)
    for entry in reversals:
        _reverse(company, entry, actor)
        result.reversed += entry.status == EntryStatus.REVERSED
        result.review += entry.status == EntryStatus.REVIEW
    result.rows = [_row(entry, statement_id, position) for entry, statement_id, position in made]


def _refuse(result: StatementImportResult, path: Path, label: str, reasons: Sequence[str]) -> None:
    """One line for a file of which nothing is imported: its name and what is wrong (the first three)."""
    shown = "; ".join(" ".join(r.split()) for r in reasons[:3])
    if len(reasons) > 3:
        shown += " " + _("(and {count} more)").format(count=len(reasons) - 3)
    result.errors.append(_("{file}: refused, nothing imported: {reasons}").format(file=label, reasons=shown))
    result.refused.append(str(path))


def _import_statement(
    company: Company,
    account: BankAccount,
    statement: ParsedStatement,
    file_name: str,
    digest: str,
    actor: str,
    ctx: _Context,
    seen_keys: set[tuple[int, str]],
    pending: list[tuple[StatementEntry, tuple[Part, ...]]],
    reversals: list[StatementEntry],
    made: list[tuple[StatementEntry, str, str]],
    result: StatementImportResult,
) -> None:
    # one import per account at a time (PostgreSQL): the second waits and then finds the keys of the first
    BankAccount.objects.select_for_update().filter(pk=account.pk).values_list("pk", flat=True).get()
    keys = [e.key for e in statement.entries]
    existing = set(StatementEntry.objects.filter(account=account, key__in=keys).values_list("key", flat=True))
    stmt, _created = BankStatement.objects.get_or_create(
        account=account,
        statement_id=statement.statement_id[:140],
        file_hash=digest,
        defaults={
            "company": company,
            "format": statement.format,
            "from_date": statement.from_date,
            "to_date": statement.to_date,
            "file_name": file_name[:255],
            "imported_by": actor,
        },
    )
    rows: list[StatementEntry] = []
    for bank in statement.entries:
        result.entries += 1
        if bank.key in existing or (account.pk, bank.key) in seen_keys:
            result.duplicates += 1
            continue
        seen_keys.add((account.pk, bank.key))
        entry = _new_entry(company, account, stmt, bank)
        parts: tuple[Part, ...] = ()
        if not bank.booked:
            entry.status, entry.reasons = (
                EntryStatus.IGNORED,
                [_note(gettext_noop("not booked yet (pending)"))],
            )
        elif bank.fee:
            entry.status, entry.reasons = EntryStatus.IGNORED, [_note(gettext_noop("bank fee or interest"))]
        elif bank.reversal and not bank.credit:
            entry.status, entry.reasons = (
                EntryStatus.REVIEW,
                [_note(gettext_noop("reversal of money received"))],
            )
            reversals.append(entry)
        elif bank.reversal:
            entry.status, entry.reasons = (
                EntryStatus.IGNORED,
                [_note(gettext_noop("return of an outgoing payment"))],
            )
        elif not bank.credit:
            entry.status, entry.reasons = EntryStatus.IGNORED, [_note(gettext_noop("debit"))]
        else:
            decision = ctx.matcher.decide(_incoming(bank), ctx.known_ibans, ctx.debtor_names)
            entry.candidates = _candidates_json(decision, ctx)
            entry.reasons = [r.as_json() for r in decision.reasons]
            best = decision.best
            if decision.sure and best is not None:
                entry.status = EntryStatus.MATCHED
                entry.debtor_id = best.parts[0].debtor_id
                parts = best.parts
                ctx.matcher.consume(parts)
                if bank.counterparty_iban:
                    ctx.known_ibans.setdefault(bank.counterparty_iban, set()).add(entry.debtor_id)
            else:
                entry.status = EntryStatus.REVIEW
        rows.append(entry)
        if entry.status == EntryStatus.MATCHED:
            pending.append((entry, parts))
        result.matched += entry.status == EntryStatus.MATCHED
        result.ignored += entry.status == EntryStatus.IGNORED
        result.review += entry.status == EntryStatus.REVIEW and entry not in reversals
        made.append((entry, statement.statement_id, bank.position))
    bulk_insert(rows)


def _new_entry(
    company: Company, account: BankAccount, stmt: BankStatement, bank: BankEntry
) -> StatementEntry:
    value_date = bank.value_date or bank.booking_date
    assert value_date is not None, "the parser gives every entry a date"
    return StatementEntry(
        company=company,
        account=account,
        statement=stmt,
        key=bank.key[:100],
        position=bank.position[:20],
        booking_date=bank.booking_date,
        value_date=value_date,
        amount_minor=bank.amount_minor,
        currency=bank.currency,
        credit=bank.credit,
        reversal=bank.reversal,
        return_reason=bank.return_reason[:35],
        end_to_end_id=bank.end_to_end_id[:140],
        bank_reference=bank.bank_reference[:140],
        mandate_id=bank.mandate_id[:140],
        counterparty_name=(bank.counterparty_name or bank.ultimate_name)[:200],
        counterparty_iban=bank.counterparty_iban[:34],
        counterparty_bic=bank.counterparty_bic[:11],
        remittance=bank.remittance,
        creditor_reference=bank.creditor_reference[:140],
        bank_code=bank.bank_code[:100],
        additional_info=bank.additional_info,
    )


def _row(entry: StatementEntry, statement_id: str, position: str) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "key": entry.key,
        "statement": statement_id,
        "position": position,
        "value_date": entry.value_date,
        "amount_minor": entry.amount_minor if entry.credit else -entry.amount_minor,
        "currency": entry.currency,
        "counterparty": entry.counterparty_name,
        "remittance": entry.remittance,
        "status": entry.status,
        "reasons": reason_texts(entry.reasons),
    }


def _receipts(entry: StatementEntry, parts: Sequence[Part]) -> list[Receipt]:
    return [
        Receipt(
            debtor_id=part.debtor_id,
            amount_minor=part.amount_minor,
            currency=entry.currency,
            value_date=entry.value_date,
            reference=(entry.remittance or entry.end_to_end_id)[:140],
            payer=entry.counterparty_name[:200],
            invoice_id=part.invoice_id,
            external_id=entry.key if len(parts) == 1 else f"{entry.key}#{i}",
        )
        for i, part in enumerate(parts, start=1)
    ]


def _apply_matches(
    company: Company,
    pending: Sequence[tuple[StatementEntry, tuple[Part, ...]]],
    actor: str,
    result: StatementImportResult,
) -> None:
    """One ``record_payments`` call for every sure match of the import; each entry linked to its payments."""
    receipts: list[Receipt] = []
    owners: list[StatementEntry] = []
    for entry, parts in pending:
        for receipt in _receipts(entry, parts):
            receipts.append(receipt)
            owners.append(entry)
    if not receipts:
        return
    # a sure match the ledger cannot book (a value date before the customer's rules begin, or far ahead)
    # goes to a person instead of stopping the import
    problems = receipt_problems(company, receipts)
    if problems:
        refused: dict[int, list[str]] = {}
        for problem in problems:
            refused.setdefault(id(owners[problem.position]), []).append(problem.message)
        for entry, _parts in pending:
            if id(entry) in refused:
                entry.status = EntryStatus.REVIEW
                entry.reasons = [
                    *entry.reasons,
                    *(_note(gettext_noop("not booked: {problem}"), problem=m) for m in refused[id(entry)]),
                ]
                entry.save(update_fields=["status", "reasons"])
                result.matched -= 1
                result.review += 1
        kept = [(r, e) for r, e in zip(receipts, owners, strict=True) if id(e) not in refused]
        receipts, owners = [r for r, _e in kept], [e for _r, e in kept]
        if not receipts:
            return
    payments = record_payments(company, receipts, actor=actor, checked=True)
    bulk_insert_rows(
        StatementEntry.payments.through,
        ("statemententry_id", "payment_id"),
        [(entry.pk, payment.pk) for entry, payment in zip(owners, payments, strict=True)],
    )


# --- reversals -----------------------------------------------------------------------------------------


def _original(company: Company, entry: StatementEntry) -> StatementEntry | None:
    """The credit a reversal takes back: the same end-to-end id, else the same payer IBAN and amount."""
    earlier = (
        StatementEntry.objects.filter(company=company, credit=True, reversal=False, currency=entry.currency)
        .exclude(pk=entry.pk)
        .filter(reversed_by__isnull=True)
        .order_by("-value_date", "-id")
    )
    if entry.end_to_end_id:
        found = earlier.filter(
            end_to_end_id=entry.end_to_end_id, amount_minor__gte=entry.amount_minor
        ).first()
        if found is not None:
            return found
    if entry.counterparty_iban:
        return earlier.filter(
            counterparty_iban=entry.counterparty_iban, amount_minor=entry.amount_minor
        ).first()
    return None


def _reverse(company: Company, entry: StatementEntry, actor: str) -> None:
    reason = entry.return_reason or _("returned by the bank")
    original = _original(company, entry)
    if original is None:
        entry.reasons = [
            *entry.reasons,
            _note(gettext_noop("the payment it takes back was not found: decide by hand")),
        ]
        entry.save(update_fields=["reasons"])
        return
    entry.reverses = original
    entry.debtor_id = original.debtor_id
    entry.status = EntryStatus.REVERSED
    if original.status == EntryStatus.MATCHED:
        for payment in original.payments.filter(reversal__isnull=True):
            reverse_payment(company, payment, actor=actor, on=entry.value_date, reason=reason, entry=entry)
        entry.reasons = [
            *entry.reasons,
            _note(gettext_noop("takes back the payment of entry #{entry}"), entry=original.pk),
        ]
    else:
        original.status = EntryStatus.IGNORED
        original.reasons = [
            *original.reasons,
            _note(gettext_noop("returned by the bank (entry #{entry})"), entry=entry.pk),
        ]
        original.save(update_fields=["status", "reasons"])
        entry.reasons = [
            *entry.reasons,
            _note(gettext_noop("takes back entry #{entry}, which paid nothing yet"), entry=original.pk),
        ]
    entry.save(update_fields=["reverses", "debtor", "status", "reasons"])


@transaction.atomic
def reverse_payment(
    company: Company,
    payment: Payment | int,
    actor: str = "system",
    *,
    on: date | None = None,
    reason: str = "",
    entry: StatementEntry | None = None,
) -> PaymentReversal:
    """Undo a payment the bank took back: its allocations go, the invoices' principal and the charges it
    paid are open again (a settled invoice becomes open), the write-offs it caused (a small balance,
    leftover interest and fees) are reversed, the credit it left on account is gone. The payment stays,
    marked reversed, and the debtor's timeline says what is open again."""
    pk = payment.pk if isinstance(payment, Payment) else int(payment)
    found = Payment.objects.select_for_update().filter(pk=pk, company=company).first()
    if found is None:
        raise LedgerError(_("no payment #{id} in {company}").format(id=pk, company=company.name))
    if PaymentReversal.objects.filter(payment=found).exists():
        raise LedgerError(_("payment #{id} was already reversed").format(id=pk))
    day = on or company_today(company)
    allocations = list(Allocation.objects.filter(payment=found).select_related("invoice"))
    principal: dict[int, int] = defaultdict(int)
    by_charge: dict[int, int] = defaultdict(int)
    invoices: dict[int, Invoice] = {}
    for a in allocations:
        invoices[a.invoice_id] = a.invoice
        if a.component == "principal":
            principal[a.invoice_id] += a.amount_minor
        if a.charge_id is not None:
            by_charge[a.charge_id] += a.amount_minor
    Allocation.objects.filter(payment=found).delete()
    for charge_id, amount in by_charge.items():
        Charge.objects.filter(pk=charge_id).update(open_minor=models.F("open_minor") + amount)
    for invoice_id, amount in principal.items():
        Invoice.objects.filter(pk=invoice_id).update(
            open_minor=models.F("open_minor") + amount, settled_on=None
        )
    caused = WriteOff.objects.filter(
        company=company,
        invoice_id__in=list(invoices),
        business_date=found.value_date,
        reversed_on__isnull=True,
        created_at__gte=found.created_at,
    ).order_by("id")
    for write_off in caused:
        reverse_write_off(company, write_off, actor, on=day)
    reopened = {
        invoices[i].number: format_money(amount, found.currency) for i, amount in principal.items() if amount
    }
    if found.unallocated_minor:
        found.unallocated_minor = 0
        found.save(update_fields=["unallocated_minor"])
    reversal = PaymentReversal.objects.create(
        payment=found, entry=entry, reversed_on=day, reason=reason[:200], actor=actor, reopened=reopened
    )
    timeline.event(
        found.debtor_id,
        company.pk,
        "payment_reversed",
        day,
        actor=actor,
        amount=format_money(found.amount_minor, found.currency),
        value_date=found.value_date,
        reason=reason or "-",
        reopened=", ".join(f"{n} ({a})" for n, a in reopened.items()) or "-",
    ).save()
    return reversal


# --- the review queue ----------------------------------------------------------------------------------


def review_queue(company: Company, *, include_parked: bool = True) -> list[StatementEntry]:
    statuses = [EntryStatus.REVIEW, EntryStatus.PARKED] if include_parked else [EntryStatus.REVIEW]
    return list(
        StatementEntry.objects.filter(company=company, status__in=statuses)
        .select_related("account", "statement")
        .order_by("value_date", "id")
    )


def get_entry(company: Company, entry_id: int | str) -> StatementEntry:
    found = (
        StatementEntry.objects.select_for_update().filter(company=company, pk=pk).first()
        if (pk := parse_id(entry_id))
        else None
    )
    if found is None:
        raise LedgerError(
            _("no statement entry #{id} in {company}").format(id=entry_id, company=company.name)
        )
    return found


def _open_to_decide(entry: StatementEntry) -> None:
    if entry.status in {EntryStatus.MATCHED, EntryStatus.REVERSED}:
        raise LedgerError(
            _("statement entry #{id} is already {status}").format(
                id=entry.pk, status=entry.get_status_display()
            )
        )
    if not entry.credit or entry.reversal:
        raise LedgerError(
            _(
                "statement entry #{id} is no payment received (a debit or a reversal): it cannot pay invoices"
            ).format(id=entry.pk)
        )


def _invoices_by_number(company: Company, numbers: Iterable[str]) -> dict[str, Invoice]:
    wanted = list(dict.fromkeys(numbers))
    found = {inv.number: inv for inv in Invoice.objects.filter(company=company, number__in=wanted)}
    missing = [n for n in wanted if n not in found]
    if missing:
        raise LedgerError(
            _("no invoice {numbers} in {company}").format(numbers=", ".join(missing), company=company.name)
        )
    return found


def _pay(
    company: Company, entry: StatementEntry, parts: Sequence[Part], actor: str, why: dict[str, Any]
) -> StatementEntry:
    currencies = {
        inv.currency for inv in Invoice.objects.filter(pk__in=[p.invoice_id for p in parts if p.invoice_id])
    }
    if currencies - {entry.currency}:
        raise LedgerError(
            _("statement entry #{id} is in {currency}, the invoices in {others}").format(
                id=entry.pk, currency=entry.currency, others=", ".join(sorted(currencies))
            )
        )
    payments = record_payments(company, _receipts(entry, parts), actor=actor)
    entry.payments.add(*payments)
    entry.status = EntryStatus.MATCHED
    entry.debtor_id = parts[0].debtor_id
    entry.decided_by = actor
    entry.decided_at = timezone.now()
    entry.reasons = [*entry.reasons, why]
    entry.save(update_fields=["status", "debtor", "decided_by", "decided_at", "reasons"])
    return entry


@transaction.atomic
def confirm_entry(
    company: Company, entry_id: int | str, invoice_numbers: Sequence[str] = (), actor: str = "system"
) -> StatementEntry:
    """Apply an entry of the review queue: to the invoices named (the amount over them in that order, each
    paid in full before the next), or else to its best candidate."""
    entry = get_entry(company, entry_id)
    _open_to_decide(entry)
    if invoice_numbers:
        invoices = _invoices_by_number(company, invoice_numbers)
        items = [
            OpenItem(
                inv.pk, inv.debtor_id, inv.number, inv.reference, inv.open_minor, inv.currency, inv.due_date
            )
            for inv in (invoices[n] for n in dict.fromkeys(invoice_numbers))
        ]
        parts = split_over(entry.amount_minor, items)
        why = _note(
            gettext_noop("confirmed by {actor} for {invoices}"), actor=actor, invoices=", ".join(invoices)
        )
    else:
        if not entry.candidates:
            raise LedgerError(
                _("statement entry #{id} has no candidate: name the invoices with --invoice").format(
                    id=entry.pk
                )
            )
        best = entry.candidates[0]
        parts = tuple(
            Part(int(p["debtor_id"]), p["invoice_id"], int(p["amount_minor"])) for p in best["parts"]
        )
        if not Debtor.objects.filter(company=company, pk__in=[p.debtor_id for p in parts]).exists():
            raise LedgerError(_("the candidate's debtor no longer exists"))
        why = _note(gettext_noop("best candidate confirmed by {actor}"), actor=actor)
    return _pay(company, entry, parts, actor, why)


@transaction.atomic
def split_entry(
    company: Company, entry_id: int | str, shares: Mapping[str, int], actor: str = "system"
) -> StatementEntry:
    """Apply an entry over invoices with the amounts given (minor units); they must add up to the entry."""
    entry = get_entry(company, entry_id)
    _open_to_decide(entry)
    if not shares:
        raise LedgerError(_("name at least one invoice and amount: NUMBER=AMOUNT"))
    for number, amount in shares.items():
        if amount <= 0:
            raise LedgerError(
                _("each amount must be more than zero: {invoice} has {amount}").format(
                    invoice=number, amount=format_money(amount, entry.currency)
                )
            )
    total = sum(shares.values())
    if total != entry.amount_minor:
        raise LedgerError(
            _("the amounts add up to {total}, the entry is {amount}").format(
                total=format_money(total, entry.currency),
                amount=format_money(entry.amount_minor, entry.currency),
            )
        )
    invoices = _invoices_by_number(company, shares)
    parts = tuple(Part(invoices[n].debtor_id, invoices[n].pk, amount) for n, amount in shares.items())
    return _pay(company, entry, parts, actor, _note(gettext_noop("split by {actor}"), actor=actor))


@transaction.atomic
def set_entry_status(
    company: Company, entry_id: int | str, status: str, actor: str = "system"
) -> StatementEntry:
    """Park an entry (put aside, still to decide) or ignore it (it pays nothing of ours)."""
    if status not in {EntryStatus.PARKED, EntryStatus.IGNORED}:
        raise ValueError(status)
    entry = get_entry(company, entry_id)
    if entry.status in {EntryStatus.MATCHED, EntryStatus.REVERSED}:
        raise LedgerError(
            _("statement entry #{id} is already {status}").format(
                id=entry.pk, status=entry.get_status_display()
            )
        )
    entry.status = status
    entry.decided_by = actor
    entry.decided_at = timezone.now()
    why = (
        gettext_noop("parked by {actor}")
        if status == EntryStatus.PARKED
        else gettext_noop("ignored by {actor}")
    )
    entry.reasons = [*entry.reasons, _note(why, actor=actor)]
    entry.save(update_fields=["status", "decided_by", "decided_at", "reasons"])
    return entry


def newest_statement_date(company: Company) -> date | None:
    """The last day the company's imported statements cover (None: none imported yet)."""
    newest: date | None = BankStatement.objects.filter(company=company).aggregate(d=models.Max("to_date"))[
        "d"
    ]
    if newest is None:
        newest = StatementEntry.objects.filter(company=company).aggregate(d=models.Max("booking_date"))["d"]
    return newest


__all__ = [
    "StatementImportResult",
    "account_id",
    "add_bank_account",
    "bank_accounts",
    "candidate_rows",
    "confirm_entry",
    "import_statements",
    "newest_statement_date",
    "reason_texts",
    "reverse_payment",
    "review_queue",
    "set_entry_status",
    "split_entry",
]
