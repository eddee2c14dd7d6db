"""E-invoice import end to end: real XRechnung and ZUGFeRD files (tests/data/einvoice, see SOURCES.md) and
hand-made variants into the ledger — debtors matched or created, due dates, credit notes, corrections,
duplicates, all-or-nothing, the stored copy, the command."""

from __future__ import annotations

import io
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mahnwerk.ledger.einvoices import EInvoiceImportFailed, import_einvoices
from mahnwerk.ledger.models import Contact, CreditNote, Debtor, Invoice, TimelineEvent
from tests.unit.test_einvoice import cii_xml, ubl_xml

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parents[1] / "data" / "einvoice"
D = date.fromisoformat

DUEDATE_CII = DATA / "kosit_01.07a_duedate_cii.xml"  # R1234567, 45.22, due 2016-08-14 (BT-9)
SKONTO_UBL = DATA / "kosit_01.10a_skonto_ubl.xml"  # only #SKONTO# terms, the last 0 % after 30 days: net 30
ALLOWANCE_CII = DATA / "kosit_02.01a_allowance_charge_2vat_cii.xml"  # 1234567, 12829.69, due 2018-04-13
EINFACH = DATA / "zf233_EN16931_Einfach.pdf"  # 471102, 529.87, terms text -> 2018-04-04
RABATTE = DATA / "zf233_EN16931_Rabatte.pdf"  # 471102, 165.07, terms name 2018-07-04 and 30 days -> refused
SEPA = DATA / "zf233_EN16931_SEPA_Prenotification.pdf"  # 471102, direct debit collected 2018-03-20
XRECHNUNG_PDF = DATA / "zf233_XRECHNUNG_Einfach.pdf"  # 471102, issued 2024-11-15, due 2025-12-15
CREDIT_NOTE = DATA / "handmade_creditnote_381_ubl.xml"  # GS-2016-001, 10.00 on R1234567
CORRECTION = DATA / "handmade_correction_384_cii.xml"  # R1234567-K replaces R1234567: 40.00 due 2016-08-30
NEGATIVE = DATA / "handmade_negative_amount_cii.xml"
MALFORMED = DATA / "handmade_malformed_cii.xml"
NO_XML_PDF = DATA / "handmade_pdf_without_xml.pdf"
TERMS_ONLY = DATA / "handmade_terms_only_ubl.xml"  # UBL-2026-0042, "Zahlbar innerhalb 30 Tagen" -> 2026-12-02


@pytest.fixture(autouse=True)
def file_storage(settings: Any, tmp_path: Path) -> Path:
    settings.STORAGES = settings.STORAGES | {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "files"},
        }
    }
    return tmp_path / "files"


@pytest.fixture
def seller(company: Any) -> Any:
    """The samples' seller has the VAT id DE123456789 (their buyers partly too): the company has none set,
    so the import does not refuse them as invoices the company received."""
    company.vat_id = ""
    company.save(update_fields=["vat_id"])
    return company


def snapshot(company: Any) -> tuple[Any, ...]:
    return (
        sorted(Debtor.objects.filter(company=company).values_list("number", "name")),
        sorted(
            Invoice.objects.filter(company=company).values_list(
                "number", "amount_minor", "open_minor", "due_date"
            )
        ),
        sorted(CreditNote.objects.filter(company=company).values_list("number", "amount_minor")),
        TimelineEvent.objects.filter(company=company).count(),
    )


