"""PDF letters: rendered with WeasyPrint, read back with pypdf, positions checked against DIN 5008 form B."""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from mahnwerk.comms.letters import (
    LetterCharge,
    LetterContext,
    LetterError,
    LetterItem,
    batch_order,
    letter_qr_payload,
    render_letter_html,
    render_letter_pdf,
    render_print_batch,
)

MM_PER_PT = 25.4 / 72
A4_HEIGHT_MM = 297.0


def german_letter(**changes: object) -> LetterContext:
    ctx = LetterContext(
        creditor_name="Muster Werkzeuge GmbH",
        creditor_address_lines=("Hauptstraße 12", "10115 Berlin"),
        creditor_iban="DE89 3704 0044 0532 0130 00",
        creditor_bic="COBADEFFXXX",
        creditor_bank_name="Commerzbank Berlin",
        recipient_name="Bäckerei Schröder KG",
        recipient_address_lines=("z. Hd. Frau Jana Schröder", "Lindenallee 5", "04109 Leipzig"),
        recipient_postcode="04109",
        recipient_country="DE",
        language="de",
        letter_date=date(2026, 11, 23),
        subject="Zahlungserinnerung",
        greeting="Sehr geehrte Frau Schröder,",
        paragraphs=(
            "sicher haben Sie im Alltag übersehen, dass die folgenden Rechnungen noch offen sind.",
            "Bitte überweisen Sie den Gesamtbetrag bis zum genannten Termin.",
        ),
        items=(
            LetterItem("2026-100", date(2026, 8, 1), date(2026, 8, 31), 119_00, 1_37, 40_00),
            LetterItem("2026-101", date(2026, 8, 2), date(2026, 8, 31), 129_00, 1_38, 40_00),
            LetterItem("2026-102", date(2026, 8, 3), date(2026, 8, 31), 139_00, 1_39, 40_00),
        ),
        charges=(LetterCharge("Mahngebühr", 1_00),),
        customer_number="10023",
        new_deadline=date(2026, 12, 7),
        payment_reference="RF18539007547034",
        signature="Anna Beispiel, Forderungsmanagement",
        creditor_contact_name="Anna Beispiel",
        creditor_phone="+49 30 1234567",
        creditor_email="buchhaltung@muster-werkzeuge.de",
        creditor_legal_lines=("Amtsgericht Berlin-Charlottenburg HRB 123456", "USt-IdNr. DE123456789"),
    )
    ctx = dataclasses.replace(ctx, **changes)  # type: ignore[arg-type]
    return dataclasses.replace(ctx, qr_payload=letter_qr_payload(ctx))


def latvian_letter(**changes: object) -> LetterContext:
    base = german_letter(
        creditor_name="SIA Paraugs",
        creditor_address_lines=("Brīvības iela 1", "Rīga, LV-1010"),
        creditor_iban="LV80BANK0000435195001",
        creditor_bic="",
        recipient_name="SIA Ķekava Būve",
        recipient_address_lines=("Rīgas iela 22", "Ķekava, LV-2123"),
        recipient_postcode="LV-2123",
        recipient_country="LV",
        language="lv",
        subject="Atgādinājums par apmaksu",
        greeting="Labdien!",
        paragraphs=("Atgādinām, ka šādi rēķini vēl nav apmaksāti.",),
        charges=(),
        **changes,
    )
    return base


