"""Bank statements read into one normalised entry per transaction: ISO 20022 camt.052/053/054 (any
version, the namespace says which) and SWIFT MT940 with the German ``:86:`` conventions.

Pure: bytes in, dataclasses out. The format is detected from the content. A malformed entry becomes a
:class:`Problem` naming the statement and the entry, and the other entries are still read. A statement
that is incomplete goes to ``ParseResult.incomplete``: an MT940 statement without its closing balance
(:62F:, or :62M: for an intermediate page) after its entries (a file cut off), or one whose opening
balance plus credits minus debits is not its closing balance (a booking lost or damaged); a camt
statement whose opening balance (OPBD or PRCD) plus its booked entries is not its closing balance (CLBD),
where it gives both. Formats without balances (an MT942 interim report, a camt.054 notification) are not
checked. A caller that stores bookings refuses a file with any problem (:attr:`ParseResult.refusals`).

Conventions:

- Amounts are positive integer minor units; ``credit`` says the direction of the booking on our account.
- ``reversal`` marks a booking that undoes an earlier one (camt ``RvslInd``, a return reason, MT940 ``RC``
  / ``RD``, the German GVC 109/159 or posting texts such as "Rücklastschrift" and "Retoure"). A reversal
  that is a debit takes back money we received.
- A camt entry with several transaction details (a batch) gives one entry per transaction.
- ``key`` is stable for the same booking read twice: the bank's reference where it gives one, else a hash
  of the booking's content and its position among identical bookings of the statement.

Messages (a :class:`Problem`, a :class:`StatementError`) are English templates marked for translation with
their parameters apart, rendered by the caller with its own ``gettext`` (``render``); ``str()`` is the
English text.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from mahnwerk.core.money import MoneyError, digits, format_money, to_minor

__all__ = [
    "AccountId",
    "BankEntry",
    "ParseResult",
    "ParsedStatement",
    "Problem",
    "StatementError",
    "StatementFormatError",
    "account_id",
    "decode_text",
    "detect_format",
    "parse_statement",
]


def gettext_noop(message: str) -> str:
    """Mark ``message`` for the translation catalogues without importing Django into the core."""
    return message


Gettext = Callable[[str], str]


def _render(message: str, params: Mapping[str, Any], gettext: Gettext | None) -> str:
    """``message`` (translated when a ``gettext`` is given) with its parameters; a parameter that is itself
    a :class:`StatementError` is rendered with the same ``gettext``."""
    template = gettext(message) if gettext is not None else message
    values = {k: v.render(gettext) if isinstance(v, StatementError) else v for k, v in params.items()}
    return template.format(**values)


class StatementError(ValueError):
    """Something in a statement that cannot be read: ``message`` (an English template marked for
    translation) with ``params``, rendered by the caller (:meth:`render`)."""

    def __init__(self, message: str, **params: Any) -> None:
        self.message = message
        self.params = params
        super().__init__(self.render())

    def render(self, gettext: Gettext | None = None) -> str:
        return _render(self.message, self.params, gettext)


class StatementFormatError(StatementError):
    """The file is no bank statement this module reads."""


# the text of an error raised by something else (a library): nothing of it to translate
_AS_GIVEN = "{error}"


def _reason(exc: Exception) -> StatementError | str:
    """An exception as a message parameter: ours is rendered in the reader's language, another as it is
    (a copy of ours: the problem need not keep the traceback and its frames)."""
    return type(exc)(exc.message, **exc.params) if isinstance(exc, StatementError) else str(exc)


def _file(name: str) -> StatementError | str:
    """The file's name for a message, or "the file" (translated) when it has none."""
    return name or StatementError(gettext_noop("the file"))


# --- accounts ----------------------------------------------------------------------------------------

_IBAN_RE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}$")


def iban_is_valid(value: str) -> bool:
    """ISO 13616 check digits (mod 97); the length per country is not checked here."""
    value = value.replace(" ", "").upper()
    if not _IBAN_RE.match(value):
        return False
    digits = "".join(str(int(ch, 36)) for ch in value[4:] + value[:4])
    return int(digits) % 97 == 1


_IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "CH": 21, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FR": 27,
    "GB": 22, "IE": 22, "IT": 27, "LT": 20, "LU": 20, "LV": 21, "NL": 18, "NO": 15, "PL": 28, "SE": 24,
}  # fmt: skip


def iban_shape_ok(value: str) -> bool:
    """Letters, check digits and the country's length: what a counterparty's account must look like to be
    kept as an IBAN (the check digits are not required: the bank gave it as it is)."""
    value = value.replace(" ", "").upper()
    return bool(_IBAN_RE.match(value)) and _IBAN_LENGTHS.get(value[:2], len(value)) == len(value)


@dataclass(frozen=True, slots=True)
class AccountId:
    """An account as a statement names it: an IBAN, or a bank code (German BLZ) and account number."""

    iban: str = ""
    bank_code: str = ""
    number: str = ""
    currency: str = ""

    @property
    def label(self) -> str:
        if self.iban:
            return self.iban
        return f"{self.bank_code}/{self.number}" if self.bank_code else self.number

    def match_keys(self) -> set[str]:
        """Comparable forms: the IBAN and, for a German IBAN, its BLZ/account number (leading zeros off)."""
        found = set()
        if self.iban:
            found.add(self.iban)
            if self.iban.startswith("DE") and len(self.iban) == 22:
                found.add(f"{self.iban[4:12]}/{self.iban[12:].lstrip('0')}")
        if self.number:
            found.add(f"{self.bank_code}/{self.number.lstrip('0')}")
        return found


