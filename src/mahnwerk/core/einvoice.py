"""E-invoices read into one normalised document: XRechnung / EN 16931 in both syntaxes — UBL 2.1
``Invoice`` and ``CreditNote``, UN/CEFACT ``CrossIndustryInvoice`` (D16B) — and ZUGFeRD / Factur-X PDFs,
whose invoice is the CII (or UBL) XML embedded in the PDF.

Pure: bytes in, a frozen dataclass out. A file that cannot be read, or lacks what a receivable needs,
raises :class:`EInvoiceError` naming the file, the element (business term BT-n of EN 16931 and its XPath)
and what is wrong.

What is read, by business term (UBL path | CII path):

- BT-1 number ``cbc:ID`` | ``rsm:ExchangedDocument/ram:ID``
- BT-2 issue date ``cbc:IssueDate`` | ``rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString``
- BT-3 type code ``cbc:InvoiceTypeCode`` / ``cbc:CreditNoteTypeCode`` | ``rsm:ExchangedDocument/ram:TypeCode``
- BT-5 currency ``cbc:DocumentCurrencyCode`` | ``ram:ApplicableHeaderTradeSettlement/ram:InvoiceCurrencyCode``
- BT-9 due date ``cbc:DueDate`` (Invoice), ``cac:PaymentMeans/cbc:PaymentDueDate`` (CreditNote) |
  ``ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString``
- BT-10 buyer reference ``cbc:BuyerReference`` | ``ram:ApplicableHeaderTradeAgreement/ram:BuyerReference``
- BT-20 payment terms ``cac:PaymentTerms/cbc:Note`` | ``ram:SpecifiedTradePaymentTerms/ram:Description``
- BT-25 preceding invoice ``cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID`` |
  ``ram:ApplicableHeaderTradeSettlement/ram:InvoiceReferencedDocument/ram:IssuerAssignedID``
- BT-31 seller VAT id, BT-48 buyer VAT id ``cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID`` |
  ``ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']``
- BT-44 buyer name ``cac:PartyLegalEntity/cbc:RegistrationName`` | ``ram:BuyerTradeParty/ram:Name``;
  BT-45 trading name ``cac:PartyName/cbc:Name`` | ``ram:SpecifiedLegalOrganization/ram:TradingBusinessName``
- BT-46 buyer id ``cac:PartyIdentification/cbc:ID`` | ``ram:BuyerTradeParty/ram:ID`` and ``ram:GlobalID``
- BT-47 buyer legal registration id ``cac:PartyLegalEntity/cbc:CompanyID`` |
  ``ram:SpecifiedLegalOrganization/ram:ID``
- BT-49 buyer electronic address (scheme EM) ``cbc:EndpointID`` | ``ram:URIUniversalCommunication/ram:URIID``;
  BT-56/BT-58 contact name and email ``cac:Contact/cbc:Name``, ``cbc:ElectronicMail`` |
  ``ram:DefinedTradeContact/ram:PersonName``, ``ram:EmailURIUniversalCommunication/ram:URIID``
- BT-50..55 buyer address ``cac:PostalAddress`` | ``ram:PostalTradeAddress``
- BT-81 payment means code, BT-83 remittance information ``cac:PaymentMeans/cbc:PaymentMeansCode``,
  ``cbc:PaymentID`` | ``ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode``,
  ``ram:ApplicableHeaderTradeSettlement/ram:PaymentReference``
- BT-89 mandate, BT-91 debited account (means code 59, SEPA direct debit)
  ``cac:PaymentMandate/cbc:ID``, ``cac:PaymentMandate/cac:PayerFinancialAccount/cbc:ID`` |
  ``ram:SpecifiedTradePaymentTerms/ram:DirectDebitMandateID``, ``ram:PayerPartyDebtorFinancialAccount/ram:IBANID``
- BT-115 amount due ``cac:LegalMonetaryTotal/cbc:PayableAmount`` |
  ``ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:DuePayableAmount``

Payment terms (:func:`read_payment_terms`): the German structured lines of XRechnung in BT-20 (UBL and CII
alike) — ``#SKONTO#TAGE=7#PROZENT=2.00#``, optionally ``BASISBETRAG=100.00#``, one per line, as many as there
are — are kept in order as :class:`CashDiscount`, the older late-payment lines ``#VERZUG#...`` as
:class:`LatePaymentTerm`; they are read in any case, with blanks, decimal commas or a missing last "#", and one
that still cannot be read refuses the file, naming BT-20 and the line. A 0 % cash discount
(``#SKONTO#TAGE=30#PROZENT=0.00#``) is how German software writes "30 days net": it is a net term. Free texts
such as "Zahlbar innerhalb 30 Tagen netto" or "payable by 04.04.2018" give a due date
(:func:`due_date_from_terms`) only when every net term of the text names the same day — cash-discount clauses
are not net terms. A due date given (BT-9) always wins over the terms.

Messages — the reason of an :class:`EInvoiceError`, the warnings of an :class:`EInvoice`, the problems of
:class:`PaymentTerms` and why the terms give no due date — are :class:`EInvoiceMessage`: an English template
marked for translation with its parameters apart (file names, XPaths, business terms, values: never
translated), rendered by the caller with its own ``gettext`` (``render``); ``str()`` is the English text.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from mahnwerk.core.money import MoneyError, to_decimal, to_minor

__all__ = [
    "CORRECTION_CODE",
    "CREDIT_NOTE_CODES",
    "EMBEDDED_NAMES",
    "NO_DUE_DATE",
    "THE_FILE",
    "Address",
    "BuyerParty",
    "CashDiscount",
    "EInvoice",
    "EInvoiceError",
    "EInvoiceMessage",
    "LatePaymentTerm",
    "PaymentTerms",
    "due_date_from_terms",
    "extract_xml_from_pdf",
    "normalise_vat_id",
    "parse_einvoice",
    "parse_xml",
    "read_payment_terms",
    "structured_discounts",
]

UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "inv": UBL_INVOICE,
    "cn": UBL_CREDIT_NOTE,
    "rsm": CII,
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}


def gettext_noop(message: str) -> str:
    """Mark ``message`` for the translation catalogues without importing Django into the core."""
    return message


# UNTDID 1001 document types that credit the buyer (EN 16931 code list for BT-3); 384 corrects an invoice.
CREDIT_NOTE_CODES = frozenset({"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"})
CORRECTION_CODE = "384"
# The names are in English, marked for translation: the caller translates EInvoice.type_name in a sentence.
TYPE_NAMES = {
    "380": gettext_noop("commercial invoice"),
    "381": gettext_noop("credit note"),
    "383": gettext_noop("debit note"),
    "384": gettext_noop("corrected invoice"),
    "386": gettext_noop("prepayment invoice"),
    "389": gettext_noop("self-billed invoice"),
    "261": gettext_noop("self-billed credit note"),
    "326": gettext_noop("partial invoice"),
    "875": gettext_noop("partial construction invoice"),
    "876": gettext_noop("partial final construction invoice"),
    "877": gettext_noop("final construction invoice"),
}

# The attachment names of the embedded XML, by ZUGFeRD/Factur-X/XRechnung version, most specific first.
EMBEDDED_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml", "ZUGFeRD-invoice.xml")

DIRECT_DEBIT_CODES = frozenset({"59", "49"})  # SEPA direct debit, direct debit (UNTDID 4461)


Gettext = Callable[[str], str]

# the file's name in messages when the caller gives none
THE_FILE = gettext_noop("the file")


class EInvoiceMessage:
    """A sentence of the reader: ``message`` is an English template marked for translation
    (:func:`gettext_noop`), ``params`` its values (file names, XPaths, business terms and values, never
    translated). :meth:`render` words it in the language of the ``gettext`` given, ``str()`` in English; a
    parameter that is itself a message is rendered with the same ``gettext``."""

    __slots__ = ("message", "params")

    def __init__(self, message: str, /, **params: Any) -> None:
        self.message = message
        self.params = params

    def render(self, gettext: Gettext | None = None) -> str:
        return _render(self.message, self.params, gettext)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"EInvoiceMessage({self.message!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EInvoiceMessage):
            return NotImplemented
        return (self.message, self.params) == (other.message, other.params)

    def __hash__(self) -> int:
        return hash(self.message)


# several messages in one (problem; more): nothing to translate, rendered as it is
_SEVERAL = "{problem}; {more}"


def _render(message: str, params: Mapping[str, Any], gettext: Gettext | None) -> str:
    template = gettext(message) if gettext is not None and message != _SEVERAL else message
    return template.format(
        **{k: v.render(gettext) if isinstance(v, EInvoiceMessage) else v for k, v in params.items()}
    )


def _joined(messages: Sequence[EInvoiceMessage]) -> EInvoiceMessage:
    """Several messages as one: "first; second; third"."""
    *rest, last = messages
    for message in reversed(rest):
        last = EInvoiceMessage(_SEVERAL, problem=message, more=last)
    return last


class EInvoiceError(ValueError):
    """The file is not an e-invoice this module reads, or lacks what a receivable needs: ``source`` (the file),
    ``element`` (a business term and its XPath, a place in the file; a message where it has words, or empty)
    and what is wrong, ``message`` (an English template marked for translation) with ``params``.
    :meth:`render` words it in the language of the ``gettext`` given, ``str()`` in English."""

    def __init__(self, source: str, element: str | EInvoiceMessage, message: str, /, **params: Any) -> None:
        self.source = source
        self.element = element
        self.message = message
        self.params = params
        super().__init__(self.render())

    @property
    def reason(self) -> EInvoiceMessage:
        """What is wrong, without the file and the element."""
        return EInvoiceMessage(self.message, **self.params)

    def render(self, gettext: Gettext | None = None) -> str:
        """``file: element: reason``."""
        source = gettext(self.source) if gettext is not None and self.source == THE_FILE else self.source
        element = self.element.render(gettext) if isinstance(self.element, EInvoiceMessage) else self.element
        where = f"{element}: " if element else ""
        return f"{source}: {where}{self.reason.render(gettext)}"


@dataclass(frozen=True, slots=True)
class Address:
    street: str = ""  # BT-50, BT-51 and BT-163 joined by ", "
    postcode: str = ""  # BT-53
    city: str = ""  # BT-52
    country: str = ""  # BT-55, ISO 3166-1 alpha-2


@dataclass(frozen=True, slots=True)
class BuyerParty:
    name: str  # BT-44 (the trading name BT-45 when BT-44 is missing)
    trading_name: str = ""  # BT-45
    vat_id: str = ""  # BT-48, normalised (upper case, no spaces or dots)
    buyer_id: str = ""  # BT-46 without a scheme: the seller's number for the buyer
    global_ids: tuple[tuple[str, str], ...] = ()  # BT-46 with a scheme (GLN 0088, ...): (scheme, id)
    legal_id: str = ""  # BT-47 legal registration id
    legal_form: str = ""  # UBL cbc:CompanyLegalForm (BT-33 is the seller's; some buyers send it too)
    contact_name: str = ""  # BT-56
    emails: tuple[str, ...] = ()  # BT-49 with scheme EM, then BT-58
    address: Address = field(default_factory=Address)


@dataclass(frozen=True, slots=True)
class CashDiscount:
    """A cash-discount term: ``percent`` off when paid within ``days`` of the issue date."""

    days: int
    percent: Decimal
    base_minor: int | None = None  # BASISBETRAG: the amount the discount is computed on, if not all of it
    structured: bool = True  # from the XRechnung ``#SKONTO#`` form (False: read from a free text)

    def as_text(self, currency: str = "EUR") -> str:
        """The term in the XRechnung form, the base amount in ``currency``."""
        return _term_text("SKONTO", self.days, self.percent, self.base_minor, currency)


@dataclass(frozen=True, slots=True)
class EInvoice:
    source: str  # the file name, for messages
    syntax: str  # "UBL" or "CII"
    container: str  # "xml" or "pdf"
    attachment: str  # the embedded file's name in a PDF ("" for plain XML)
    type_code: str  # BT-3
    number: str  # BT-1
    issue_date: date  # BT-2
    currency: str  # BT-5
    buyer: BuyerParty
    buyer_reference: str  # BT-10 (in Germany often the Leitweg-ID)
    seller_name: str  # BT-27
    seller_vat_id: str  # BT-31, normalised
    amount_due_minor: int  # BT-115 (may be negative: the caller decides)
    due_date: date | None  # BT-9, else read from the payment terms
    due_date_source: str  # "BT-9", "BT-20" (from the terms text) or "" (none)
    payment_terms: str  # BT-20, as written
    discounts: tuple[CashDiscount, ...]
    preceding_invoices: tuple[str, ...]  # BT-25
    payment_reference: str  # BT-83
    payment_means_codes: tuple[str, ...]  # BT-81
    debit_iban: str  # BT-91
    mandate_id: str  # BT-89
    creditor_id: str  # BT-90
    customization: str  # BT-24
    warnings: tuple[EInvoiceMessage, ...] = ()
    late_payment_terms: tuple[LatePaymentTerm, ...] = ()  # BT-20 ``#VERZUG#`` terms, as written

    @property
    def is_credit_note(self) -> bool:
        return self.type_code in CREDIT_NOTE_CODES

    @property
    def is_correction(self) -> bool:
        return self.type_code == CORRECTION_CODE

    @property
    def direct_debit(self) -> bool:
        """Paid by (SEPA) direct debit: means code 59 (or 49), or a mandate and a debited account given."""
        return bool(DIRECT_DEBIT_CODES & set(self.payment_means_codes)) or bool(
            self.mandate_id and self.debit_iban
        )

    @property
    def type_name(self) -> str:
        """The document type in English, marked for translation (the caller's ``gettext`` translates it)."""
        return TYPE_NAMES.get(
            self.type_code, gettext_noop("credit note") if self.is_credit_note else gettext_noop("invoice")
        )


# --- entry points --------------------------------------------------------------------------------------


def parse_einvoice(data: bytes, source: str = THE_FILE) -> EInvoice:
    """An e-invoice from a file's bytes: XML (UBL or CII) or a PDF with the XML embedded."""
    if data.lstrip()[:5] == b"%PDF-":
        name, xml = extract_xml_from_pdf(data, source)
        return parse_xml(xml, source, container="pdf", attachment=name)
    return parse_xml(data, source)


def extract_xml_from_pdf(data: bytes, source: str = THE_FILE) -> tuple[str, bytes]:
    """The embedded invoice XML of a ZUGFeRD / Factur-X / XRechnung PDF: (attachment name, content)."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise EInvoiceError(
                source, "", gettext_noop("the PDF is encrypted; its embedded files cannot be read")
            )
        attachments = {name: contents for name, contents in reader.attachments.items() if contents}
    except EInvoiceError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise EInvoiceError(
            source, "", gettext_noop("not a readable PDF ({error})"), error=str(exc)
        ) from None
    lower = {name.lower(): name for name in attachments}
    for wanted in EMBEDDED_NAMES:
        if wanted.lower() in lower:
            name = lower[wanted.lower()]
            return name, attachments[name][0]
    for name, contents in sorted(attachments.items()):
        if name.lower().endswith(".xml") and _root_kind(contents[0]):
            return name, contents[0]
    raise EInvoiceError(
        source,
        "/Root/Names/EmbeddedFiles",
        gettext_noop(
            "the PDF has no embedded e-invoice XML (looked for {names} or any UBL/CII XML; embedded files: "
            "{found}): it is not a ZUGFeRD/Factur-X invoice"
        ),
        names=", ".join(EMBEDDED_NAMES[:3]),
        found=", ".join(sorted(attachments)) or EInvoiceMessage(gettext_noop("none")),
    )


def parse_xml(
    data: bytes, source: str = THE_FILE, *, container: str = "xml", attachment: str = ""
) -> EInvoice:
    root = _xml_root(data, source)
    ns = _namespace(root)
    if ns in (UBL_INVOICE, UBL_CREDIT_NOTE):
        return _parse_ubl(root, source, container, attachment)
    if ns == CII:
        return _parse_cii(root, source, container, attachment)
    if ns.startswith("urn:ferd:CrossIndustryDocument"):
        raise EInvoiceError(
            source, "/*", gettext_noop("ZUGFeRD 1.0 (CrossIndustryDocument) is not supported; ask for 2.x")
        )
    raise EInvoiceError(
        source,
        "/*",
        gettext_noop(
            "the root element {element!r} (namespace {namespace!r}) is no UBL Invoice/CreditNote or CII "
            "CrossIndustryInvoice"
        ),
        element=_local(root),
        namespace=ns or EInvoiceMessage(gettext_noop("none")),
    )


# --- XML helpers -----------------------------------------------------------------------------------------


def _xml_root(data: bytes, source: str) -> Any:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        return etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise EInvoiceError(
            source,
            EInvoiceMessage(gettext_noop("line {line}, column {column}"), line=line, column=column),
            gettext_noop("not well-formed XML: {error}"),
            error=str(getattr(exc, "msg", exc)),
        ) from None


def _root_kind(data: bytes) -> str:
    try:
        ns = _namespace(_xml_root(data, ""))
    except EInvoiceError:
        return ""
    return {UBL_INVOICE: "UBL", UBL_CREDIT_NOTE: "UBL", CII: "CII"}.get(ns, "")


def _namespace(el: Any) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _local(el: Any) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag.rsplit("}", 1)[-1]


def _all(el: Any, path: str) -> list[Any]:
    if el is None:
        return []
    return list(el.xpath(path, namespaces=NS))


def _first(el: Any, path: str) -> Any:
    found = _all(el, path)
    return found[0] if found else None


def _text(el: Any, *paths: str) -> str:
    """The stripped text of the first of ``paths`` that has one."""
    for path in paths:
        for found in _all(el, path):
            value = str(found if isinstance(found, str) else (found.text or "")).strip()
            if value:
                return value
    return ""


def _texts(el: Any, path: str) -> list[str]:
    return [t for t in ((x.text or "").strip() for x in _all(el, path)) if t]


def normalise_vat_id(value: str) -> str:
    """``de 123.456.789`` -> ``DE123456789``."""
    return re.sub(r"[\s.\-/]", "", value).upper()


# what is said when a required business term is missing
_MISSING = {
    "BT-1": gettext_noop("the invoice number is missing"),
    "BT-2": gettext_noop("the issue date is missing"),
    "BT-3": gettext_noop("the document type code is missing"),
    "BT-5": gettext_noop("the currency is missing"),
    "BT-115": gettext_noop("the amount due is missing"),
}


class _Reader:
    """Field readers that raise :class:`EInvoiceError` naming the business term and its path."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.warnings: list[EInvoiceMessage] = []

    def fail(self, bt: str, path: str, message: str, **params: Any) -> EInvoiceError:
        return EInvoiceError(self.source, f"{bt} ({path})", message, **params)

    def required(self, el: Any, bt: str, path: str) -> str:
        value = _text(el, path)
        if not value:
            raise self.fail(bt, path, _MISSING[bt])
        return value

    def iso_date(self, text: str, bt: str, path: str) -> date:
        try:
            return date.fromisoformat(text.strip()[:10])
        except ValueError:
            raise self.fail(
                bt, path, gettext_noop("not a date (expected YYYY-MM-DD): {value!r}"), value=text
            ) from None

    def cii_date(self, el: Any, bt: str, path: str, label: str = "") -> date | None:
        node = _first(el, path)
        path = label or path
        if node is None:
            return None
        value = (node.text or "").strip()
        fmt = node.get("format", "102")
        if fmt != "102" or not re.fullmatch(r"\d{8}", value):
            raise self.fail(
                bt,
                path,
                gettext_noop("not a date in format 102 (YYYYMMDD): {value!r} (format {format!r})"),
                value=value,
                format=fmt,
            )
        try:
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            raise self.fail(bt, path, gettext_noop("no such day: {value!r}"), value=value) from None

    def amount(self, text: str, currency: str, bt: str, path: str) -> int:
        try:
            return to_minor(Decimal(text.strip()), currency)
        except (InvalidOperation, MoneyError) as exc:
            raise self.fail(
                bt,
                path,
                gettext_noop("not an amount in {currency}: {value!r} ({error})"),
                currency=currency,
                value=text,
                error=str(exc),
            ) from None

    def currency(self, text: str, bt: str, path: str) -> str:
        from mahnwerk.core.money import digits

        code = text.strip().upper()
        try:
            digits(code)
        except MoneyError:
            raise self.fail(
                bt, path, gettext_noop("not an ISO 4217 currency code: {value!r}"), value=text
            ) from None
        return code


# --- UBL ---------------------------------------------------------------------------------------------------


def _parse_ubl(root: Any, source: str, container: str, attachment: str) -> EInvoice:
    r = _Reader(source)
    credit = _namespace(root) == UBL_CREDIT_NOTE
    top = "cn:CreditNote" if credit else "inv:Invoice"
    p = f"/{top}"
    number = r.required(root, "BT-1", f"{p}/cbc:ID")
    issue_text = r.required(root, "BT-2", f"{p}/cbc:IssueDate")
    issue = r.iso_date(issue_text, "BT-2", f"{p}/cbc:IssueDate")
    type_path = f"{p}/cbc:CreditNoteTypeCode" if credit else f"{p}/cbc:InvoiceTypeCode"
    type_code = r.required(root, "BT-3", type_path)
    currency = r.currency(
        r.required(root, "BT-5", f"{p}/cbc:DocumentCurrencyCode"),
        "BT-5",
        f"{p}/cbc:DocumentCurrencyCode",
    )
    amount_path = f"{p}/cac:LegalMonetaryTotal/cbc:PayableAmount"
    amount = r.amount(r.required(root, "BT-115", amount_path), currency, "BT-115", amount_path)
    buyer_el = _first(root, f"{p}/cac:AccountingCustomerParty/cac:Party")
    if buyer_el is None:
        raise r.fail(
            "BG-7", f"{p}/cac:AccountingCustomerParty/cac:Party", gettext_noop("the buyer is missing")
        )
    buyer = _ubl_buyer(r, buyer_el, f"{p}/cac:AccountingCustomerParty/cac:Party")
    seller_el = _first(root, f"{p}/cac:AccountingSupplierParty/cac:Party")
    due_path = f"{p}/cac:PaymentMeans/cbc:PaymentDueDate" if credit else f"{p}/cbc:DueDate"
    due_texts = sorted(set(_texts(root, due_path)))
    if len(due_texts) > 1:
        raise r.fail(
            "BT-9",
            due_path,
            gettext_noop("several due dates ({dates}): which one is meant?"),
            dates=", ".join(due_texts),
        )
    due = r.iso_date(due_texts[0], "BT-9", due_path) if due_texts else None
    terms = "\n".join(_texts(root, f"{p}/cac:PaymentTerms/cbc:Note"))
    means = tuple(_texts(root, f"{p}/cac:PaymentMeans/cbc:PaymentMeansCode"))
    return _finish(
        r,
        source=source,
        syntax="UBL",
        container=container,
        attachment=attachment,
        type_code=type_code,
        number=number,
        issue=issue,
        currency=currency,
        buyer=buyer,
        buyer_reference=_text(root, f"{p}/cbc:BuyerReference"),
        seller_name=_text(seller_el, "cac:PartyLegalEntity/cbc:RegistrationName", "cac:PartyName/cbc:Name"),
        seller_vat_id=normalise_vat_id(
            _text(seller_el, "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID")
        ),
        amount=amount,
        due=due,
        terms=terms,
        terms_path=f"{p}/cac:PaymentTerms/cbc:Note",
        preceding=tuple(_texts(root, f"{p}/cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID")),
        payment_reference=_text(root, f"{p}/cac:PaymentMeans/cbc:PaymentID"),
        means=means,
        debit_iban=_text(root, f"{p}/cac:PaymentMeans/cac:PaymentMandate/cac:PayerFinancialAccount/cbc:ID"),
        mandate=_text(root, f"{p}/cac:PaymentMeans/cac:PaymentMandate/cbc:ID"),
        creditor_id=_text(seller_el, "cac:PartyIdentification/cbc:ID[@schemeID='SEPA']"),
        customization=_text(root, f"{p}/cbc:CustomizationID"),
    )


def _ubl_buyer(r: _Reader, party: Any, path: str) -> BuyerParty:
    legal_name = _text(party, "cac:PartyLegalEntity/cbc:RegistrationName")
    trading = _text(party, "cac:PartyName/cbc:Name")
    name = legal_name or trading
    if not name:
        raise r.fail(
            "BT-44",
            f"{path}/cac:PartyLegalEntity/cbc:RegistrationName",
            gettext_noop("the buyer's name is missing"),
        )
    ids = [
        (el.get("schemeID", ""), (el.text or "").strip())
        for el in _all(party, "cac:PartyIdentification/cbc:ID")
    ]
    emails = [
        (el.text or "").strip()
        for el in _all(party, "cbc:EndpointID")
        if el.get("schemeID", "").upper() == "EM"
    ] + _texts(party, "cac:Contact/cbc:ElectronicMail")
    address = _first(party, "cac:PostalAddress")
    street = ", ".join(
        _texts(address, "cbc:StreetName")
        + _texts(address, "cbc:AdditionalStreetName")
        + _texts(address, "cac:AddressLine/cbc:Line")
    )
    return BuyerParty(
        name=name,
        trading_name=trading if legal_name else "",
        vat_id=normalise_vat_id(_text(party, "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID")),
        buyer_id=next((v for s, v in ids if v and not s), ""),
        global_ids=tuple((s, v) for s, v in ids if v and s),
        legal_id=_text(party, "cac:PartyLegalEntity/cbc:CompanyID"),
        legal_form=_text(party, "cac:PartyLegalEntity/cbc:CompanyLegalForm"),
        contact_name=_text(party, "cac:Contact/cbc:Name"),
        emails=tuple(dict.fromkeys(e for e in emails if e)),
        address=Address(
            street=street,
            postcode=_text(address, "cbc:PostalZone"),
            city=_text(address, "cbc:CityName"),
            country=_text(address, "cac:Country/cbc:IdentificationCode").upper(),
        ),
    )


# --- CII ---------------------------------------------------------------------------------------------------


def _parse_cii(root: Any, source: str, container: str, attachment: str) -> EInvoice:
    r = _Reader(source)
    doc = "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument"
    tx = "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction"
    agreement = f"{tx}/ram:ApplicableHeaderTradeAgreement"
    settlement = f"{tx}/ram:ApplicableHeaderTradeSettlement"
    number = r.required(root, "BT-1", f"{doc}/ram:ID")
    issue_path = f"{doc}/ram:IssueDateTime/udt:DateTimeString"
    issue = r.cii_date(root, "BT-2", issue_path)
    if issue is None:
        raise r.fail("BT-2", issue_path, _MISSING["BT-2"])
    type_code = r.required(root, "BT-3", f"{doc}/ram:TypeCode")
    currency = r.currency(
        r.required(root, "BT-5", f"{settlement}/ram:InvoiceCurrencyCode"),
        "BT-5",
        f"{settlement}/ram:InvoiceCurrencyCode",
    )
    amount_path = f"{settlement}/ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:DuePayableAmount"
    amount = r.amount(r.required(root, "BT-115", amount_path), currency, "BT-115", amount_path)
    buyer_path = f"{agreement}/ram:BuyerTradeParty"
    buyer_el = _first(root, buyer_path)
    if buyer_el is None:
        raise r.fail("BG-7", buyer_path, gettext_noop("the buyer is missing"))
    buyer = _cii_buyer(r, buyer_el, buyer_path)
    seller_el = _first(root, f"{agreement}/ram:SellerTradeParty")
    terms_path = f"{settlement}/ram:SpecifiedTradePaymentTerms"
    due_path = f"{terms_path}/ram:DueDateDateTime/udt:DateTimeString"
    dues = sorted(
        {
            day
            for node in _all(root, terms_path)
            if (day := r.cii_date(node, "BT-9", "ram:DueDateDateTime/udt:DateTimeString", due_path))
            is not None
        }
    )
    if len(dues) > 1:
        raise r.fail(
            "BT-9",
            due_path,
            gettext_noop("several due dates ({dates}): which one is meant?"),
            dates=", ".join(map(str, dues)),
        )
    means_path = f"{settlement}/ram:SpecifiedTradeSettlementPaymentMeans"
    return _finish(
        r,
        source=source,
        syntax="CII",
        container=container,
        attachment=attachment,
        type_code=type_code,
        number=number,
        issue=issue,
        currency=currency,
        buyer=buyer,
        buyer_reference=_text(root, f"{agreement}/ram:BuyerReference"),
        seller_name=_text(seller_el, "ram:Name"),
        seller_vat_id=normalise_vat_id(
            _text(seller_el, "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']")
        ),
        amount=amount,
        due=dues[0] if dues else None,
        terms="\n".join(_texts(root, f"{terms_path}/ram:Description")),
        terms_path=f"{terms_path}/ram:Description",
        preceding=tuple(_texts(root, f"{settlement}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID")),
        payment_reference=_text(root, f"{settlement}/ram:PaymentReference"),
        means=tuple(_texts(root, f"{means_path}/ram:TypeCode")),
        debit_iban=_text(root, f"{means_path}/ram:PayerPartyDebtorFinancialAccount/ram:IBANID"),
        mandate=_text(root, f"{terms_path}/ram:DirectDebitMandateID"),
        creditor_id=_text(root, f"{settlement}/ram:CreditorReferenceID"),
        customization=_text(
            root,
            "/rsm:CrossIndustryInvoice/rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",
        ),
    )


def _cii_buyer(r: _Reader, party: Any, path: str) -> BuyerParty:
    name = _text(party, "ram:Name") or _text(party, "ram:SpecifiedLegalOrganization/ram:TradingBusinessName")
    if not name:
        raise r.fail("BT-44", f"{path}/ram:Name", gettext_noop("the buyer's name is missing"))
    emails = [
        (el.text or "").strip()
        for el in _all(party, "ram:URIUniversalCommunication/ram:URIID")
        if el.get("schemeID", "").upper() == "EM"
    ] + _texts(party, "ram:DefinedTradeContact/ram:EmailURIUniversalCommunication/ram:URIID")
    address = _first(party, "ram:PostalTradeAddress")
    street = ", ".join(
        _texts(address, "ram:LineOne") + _texts(address, "ram:LineTwo") + _texts(address, "ram:LineThree")
    )
    return BuyerParty(
        name=name,
        trading_name=_text(party, "ram:SpecifiedLegalOrganization/ram:TradingBusinessName"),
        vat_id=normalise_vat_id(_text(party, "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']")),
        buyer_id=_text(party, "ram:ID"),
        global_ids=tuple(
            (el.get("schemeID", ""), (el.text or "").strip())
            for el in _all(party, "ram:GlobalID")
            if (el.text or "").strip()
        ),
        legal_id=_text(party, "ram:SpecifiedLegalOrganization/ram:ID"),
        contact_name=_text(party, "ram:DefinedTradeContact/ram:PersonName"),
        emails=tuple(dict.fromkeys(e for e in emails if e)),
        address=Address(
            street=street,
            postcode=_text(address, "ram:PostcodeCode"),
            city=_text(address, "ram:CityName"),
            country=_text(address, "ram:CountryID").upper(),
        ),
    )


# --- both --------------------------------------------------------------------------------------------------

# the warning of an e-invoice without a due date, its ``reason`` why the payment terms (BT-20) give none
NO_DUE_DATE = gettext_noop("no due date (BT-9), and the payment terms (BT-20) give none: {reason}")


def _finish(
    r: _Reader,
    *,
    source: str,
    syntax: str,
    container: str,
    attachment: str,
    type_code: str,
    number: str,
    issue: date,
    currency: str,
    buyer: BuyerParty,
    buyer_reference: str,
    seller_name: str,
    seller_vat_id: str,
    amount: int,
    due: date | None,
    terms: str,
    terms_path: str,
    preceding: tuple[str, ...],
    payment_reference: str,
    means: tuple[str, ...],
    debit_iban: str,
    mandate: str,
    creditor_id: str,
    customization: str,
) -> EInvoice:
    if not re.fullmatch(r"\d{1,3}", type_code):
        raise r.fail(
            "BT-3",
            "InvoiceTypeCode/TypeCode",
            gettext_noop("not a UNTDID 1001 document type code: {value!r}"),
            value=type_code,
        )
    read = read_payment_terms(terms, currency)
    if read.problems:
        problems = _joined(read.problems)
        raise r.fail("BT-20", terms_path, problems.message, **problems.params)
    source_of_due = "BT-9" if due else ""
    if terms:
        from_terms, why = due_date_from_terms(terms, issue)
        if due is None and from_terms is not None:
            due, source_of_due = from_terms, "BT-20"
        elif due is not None and from_terms is not None and from_terms != due:
            r.warnings.append(
                EInvoiceMessage(
                    gettext_noop(
                        "the payment terms (BT-20) name {terms_date}, the due date (BT-9) is {due_date}: BT-9 "
                        "is used"
                    ),
                    terms_date=from_terms.isoformat(),
                    due_date=due.isoformat(),
                )
            )
        elif due is None:
            r.warnings.append(EInvoiceMessage(NO_DUE_DATE, reason=why))
    return EInvoice(
        source=source,
        syntax=syntax,
        container=container,
        attachment=attachment,
        type_code=type_code,
        number=number,
        issue_date=issue,
        currency=currency,
        buyer=buyer,
        buyer_reference=buyer_reference,
        seller_name=seller_name,
        seller_vat_id=seller_vat_id,
        amount_due_minor=amount,
        due_date=due,
        due_date_source=source_of_due,
        payment_terms=terms,
        discounts=read.discounts,
        late_payment_terms=read.late_payment,
        preceding_invoices=tuple(dict.fromkeys(preceding)),
        payment_reference=payment_reference,
        payment_means_codes=tuple(dict.fromkeys(means)),
        debit_iban=re.sub(r"\s", "", debit_iban).upper(),
        mandate_id=mandate,
        creditor_id=creditor_id,
        customization=customization,
        warnings=tuple(r.warnings),
    )


# --- payment terms -----------------------------------------------------------------------------------------

# The XRechnung structured terms in BT-20 (BR-DE-18): one per line, ``#SKONTO#TAGE=n#PROZENT=p.pp#`` with an
# optional ``BASISBETRAG=x.xx#``, before any free text; older versions also had ``#VERZUG#...`` (late
# payment). Read leniently: any case, blanks around the parts, a decimal comma, several terms on one line, a
# missing last "#", a term broken over two lines; what still cannot be read is a problem of the file.
_TERM_MARK = re.compile(r"#[^\S\n]*(?P<kind>SKONTO|VERZUG)[^\S\n]*#", re.IGNORECASE)
_TERM_PART = re.compile(
    r"[^\S\n#]*#?[^\S\n]*(?P<key>[^\W\d_]+)[^\S\n]*=[^\S\n]*(?P<value>[^#\n]*?)[^\S\n]*(?P<end>#|\n|\Z)"
)
_TERM_KEYS = ("TAGE", "PROZENT", "BASISBETRAG")
_UNREADABLE_TERM = {
    "SKONTO": gettext_noop("the cash-discount term {term!r} cannot be read: {reason}"),
    "VERZUG": gettext_noop("the late-payment term {term!r} cannot be read: {reason}"),
}
_UNKNOWN_PART = {
    "SKONTO": gettext_noop("unknown part {part}= (a cash-discount term has {parts})"),
    "VERZUG": gettext_noop("unknown part {part}= (a late-payment term has {parts})"),
}


@dataclass(frozen=True, slots=True)
class LatePaymentTerm:
    """A late-payment term of the older XRechnung form ``#VERZUG#TAGE=14#PROZENT=1.00#``: ``percent`` from
    ``days`` after the issue date. Kept with the invoice as written; the interest claimed follows the law."""

    days: int
    percent: Decimal
    base_minor: int | None = None

    def as_text(self, currency: str = "EUR") -> str:
        return _term_text("VERZUG", self.days, self.percent, self.base_minor, currency)


@dataclass(frozen=True, slots=True)
class PaymentTerms:
    """A payment-terms text (BT-20) read: its structured terms in order, the free text around them, and the
    structured terms that cannot be read, each with why."""

    discounts: tuple[CashDiscount, ...]  # structured (in order), then those the free text states
    late_payment: tuple[LatePaymentTerm, ...]
    free_text: str
    problems: tuple[EInvoiceMessage, ...] = ()

    @property
    def net_days(self) -> tuple[int, ...]:
        """The periods of the structured 0 % cash-discount terms: ``#SKONTO#TAGE=30#PROZENT=0.00#`` is how
        German invoicing software writes "30 days net"."""
        return tuple(dict.fromkeys(d.days for d in self.discounts if d.structured and d.percent == 0))


def _term_text(kind: str, days: int, percent: Decimal, base_minor: int | None, currency: str) -> str:
    base = ""
    if base_minor is not None:
        try:
            base = f"BASISBETRAG={to_decimal(base_minor, currency)}#"
        except MoneyError:
            base = f"BASISBETRAG={base_minor}#"
    return f"#{kind}#TAGE={days}#PROZENT={percent}#{base}"


def _term_number(value: str) -> Decimal | None:
    """A number as written in a structured term: "2.00", "2,00", "1.234,56", "1,234.56"."""
    text = value.replace(" ", "").replace("\u00a0", "")
    if re.fullmatch(r"-?\d+(?:[.,]\d+)?", text):
        return Decimal(text.replace(",", "."))
    if re.fullmatch(r"-?\d{1,3}(?:\.\d{3})+,\d+", text):
        return Decimal(text.replace(".", "").replace(",", "."))
    if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+\.\d+", text):
        return Decimal(text.replace(",", ""))
    return None


def _read_term(
    kind: str, parts: list[tuple[str, str]], currency: str
) -> tuple[int, Decimal, int | None] | EInvoiceMessage:
    """(days, percent, base) of one structured term (``kind`` SKONTO or VERZUG), or why it cannot be read."""
    values: dict[str, str] = {}
    for key, value in parts:
        key = key.upper()
        if key not in _TERM_KEYS:
            return EInvoiceMessage(
                _UNKNOWN_PART[kind], part=key, parts=", ".join(k + "=" for k in _TERM_KEYS)
            )
        if key in values:
            return EInvoiceMessage(gettext_noop("{part}= is given twice"), part=key)
        values[key] = value
    missing = [k for k in _TERM_KEYS[:2] if not values.get(k)]
    if len(missing) == 1:
        return EInvoiceMessage(gettext_noop("{part}= is missing"), part=missing[0])
    if missing:
        return EInvoiceMessage(
            gettext_noop("{part}= and {other}= are missing"), part=missing[0], other=missing[1]
        )
    days_text = values["TAGE"]
    if not re.fullmatch(r"\d{1,3}", days_text):
        return EInvoiceMessage(gettext_noop("TAGE={value} is not a number of days"), value=days_text)
    percent = _term_number(values["PROZENT"].removesuffix("%").rstrip())
    if percent is None or not 0 <= percent < 100:
        return EInvoiceMessage(
            gettext_noop("PROZENT={value} is not a percentage of at least 0 and below 100"),
            value=values["PROZENT"],
        )
    base_minor = None
    if values.get("BASISBETRAG"):
        base = _term_number(values["BASISBETRAG"])
        try:
            if base is None:
                raise MoneyError(values["BASISBETRAG"])
            base_minor = to_minor(base, currency)
        except MoneyError:
            return EInvoiceMessage(
                gettext_noop("BASISBETRAG={value} is not an amount in {currency}"),
                value=values["BASISBETRAG"],
                currency=currency,
            )
    return int(days_text), percent, base_minor


def _term_parts(text: str, pos: int) -> tuple[list[tuple[str, str]], int]:
    """The ``KEY=value`` parts of the structured term whose mark ends at ``pos``, and where the term ends:
    at the first thing that is no part, or at the end of its line once it has TAGE and PROZENT (an incomplete
    term goes on on the next line: "#SKONTO#TAGE=7#" / "PROZENT=2.00#")."""
    parts: list[tuple[str, str]] = []

    def complete() -> bool:
        return {"TAGE", "PROZENT"} <= {key.upper() for key, _value in parts}

    while True:
        part = _TERM_PART.match(text, pos)
        if part is None and not complete():
            part = _TERM_PART.match(text, len(text) - len(text[pos:].lstrip()))
            if part is not None and part.group("key").upper() not in _TERM_KEYS:
                part = None
        if part is None:
            return parts, pos
        parts.append((part.group("key"), part.group("value")))
        pos = part.end()
        if part.group("end") != "#" and complete():
            return parts, pos


def read_payment_terms(terms: str, currency: str = "EUR") -> PaymentTerms:
    """The payment-terms text (BT-20) read: the structured ``#SKONTO#`` and ``#VERZUG#`` terms wherever they
    stand, then the cash discounts the remaining free text states. Never raises: a structured term that
    cannot be read is in ``problems``, as written (blanks collapsed) with why."""
    text = terms.replace("\r\n", "\n").replace("\r", "\n")
    discounts: list[CashDiscount] = []
    late: list[LatePaymentTerm] = []
    problems: list[EInvoiceMessage] = []
    free: list[str] = []
    at = 0
    for mark in _TERM_MARK.finditer(text):
        if mark.start() < at:
            continue  # within the term before (a term never runs into the next mark: kept for safety)
        kind = mark.group("kind").upper()
        parts, end = _term_parts(text, mark.end())
        read = _read_term(kind, parts, currency)
        if isinstance(read, EInvoiceMessage):
            # what cannot be read runs to the end of its line (or to the next term): named as a whole
            following = _TERM_MARK.search(text, end)
            line_end = text.find("\n", end)
            end = max(
                end,
                min(following.start() if following else len(text), len(text) if line_end < 0 else line_end),
            )
            written = re.sub(r"\s+", " ", text[mark.start() : end]).strip()
            problems.append(EInvoiceMessage(_UNREADABLE_TERM[kind], term=written, reason=read))
        elif kind == "SKONTO":
            discounts.append(CashDiscount(*read))
        else:
            late.append(LatePaymentTerm(*read))
        free.append(text[at : mark.start()])
        at = end
    free.append(text[at:])
    free_text = "\n".join(free)
    return PaymentTerms(
        discounts=tuple(discounts) + _free_discounts(free_text),
        late_payment=tuple(late),
        free_text=free_text,
        problems=tuple(problems),
    )


def structured_discounts(terms: str, currency: str = "EUR") -> tuple[CashDiscount, ...]:
    """The XRechnung structured cash-discount terms (``#SKONTO#TAGE=7#PROZENT=2.00#``) that can be read, in
    order (see :func:`read_payment_terms`)."""
    return tuple(d for d in read_payment_terms(terms, currency).discounts if d.structured)


_FREE_SKONTO = re.compile(
    r"(?P<percent>\d+(?:[.,]\d+)?)\s*%\s*(?:Skonto|cash discount|discount)\s+"
    r"(?:bei Zahlung\s+)?(?:innerhalb|binnen|within|in)\s+(?:von\s+)?(?P<days>\d{1,3})\s+(?:Tag|Tagen|Tage|days?)",
    re.IGNORECASE,
)


_FREE_SKONTO_DAYS_FIRST = re.compile(
    r"(?:(?:innerhalb|binnen|within)\s+(?:von\s+)?)?(?<![\d.,])(?P<days>\d{1,3})\s+(?:Kalender)?"
    r"(?:Tagen|Tage|Tag|days?)\s*,?\s+(?P<percent>\d+(?:[.,]\d+)?)\s*%\s*(?:Skonto|cash discount|discount)",
    re.IGNORECASE,
)


def _discount_matches(text: str) -> list[re.Match[str]]:
    """The cash-discount phrases of a free text, in order: "3% Skonto innerhalb 10 Tagen" and the period-first
    forms "innerhalb 8 Tagen 2 % Skonto", "10 Tage 3% Skonto", "binnen 14 Tagen, 2% Skonto". A period-first
    match that overlaps a percent-first one is dropped: in "innerhalb 30 Tagen, 2% Skonto innerhalb 10
    Tagen" the 30 days are the net term."""
    first = list(_FREE_SKONTO.finditer(text))
    later = [
        m
        for m in _FREE_SKONTO_DAYS_FIRST.finditer(text)
        if not any(m.start() < f.end() and f.start() < m.end() for f in first)
    ]
    return sorted(first + later, key=lambda m: m.start())


def _free_discounts(text: str) -> tuple[CashDiscount, ...]:
    """Cash discounts a free text (without the structured terms) states (see :func:`_discount_matches`)."""
    return tuple(
        CashDiscount(int(m.group("days")), Decimal(m.group("percent").replace(",", ".")), structured=False)
        for m in _discount_matches(text)
    )


_CLAUSE_SPLIT = re.compile(r"[;\n]|,\s+|\.\s+(?=[A-ZÄÖÜ])")
_DISCOUNT_WORDS = re.compile(r"skonto|discount|rabatt|abzüglich|abzgl|\d\s*%", re.IGNORECASE)
_DAYS = re.compile(
    r"(?:innerhalb|binnen|within|in)\s+(?:von\s+)?(?P<a>\d{1,3})\s+(?:Kalender)?(?:Tagen|Tage|Tag|days?)\b"
    r"|(?P<b>\d{1,3})\s+(?:Tagen|Tage|days?)\s+(?:netto|net|rein|ohne\s+Abzug)"
    r"|\bnet(?:to)?\s+(?P<c>\d{1,3})\b(?!\s*%)"
    r"|Zahlungsziel\s*:?\s*(?P<d>\d{1,3})\s+(?:Tagen|Tage|Tag|days?)",
    re.IGNORECASE,
)
_DATE_WORDS = r"(?:bis|by|until|before|spätestens|zum|am|fällig|due|on|till)\s+(?:zum\s+|am\s+|dem\s+|on\s+)?"
_DATE = re.compile(
    rf"\b{_DATE_WORDS}(?:(?P<d>\d{{1,2}})\.(?P<m>\d{{1,2}})\.(?P<y>\d{{4}})|(?P<iso>\d{{4}}-\d{{2}}-\d{{2}}))\b",
    re.IGNORECASE,
)
# A clause that is nothing but a period ("14 Tage", "30 days net") is the net term of a payment-terms text.
_BARE_PERIOD = re.compile(
    r"\s*(?P<days>\d{1,3})\s+(?:Kalender)?(?:Tagen|Tage|days)(?:\s+(?:netto|net|rein))?\s*\.?\s*",
    re.IGNORECASE,
)
_AT_ONCE = re.compile(r"\b(?:sofort|immediately|unverzüglich)\b", re.IGNORECASE)
# A clause is a net term only if it speaks of paying: "Beanstandungen innerhalb von 28 Tagen" or "Lieferung am
# 01.03.2018" are not.
_PAYMENT_WORDS = re.compile(
    r"zahl|überweis|fällig|netto|ohne\s+abzug|eingezogen|abgebucht|lastschrift|\bpay|\bdue\b|\bnet\b|"
    r"debit|remit",
    re.IGNORECASE,
)


def _clauses(text: str) -> list[tuple[int, str]]:
    """The clauses of a terms text with their offsets."""
    found, at = [], 0
    for separator in _CLAUSE_SPLIT.finditer(text):
        found.append((at, text[at : separator.start()]))
        at = separator.end()
    return [*found, (at, text[at:])]


def due_date_from_terms(terms: str, issue_date: date) -> tuple[date | None, EInvoiceMessage]:
    """The due date a payment-terms text gives, with why (or why not).

    A structured 0 % cash-discount term (``#SKONTO#TAGE=30#PROZENT=0.00#``) is a net term of its period.
    Every clause of the free text that speaks of paying, is not a cash-discount clause and names a period ("innerhalb 30 Tagen", "30 Tage
    netto", "net 30"), a day ("bis 04.04.2018", "by 2026-01-31", "am 20.03.2018 ... eingezogen") or "sofort"
    is a net term, and so is a clause that is only a period ("14 Tage"); the due date is the day they all name.
    None when they name different days or none.
    """
    read = read_payment_terms(terms)
    text = read.free_text
    discounts = [(m.start(), m.end()) for m in _discount_matches(text)]
    days: set[date] = {issue_date + timedelta(days=n) for n in read.net_days}
    for start, clause in _clauses(text):
        end = start + len(clause)
        if not clause.strip() or _DISCOUNT_WORDS.search(clause):
            continue
        if any(start < d_end and d_start < end for d_start, d_end in discounts):
            continue  # "binnen 14 Tagen" of "Bei Zahlung binnen 14 Tagen, 2% Skonto" is the discount's period
        bare = _BARE_PERIOD.fullmatch(clause)
        if bare:
            days.add(issue_date + timedelta(days=int(bare.group("days"))))
            continue
        if not _PAYMENT_WORDS.search(clause):
            continue
        for m in _DAYS.finditer(clause):
            n = int(next(g for g in (m.group("a"), m.group("b"), m.group("c"), m.group("d")) if g))
            days.add(issue_date + timedelta(days=n))
        for m in _DATE.finditer(clause):
            try:
                if m.group("iso"):
                    days.add(date.fromisoformat(m.group("iso")))
                else:
                    days.add(date(int(m.group("y")), int(m.group("m")), int(m.group("d"))))
            except ValueError:
                continue
        if _AT_ONCE.search(clause):
            days.add(issue_date)
    if len(days) == 1:
        day = days.pop()
        return day, EInvoiceMessage(gettext_noop("the payment terms name {date}"), date=day.isoformat())
    if not days:
        return None, EInvoiceMessage(
            gettext_noop("the payment terms name no period or day for the net amount")
        )
    return None, EInvoiceMessage(
        gettext_noop("the payment terms name different days ({dates})"),
        dates=", ".join(d.isoformat() for d in sorted(days)),
    )