def words(pdf: bytes) -> list[tuple[float, float, str]]:
    """(x mm from the left edge, y mm from the top edge of the baseline, text) of every text run on page 1."""
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    found: list[tuple[float, float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: object) -> None:
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            found.append((x * MM_PER_PT, A4_HEIGHT_MM - y * MM_PER_PT, text.strip()))

    page.extract_text(visitor_text=visit)
    return found


def where(runs: list[tuple[float, float, str]], text: str) -> tuple[float, float]:
    for x, y, run in runs:
        if run.startswith(text):
            return x, y
    raise AssertionError(f"{text!r} not found in {[r for _, _, r in runs]}")


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page with runs of whitespace (line breaks in table headers) as one space."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def test_german_letter_content() -> None:
    pdf = render_letter_pdf(german_letter())
    [text] = page_texts(pdf)
    for expected in (
        "Bäckerei Schröder KG",
        "Lindenallee 5",
        "04109 Leipzig",
        "Rechnungsnummer",
        "Rechnungsdatum",
        "Fällig am",
        "Offener Betrag",
        "Zinsen bis 23.11.2026",
        "Kosten",
        "Kundennummer",
        "23. November 2026",
        "2026-100",
        "01.08.2026",
        "31.08.2026",
        "119,00 €",
        "Mahngebühr",
        "Verwendungszweck",
        "RF18539007547034",
        "Bankverbindung",
        "IBAN DE89 3704 0044 0532 0130 00",
        "Mit freundlichen Grüßen",
        "Seite 1 von 1",
    ):
        assert expected in text, expected
    # Totals by hand: open 119.00 + 129.00 + 139.00 = 387.00; interest 1.37 + 1.38 + 1.39 = 4.14;
    # fees 3 x 40.00 = 120.00; reminder fee 1.00; total 387.00 + 4.14 + 120.00 + 1.00 = 512.14.
    assert "387,00 €" in text and "4,14 €" in text and "120,00 €" in text
    assert "Bitte überweisen Sie den Gesamtbetrag von 512,14 € bis zum 7. Dezember 2026." in text
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None and reader.metadata.title == "Zahlungserinnerung"


def test_a_letter_claiming_no_interest_or_costs_lists_the_open_amounts_only() -> None:
    # a note before the due date: no row of zeros under "Zinsen" and "Kosten", as in the email
    pdf = render_letter_pdf(
        german_letter(
            subject="Hinweis auf die Fälligkeit Ihrer Zahlung",
            items=(
                LetterItem("2026-200", date(2026, 11, 10), date(2026, 11, 30), 240_34, 0, 0),
                LetterItem("2026-201", date(2026, 11, 12), date(2026, 12, 2), 1000_00, 0, 0),
            ),
            charges=(),
        )
    )
    [text] = page_texts(pdf)
    assert "Offener Betrag" in text and "Zinsen bis" not in text and "Kosten" not in text
    assert not re.search(r"(?<![\d.,])0,00 €", text)
    assert "1.240,34 €" in text  # 240.34 + 1,000.00, the total by hand


def test_din_5008_form_b_positions() -> None:
    runs = words(render_letter_pdf(german_letter()))
    # Address zone of the window: text at 25 mm from the left, between 57.7 mm and 90 mm from the top.
    for line in ("Bäckerei Schröder KG", "z. Hd. Frau Jana Schröder", "Lindenallee 5", "04109 Leipzig"):
        x, y = where(runs, line)
        assert 24.5 <= x <= 26, (line, x)
        assert 57.7 < y < 90, (line, y)
    # Return address in the remarks zone above it (45 .. 57.7 mm), inside the 85 mm window.
    return_lines = [(x, y) for x, y, t in runs if t.startswith("Muster Werkzeuge GmbH · Hauptstraße 12")]
    assert any(45 < y < 57.7 and x >= 20 for x, y in return_lines)
    # Information block: 125 mm from the left, from 50 mm down, not below the address field's end.
    for label in ("Datum", "Kundennummer", "Rechnungsnummern", "Ansprechpartner"):
        x, y = where(runs, label)
        assert 124.5 <= x <= 126, (label, x)
        assert 50 < y < 98, (label, y)
    # Subject below the address field; everything keeps clear of the window's right edge or starts at 125 mm.
    assert where(runs, "Zahlungserinnerung")[1] > 90
    for x, y, text in runs:
        if 45 <= y <= 90 and x < 105:
            assert x >= 20, text


def test_latvian_letter_words_and_formats() -> None:
    [text] = page_texts(render_letter_pdf(latvian_letter()))
    for expected in (
        "SIA Ķekava Būve",
        "Ķekava, LV-2123",
        "Rēķina numurs",
        "Rēķina datums",
        "Apmaksas termiņš",
        "Neapmaksātā summa",
        "Klienta numurs",
        "2026. gada 23. novembrī",
        "31.08.2026.",
        "Bankas rekvizīti",
        "Ar cieņu",
        "1. lapa no 1",
    ):
        assert expected in text, expected
    # Without the reminder fee: 387.00 + 4.14 + 120.00 = 511.14 EUR, written the Latvian way.
    assert "511,14" in text
    assert "līdz 07.12.2026." in text
    # no BIC given (an IBAN within SEPA needs none): no "BIC" label without a value, in the footer or the table
    assert "BIC" not in text
    [german] = page_texts(render_letter_pdf(german_letter()))
    assert "BIC COBADEFFXXX" in german


def test_english_letter() -> None:
    [text] = page_texts(render_letter_pdf(german_letter(language="en")))
    for expected in (
        "Invoice number",
        "Due date",
        "Open amount",
        "Total due",
        "Yours sincerely",
        "Page 1 of 1",
    ):
        assert expected in text, expected
    assert "€512.14" in text
    assert "7 December 2026" in text


def test_long_list_runs_to_a_second_page() -> None:
    items = tuple(
        LetterItem(f"2026-{100 + i}", date(2026, 8, 1), date(2026, 8, 31), 100_00, 0, 0) for i in range(40)
    )
    pdf = render_letter_pdf(german_letter(items=items, charges=()))
    texts = page_texts(pdf)
    assert len(texts) == 2
    assert "Seite 1 von 2" in texts[0] and "Seite 2 von 2" in texts[1]
    assert "Lindenallee 5" in texts[0] and "Lindenallee 5" not in texts[1]
    assert "2026-139" in texts[1]
    # The table header is repeated on the second page; the total row (40 x 100.00 = 4,000.00) comes once,
    # at the end of the list.
    assert "Rechnungsnummer" in texts[1]
    total_row = "Gesamtbetrag 4.000,00 €"  # no interest or costs claimed: the open amounts only
    assert total_row not in texts[0]
    assert texts[1].count(total_row) == 1


def test_print_batch_in_postcode_order_each_letter_on_new_pages() -> None:
    letters = [
        german_letter(recipient_name="Firma München", recipient_postcode="80331",
                      recipient_address_lines=("Marienplatz 1", "80331 München")),
        latvian_letter(),
        german_letter(),  # 04109 Leipzig
        german_letter(recipient_name="Firma Berlin", recipient_postcode="10115",
                      recipient_address_lines=("Invalidenstraße 1", "10115 Berlin")),
    ]  # fmt: skip
    ordered = batch_order(letters)
    assert [c.recipient_postcode for c in ordered] == ["04109", "10115", "80331", "LV-2123"]

    texts = page_texts(render_print_batch(letters))
    assert len(texts) == 4
    firsts = [t.split("Muster Werkzeuge GmbH · Hauptstraße 12 · 10115 Berlin")[-1] for t in texts[:3]]
    assert "Bäckerei Schröder KG" in firsts[0]
    assert "Firma Berlin" in firsts[1]
    assert "Firma München" in firsts[2]
    assert "SIA Ķekava Būve" in texts[3]
    assert all("1 von 1" in t for t in texts[:3])

    # Duplex: every one-page letter is followed by a blank back page.
    assert len(page_texts(render_print_batch(letters, duplex=True))) == 8


def test_letter_refuses_bad_input() -> None:
    with pytest.raises(LetterError):
        render_letter_pdf(german_letter(recipient_address_lines=("1", "2", "3", "4", "5", "6")))
    with pytest.raises(LetterError):
        render_letter_html(german_letter(language="fr"))
    wrong_qr = dataclasses.replace(german_letter(), charges=())  # the QR code still asks for 512.14
    with pytest.raises(LetterError, match=r"EUR512\.14"):
        render_letter_html(wrong_qr)
    with pytest.raises(LetterError):
        render_print_batch([])


def test_text_is_escaped() -> None:
    html = render_letter_html(german_letter(recipient_name="Müller & <Söhne>"))
    assert "Müller &amp; &lt;Söhne&gt;" in html
    assert "<Söhne>" not in html


def test_qr_payload_helper() -> None:
    ctx = german_letter()
    payload = letter_qr_payload(ctx)
    assert payload is not None
    lines = payload.split("\n")
    assert lines[7] == "EUR512.14"
    assert lines[9] == "RF18539007547034"
    plain = letter_qr_payload(dataclasses.replace(ctx, payment_reference="Kd. 10023"))
    assert plain is not None and plain.split("\n")[10] == "Kd. 10023"
    assert letter_qr_payload(dataclasses.replace(ctx, currency="USD", qr_payload=None)) is None


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_rendered_page_shows_a_scannable_qr_code(tmp_path: Path) -> None:
    import zxingcpp
    from PIL import Image

    ctx = german_letter()
    (tmp_path / "letter.pdf").write_bytes(render_letter_pdf(ctx))
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "150",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            str(tmp_path / "letter.pdf"),
            str(tmp_path / "p"),
        ],
        check=True,
    )
    [png] = sorted(tmp_path.glob("p*.png"))
    image = Image.open(png)
    assert image.size == (1241, 1754)  # A4 at 150 dpi: 210 mm and 297 mm / 25.4 x 150
    results = zxingcpp.read_barcodes(image)
    assert [r.text for r in results] == [ctx.qr_payload]