def test_real_files_create_debtors_and_invoices_with_their_due_dates(seller: Any, file_storage: Path) -> None:
    result = import_einvoices(seller, [DUEDATE_CII, ALLOWANCE_CII, EINFACH], actor="test")
    assert (result.invoices_created, result.duplicates, result.credit_notes) == (3, 0, 0)
    by_number = {i.number: i for i in Invoice.objects.filter(company=seller).select_related("debtor")}
    assert set(by_number) == {"R1234567", "1234567", "471102"}

    r = by_number["R1234567"]
    assert (r.amount_minor, r.open_minor, r.currency) == (4522, 4522, "EUR")
    assert (r.issue_date, r.due_date) == (D("2016-06-30"), D("2016-08-14"))
    assert r.reference == "R1234567"  # no BT-83: the number
    assert r.default_from is not None and r.time_barred_on is not None  # as every created invoice
    assert r.debtor.number == "B123456789"  # BT-46 buyer id becomes the customer number
    assert r.debtor.kind == "business"  # BT-48 VAT id given
    assert (r.debtor.language, r.debtor.country, r.debtor.postcode) == ("de", "DE", "12345")
    assert list(r.debtor.contacts.values_list("value", flat=True)) == ["buyer@info.de"]

    a = by_number["1234567"]
    assert (a.amount_minor, a.due_date) == (1282969, D("2018-04-13"))  # BT-9 wins over the terms text
    assert a.reference == "Deb. 12345 / Fact. 9876543"  # BT-83
    assert a.debtor.number == "138"
    assert a.debtor.street == "[Buyer address line 1], [Buyer address line 2], [Buyer address line 3]"
    assert set(a.debtor.contacts.values_list("value", flat=True)) == {
        "rechnungseingang@test.de",
        "tester@test.de",
    }
    assert Contact.objects.get(debtor=a.debtor, is_primary=True).value == "rechnungseingang@test.de"

    z = by_number["471102"]
    assert (z.amount_minor, z.issue_date, z.due_date) == (52987, D("2018-03-05"), D("2018-04-04"))
    assert (z.debtor.number, z.debtor.name, z.debtor.kind) == ("GE2020211", "Kunden AG Mitte", "business")
    assert (z.debtor.street, z.debtor.city) == ("Kundenstraße 15", "Frankfurt")

    rows = {row["number"]: row for row in result.documents}
    assert rows["471102"]["due_date_source"] == "BT-20"
    assert rows["471102"]["cash_discounts"] == ["#SKONTO#TAGE=10#PROZENT=3#"]
    assert rows["1234567"]["warnings"] == [
        "the payment terms (BT-20) name 2015-01-24, the due date (BT-9) is 2018-04-13: BT-9 is used"
    ]
    assert sorted(result.debtors_created) == ["138", "B123456789", "GE2020211"]


def test_the_stored_copy_is_the_imported_file(seller: Any, file_storage: Path) -> None:
    import_einvoices(seller, [EINFACH, DUEDATE_CII])
    pdf = Invoice.objects.get(company=seller, number="471102")
    xml = Invoice.objects.get(company=seller, number="R1234567")
    assert pdf.document.name.endswith(".pdf") and xml.document.name.endswith(".xml")
    with pdf.document.open("rb") as fh:
        assert fh.read() == EINFACH.read_bytes()
    with xml.document.open("rb") as fh:
        assert fh.read() == DUEDATE_CII.read_bytes()
    event = TimelineEvent.objects.get(debtor=pdf.debtor, kind="invoice_document_stored")
    assert event.data["file"] == EINFACH.name and event.data["buyer_id"] == "GE2020211"


def test_importing_the_same_files_twice_changes_nothing(seller: Any, file_storage: Path) -> None:
    files = [DUEDATE_CII, CREDIT_NOTE, XRECHNUNG_PDF, TERMS_ONLY]
    first = import_einvoices(seller, files)
    assert (first.invoices_created, first.credit_notes) == (3, 1)
    before = snapshot(seller)
    stored = sorted(p.name for p in file_storage.rglob("*") if p.is_file())
    again = import_einvoices(seller, files)
    assert again.duplicates == 4 and again.invoices_created == again.credit_notes == 0
    assert all(row["action"] == "duplicate" for row in again.documents)
    assert snapshot(seller) == before
    assert sorted(p.name for p in file_storage.rglob("*") if p.is_file()) == stored


def test_shared_invoice_number_of_the_same_buyer_is_one_invoice(seller: Any) -> None:
    """Einfach and SEPA_Prenotification are both 471102 of Kunden AG Mitte over 529.87: one invoice."""
    result = import_einvoices(seller, [EINFACH, SEPA])
    assert [row["action"] for row in result.documents] == ["invoice_created", "duplicate"]
    assert result.documents[1]["notes"] == [
        "invoice 471102 was already imported (in this import: zf233_EN16931_Einfach.pdf): skipped"
    ]
    assert Invoice.objects.filter(company=seller).count() == 1