def account_id(text: str, currency: str = "") -> AccountId:
    """``:25:`` or a camt ``Othr/Id``: an IBAN (a trailing currency code allowed), ``BLZ/account`` or a bare
    account number."""
    value = re.sub(r"\s+", "", text).upper()
    if len(value) > 5 and value[-3:].isalpha() and iban_is_valid(value[:-3]):
        value, currency = value[:-3], currency or value[-3:]
    if _IBAN_RE.match(value) and iban_is_valid(value):
        return AccountId(iban=value, currency=currency)
    if "/" in value:
        bank_code, _, number = value.partition("/")
        number = re.sub(r"/?[A-Z]{3}$", "", number)
        return AccountId(bank_code=bank_code, number=number, currency=currency)
    if currency and value.endswith(currency) and re.search(r"\d", value[:-3]):
        value = value[: -len(currency)]  # "1291.99.348EUR": the statement's currency after the number
    return AccountId(number=value, currency=currency)


# --- the normalised entry ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BankEntry:
    """One booking (or one transaction of a batch booking) on the statement's account."""

    statement_id: str
    position: str  # "3" (the third entry) or "3.2" (its second transaction)
    account: AccountId
    booking_date: date | None
    value_date: date | None
    amount_minor: int
    currency: str
    credit: bool
    reversal: bool = False
    return_reason: str = ""
    booked: bool = True
    fee: bool = False
    end_to_end_id: str = ""
    bank_reference: str = ""
    mandate_id: str = ""
    counterparty_name: str = ""
    counterparty_iban: str = ""
    counterparty_bic: str = ""
    ultimate_name: str = ""
    remittance: str = ""
    creditor_reference: str = ""
    document_numbers: tuple[str, ...] = ()
    bank_code: str = ""  # camt Domn/Fmly/SubFmly or proprietary code; MT940 GVC and transaction type
    additional_info: str = ""
    key: str = ""

    @property
    def date(self) -> date | None:
        return self.value_date or self.booking_date

    @property
    def text(self) -> str:
        """Everything a payer may have written: remittance, structured references, additional info."""
        parts = [self.remittance, self.creditor_reference, *self.document_numbers, self.additional_info]
        return " ".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong with a statement (``entry`` empty) or one of its entries: ``message`` is an English
    template marked for translation, ``params`` its values; :meth:`render` words it with the statement and
    the entry in front, in the language of the ``gettext`` given (``str()``: English)."""

    statement: str
    entry: str
    message: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @classmethod
    def of(cls, statement: str, entry: str, exc: Exception) -> Problem:
        """The problem an exception raised while reading the statement (or the entry) describes."""
        if isinstance(exc, StatementError):
            return cls(statement, entry, exc.message, exc.params)
        return cls(statement, entry, _AS_GIVEN, {"error": str(exc)})

    def render(self, gettext: Gettext | None = None) -> str:
        message = _render(self.message, self.params, gettext if self.message != _AS_GIVEN else None)
        if self.entry:
            where = gettext_noop("statement {statement}, entry {entry}: {message}")
        else:
            where = gettext_noop("statement {statement}: {message}")
        return _render(
            where, {"statement": self.statement or "?", "entry": self.entry, "message": message}, gettext
        )

    def __str__(self) -> str:
        return self.render()


@dataclass(slots=True)
class ParsedStatement:
    format: str
    statement_id: str
    account: AccountId
    from_date: date | None
    to_date: date | None
    entries: list[BankEntry] = field(default_factory=list)
    opening_minor: int | None = None  # signed: a debit balance is negative; None: the format gives none
    closing_minor: int | None = None


@dataclass(slots=True)
class ParseResult:
    format: str
    statements: list[ParsedStatement] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    incomplete: list[Problem] = field(default_factory=list)
    # what the file says that does not add up but is no reason to refuse it (a camt statement whose balances
    # differ from its entries: XML cannot be cut off unnoticed, and banks' exports differ in what they list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def entries(self) -> list[BankEntry]:
        return [e for s in self.statements for e in s.entries]

    @property
    def refusals(self) -> list[Problem]:
        """Why the file must not be imported: entries that could not be read and incomplete statements."""
        return [*self.problems, *self.incomplete]


def _check_balance(
    statement: ParsedStatement, currency: str, opening_name: str, closing_name: str
) -> Problem | None:
    """Opening balance + credits - debits must be the closing balance (booked entries only; the
    transactions of a batch add up to its entry, so they are counted one by one)."""
    if statement.opening_minor is None or statement.closing_minor is None:
        return None
    credits = sum(e.amount_minor for e in statement.entries if e.booked and e.credit)
    debits = sum(e.amount_minor for e in statement.entries if e.booked and not e.credit)
    expected = statement.opening_minor + credits - debits
    if expected == statement.closing_minor:
        return None

    def money(minor: int) -> str:
        return format_money(minor, currency) if currency else str(minor)

    return Problem(
        statement.statement_id,
        "",
        gettext_noop(
            "the balances do not add up: opening balance ({opening_name}) {opening} + credits {credits} "
            "- debits {debits} = {expected}, but the closing balance ({closing_name}) is {closing}: "
            "a booking is missing or damaged"
        ),
        {
            "opening_name": opening_name,
            "opening": money(statement.opening_minor),
            "credits": money(credits),
            "debits": money(debits),
            "expected": money(expected),
            "closing_name": closing_name,
            "closing": money(statement.closing_minor),
        },
    )


# --- decoding and detection ----------------------------------------------------------------------------


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252, else Latin-1 (which never fails)."""
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes everything")  # pragma: no cover


_CAMT_NS = re.compile(r"urn:iso:std:iso:20022:tech:xsd:(camt\.05[234]\.001\.\d\d)")