def _copy_pdf(text: str, pages: int = 1) -> bytes:
    """A small real PDF standing in for a stored invoice copy."""
    from weasyprint import HTML

    body = "".join(f'<p style="page-break-after: always">{text} page {n + 1}</p>' for n in range(pages))
    pdf = HTML(string=f"<html><body>{body}</body></html>").write_pdf()
    assert isinstance(pdf, bytes)
    return pdf


def test_print_batch_puts_enclosures_behind_their_letter() -> None:
    letters = [
        german_letter(recipient_name="Firma München", recipient_postcode="80331",
                      recipient_address_lines=("Marienplatz 1", "80331 München")),
        german_letter(),  # 04109 Leipzig: printed first
    ]  # fmt: skip
    enclosures = {0: [_copy_pdf("Copy of R-80331")], 1: [_copy_pdf("Copy of R-04109", 2), b"%PDF-1.4 broken"]}
    texts = page_texts(render_print_batch(letters, enclosures=enclosures))
    # Leipzig's letter, its two-page copy (the damaged one is left out), then München's letter and its copy
    assert len(texts) == 5
    assert "Bäckerei Schröder KG" in texts[0] and "Copy of R-04109 page 1" in texts[1]
    assert "Copy of R-04109 page 2" in texts[2]
    assert "Firma München" in texts[3] and "Copy of R-80331 page 1" in texts[4]
    # Duplex: Leipzig has 3 pages, so a blank back page follows; München has 2
    duplex = page_texts(render_print_batch(letters, duplex=True, enclosures=enclosures))
    assert len(duplex) == 6 and duplex[3].strip() == "" and "Firma München" in duplex[4]