def test_shared_invoice_number_of_another_buyer_is_refused(
    seller: Any, make_debtor: Any, make_invoice: Any
) -> None:
    other = make_debtor(name="Ganz Andere GmbH", number="K9")
    make_invoice(other, "471102", "10.00", "2018-04-01")
    with pytest.raises(EInvoiceImportFailed) as failed:
        import_einvoices(seller, [XRECHNUNG_PDF])
    assert failed.value.errors == [
        f"{XRECHNUNG_PDF}: BT-1: invoice 471102 already exists for another debtor (K9), not for the buyer "
        "'Kunden AG Mitte': numbers are unique per company"
    ]


def test_a_different_file_with_a_known_number_of_the_same_buyer_is_reported_not_changed(seller: Any) -> None:
    import_einvoices(seller, [EINFACH])
    result = import_einvoices(seller, [XRECHNUNG_PDF])
    assert result.documents[0]["action"] == "duplicate"
    assert "nothing changed (a change comes as a corrected invoice, 384)" in result.documents[0]["notes"][1]
    assert Invoice.objects.get(company=seller, number="471102").issue_date == D("2018-03-05")


def test_buyer_matched_by_customer_number_vat_id_and_name(
    seller: Any, make_debtor: Any, tmp_path: Path
) -> None:
    by_number = make_debtor(name="Anders geschrieben AG", number="GE2020211")
    by_name = make_debtor(name="  [buyer   NAME] ", number="K-NAME")
    import_einvoices(seller, [EINFACH, DUEDATE_CII, TERMS_ONLY])
    assert Invoice.objects.get(number="471102").debtor == by_number  # BT-46 = customer number
    assert Invoice.objects.get(number="R1234567").debtor == by_name  # exact normalised name
    created = Invoice.objects.get(number="UBL-2026-0042").debtor
    # no buyer id: the buyer reference (a Leitweg-ID) is the new customer number
    assert (created.number, created.name, created.kind) == (
        "04011000-12350-85",
        "Muster Handel GmbH",
        "business",
    )
    assert created.vat_id == "DE811222333"  # BT-48, kept on the debtor
    # a later file of that buyer with another name and reference is matched by the VAT id recorded then
    text = TERMS_ONLY.read_text(encoding="utf-8")
    text = text.replace("UBL-2026-0042", "UBL-2026-0043").replace("Muster Handel GmbH", "Muster Handel KG")
    renamed = tmp_path / "renamed.xml"
    renamed.write_text(text.replace("04011000-12350-85", "04011000-99999-11"), encoding="utf-8")
    result = import_einvoices(seller, [renamed])
    assert result.documents[0]["debtor"] == "04011000-12350-85" and not result.documents[0]["debtor_created"]


def test_several_debtors_of_the_same_name_are_not_guessed(
    seller: Any, make_debtor: Any, tmp_path: Path
) -> None:
    make_debtor(name="Muster Handel GmbH", number="K1")
    make_debtor(name="muster handel gmbh", number="K2")
    text = TERMS_ONLY.read_text(encoding="utf-8").replace("DE 811 222 333", "")
    anonymous = tmp_path / "anonymous.xml"
    anonymous.write_text(
        text.replace("<cbc:BuyerReference>04011000-12350-85</cbc:BuyerReference>", ""), "utf-8"
    )
    with pytest.raises(EInvoiceImportFailed) as failed:
        import_einvoices(seller, [anonymous])
    assert failed.value.errors == [
        f"{anonymous}: BT-44: the buyer 'Muster Handel GmbH' has the name of several debtors (K1, K2); without "
        "its VAT id or customer number it cannot be told which"
    ]


def test_credit_note_is_applied_to_the_invoice_it_names(seller: Any) -> None:
    result = import_einvoices(seller, [DUEDATE_CII, CREDIT_NOTE])
    assert [row["action"] for row in result.documents] == ["invoice_created", "credit_note_recorded"]
    note = CreditNote.objects.get(company=seller, number="GS-2016-001")
    invoice = Invoice.objects.get(company=seller, number="R1234567")
    assert (note.amount_minor, note.invoice, note.debtor, note.unallocated_minor) == (
        1000,
        invoice,
        invoice.debtor,
        0,
    )
    invoice.refresh_from_db()
    assert invoice.open_minor == 4522 - 1000
    # the same credit note imported again later: skipped
    assert import_einvoices(seller, [CREDIT_NOTE]).duplicates == 1
    invoice.refresh_from_db()
    assert invoice.open_minor == 3522