def detect_format(data: bytes) -> str:
    """``camt.053.001.08`` and the like, or ``mt940``; :class:`StatementFormatError` otherwise."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        found = _CAMT_NS.search(head.decode("latin-1"))
        if found:
            return found.group(1)
        raise StatementFormatError(
            gettext_noop("an XML file, but not an ISO 20022 camt.052, camt.053 or camt.054 document")
        )
    text = decode_text(data[:4096])
    if ":20:" in text and (":25:" in text or ":61:" in text):
        return "mt940"
    raise StatementFormatError(gettext_noop("neither a camt.052/053/054 XML document nor an MT940 statement"))


def parse_statement(data: bytes, name: str = "") -> ParseResult:
    """Read a statement file of any supported format."""
    fmt = detect_format(data)
    if fmt.startswith("camt"):
        return _parse_camt(data, fmt, name)
    return _parse_mt940(data, name)


def _amount(text: str, currency: str) -> int:
    value = text.strip().replace(" ", "")
    if "," in value and "." not in value:
        value = value.replace(",", ".")
    if value.endswith("."):
        value += "0"
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        why = StatementError(gettext_noop("not a number"))
        raise StatementError(gettext_noop("amount {amount!r}: {reason}"), amount=text, reason=why)
    try:
        places = digits(currency)
    except MoneyError:
        why = StatementError(gettext_noop("not an ISO 4217 currency code: {value!r}"), value=currency)
        raise StatementError(gettext_noop("amount {amount!r}: {reason}"), amount=text, reason=why) from None
    if number.scaleb(places) != number.scaleb(places).to_integral_value():
        why = StatementError(
            gettext_noop("{value} has more decimal places than {currency} allows ({digits})"),
            value=str(number),
            currency=currency,
            digits=places,
        )
        raise StatementError(gettext_noop("amount {amount!r}: {reason}"), amount=text, reason=why)
    try:
        return abs(to_minor(number, currency))
    except MoneyError as exc:  # checked above: not expected
        raise StatementError(
            gettext_noop("amount {amount!r}: {reason}"), amount=text, reason=str(exc)
        ) from None


def _key(account: AccountId, entry: BankEntry, occurrence: int) -> str:
    if entry.bank_reference and entry.bank_reference.upper() not in {"NONREF", "NOTPROVIDED"}:
        basis = ["ref", entry.bank_reference, str(entry.amount_minor), "C" if entry.credit else "D"]
        if "." in entry.position:
            basis.append(entry.position.split(".", 1)[1])
    else:
        basis = [
            "content",
            str(entry.booking_date),
            str(entry.value_date),
            str(entry.amount_minor),
            entry.currency,
            "C" if entry.credit else "D",
            "R" if entry.reversal else "",
            entry.end_to_end_id,
            entry.counterparty_iban,
            entry.counterparty_name,
            entry.remittance,
        ]
    basis += [str(occurrence)]
    digest = hashlib.sha256("\x1f".join(basis).encode()).hexdigest()[:32]
    return f"{account.label}:{digest}"


def _with_keys(statement: ParsedStatement, seen: Counter[str]) -> None:
    keyed = []
    for entry in statement.entries:
        provisional = _key(statement.account, entry, 0)
        seen[provisional] += 1
        keyed.append(replace(entry, key=_key(statement.account, entry, seen[provisional] - 1)))
    statement.entries = keyed


# --- camt ----------------------------------------------------------------------------------------------

_FEE_CODES = {"CHRG", "FEES", "COMM", "COMI", "INTR", "TAXE"}
_RETURN_WORDS = re.compile(r"R[ÜU]E?CKLASTSCHRIFT|RETOURE|R[ÜU]E?CK[ÜU]E?BERWEISUNG|RUCKLASTSCHRIFT", re.I)


class _Camt:
    """Namespace-aware lookups: ``find("Ntry/Amt")`` in the document's own namespace."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self._paths: dict[str, str] = {}

    def _path(self, path: str) -> str:
        found = self._paths.get(path)
        if found is None:
            found = "/".join(f"{{{self.ns}}}{p}" if p not in {".", ".."} else p for p in path.split("/"))
            self._paths[path] = found
        return found

    def find(self, el: object, path: str) -> object | None:
        return el.find(self._path(path))  # type: ignore[attr-defined]

    def findall(self, el: object, path: str) -> list[object]:
        return list(el.findall(self._path(path)))  # type: ignore[attr-defined]

    def text(self, el: object | None, *paths: str) -> str:
        """The stripped text of the first path found under ``el``."""
        if el is None:
            return ""
        for path in paths:
            found = self.find(el, path)
            if found is not None:
                value = (found.text or "").strip()  # type: ignore[attr-defined]
                if value:
                    return str(value)
        return ""


def _camt_date(c: _Camt, el: object | None) -> date | None:
    value = c.text(el, "Dt", "DtTm")
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise StatementError(gettext_noop("not a date: {value!r}"), value=value) from None


