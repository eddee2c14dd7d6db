"""The e-invoice parser on real XRechnung/ZUGFeRD files (tests/data/einvoice, SOURCES.md) and hand-made
variants; the expected values were read from the files by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mahnwerk.core.einvoice import (
    Address,
    CashDiscount,
    EInvoice,
    EInvoiceError,
    LatePaymentTerm,
    due_date_from_terms,
    extract_xml_from_pdf,
    normalise_vat_id,
    parse_einvoice,
    read_payment_terms,
    structured_discounts,
)

DATA = Path(__file__).parents[1] / "data" / "einvoice"
D = date.fromisoformat


def parse(name: str) -> EInvoice:
    return parse_einvoice((DATA / name).read_bytes(), name)


def test_kosit_ubl_invoice_with_structured_cash_discounts() -> None:
    doc = parse("kosit_01.10a_skonto_ubl.xml")
    assert (doc.syntax, doc.container, doc.attachment) == ("UBL", "xml", "")
    assert (doc.type_code, doc.number, doc.issue_date, doc.currency) == (
        "380",
        "Rechnungsnummer",
        D("2016-06-27"),
        "EUR",
    )
    assert doc.amount_due_minor == 259420
    assert doc.buyer_reference == "04011000-12350-85"
    assert doc.customization == "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
    assert (doc.seller_name, doc.seller_vat_id) == ("[Seller name]", "DE123456789")
    buyer = doc.buyer
    assert (buyer.name, buyer.vat_id, buyer.buyer_id, buyer.contact_name) == (
        "[Buyer name]",
        "",
        "",
        "Ansprechpartner Käufer",
    )
    assert buyer.emails == ("buyer@info.de",)  # BT-49 with scheme EM
    assert buyer.address == Address("[Buyer address line 1]", "12345", "[Buyer city]", "DE")
    assert doc.payment_means_codes == ("58",) and not doc.direct_debit
    assert doc.discounts == (
        CashDiscount(7, Decimal("2.00")),
        CashDiscount(14, Decimal("1.00")),
        CashDiscount(30, Decimal("0.00")),
    )
    assert doc.payment_terms.startswith("#SKONTO#TAGE=7#PROZENT=2.00#")  # kept as written
    # no BT-9: the 0 % term after 30 days is the net term ("30 Tage netto")
    assert (doc.due_date, doc.due_date_source) == (D("2016-07-27"), "BT-20")
    assert doc.warnings == ()


def test_kosit_cii_invoice_with_due_date() -> None:
    doc = parse("kosit_01.07a_duedate_cii.xml")
    assert (doc.syntax, doc.type_code, doc.number, doc.issue_date) == (
        "CII",
        "380",
        "R1234567",
        D("2016-06-30"),
    )
    assert (doc.amount_due_minor, doc.currency) == (4522, "EUR")
    assert (doc.due_date, doc.due_date_source) == (D("2016-08-14"), "BT-9")
    assert doc.payment_terms == "Bis zum 14.08.2016 ohne Abzug"
    assert doc.warnings == ()  # the text names the same day
    assert doc.buyer_reference == "99000000-05676-98"
    assert (doc.buyer.name, doc.buyer.buyer_id, doc.buyer.vat_id) == (
        "[Buyer name]",
        "B123456789",
        "DE123456789",
    )
    assert doc.buyer.contact_name == "[Buyer contact person]"
    assert doc.buyer.emails == ("buyer@info.de",)


def test_kosit_cii_with_allowances_references_and_attachment() -> None:
    doc = parse("kosit_02.01a_allowance_charge_2vat_cii.xml")
    assert (doc.number, doc.issue_date, doc.amount_due_minor) == ("1234567", D("2018-04-13"), 1282969)
    assert (doc.due_date, doc.due_date_source) == (D("2018-04-13"), "BT-9")
    assert tuple(map(str, doc.warnings)) == (
        "the payment terms (BT-20) name 2015-01-24, the due date (BT-9) is 2018-04-13: BT-9 is used",
    )
    assert doc.payment_reference == "Deb. 12345 / Fact. 9876543"  # BT-83
    assert doc.seller_vat_id == "ATU123456789"
    buyer = doc.buyer
    assert (buyer.name, buyer.trading_name, buyer.buyer_id) == ("[Buyer name]", "[Buyer trading name]", "138")
    assert (buyer.vat_id, buyer.legal_id) == ("DE12345ABC", "90000000-03083-72")
    assert buyer.emails == ("rechnungseingang@test.de", "tester@test.de")  # BT-49, then BT-58
    assert buyer.address == Address(
        "[Buyer address line 1], [Buyer address line 2], [Buyer address line 3]",
        "98765",
        "[Buyer city]",
        "DE",
    )


def test_zugferd_pdf_terms_text_gives_the_due_date() -> None:
    doc = parse("zf233_EN16931_Einfach.pdf")
    assert (doc.syntax, doc.container, doc.attachment) == ("CII", "pdf", "factur-x.xml")
    assert (doc.type_code, doc.number, doc.issue_date, doc.amount_due_minor) == (
        "380",
        "471102",
        D("2018-03-05"),
        52987,
    )
    # "Zahlbar innerhalb 30 Tagen netto bis 04.04.2018, 3% Skonto innerhalb 10 Tagen bis 15.03.2018"
    assert (doc.due_date, doc.due_date_source) == (D("2018-04-04"), "BT-20")
    assert doc.discounts == (CashDiscount(10, Decimal("3"), structured=False),)
    assert (doc.buyer.name, doc.buyer.buyer_id, doc.buyer.vat_id) == ("Kunden AG Mitte", "GE2020211", "")
    assert doc.buyer.address == Address("Kundenstraße 15", "69876", "Frankfurt", "DE")
    assert (doc.seller_name, doc.seller_vat_id) == ("Lieferant GmbH", "DE123456789")


def test_zugferd_pdf_whose_terms_contradict_themselves_has_no_due_date() -> None:
    doc = parse("zf233_EN16931_Rabatte.pdf")
    assert (doc.number, doc.issue_date, doc.amount_due_minor) == (
        "471102",
        D("2018-06-05"),
        16507,
    )  # 215.07 - 50.00 prepaid
    # "innerhalb 30 Tagen" from 2018-06-05 is 07-05, "netto bis 04.07.2018" is 07-04: not guessed
    assert doc.due_date is None
    assert tuple(map(str, doc.warnings)) == (
        "no due date (BT-9), and the payment terms (BT-20) give none: the payment terms name different days "
        "(2018-07-04, 2018-07-05)",
    )


def test_zugferd_sepa_direct_debit() -> None:
    doc = parse("zf233_EN16931_SEPA_Prenotification.pdf")
    assert doc.payment_means_codes == ("59",) and doc.direct_debit
    assert (doc.debit_iban, doc.mandate_id, doc.creditor_id) == (
        "DE21860000000086001055",
        "REF A-123",
        "DE98ZZZ09999999999",
    )
    # "Der Betrag ... wird am 20.03.2018 von Ihrem Konto per SEPA-Lastschrift eingezogen."
    assert (doc.due_date, doc.due_date_source) == (D("2018-03-20"), "BT-20")


def test_xrechnung_inside_a_pdf() -> None:
    doc = parse("zf233_XRECHNUNG_Einfach.pdf")
    assert doc.attachment == "xrechnung.xml"
    assert (doc.number, doc.issue_date, doc.due_date, doc.due_date_source) == (
        "471102",
        D("2024-11-15"),
        D("2025-12-15"),
        "BT-9",
    )
    assert doc.discounts == (CashDiscount(10, Decimal("3.00")),)
    assert doc.buyer_reference == "04011000-12345-34"
    assert doc.buyer.emails == ("info@kunde.de",)
    name, xml = extract_xml_from_pdf((DATA / "zf233_XRECHNUNG_Einfach.pdf").read_bytes())
    assert name == "xrechnung.xml" and b"CrossIndustryInvoice:100" in xml


def test_ubl_credit_note() -> None:
    doc = parse("handmade_creditnote_381_ubl.xml")
    assert (doc.syntax, doc.type_code, doc.number, doc.issue_date) == (
        "UBL",
        "381",
        "GS-2016-001",
        D("2016-07-05"),
    )
    assert doc.is_credit_note and not doc.is_correction and doc.type_name == "credit note"
    assert (doc.amount_due_minor, doc.preceding_invoices) == (1000, ("R1234567",))
    assert doc.payment_reference == "Gutschrift GS-2016-001"
    assert (doc.buyer.buyer_id, doc.buyer.name) == ("B123456789", "[Buyer name]")


def test_cii_corrected_invoice() -> None:
    doc = parse("handmade_correction_384_cii.xml")
    assert doc.is_correction and not doc.is_credit_note and doc.type_name == "corrected invoice"
    assert (doc.number, doc.preceding_invoices, doc.amount_due_minor, doc.due_date) == (
        "R1234567-K",
        ("R1234567",),
        4000,
        D("2016-08-30"),
    )


def test_negative_amount_due_is_read_as_it_is() -> None:
    assert parse("handmade_negative_amount_cii.xml").amount_due_minor == -4522  # the import refuses it


def test_ubl_with_only_payment_terms_text() -> None:
    doc = parse("handmade_terms_only_ubl.xml")
    assert (doc.number, doc.issue_date) == ("UBL-2026-0042", D("2026-11-02"))
    assert (doc.due_date, doc.due_date_source) == (D("2026-12-02"), "BT-20")  # 30 days after issue
    assert doc.discounts == (CashDiscount(8, Decimal("2"), structured=False),)
    assert (doc.buyer.name, doc.buyer.vat_id) == ("Muster Handel GmbH", "DE811222333")


@pytest.mark.parametrize(
    ("name", "element", "message"),
    [
        ("handmade_malformed_cii.xml", "line 115, column 9", "not well-formed XML: Premature end of data"),
        (
            "handmade_pdf_without_xml.pdf",
            "/Root/Names/EmbeddedFiles",
            "the PDF has no embedded e-invoice XML",
        ),
    ],
)
def test_unreadable_files_name_file_and_element(name: str, element: str, message: str) -> None:
    with pytest.raises(EInvoiceError) as failed:
        parse(name)
    assert (failed.value.source, str(failed.value.element)) == (name, element)
    assert str(failed.value.reason).startswith(message)
    assert str(failed.value).startswith(f"{name}: {element}: {message}")


def test_missing_and_wrong_elements_are_named_by_business_term() -> None:
    xml = (DATA / "kosit_01.07a_duedate_cii.xml").read_bytes()
    with pytest.raises(EInvoiceError) as failed:
        parse_einvoice(xml.replace(b"<ram:DuePayableAmount>45.22<", b"<ram:DuePayableAmount>45,22<"), "x.xml")
    assert str(failed.value).startswith(
        "x.xml: BT-115 (/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/"
        "ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:DuePayableAmount): not an amount in EUR: '45,22'"
    )
    with pytest.raises(EInvoiceError) as failed:
        parse_einvoice(xml.replace(b"<ram:ID>R1234567</ram:ID>", b"<ram:ID> </ram:ID>"), "x.xml")
    assert (
        str(failed.value)
        == "x.xml: BT-1 (/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID): the invoice number is missing"
    )
    with pytest.raises(EInvoiceError) as failed:
        parse_einvoice(xml.replace(b'format="102">20160814<', b'format="102">20161314<'), "x.xml")
    assert "BT-9 (" in str(failed.value) and "no such day: '20161314'" in str(failed.value)
    with pytest.raises(EInvoiceError) as failed:
        parse_einvoice(b"<Invoice xmlns='urn:example'/>", "x.xml")
    assert str(failed.value).startswith("x.xml: /*: the root element 'Invoice' (namespace 'urn:example')")


@pytest.mark.parametrize(
    ("terms", "due"),
    [
        ("Zahlbar innerhalb 30 Tagen ohne Abzug", "2026-12-02"),
        ("Zahlbar innerhalb von 14 Tagen netto", "2026-11-16"),
        ("30 Tage netto", "2026-12-02"),
        ("Net 30", "2026-12-02"),
        ("Payable within 10 days", "2026-11-12"),
        ("Zahlungsziel: 21 Tage", "2026-11-23"),
        ("Bitte überweisen Sie bis zum 15.12.2026 auf das unten aufgeführte Konto.", "2026-12-15"),
        ("Payable by 2026-12-01", "2026-12-01"),
        ("Zahlbar sofort ohne Abzug", "2026-11-02"),
        ("2% Skonto innerhalb 10 Tagen, 30 Tage netto", "2026-12-02"),
        ("#SKONTO#TAGE=10#PROZENT=3.00#\nZahlbar innerhalb 30 Tagen", "2026-12-02"),
        ("#SKONTO#TAGE=10#PROZENT=3.00#", None),
        ("3% Skonto innerhalb 10 Tagen", None),
        ("Zahlbar innerhalb 30 Tagen netto bis 01.12.2026", None),  # 30 days are 12-02: which?
        ("Wir danken für Ihren Auftrag", None),
        ("Beanstandungen sind innerhalb von 28 Tagen mitzuteilen", None),
        ("Lieferung am 01.12.2026", None),
        ("Lieferung am 01.12.2026. Zahlbar innerhalb 14 Tagen", "2026-11-16"),
        ("14 Tage", "2026-11-16"),  # a clause that is only a period is the net term
        ("30 Kalendertage netto", "2026-12-02"),
        ("10 Tage 3% Skonto, 30 Tage netto", "2026-12-02"),
        ("Bei Zahlung binnen 14 Tagen, 2% Skonto", None),  # the 14 days are the discount's
        ("Zahlbar innerhalb 30 Tagen, 2% Skonto innerhalb 10 Tagen", "2026-12-02"),
    ],
)
def test_due_date_from_terms(terms: str, due: str | None) -> None:
    found, _why = due_date_from_terms(terms, D("2026-11-02"))
    assert found == (D(due) if due else None)


@pytest.mark.parametrize(
    ("terms", "found"),
    [
        ("3% Skonto innerhalb 10 Tagen", [(10, "3")]),
        ("innerhalb 8 Tagen 2 % Skonto", [(8, "2")]),
        ("10 Tage 3% Skonto, 30 Tage netto", [(10, "3")]),
        ("Bei Zahlung binnen 14 Tagen, 2% Skonto", [(14, "2")]),
        ("Zahlbar innerhalb 30 Tagen, 2% Skonto innerhalb 10 Tagen", [(10, "2")]),
        ("1.000 Tage 2% Skonto", []),  # no period of a thousand days hidden in a number
    ],
)
def test_cash_discounts_in_free_text(terms: str, found: list[tuple[int, str]]) -> None:
    from mahnwerk.core.einvoice import _free_discounts

    assert [(d.days, d.percent) for d in _free_discounts(terms)] == [(n, Decimal(p)) for n, p in found]


def test_structured_discounts_with_base_amount() -> None:
    assert structured_discounts("#SKONTO#TAGE=14#PROZENT=2.25#BASISBETRAG=100.00#\n") == (
        CashDiscount(14, Decimal("2.25"), 10000),
    )


def test_normalise_vat_id() -> None:
    assert normalise_vat_id(" de 811.222-333 ") == "DE811222333"


# --- the XRechnung structured payment terms (BR-DE-18) in small hand-written invoices -------------------

UBL_NS = (
    'xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
    'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
    'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"'
)
CII_NS = (
    'xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" '
    'xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" '
    'xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"'
)
UBL_TERMS = "/inv:Invoice/cac:PaymentTerms/cbc:Note"
CII_TERMS = (
    "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/"
    "ram:SpecifiedTradePaymentTerms/ram:Description"
)


def ubl_xml(*terms: str, number: str = "T-1", due: str = "", buyer: str = "Muster Handel GmbH") -> bytes:
    """A UBL invoice of 119.00 EUR issued 2026-11-02, with each of ``terms`` in a PaymentTerms/Note."""
    from xml.sax.saxutils import escape

    notes = "".join(f"<cac:PaymentTerms><cbc:Note>{escape(t)}</cbc:Note></cac:PaymentTerms>" for t in terms)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice {UBL_NS}>
  <cbc:ID>{number}</cbc:ID>
  <cbc:IssueDate>2026-11-02</cbc:IssueDate>
  {f"<cbc:DueDate>{due}</cbc:DueDate>" if due else ""}
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cac:AccountingCustomerParty><cac:Party>
    <cac:PartyLegalEntity><cbc:RegistrationName>{buyer}</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingCustomerParty>
  {notes}
  <cac:LegalMonetaryTotal><cbc:PayableAmount currencyID="EUR">119.00</cbc:PayableAmount></cac:LegalMonetaryTotal>
</Invoice>
""".encode()