def test_correction_replaces_the_invoice_it_names(seller: Any, file_storage: Path) -> None:
    import_einvoices(seller, [DUEDATE_CII])
    result = import_einvoices(seller, [CORRECTION])
    row = result.documents[0]
    assert (row["action"], row["invoice"], row["due_date"]) == ("invoice_corrected", "R1234567", "2016-08-30")
    invoice = Invoice.objects.get(company=seller, number="R1234567")
    assert (invoice.amount_minor, invoice.open_minor, invoice.due_date) == (4000, 4000, D("2016-08-30"))
    assert invoice.reference == "R1234567-K"  # payments naming the new number find it
    with invoice.document.open("rb") as fh:
        assert fh.read() == CORRECTION.read_bytes()
    event = TimelineEvent.objects.filter(debtor=invoice.debtor, kind="invoice_created").get()
    assert "corrected by R1234567-K" in event.note and "45.22" in event.note
    assert Invoice.objects.filter(company=seller).count() == 1
    assert import_einvoices(seller, [DUEDATE_CII, CORRECTION]).duplicates == 2  # again: nothing changes
    invoice.refresh_from_db()
    assert (invoice.amount_minor, invoice.due_date) == (4000, D("2016-08-30"))


def test_correction_of_an_invoice_with_a_credit_is_refused(seller: Any) -> None:
    import_einvoices(seller, [DUEDATE_CII, CREDIT_NOTE])
    with pytest.raises(EInvoiceImportFailed) as failed:
        import_einvoices(seller, [CORRECTION])
    (error,) = failed.value.errors
    assert error.startswith(
        f"{CORRECTION}: BT-25: invoice R1234567 cannot be replaced by the corrected invoice"
    )
    assert "already applied to it (€35.22 of €45.22 open)" in error
    assert Invoice.objects.get(number="R1234567").amount_minor == 4522


def test_one_bad_file_among_good_ones_writes_nothing_and_names_it(seller: Any, file_storage: Path) -> None:
    before = snapshot(seller)
    with pytest.raises(EInvoiceImportFailed) as failed:
        import_einvoices(seller, [DUEDATE_CII, EINFACH, NEGATIVE, MALFORMED, NO_XML_PDF, SKONTO_UBL, RABATTE])
    errors = failed.value.errors
    assert len(errors) == 3
    assert errors[0].startswith(f"{MALFORMED}: line ") and "not well-formed XML" in errors[0]
    assert errors[1].startswith(
        f"{NO_XML_PDF}: /Root/Names/EmbeddedFiles: the PDF has no embedded e-invoice XML"
    )
    assert errors[2] == (
        f"{NEGATIVE}: BT-115: the amount due is negative (-€45.22); a commercial invoice cannot be collected — "
        "a credit is sent as a credit note (381)"
    )
    assert not any(str(SKONTO_UBL) in e for e in errors)  # its 0 % term after 30 days is the net term
    # Rabatte: "Zahlbar innerhalb 30 Tagen netto bis 04.07.2018" but issued 2018-06-05 (+30 days = 07-05);
    # it shares 471102 with Einfach, so it would be a duplicate — its due date is not even looked at
    assert not any(str(RABATTE) in e for e in errors)
    assert snapshot(seller) == before
    assert not file_storage.exists() or not any(p.is_file() for p in file_storage.rglob("*"))


def test_a_zero_percent_cash_discount_is_the_net_term_and_every_discount_is_kept(seller: Any) -> None:
    """kosit_01.10a: #SKONTO# 7 days 2 %, 14 days 1 %, 30 days 0 % ("30 Tage netto"), no BT-9."""
    result = import_einvoices(seller, [SKONTO_UBL])
    row = result.documents[0]
    assert (row["action"], row["due_date"], row["due_date_source"]) == (
        "invoice_created",
        "2016-07-27",
        "BT-20",
    )
    terms = ["#SKONTO#TAGE=7#PROZENT=2.00#", "#SKONTO#TAGE=14#PROZENT=1.00#", "#SKONTO#TAGE=30#PROZENT=0.00#"]
    assert row["cash_discounts"] == terms and row["warnings"] == []
    assert Invoice.objects.get(company=seller, number="Rechnungsnummer").due_date == D("2016-07-27")
    assert TimelineEvent.objects.get(kind="invoice_document_stored").data["cash_discounts"] == terms