def _parse_camt(data: bytes, fmt: str, name: str) -> ParseResult:
    from lxml import etree

    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise StatementFormatError(
            gettext_noop("{file} is no well-formed XML: {error}"), file=_file(name), error=str(exc)
        ) from None
    ns = etree.QName(root).namespace or ""
    c = _Camt(ns)
    result = ParseResult(fmt)
    kind = fmt[:8]
    container, item = {
        "camt.052": ("BkToCstmrAcctRpt", "Rpt"),
        "camt.053": ("BkToCstmrStmt", "Stmt"),
        "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
    }[kind]
    message_id = c.text(root, f"{container}/GrpHdr/MsgId")
    seen: Counter[str] = Counter()
    for number, stmt in enumerate(c.findall(root, f"{container}/{item}"), start=1):
        statement_id = c.text(stmt, "Id") or f"{message_id or name}#{number}"
        acct = c.find(stmt, "Acct")
        iban = c.text(acct, "Id/IBAN")
        account = (
            AccountId(iban=iban.replace(" ", "").upper(), currency=c.text(acct, "Ccy"))
            if iban
            else account_id(c.text(acct, "Id/Othr/Id"), c.text(acct, "Ccy"))
        )
        statement = ParsedStatement(
            fmt,
            statement_id,
            account,
            _camt_date_text(c.text(stmt, "FrToDt/FrDtTm", "FrToDt/FrDt")),
            _camt_date_text(c.text(stmt, "FrToDt/ToDtTm", "FrToDt/ToDt")),
        )
        broken = len(result.problems)
        for index, ntry in enumerate(c.findall(stmt, "Ntry"), start=1):
            try:
                statement.entries += _camt_entry(c, ntry, statement_id, str(index), account)
            except ValueError as exc:
                result.problems.append(Problem.of(statement_id, str(index), exc))
        balances = _camt_balances(c, stmt, statement_id, result)
        opening_code = next((code for code in ("OPBD", "PRCD") if code in balances), "")
        if opening_code and "CLBD" in balances:
            statement.opening_minor = balances[opening_code][0]
            statement.closing_minor = balances["CLBD"][0]
            if len(result.problems) == broken:  # an entry not read is reported already
                mismatch = _check_balance(statement, balances["CLBD"][1], opening_code, "CLBD")
                if mismatch is not None:
                    result.warnings.append(mismatch)
        dates = [e.booking_date for e in statement.entries if e.booking_date]
        statement.from_date = statement.from_date or min(dates, default=None)
        statement.to_date = statement.to_date or max(dates, default=None)
        _with_keys(statement, seen)
        result.statements.append(statement)
    if not result.statements:
        raise StatementFormatError(
            gettext_noop("{file}: no {element} element in this {format} document"),
            file=_file(name),
            element=item,
            format=fmt,
        )
    return result


def _camt_balances(
    c: _Camt, stmt: object, statement_id: str, result: ParseResult
) -> dict[str, tuple[int, str]]:
    """The statement's balances by type code (the first of each): signed minor units and currency."""
    found: dict[str, tuple[int, str]] = {}
    for bal in c.findall(stmt, "Bal"):
        code = c.text(bal, "Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry").upper()
        if code not in {"OPBD", "PRCD", "CLBD"} or code in found:
            continue
        amt = c.find(bal, "Amt")
        currency = str(amt.get("Ccy") or "").strip() if amt is not None else ""  # type: ignore[attr-defined]
        indicator = c.text(bal, "CdtDbtInd")
        try:
            if amt is None or indicator not in {"CRDT", "DBIT"} or not currency:
                raise StatementError(
                    gettext_noop("no amount, currency (Ccy) or credit/debit indicator (CdtDbtInd)")
                )
            amount = _amount(amt.text or "", currency)  # type: ignore[attr-defined]
        except ValueError as exc:
            result.incomplete.append(
                Problem(
                    statement_id,
                    "",
                    gettext_noop("the balance {code} is not readable: {reason}"),
                    {"code": code, "reason": _reason(exc)},
                )
            )
            continue
        found[code] = (amount if indicator == "CRDT" else -amount, currency)
    return found


def _camt_date_text(value: str) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _camt_entry(
    c: _Camt, ntry: object, statement_id: str, position: str, account: AccountId
) -> list[BankEntry]:
    amt = c.find(ntry, "Amt")
    if amt is None or not (amt.text or "").strip():  # type: ignore[attr-defined]
        raise StatementError(gettext_noop("the entry has no amount (Amt)"))
    currency = str(amt.get("Ccy") or account.currency or "").strip()  # type: ignore[attr-defined]
    if not currency:
        raise StatementError(gettext_noop("the entry's amount has no currency (Ccy)"))
    amount = _amount(amt.text, currency)  # type: ignore[attr-defined]
    indicator = c.text(ntry, "CdtDbtInd")
    if not indicator:
        raise StatementError(gettext_noop("credit/debit indicator (CdtDbtInd) is 'missing'"))
    if indicator not in {"CRDT", "DBIT"}:
        raise StatementError(gettext_noop("credit/debit indicator (CdtDbtInd) is {value!r}"), value=indicator)
    credit = indicator == "CRDT"
    reversal = c.text(ntry, "RvslInd").lower() in {"true", "1"}
    status = c.text(ntry, "Sts/Cd", "Sts")
    booking_date = _camt_date(c, c.find(ntry, "BookgDt"))
    value_date = _camt_date(c, c.find(ntry, "ValDt"))
    if booking_date is None and value_date is None:
        raise StatementError(gettext_noop("the entry has neither a booking date nor a value date"))
    entry_codes = _bank_codes(c, c.find(ntry, "BkTxCd"))
    info = c.text(ntry, "AddtlNtryInf")
    base = BankEntry(
        statement_id=statement_id,
        position=position,
        account=account,
        booking_date=booking_date,
        value_date=value_date,
        amount_minor=amount,
        currency=currency,
        credit=credit,
        reversal=reversal,
        booked=status in {"", "BOOK"},
        bank_reference=c.text(ntry, "AcctSvcrRef"),
        bank_code=" ".join(entry_codes),
        additional_info=info,
    )
    details = [tx for dtls in c.findall(ntry, "NtryDtls") for tx in c.findall(dtls, "TxDtls")]
    if not details:
        return [_fee_and_return(base, entry_codes, "")]
    if len(details) == 1:
        return [_camt_tx(c, details[0], base, entry_codes, amount_from_tx=False)]
    entries = [
        _camt_tx(c, tx, replace(base, position=f"{position}.{i}"), entry_codes, amount_from_tx=True)
        for i, tx in enumerate(details, start=1)
    ]
    total = sum(e.amount_minor for e in entries)
    if total != amount:
        raise StatementError(
            gettext_noop(
                "the {count} transactions of this batch add up to {total} minor units, the entry to {amount}"
            ),
            count=len(details),
            total=total,
            amount=amount,
        )
    return entries