# -- the creditor named on the letter (§ 35a GmbHG, § 37a HGB; reģistrācijas numurs) ----------------------


def pdftotext(pdf: bytes, tmp_path: Path) -> str:
    """The text of the letter as ``pdftotext`` reads it, runs of whitespace as one space."""
    (tmp_path / "letter.pdf").write_bytes(pdf)
    subprocess.run(["pdftotext", "-enc", "UTF-8", str(tmp_path / "letter.pdf")], check=True)
    return " ".join((tmp_path / "letter.txt").read_text(encoding="utf-8").split())


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
@pytest.mark.django_db
def test_a_german_companys_letter_names_its_register_court_number_and_managing_directors(
    company: object, make_debtor: Any, make_invoice: Any, tmp_path: Path
) -> None:
    from mahnwerk.collection.services import run_collection
    from mahnwerk.comms.documents import letter_context
    from mahnwerk.comms.models import OutboundMessage

    debtor = make_debtor(
        name="Tischlerei Weber KG", email=None, street="Lindenallee 5", postcode="04109", city="Leipzig"
    )
    make_invoice(debtor, "RE-2026-0042", "2380.00", "2026-03-01")
    run_collection(company, date(2026, 3, 8))
    msg = OutboundMessage.objects.get(channel="letter")
    ctx = letter_context(msg)
    # seat, register, managing director, VAT ID (the name, with its legal form, heads the footer already);
    # the labels are the German catalogue's
    seat, register, directors, vat_id = ctx.creditor_legal_lines
    assert "Berlin" in seat and register == "Amtsgericht Charlottenburg HRB 204711 B"
    assert "Anna Acker" in directors and "DE811907980" in vat_id
    # the collections contact, not the company's general one
    assert (ctx.creditor_phone, ctx.creditor_email) == ("+49 30 5550120", "forderungen@acme.example")

    text = pdftotext(render_letter_pdf(ctx), tmp_path)
    for expected in (
        "Acme Werkzeug GmbH",
        "Amtsgericht Charlottenburg HRB 204711 B",
        "Anna Acker",
        "DE811907980",
        "forderungen@acme.example",
        "+49 30 5550120",
    ):
        assert expected in text, expected
    assert "buchhaltung@acme.example" not in text


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
@pytest.mark.django_db
def test_a_latvian_companys_letter_names_its_registration_number(make_debtor: Any, tmp_path: Path) -> None:
    from django.utils import translation

    from mahnwerk.comms import creditor
    from mahnwerk.comms.documents import letter_context
    from mahnwerk.comms.models import OutboundMessage
    from mahnwerk.ledger.models import Company

    koks = Company(
        slug="koks",
        name='SIA "Baltijas Koks"',
        legal_form="SIA",
        registration_number="40003123456",
        vat_id="LV40003123456",
        street="Brīvības iela 100",
        postcode="LV-1001",
        city="Rīga",
        country="LV",
        email="gramatvediba@koks.example",
        phone="+371 67000000",
        iban="LV80BANK0000435195001",
        jurisdiction="LV",
        time_zone="Europe/Riga",
        default_language="lv",
    )
    koks.full_clean()
    koks.save()
    debtor = make_debtor(
        company=koks,
        name="Kokapstrāde SIA",
        language="lv",
        email=None,
        jurisdiction="LV",
        time_zone="Europe/Riga",
        street="Tērbatas iela 5",
        postcode="LV-1011",
        city="Rīga",
        country="LV",
    )
    msg = OutboundMessage.objects.create(
        company=koks,
        debtor=debtor,
        channel="letter",
        recipient="Kokapstrāde SIA",
        language="lv",
        subject="Atgādinājums par apmaksu",
        body_text="Labdien!\n\nAtgādinām, ka rēķins vēl nav apmaksāts.\n\nAr cieņu",
        message_id="<koks-1@mahnwerk>",
    )
    ctx = letter_context(msg)
    with translation.override("lv"):
        assert ctx.creditor_legal_lines == tuple(creditor.legal_parts(koks))
    assert len(ctx.creditor_legal_lines) == 2  # no commercial register entry: no seat, court or directors
    assert "40003123456" in ctx.creditor_legal_lines[0] and "LV40003123456" in ctx.creditor_legal_lines[1]

    text = pdftotext(render_letter_pdf(ctx), tmp_path)
    assert "40003123456" in text and "LV40003123456" in text
    assert "gramatvediba@koks.example" in text  # no collections address: the company's