def test_ambiguous_payment_terms_are_refused(seller: Any) -> None:
    with pytest.raises(EInvoiceImportFailed) as failed:
        import_einvoices(seller, [RABATTE])
    (error,) = failed.value.errors
    assert error.startswith(f"{RABATTE}: BT-9: no due date")
    assert "the payment terms name different days (2018-07-04, 2018-07-05)" in error


def test_direct_debit_is_recorded(seller: Any) -> None:
    result = import_einvoices(seller, [SEPA])
    row = result.documents[0]
    assert (row["direct_debit"], row["debit_iban"], row["due_date"]) == (
        True,
        "DE21860000000086001055",
        "2018-03-20",
    )
    event = TimelineEvent.objects.get(kind="invoice_document_stored")
    assert (event.data["direct_debit"], event.data["mandate"]) == (True, "REF A-123")


def test_invoice_of_another_seller_is_refused(company: Any) -> None:
    """The company's VAT id is DE811907980; the samples are issued by DE123456789."""
    with pytest.raises(EInvoiceImportFailed) as failed:
        import_einvoices(company, [EINFACH])
    assert failed.value.errors == [
        f"{EINFACH}: BT-31: the invoice was issued by Lieferant GmbH (VAT id DE123456789), not by Acme Werkzeug "
        "GmbH (VAT id DE811907980): is it an invoice the company received?"
    ]


def test_dry_run_writes_nothing(seller: Any, file_storage: Path) -> None:
    before = snapshot(seller)
    result = import_einvoices(seller, [EINFACH, DUEDATE_CII, CREDIT_NOTE], dry_run=True)
    assert result.dry_run and (result.invoices_created, result.credit_notes) == (2, 1)
    assert snapshot(seller) == before
    assert not file_storage.exists() or not any(p.is_file() for p in file_storage.rglob("*"))