def _bank_codes(c: _Camt, code: object | None) -> list[str]:
    if code is None:
        return []
    domain = "/".join(
        x
        for x in (c.text(code, "Domn/Cd"), c.text(code, "Domn/Fmly/Cd"), c.text(code, "Domn/Fmly/SubFmlyCd"))
        if x
    )
    return [x for x in (domain, c.text(code, "Prtry/Cd")) if x]


def _fee_and_return(entry: BankEntry, codes: list[str], reason: str) -> BankEntry:
    parts = {p for code in codes for p in code.replace("+", "/").split("/")}
    fee = bool(parts & _FEE_CODES)
    returned = bool(reason) or bool(_RETURN_WORDS.search(entry.additional_info))
    return replace(entry, fee=fee, reversal=entry.reversal or returned, return_reason=reason)


def _camt_tx(
    c: _Camt, tx: object, base: BankEntry, entry_codes: list[str], *, amount_from_tx: bool
) -> BankEntry:
    amount = base.amount_minor
    if amount_from_tx:
        for path in ("AmtDtls/TxAmt/Amt", "Amt", "AmtDtls/InstdAmt/Amt"):
            found = c.find(tx, path)
            if found is not None and str(found.get("Ccy") or "") == base.currency:  # type: ignore[attr-defined]
                amount = _amount(found.text or "", base.currency)  # type: ignore[attr-defined]
                break
        else:
            raise StatementError(
                gettext_noop("transaction {position} has no amount in {currency}"),
                position=base.position,
                currency=base.currency,
            )
    # the payer for money received (or a reversal of a debit); the payee otherwise. A return (RtrInf) is a
    # reversal even without RvslInd: a returned direct debit names us as Cdtr and the payer as Dbtr.
    returned = base.reversal or c.find(tx, "RtrInf") is not None
    payer_side = base.credit != returned
    first, second = ("Dbtr", "Cdtr") if payer_side else ("Cdtr", "Dbtr")
    party = first if _party_name(c, tx, first) or c.text(tx, f"RltdPties/{first}Acct/Id/IBAN") else second
    ultimate = _party_name(c, tx, f"Ultmt{party}")
    remittance = " ".join(
        (u.text or "").strip()  # type: ignore[attr-defined]
        for u in c.findall(tx, "RmtInf/Ustrd")
        if (u.text or "").strip()  # type: ignore[attr-defined]
    )
    creditor_refs = [
        (r.text or "").strip()  # type: ignore[attr-defined]
        for strd in c.findall(tx, "RmtInf/Strd")
        for r in c.findall(strd, "CdtrRefInf/Ref")
    ]
    documents = tuple(
        (n.text or "").strip()  # type: ignore[attr-defined]
        for strd in c.findall(tx, "RmtInf/Strd")
        for n in c.findall(strd, "RfrdDocInf/Nb")
        if (n.text or "").strip()  # type: ignore[attr-defined]
    )
    extra = " ".join(
        (a.text or "").strip()  # type: ignore[attr-defined]
        for strd in c.findall(tx, "RmtInf/Strd")
        for a in c.findall(strd, "AddtlRmtInf")
        if (a.text or "").strip()  # type: ignore[attr-defined]
    )
    if extra:
        remittance = f"{remittance} {extra}".strip()
    end_to_end = c.text(tx, "Refs/EndToEndId")
    codes = _bank_codes(c, c.find(tx, "BkTxCd")) or entry_codes
    entry = replace(
        base,
        amount_minor=amount,
        end_to_end_id="" if end_to_end.upper() == "NOTPROVIDED" else end_to_end,
        bank_reference=c.text(tx, "Refs/AcctSvcrRef") or base.bank_reference,
        mandate_id=c.text(tx, "Refs/MndtId"),
        counterparty_name=_party_name(c, tx, party),
        counterparty_iban=c.text(tx, f"RltdPties/{party}Acct/Id/IBAN").replace(" ", "").upper(),
        counterparty_bic=c.text(
            tx, f"RltdAgts/{party}Agt/FinInstnId/BICFI", f"RltdAgts/{party}Agt/FinInstnId/BIC"
        ),
        ultimate_name=ultimate,
        remittance=remittance,
        creditor_reference=next((r for r in creditor_refs if r), ""),
        document_numbers=documents,
        bank_code=" ".join(codes),
        additional_info=" ".join(x for x in (base.additional_info, c.text(tx, "AddtlTxInf")) if x),
    )
    return _fee_and_return(entry, codes, c.text(tx, "RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry"))


def _party_name(c: _Camt, tx: object, role: str) -> str:
    return c.text(tx, f"RltdPties/{role}/Pty/Nm", f"RltdPties/{role}/Nm")


# --- MT940 ---------------------------------------------------------------------------------------------

# The tags of MT940/MT942 (and the German ``:NS:``); a line of ``:86:`` text that merely looks like a tag
# (":26:37 Folgenr.") stays in the text.
_TAG_RE = re.compile(r"^:(20|21|25|28[CD]?|13D?|34F|6[05][FM]?|61|62[FM]?|64|86|90[CD]|NS):", re.M)
_SEPA_KEYS = ("EREF", "KREF", "MREF", "CRED", "DEBT", "COAM", "OAMT", "SVWZ", "ABWA", "ABWE", "IBAN", "BIC")
_SEPA_RE = re.compile(r"(?<![A-Z])(" + "|".join(_SEPA_KEYS) + r")\+")
_RETURN_GVC = {"109", "159"}
_FEE_GVC = {"805", "808", "809"}
_FEE_TYPES = {"NCHG", "NCOM", "NINT", "FCHG"}