@pytest.mark.django_db
def test_legal_details_in_english(company: Any) -> None:
    from django.utils import translation

    from mahnwerk.comms import creditor

    company.name, company.managing_directors = "Acme Werkzeug", "Anna Acker, Bernd Acker"
    with translation.override("en"):
        assert creditor.legal_line(company) == (
            "Acme Werkzeug GmbH · Registered office Berlin · Amtsgericht Charlottenburg HRB 204711 B · "
            "Managing directors: Anna Acker, Bernd Acker · VAT ID DE811907980"
        )
        # the name with the added legal form stays on a letter, whose footer prints the bare name
        assert creditor.legal_parts(company, with_name=False)[0] == "Acme Werkzeug GmbH"
        company.name = "Acme Werkzeug GmbH"
        assert creditor.legal_parts(company, with_name=False)[0] == "Registered office Berlin"
        # no register details: the legal form still shows where the name lacks it
        company.register_court = company.register_number = company.managing_directors = ""
        assert creditor.legal_line(company) == "VAT ID DE811907980"
        company.name, company.legal_form = "Baltijas Koks", "SIA"
        assert creditor.legal_line(company) == "Baltijas Koks SIA · VAT ID DE811907980"
        company.country = "LV"
        assert creditor.legal_line(company) == 'SIA "Baltijas Koks" · VAT ID DE811907980'


def test_the_legal_details_run_across_the_foot_and_stay_on_the_page() -> None:
    legal = (
        "Sitz Berlin",
        "Amtsgericht Berlin-Charlottenburg HRB 123456 B",
        "Geschäftsführer: Anna-Katharina Mustermann-Schulze, Jonas Keller, Dr. Friedrich von Hohenberg",
        "USt-IdNr. DE123456789",
    )
    runs = words(render_letter_pdf(german_letter(creditor_legal_lines=legal)))
    x, y = where(runs, "Sitz Berlin · Amtsgericht")
    _, bic = where(runs, "BIC COBADEFFXXX")
    assert abs(x - 25) < 1 and y > bic  # from the left margin, under the columns
    assert max(y for _, y, _ in runs) < 297 - 5  # nothing in the unprintable edge of a printer


def test_the_closing_greeting_never_stands_alone_on_a_page() -> None:
    # paragraphs of growing length push the end of the letter over the page: whatever the length, the
    # closing goes over together with what comes before it
    lone = []
    for n in range(1, 18):
        paragraphs = ("Bitte überweisen Sie den Gesamtbetrag bis zum genannten Termin. " * n,)
        texts = page_texts(render_letter_pdf(german_letter(paragraphs=paragraphs)))
        for page in texts[1:]:
            if page.lstrip().startswith("Mit freundlichen Grüßen"):
                lone.append(n)
    assert lone == []