def test_command_prints_and_answers_json(seller: Any, tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("einvoice_import", str(EINFACH), str(SEPA), "--company", "acme", stdout=out)
    text = out.getvalue()
    assert (
        "1 invoice(s) created, 0 credit note(s) recorded, 0 invoice(s) corrected, 1 already imported" in text
    )
    assert (
        "zf233_EN16931_Einfach.pdf: 380 471102 €529.87, due 2018-04-04 (BT-20), debtor GE2020211 (new): created"
        in text
    )
    out = io.StringIO()
    call_command("einvoice_import", str(EINFACH), "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["ok"] and data["duplicates"] == 1 and data["documents"][0]["action"] == "duplicate"
    bad = tmp_path / "bad.xml"
    shutil.copy(MALFORMED, bad)
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("einvoice_import", str(bad), str(TERMS_ONLY), "--json", stdout=out)
    assert "nothing imported, 1 error(s)" in str(failed.value) and "bad.xml: line" in str(failed.value)
    assert json.loads(out.getvalue())["ok"] is False
    assert not Invoice.objects.filter(number="UBL-2026-0042").exists()


def test_credit_note_of_an_unknown_buyer_goes_to_the_debtor_of_its_invoice(
    seller: Any, tmp_path: Path
) -> None:
    text = CREDIT_NOTE.read_text(encoding="utf-8")
    text = text.replace("<cac:PartyIdentification><cbc:ID>B123456789</cbc:ID></cac:PartyIdentification>", "")
    unknown = tmp_path / "unknown_buyer.xml"
    unknown.write_text(text.replace("[Buyer name]", "Buchhaltung Käufer"), encoding="utf-8")
    import_einvoices(seller, [DUEDATE_CII])
    result = import_einvoices(seller, [unknown])
    assert result.documents[0]["notes"] == ["buyer taken from invoice R1234567: B123456789"]
    assert result.debtors_created == [] and Debtor.objects.filter(company=seller).count() == 1
    assert CreditNote.objects.get(number="GS-2016-001").debtor.number == "B123456789"
    again = import_einvoices(seller, [unknown])
    assert again.documents[0]["action"] == "duplicate" and again.debtors_created == []


def test_invoice_and_its_correction_in_one_import(seller: Any) -> None:
    result = import_einvoices(seller, [DUEDATE_CII, CORRECTION])
    assert [row["action"] for row in result.documents] == ["invoice_created", "invoice_corrected"]
    invoice = Invoice.objects.get(company=seller, number="R1234567")
    assert (invoice.amount_minor, invoice.due_date) == (4000, D("2016-08-30"))
    with invoice.document.open("rb") as fh:
        assert fh.read() == CORRECTION.read_bytes()


def test_command_takes_a_directory(seller: Any, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy(EINFACH, folder / EINFACH.name)
    (folder / "readme.txt").write_text("not an invoice", encoding="utf-8")
    out = io.StringIO()
    call_command("einvoice_import", str(folder), "--dry-run", stdout=out)
    assert out.getvalue().startswith("Dry run: nothing was saved.\n1 invoice(s) created")
    assert not Invoice.objects.filter(company=seller).exists()
    # the same through "mahnwerk import einvoice"
    out = io.StringIO()
    call_command("import", "einvoice", str(folder), stdout=out)
    assert "1 invoice(s) created" in out.getvalue()
    assert Invoice.objects.filter(company=seller, number="471102").exists()


def test_two_files_of_one_number_for_a_known_debtor_in_one_import(seller: Any, make_debtor: Any) -> None:
    make_debtor(name="Kunden AG Mitte", number="GE2020211")
    result = import_einvoices(seller, [EINFACH, SEPA])
    assert [row["action"] for row in result.documents] == ["invoice_created", "duplicate"]
    assert result.debtors_created == []


def test_same_number_from_another_seller_is_not_the_same_invoice(seller: Any, tmp_path: Path) -> None:
    import_einvoices(seller, [DUEDATE_CII])
    other = tmp_path / "other_seller.xml"
    other.write_text(
        DUEDATE_CII.read_text(encoding="utf-8").replace(
            '<ram:ID schemeID="VA">DE123456789</ram:ID>\n                </ram:SpecifiedTaxRegistration>\n'
            "            </ram:SellerTradeParty>",
            '<ram:ID schemeID="VA">DE999999999</ram:ID>\n                </ram:SpecifiedTaxRegistration>\n'
            "            </ram:SellerTradeParty>",
        ),
        encoding="utf-8",
    )
    assert "DE999999999" in other.read_text(encoding="utf-8")
    with pytest.raises(EInvoiceImportFailed) as failed:
        import_einvoices(seller, [other])
    assert failed.value.errors == [
        f"{other}: BT-31: invoice R1234567 was imported from a file of the seller with VAT id DE123456789, this "
        "file is from DE999999999: not the same invoice, and the number is taken"
    ]


def test_buyer_matched_by_the_vat_id_recorded_on_a_debtor(seller: Any, make_debtor: Any) -> None:
    # a debtor imported from a spreadsheet or entered by hand, with its VAT id, another name and no buyer reference
    known = make_debtor(name="Muster Handel (Zentrale)", number="K-77", vat_id="DE811222333")
    result = import_einvoices(seller, [TERMS_ONLY])
    assert Invoice.objects.get(number="UBL-2026-0042").debtor == known
    assert not result.documents[0]["debtor_created"]


def test_structured_terms_of_ubl_and_cii_files_are_read_alike(seller: Any, tmp_path: Path) -> None:
    terms = (
        "#skonto#tage=10#prozent=3,00#basisbetrag=100,00#\r\n  # SKONTO # TAGE = 30 # PROZENT = 0.00\r\n"
        "#VERZUG#TAGE=45#PROZENT=1.00#\nVielen Dank."
    )
    files = []
    for name, xml in (
        ("net30_ubl.xml", ubl_xml(terms, number="T-1")),
        ("net30_cii.xml", cii_xml(terms, number="T-2")),
    ):
        files.append(tmp_path / name)
        files[-1].write_bytes(xml)
    result = import_einvoices(seller, files)
    for row in result.documents:
        assert (row["action"], row["due_date"], row["due_date_source"]) == (
            "invoice_created",
            "2026-12-02",
            "BT-20",
        )
        assert row["cash_discounts"] == [
            "#SKONTO#TAGE=10#PROZENT=3.00#BASISBETRAG=100.00#",
            "#SKONTO#TAGE=30#PROZENT=0.00#",
        ]
        assert row["late_payment_terms"] == ["#VERZUG#TAGE=45#PROZENT=1.00#"]
    stored = TimelineEvent.objects.filter(kind="invoice_document_stored").order_by("data__number")
    assert [e.data["late_payment_terms"] for e in stored] == [["#VERZUG#TAGE=45#PROZENT=1.00#"]] * 2


def test_one_unreadable_payment_terms_file_in_a_batch_is_named_and_nothing_is_lost(
    seller: Any, tmp_path: Path, file_storage: Path
) -> None:
    """The import is all or nothing: the bad file is the one error, naming file, BT-20 and the term; the others
    go in as they are once it is left out or mended."""
    good = [tmp_path / "a_ubl.xml", tmp_path / "b_cii.xml"]
    good[0].write_bytes(ubl_xml("#SKONTO#TAGE=30#PROZENT=0.00#\n", number="T-1"))
    good[1].write_bytes(
        cii_xml("#SKONTO#TAGE=10#PROZENT=2.00#\n#SKONTO#TAGE=30#PROZENT=0.00#\n", number="T-2")
    )
    bad = tmp_path / "c_bad.xml"
    bad.write_bytes(cii_xml("#SKONTO#TAGE=10#PROZENT=2.00#\n#SKONTO#TAGE=30#PROZENT=null#\n", number="T-3"))
    before = snapshot(seller)
    with pytest.raises(EInvoiceImportFailed) as failed:
        import_einvoices(seller, [*good, bad])
    assert failed.value.errors == [
        f"{bad}: BT-20 (/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/"
        "ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradePaymentTerms/ram:Description): the cash-discount "
        "term '#SKONTO#TAGE=30#PROZENT=null#' cannot be read: PROZENT=null is not a percentage of at least 0 "
        "and below 100"
    ]
    assert snapshot(seller) == before
    assert not file_storage.exists() or not any(p.is_file() for p in file_storage.rglob("*"))
    # the command says the same, one line per bad file
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import", "einvoice", str(tmp_path), stdout=out)
    assert str(refused.value) == f"nothing imported, 1 error(s):\n  {failed.value.errors[0]}"
    assert snapshot(seller) == before
    result = import_einvoices(seller, good)
    assert [(row["number"], row["due_date"]) for row in result.documents] == [
        ("T-1", "2026-12-02"),
        ("T-2", "2026-12-02"),
    ]


def test_cash_discounts_without_a_net_term_are_still_refused_as_no_due_date(
    seller: Any, tmp_path: Path
) -> None:
    only_discount = tmp_path / "discount_only.xml"
    only_discount.write_bytes(ubl_xml("#SKONTO#TAGE=10#PROZENT=2.00#\n"))
    with pytest.raises(EInvoiceImportFailed) as failed:
        import_einvoices(seller, [only_discount])
    assert failed.value.errors == [
        f"{only_discount}: BT-9: no due date — the file has none, and its payment terms (BT-20) "
        "'#SKONTO#TAGE=10#PROZENT=2.00#' do not name one unambiguously (the payment terms name no period or day "
        "for the net amount); nothing is guessed"
    ]


def test_a_due_date_in_the_file_wins_over_its_structured_terms(seller: Any, tmp_path: Path) -> None:
    path = tmp_path / "due.xml"
    path.write_bytes(cii_xml("#SKONTO#TAGE=30#PROZENT=0.00#\n", due="20261116"))
    row = import_einvoices(seller, [path]).documents[0]
    assert (row["due_date"], row["due_date_source"]) == ("2026-11-16", "BT-9")
    assert row["warnings"] == [
        "the payment terms (BT-20) name 2026-12-02, the due date (BT-9) is 2026-11-16: BT-9 is used"
    ]


# --- the reader's messages in the user's language ---------------------------------------------------------

# The catalogues have no entries for the reader's templates yet: a fake German gettext stands in (what it
# does not know stays as it is, as with a real catalogue).
GERMAN = {
    "the cash-discount term {term!r} cannot be read: {reason}": (
        "die Skonto-Bedingung {term!r} ist nicht lesbar: {reason}"
    ),
    "PROZENT={value} is not a percentage of at least 0 and below 100": (
        "PROZENT={value} ist kein Prozentsatz von mindestens 0 und unter 100"
    ),
    "line {line}, column {column}": "Zeile {line}, Spalte {column}",
    "not well-formed XML: {error}": "kein wohlgeformtes XML: {error}",
    "the payment terms (BT-20) name {terms_date}, the due date (BT-9) is {due_date}: BT-9 is used": (
        "die Zahlungsbedingungen (BT-20) nennen den {terms_date}, das Fälligkeitsdatum (BT-9) ist der "
        "{due_date}: BT-9 gilt"
    ),
    "the payment terms name different days ({dates})": "die Zahlungsbedingungen nennen verschiedene Tage ({dates})",
    "commercial invoice": "Handelsrechnung",
}


@pytest.fixture
def in_german(monkeypatch: pytest.MonkeyPatch) -> None:
    """The import words what the reader says with this gettext."""
    monkeypatch.setattr("mahnwerk.ledger.einvoices._", lambda message: GERMAN.get(message, message))


def test_the_readers_errors_are_worded_in_the_users_language(
    seller: Any, tmp_path: Path, in_german: None
) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(cii_xml("#SKONTO#TAGE=30#PROZENT=null#\n"))
    broken = tmp_path / "broken.xml"
    shutil.copy(MALFORMED, broken)
    with pytest.raises(EInvoiceImportFailed) as failed:
        import_einvoices(seller, [bad, broken, NEGATIVE])
    terms, xml, negative = failed.value.errors
    assert terms == (
        f"{bad}: BT-20 (/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/"
        "ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradePaymentTerms/ram:Description): die "
        "Skonto-Bedingung '#SKONTO#TAGE=30#PROZENT=null#' ist nicht lesbar: PROZENT=null ist kein Prozentsatz "
        "von mindestens 0 und unter 100"
    )
    assert xml.startswith(f"{broken}: Zeile 115, Spalte 9: kein wohlgeformtes XML: ")
    assert "a Handelsrechnung cannot be collected" in negative  # the document type, translated
    # the command's JSON answer and its refusal say the same
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import", "einvoice", str(bad), "--json", stdout=out)
    assert json.loads(out.getvalue())["errors"] == [terms]
    assert str(refused.value).endswith(f"\n  {terms}")


def test_the_readers_warnings_are_worded_in_the_users_language(
    seller: Any, tmp_path: Path, in_german: None
) -> None:
    path = tmp_path / "due.xml"
    path.write_bytes(cii_xml("#SKONTO#TAGE=30#PROZENT=0.00#\n", due="20261116"))
    warning = (
        "die Zahlungsbedingungen (BT-20) nennen den 2026-12-02, das Fälligkeitsdatum (BT-9) ist der 2026-11-16: "
        "BT-9 gilt"
    )
    out = io.StringIO()
    call_command("import", "einvoice", str(path), "--dry-run", stdout=out)
    assert f"warning: {warning}" in out.getvalue()
    out = io.StringIO()
    call_command("import", "einvoice", str(path), "--json", stdout=out)
    assert json.loads(out.getvalue())["documents"][0]["warnings"] == [warning]


def test_why_the_terms_give_no_due_date_is_worded_in_the_users_language(
    seller: Any, tmp_path: Path, in_german: None
) -> None:
    path = tmp_path / "which.xml"
    path.write_bytes(ubl_xml("#SKONTO#TAGE=30#PROZENT=0.00#\n#SKONTO#TAGE=45#PROZENT=0.00#\n"))
    with pytest.raises(EInvoiceImportFailed) as failed:
        import_einvoices(seller, [path])
    assert failed.value.errors == [
        f"{path}: BT-9: no due date — the file has none, and its payment terms (BT-20) "
        "'#SKONTO#TAGE=30#PROZENT=0.00# / #SKONTO#TAGE=45#PROZENT=0.00#' do not name one unambiguously "
        "(die Zahlungsbedingungen nennen verschiedene Tage (2026-12-02, 2026-12-17)); nothing is guessed"
    ]