@dataclass(frozen=True, slots=True)
class Details86:
    """A structured ``:86:`` field: the German ``?nn`` subfields or the Dutch ``/KEY/value`` form."""

    gvc: str = ""
    posting_text: str = ""
    purpose: str = ""
    sepa: dict[str, str] = field(default_factory=dict)
    bic: str = ""
    account: str = ""
    name: str = ""
    return_code: str = ""
    creditor_reference: str = ""


_SEPA_START = re.compile(r"^(?:" + "|".join(_SEPA_KEYS) + r")\+")


def parse_86(text: str) -> Details86:
    """``166?00GUTSCHRIFT?20EREF+...?30BIC?31IBAN?32Name``: GVC, subfields and SEPA keys; the Dutch
    ``/EREF/.../CNTP/.../REMI/...`` form (ING, Rabobank, ABN AMRO). Unstructured text becomes the purpose as
    it is (lines joined by spaces)."""
    flat = text.replace("\r", "").strip(" \t\n")
    structured = re.match(r"^(\d{3})([?@>])", flat)
    if not structured:
        dutch = _parse_86_dutch(flat)
        if dutch is not None:
            return dutch
        return Details86(purpose=" ".join(line.strip() for line in flat.split("\n") if line.strip()))
    gvc, sep = structured.group(1), structured.group(2)
    joined = flat.replace("\n", "")
    fields: dict[str, list[str]] = {}
    for match in re.finditer(re.escape(sep) + r"(\d{2})([^" + re.escape(sep) + r"]*)", joined[3:]):
        fields.setdefault(match.group(1), []).append(match.group(2))
    purpose_codes = [f"{n}" for n in range(20, 30)] + [f"{n}" for n in range(60, 64)]
    chunks = [part for code in purpose_codes for part in fields.get(code, [])]
    if _SEPA_RE.search("".join(chunks)) or any(_SEPA_START.match(c) for c in chunks):
        # a key at the start of a subfield is a key even when the text before it ends in a letter
        purpose = "".join(" " + c if i and _SEPA_START.match(c) else c for i, c in enumerate(chunks))
    else:
        purpose = " ".join(c.strip() for c in chunks)
    sepa: dict[str, str] = {}
    parts = _SEPA_RE.split(purpose)
    if len(parts) > 1:
        free = parts[0].strip()
        for key, value in zip(parts[1::2], parts[2::2], strict=True):
            sepa[key] = (sepa.get(key, "") + value).strip()
        if free:
            sepa["SVWZ"] = f"{free} {sepa.get('SVWZ', '')}".strip()
    name = "".join(fields.get("32", []) + fields.get("33", [])).strip()
    # ?31 is the account number or IBAN, ?38 the IBAN: the IBAN wins when ?31 holds an old account number
    accounts = ["".join(fields.get(code, [])).strip().replace(" ", "") for code in ("31", "38")]
    account = next((a for a in accounts if iban_shape_ok(a)), accounts[0] or accounts[1])
    return Details86(
        gvc=gvc,
        posting_text="".join(fields.get("00", [])).strip(),
        purpose=sepa.get("SVWZ", "") if sepa else purpose.strip(),
        sepa=sepa,
        bic="".join(fields.get("30", [])).strip(),
        account=account,
        name=re.sub(r"\s{2,}", " ", name),
        return_code="".join(fields.get("34", [])).strip(),
    )


_DUTCH_KEYS = (
    "EREF", "PREF", "MARF", "CSID", "CNTP", "REMI", "USTD", "STRD", "PURP", "ULTC", "ULTD", "ULTB", "RTRN",
    "ISDT", "BENM", "ORDP", "NAME", "ADDR", "IBAN", "BIC", "TRCD", "BUSP", "CREF", "RREF", "EXCH", "CHGS",
    "OCMT", "SVCL", "IREF",
)  # fmt: skip
_DUTCH_SPLIT = re.compile(r"/(?=(?:" + "|".join(_DUTCH_KEYS) + r")/)")


def _parse_86_dutch(flat: str) -> Details86 | None:
    """``/EREF/ref/CNTP/IBAN/BIC/Name/City/REMI/USTD//text/``; None when the text is not of that form."""
    joined = flat.replace("\n", "")
    if not re.match(r"^/(?:" + "|".join(_DUTCH_KEYS) + r")/", joined):
        return None
    values: dict[str, str] = {}
    order: list[str] = []
    for part in _DUTCH_SPLIT.split(joined)[1:]:
        key, _, value = part.partition("/")
        order.append(key)
        values.setdefault(key, value.strip("/ ").strip())
    remittance, creditor_ref = values.get("USTD", ""), ""
    if "STRD" in values:  # STRD/CUR/RF18...: a structured creditor reference
        creditor_ref = values["STRD"].rpartition("/")[2].strip()
    if not remittance and not creditor_ref:
        remittance = values.get("REMI", "")
    iban, bic, name = "", values.get("BIC", ""), values.get("NAME", "")
    if values.get("CNTP"):  # CNTP/IBAN/BIC/Name/City
        cntp = values["CNTP"].split("/")
        iban, bic = cntp[0], (cntp[1] if len(cntp) > 1 else "") or bic
        name = (cntp[2] if len(cntp) > 2 else "") or name
    iban = iban or values.get("IBAN", "")
    sepa = {k: v for k, v in (("EREF", values.get("EREF", "")), ("MREF", values.get("MARF", ""))) if v}
    if remittance:
        sepa["SVWZ"] = remittance
    return Details86(
        purpose=remittance,
        sepa=sepa,
        bic=bic.strip(),
        account=iban.strip().replace(" ", ""),
        name=re.sub(r"\s{2,}", " ", name).strip(),
        return_code=values.get("RTRN", ""),
        creditor_reference=creditor_ref,
        posting_text=values.get("TRCD", ""),
    )