def cii_xml(*terms: str, number: str = "T-1", due: str = "", buyer: str = "Muster Handel GmbH") -> bytes:
    """The same invoice in CII, each of ``terms`` in a SpecifiedTradePaymentTerms/Description (``due``
    YYYYMMDD in the first)."""
    from xml.sax.saxutils import escape

    due_date = (
        f'<ram:DueDateDateTime><udt:DateTimeString format="102">{due}</udt:DateTimeString></ram:DueDateDateTime>'
        if due
        else ""
    )
    payment_terms = "".join(
        f"<ram:SpecifiedTradePaymentTerms><ram:Description>{escape(t)}</ram:Description>"
        f"{due_date if i == 0 else ''}</ram:SpecifiedTradePaymentTerms>"
        for i, t in enumerate(terms or ("",))
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice {CII_NS}>
  <rsm:ExchangedDocument>
    <ram:ID>{number}</ram:ID>
    <ram:TypeCode>380</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">20261102</udt:DateTimeString></ram:IssueDateTime>
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>
    <ram:ApplicableHeaderTradeAgreement>
      <ram:BuyerTradeParty><ram:Name>{buyer}</ram:Name></ram:BuyerTradeParty>
    </ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeSettlement>
      <ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
      {payment_terms}
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
        <ram:DuePayableAmount>119.00</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
""".encode()


BOTH = pytest.mark.parametrize("make", [ubl_xml, cii_xml], ids=["UBL", "CII"])


@BOTH
def test_zero_percent_cash_discount_is_the_net_term(make: Any) -> None:
    doc = parse_einvoice(make("#SKONTO#TAGE=30#PROZENT=0.00#\n"), "net30.xml")
    assert (doc.due_date, doc.due_date_source, doc.warnings) == (D("2026-12-02"), "BT-20", ())
    assert doc.discounts == (CashDiscount(30, Decimal("0.00")),)


@BOTH
def test_several_structured_terms_are_kept_in_order_and_the_free_text_read(make: Any) -> None:
    terms = (
        "#SKONTO#TAGE=14#PROZENT=2.00#\n#SKONTO#TAGE=7#PROZENT=3.00#BASISBETRAG=100.00#\n"
        "#SKONTO#TAGE=30#PROZENT=0.00#\nZahlbar innerhalb 30 Tagen ohne Abzug."
    )
    doc = parse_einvoice(make(terms), "three.xml")
    assert doc.discounts == (
        CashDiscount(14, Decimal("2.00")),
        CashDiscount(7, Decimal("3.00"), 10000),
        CashDiscount(30, Decimal("0.00")),
    )  # as written, not sorted
    assert (doc.due_date, doc.due_date_source, doc.warnings) == (D("2026-12-02"), "BT-20", ())
    assert doc.payment_terms == terms


@BOTH
def test_structured_terms_in_several_payment_terms_elements(make: Any) -> None:
    doc = parse_einvoice(make("#SKONTO#TAGE=10#PROZENT=2.00#", "#SKONTO#TAGE=30#PROZENT=0.00#"), "two.xml")
    assert doc.discounts == (CashDiscount(10, Decimal("2.00")), CashDiscount(30, Decimal("0.00")))
    assert doc.due_date == D("2026-12-02")


@BOTH
def test_a_due_date_given_wins_over_the_terms(make: Any) -> None:
    due = "2026-11-20" if make is ubl_xml else "20261120"
    doc = parse_einvoice(make("#SKONTO#TAGE=30#PROZENT=0.00#\n", due=due), "due.xml")
    assert (doc.due_date, doc.due_date_source) == (D("2026-11-20"), "BT-9")
    assert tuple(map(str, doc.warnings)) == (
        "the payment terms (BT-20) name 2026-12-02, the due date (BT-9) is 2026-11-20: BT-9 is used",
    )
    assert doc.discounts == (CashDiscount(30, Decimal("0.00")),)  # still kept


@BOTH
def test_late_payment_terms_are_kept_apart(make: Any) -> None:
    doc = parse_einvoice(make("#SKONTO#TAGE=8#PROZENT=2.00#\n#VERZUG#TAGE=30#PROZENT=1.00#\n"), "late.xml")
    assert doc.discounts == (CashDiscount(8, Decimal("2.00")),)
    assert doc.late_payment_terms == (LatePaymentTerm(30, Decimal("1.00")),)
    assert doc.due_date is None  # a late-payment term is no net term: nothing is guessed
    assert tuple(map(str, doc.warnings)) == (
        "no due date (BT-9), and the payment terms (BT-20) give none: the payment terms name no period or day "
        "for the net amount",
    )


@pytest.mark.parametrize(("make", "path"), [(ubl_xml, UBL_TERMS), (cii_xml, CII_TERMS)], ids=["UBL", "CII"])
def test_an_unreadable_structured_term_refuses_the_file_naming_bt20_and_the_term(
    make: Any, path: str
) -> None:
    with pytest.raises(EInvoiceError) as failed:
        parse_einvoice(make("#SKONTO#TAGE=7#PROZENT=2.00#\n#SKONTO#TAGE=vierzehn#PROZENT=1.00#\n"), "bad.xml")
    assert (failed.value.source, failed.value.element) == ("bad.xml", f"BT-20 ({path})")
    assert str(failed.value) == (
        f"bad.xml: BT-20 ({path}): the cash-discount term '#SKONTO#TAGE=vierzehn#PROZENT=1.00#' cannot be "
        "read: TAGE=vierzehn is not a number of days"
    )


@pytest.mark.parametrize(
    ("terms", "discounts", "late"),
    [
        ("#SKONTO#TAGE=7#PROZENT=2.00#\n", [(7, "2.00", None)], []),
        ("#skonto#tage=7#prozent=2.00#", [(7, "2.00", None)], []),  # lower case
        ("#Skonto#Tage=7#Prozent=2,00#", [(7, "2.00", None)], []),  # decimal comma
        ("# SKONTO # TAGE = 7 # PROZENT = 2.00 #", [(7, "2.00", None)], []),  # blanks
        (
            "\n    #SKONTO#TAGE=7#PROZENT=2.00#\r\n\t#SKONTO#TAGE=30#PROZENT=0.00#\r\n",
            [(7, "2.00", None), (30, "0.00", None)],
            [],
        ),
        ("#SKONTO#TAGE=7#PROZENT=2.00", [(7, "2.00", None)], []),  # no last "#"
        (
            "#SKONTO#TAGE=7#PROZENT=2.00##SKONTO#TAGE=14#PROZENT=1.00#",
            [(7, "2.00", None), (14, "1.00", None)],
            [],
        ),
        (
            "#SKONTO#TAGE=7#PROZENT=2.00# #SKONTO#TAGE=14#PROZENT=1.00#",
            [(7, "2.00", None), (14, "1.00", None)],
            [],
        ),
        ("#SKONTO#TAGE=7#\nPROZENT=2.00#\n", [(7, "2.00", None)], []),  # broken over two lines
        ("#SKONTO#TAGE=14#PROZENT=2.25#BASISBETRAG=1.234,50#", [(14, "2.25", 123450)], []),
        ("#SKONTO#TAGE=14#PROZENT=2.25#BASISBETRAG=-50.00#", [(14, "2.25", -5000)], []),
        ("#SKONTO#TAGE=10#PROZENT=3%#", [(10, "3", None)], []),
        ("#VERZUG#TAGE=14#PROZENT=1.0#\n#SKONTO#TAGE=30#PROZENT=0.00#", [(30, "0.00", None)], [(14, "1.0")]),
        ("Zahlbar innerhalb 30 Tagen", [], []),
    ],
)
def test_structured_terms_are_read_leniently(
    terms: str, discounts: list[tuple[int, str, int | None]], late: list[tuple[int, str]]
) -> None:
    read = read_payment_terms(terms)
    assert read.problems == ()
    assert [(d.days, d.percent, d.base_minor) for d in read.discounts] == [
        (n, Decimal(p), base) for n, p, base in discounts
    ]
    assert [(t.days, t.percent) for t in read.late_payment] == [(n, Decimal(p)) for n, p in late]
    assert "#" not in read.free_text


def test_free_text_next_to_structured_terms_is_still_read() -> None:
    read = read_payment_terms("#SKONTO#TAGE=7#PROZENT=2.00# Bei Zahlung innerhalb 14 Tagen 1 % Skonto")
    assert read.discounts == (
        CashDiscount(7, Decimal("2.00")),
        CashDiscount(14, Decimal("1"), structured=False),
    )
    assert read.free_text.strip() == "Bei Zahlung innerhalb 14 Tagen 1 % Skonto"


@pytest.mark.parametrize(
    ("terms", "problem"),
    [
        (
            "#SKONTO#TAGE=7#",
            "the cash-discount term '#SKONTO#TAGE=7#' cannot be read: PROZENT= is missing",
        ),
        (
            "#SKONTO#2 % in 7 Tagen#",
            "the cash-discount term '#SKONTO#2 % in 7 Tagen#' cannot be read: TAGE= and PROZENT= are missing",
        ),
        (
            "#SKONTO#TAGE=7.5#PROZENT=2.00#",
            "the cash-discount term '#SKONTO#TAGE=7.5#PROZENT=2.00#' cannot be read: TAGE=7.5 is not a number "
            "of days",
        ),
        (
            "#SKONTO#TAGE=7#PROZENT=-2.00#",
            "the cash-discount term '#SKONTO#TAGE=7#PROZENT=-2.00#' cannot be read: PROZENT=-2.00 is not a "
            "percentage of at least 0 and below 100",
        ),
        (
            "#SKONTO#TAGE=7#PROZENT=2.00#BETRAG=5.00#",
            "the cash-discount term '#SKONTO#TAGE=7#PROZENT=2.00#BETRAG=5.00#' cannot be read: unknown part "
            "BETRAG= (a cash-discount term has TAGE=, PROZENT=, BASISBETRAG=)",
        ),
        (
            "#SKONTO#TAGE=7#TAGE=8#PROZENT=2.00#",
            "the cash-discount term '#SKONTO#TAGE=7#TAGE=8#PROZENT=2.00#' cannot be read: TAGE= is given twice",
        ),
        (
            "#SKONTO#TAGE=7#PROZENT=2.00#BASISBETRAG=1.234#",  # 1.234 EUR or 1,234 EUR? not guessed
            "the cash-discount term '#SKONTO#TAGE=7#PROZENT=2.00#BASISBETRAG=1.234#' cannot be read: "
            "BASISBETRAG=1.234 is not an amount in EUR",
        ),
        (
            "#VERZUG#TAGE=14#",
            "the late-payment term '#VERZUG#TAGE=14#' cannot be read: PROZENT= is missing",
        ),
    ],
)
def test_unreadable_structured_terms_are_named_with_why(terms: str, problem: str) -> None:
    read = read_payment_terms(f"#SKONTO#TAGE=30#PROZENT=0.00#\n{terms}\nDanke.")
    assert tuple(map(str, read.problems)) == (problem,)
    assert read.discounts == (CashDiscount(30, Decimal("0.00")),)  # the readable ones are still read


@pytest.mark.parametrize(
    ("terms", "due"),
    [
        ("#SKONTO#TAGE=30#PROZENT=0.00#", "2026-12-02"),
        ("#SKONTO#TAGE=10#PROZENT=2.00#\n#SKONTO#TAGE=30#PROZENT=0,00#\n", "2026-12-02"),
        ("#SKONTO#TAGE=30#PROZENT=0.00#\nZahlbar innerhalb 30 Tagen netto", "2026-12-02"),  # the same day
        ("#SKONTO#TAGE=30#PROZENT=0.00#\nZahlbar innerhalb 14 Tagen netto", None),  # which?
        ("#SKONTO#TAGE=30#PROZENT=0.00#\n#SKONTO#TAGE=45#PROZENT=0.00#", None),  # which?
        ("#SKONTO#TAGE=0#PROZENT=0.00#", "2026-11-02"),  # net at once
        ("#SKONTO#TAGE=10#PROZENT=2.00#", None),  # a cash discount is no net term
        ("#VERZUG#TAGE=30#PROZENT=1.00#", None),  # nor is a late-payment term
        ("#SKONTO#TAGE=10#PROZENT=2.00#\nZahlbar innerhalb 30 Tagen", "2026-12-02"),
    ],
)
def test_due_date_from_structured_terms(terms: str, due: str | None) -> None:
    found, why = due_date_from_terms(terms, D("2026-11-02"))
    assert found == (D(due) if due else None)
    if terms.endswith("#SKONTO#TAGE=45#PROZENT=0.00#"):
        assert str(why) == "the payment terms name different days (2026-12-02, 2026-12-17)"


def test_cash_discount_as_text_names_the_base_in_the_currency() -> None:
    assert (
        CashDiscount(14, Decimal("2.25"), 10000).as_text("EUR")
        == "#SKONTO#TAGE=14#PROZENT=2.25#BASISBETRAG=100.00#"
    )
    assert (
        CashDiscount(14, Decimal("2.25"), 10000).as_text("JPY")
        == "#SKONTO#TAGE=14#PROZENT=2.25#BASISBETRAG=10000#"
    )
    assert LatePaymentTerm(30, Decimal("1.00")).as_text() == "#VERZUG#TAGE=30#PROZENT=1.00#"