def _tags(block: str) -> list[tuple[str, str]]:
    """The ``(tag, value)`` pairs of one statement; a value spans lines until the next tag."""
    found = list(_TAG_RE.finditer(block))
    return [
        (
            m.group(1),
            block[m.end() : found[i + 1].start() if i + 1 < len(found) else len(block)].rstrip("\n -"),
        )
        for i, m in enumerate(found)
    ]


def _mt940_blocks(text: str) -> list[str]:
    """One text per statement: SWIFT envelopes ({1:...}{4:...-}) removed, split at each ``:20:``."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"\{[1-3]:[^}]*\}", "", text)
    text = re.sub(r"\{4:\s*", "", text)
    text = re.sub(r"^-\}?\s*$", "", text, flags=re.M)
    starts = [m.start() for m in re.finditer(r"^:20:", text, re.M)]
    return [text[s : starts[i + 1] if i + 1 < len(starts) else len(text)] for i, s in enumerate(starts)]


def _parse_mt940(data: bytes, name: str) -> ParseResult:
    import mt940

    text = decode_text(data)
    result = ParseResult("mt940")
    seen: Counter[str] = Counter()
    for number, block in enumerate(_mt940_blocks(text), start=1):
        tags = _tags(block)
        values = dict(tags)
        statement_id = (values.get("20", "") + ("/" + values["28C"] if values.get("28C") else "")).strip()
        statement_id = statement_id or f"{name}#{number}"
        opening = values.get("60F") or values.get("60M") or ""
        currency = opening[7:10] if len(opening) >= 10 else ""
        # an MT942 has no opening balance: its floor limit (:34F:) names the currency
        floor = values.get("34F", "").strip()
        if not currency and floor[:3].isalpha():
            currency = floor[:3].upper()
        account = account_id(values.get("25", ""), currency)
        if not account.label:
            result.problems.append(
                Problem(statement_id, "", gettext_noop("no account (:25:) in this statement"))
            )
            continue
        header = "".join(f":{t}:{v}\n" for t, v in tags if t in {"20", "25", "28C", "60F", "60M"})
        statement = ParsedStatement("mt940", statement_id, account, None, None)
        index = 0
        for i, (tag, value) in enumerate(tags):
            if tag != "61":
                continue
            index += 1
            # some banks (old Rabobank format) split the details over several :86: tags
            following = []
            for next_tag, next_value in tags[i + 1 :]:
                if next_tag != "86":
                    break
                following.append(next_value)
            details = "\n".join(following)
            try:
                statement.entries.append(
                    _mt940_entry(mt940, header, value, details, statement_id, str(index), account, currency)
                )
            except (ValueError, RuntimeError, KeyError, TypeError, ArithmeticError) as exc:
                result.problems.append(
                    Problem(
                        statement_id,
                        str(index),
                        gettext_noop("{reason} (:61:{line})"),
                        {"reason": _reason(exc), "line": value[:40]},
                    )
                )
        result.incomplete += _mt940_completeness(
            tags, statement, broken=any(p.statement == statement_id for p in result.problems)
        )
        if "\x00" in block:  # MT940 is text: a NUL byte is a damaged file, whatever it overwrote
            result.incomplete.append(
                Problem(statement_id, "", gettext_noop("NUL bytes in the text: the file is damaged"))
            )
        dates = [e.booking_date for e in statement.entries if e.booking_date]
        statement.from_date = min(dates, default=None) or _mt940_balance_date(opening)
        statement.to_date = max(dates, default=None) or _mt940_balance_date(
            values.get("62F") or values.get("62M") or ""
        )
        _with_keys(statement, seen)
        result.statements.append(statement)
    if not result.statements and not result.problems:
        raise StatementFormatError(
            gettext_noop("{file}: no MT940 statement (:20: ... :61:) found"), file=_file(name)
        )
    return result


_BALANCE_RE = re.compile(r"^([CD])(\d{6})([A-Z]{3})(\d[\d,.]*)")


def _mt940_completeness(
    tags: list[tuple[str, str]], statement: ParsedStatement, *, broken: bool
) -> list[Problem]:
    """An MT940 statement ends with its closing balance (:62F:, or :62M: on an intermediate page) after its
    entries, and its opening balance + credits - debits is that closing balance. An MT942 interim report
    (a floor limit :34F: or a date/time :13D:, no opening balance) has no balances to check. ``broken``:
    an entry was not read (reported already), so the sum is not checked."""
    names = [t for t, _v in tags]
    opening_tag = next((t for t in names if t in {"60F", "60M"}), "")
    if not opening_tag and ("34F" in names or "13D" in names):
        return []
    sid = statement.statement_id
    closing_at = next((i for i, t in enumerate(names) if t in {"62F", "62M"}), None)
    # the last entry ends with the :86: details after its :61: (an :86: after the closing balance is the
    # statement's own information to the account owner)
    last_entry = max((i for i, t in enumerate(names) if t == "61"), default=-1)
    while last_entry >= 0 and last_entry + 1 < len(names) and names[last_entry + 1] == "86":
        last_entry += 1
    if not opening_tag:
        return [
            Problem(sid, "", gettext_noop("no opening balance (:60F: or :60M:): the statement is incomplete"))
        ]
    if closing_at is None or closing_at < last_entry:
        return [
            Problem(
                sid,
                "",
                gettext_noop(
                    "no closing balance (:62F: or :62M:) after its entries: the file is cut off or incomplete"
                ),
            )
        ]
    balances: list[tuple[int, str]] = []
    for tag, raw in (tags[names.index(opening_tag)], tags[closing_at]):
        value = raw.strip().split("\n", 1)[0].strip()  # a line after it that is no tag is not its value
        found = _BALANCE_RE.match(value)
        try:
            if found is None:
                raise StatementError(gettext_noop("not C/D, date YYMMDD, currency and amount"))
            amount = _amount(found.group(4), found.group(3))
        except ValueError as exc:
            return [
                Problem(
                    sid,
                    "",
                    gettext_noop("the balance {code} is not readable: {reason}"),
                    {"code": f":{tag}:{value[:30]}", "reason": _reason(exc)},
                )
            ]
        balances.append((amount if found.group(1) == "C" else -amount, found.group(3)))
    statement.opening_minor, statement.closing_minor = balances[0][0], balances[1][0]
    if broken:
        return []
    mismatch = _check_balance(statement, balances[1][1], f":{opening_tag}:", f":{names[closing_at]}:")
    return [mismatch] if mismatch is not None else []


def _parse_61(mt940: Any, header: str, line61: str) -> dict[str, Any]:
    """The statement line read by the ``mt-940`` package; a customer reference longer than the 16 characters
    SWIFT allows (ASN and GLS banks put an IBAN or a long id there) is read with the package's lenient
    variant rather than losing the booking. The variant is chosen before parsing: the package logs every
    line its pattern does not match as an error."""
    value = "\n".join(
        line.rstrip() for line in line61.replace("\r", "").split("\n") if line.strip() not in {"", "-"}
    ).strip()
    for variant in (mt940.tags.Statement(), mt940.tags.StatementGLS()):
        if not variant.re.match(value):
            continue
        tags = None if type(variant) is mt940.tags.Statement else {variant.id: variant}
        try:
            parsed = mt940.models.Transactions(tags=tags).parse(header + f":61:{line61}\n")
        except RuntimeError:
            continue
        if len(parsed) == 1:
            return dict(parsed[0].data)
    raise StatementError(
        gettext_noop(
            "the statement line (:61:) does not have the MT940 form "
            "(value date YYMMDD, optional entry date MMDD, C/D/RC/RD mark, amount, type code)"
        )
    )


def _mt940_balance_date(balance: str) -> date | None:
    try:
        return datetime.strptime(balance[1:7], "%y%m%d").date()
    except ValueError:
        return None


def _mt940_entry(
    mt940: object,
    header: str,
    line61: str,
    line86: str,
    statement_id: str,
    position: str,
    account: AccountId,
    currency: str,
) -> BankEntry:
    tx = _parse_61(mt940, header, line61)
    status = str(tx["status"])
    cur = str(tx.get("currency") or currency)
    if not cur:
        raise StatementError(gettext_noop("no currency: the statement has no opening balance (:60F:)"))
    amount = _amount(str(abs(tx["amount"].amount)), cur)
    value_date = date(tx["date"].year, tx["date"].month, tx["date"].day)
    entry_date = tx.get("entry_date") or tx["date"]
    booking_date = date(entry_date.year, entry_date.month, entry_date.day)
    d = parse_86(line86)
    tx_type = str(tx.get("id") or "")
    credit = status in {"C", "RD"}
    returned = (
        status in {"RC", "RD"}
        or d.gvc in _RETURN_GVC
        or bool(_RETURN_WORDS.search(d.posting_text))
        or bool(_RETURN_WORDS.search(d.sepa.get("SVWZ", "")[:40]))
    )
    customer_ref = str(tx.get("customer_reference") or "").strip()
    bank_ref = str(tx.get("bank_reference") or "").strip()
    counterparty = d.account or d.sepa.get("IBAN", "")
    iban = counterparty.upper() if iban_shape_ok(counterparty) else ""
    eref = d.sepa.get("EREF", "")
    extra = str(tx.get("extra_details") or "").strip()
    if iban_shape_ok(customer_ref):
        # Dutch banks (ASN, SNS) give the counterparty's IBAN as the reference: it is no end-to-end id
        iban = iban or customer_ref.replace(" ", "").upper()
    elif not eref and customer_ref.upper() not in {"", "NONREF"} and not customer_ref.startswith("KREF+"):
        eref = customer_ref
    if not iban and iban_shape_ok(extra):  # Rabobank: the counterparty's IBAN as supplementary details
        iban = extra.replace(" ", "").upper()
    return BankEntry(
        statement_id=statement_id,
        position=position,
        account=account,
        booking_date=booking_date,
        value_date=value_date,
        amount_minor=amount,
        currency=cur,
        credit=credit,
        reversal=returned,
        return_reason=d.return_code if returned else "",
        fee=d.gvc in _FEE_GVC or tx_type in _FEE_TYPES,
        end_to_end_id="" if eref.upper() == "NOTPROVIDED" else eref,
        bank_reference=bank_ref,
        mandate_id=d.sepa.get("MREF", ""),
        counterparty_name=d.name,
        counterparty_iban=iban,
        counterparty_bic=d.bic if not d.bic.isdigit() else "",
        ultimate_name=d.sepa.get("ABWA", ""),
        remittance=d.purpose,
        creditor_reference=d.creditor_reference,
        bank_code=" ".join(x for x in (d.gvc, tx_type) if x),
        additional_info=d.posting_text,
    )
