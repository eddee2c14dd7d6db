"""``mahnwerk export``: open items, payments and the timeline as CSV and XLSX, read back.

German base rate (§ 247 BGB): 2.27 % from 2025-01-01; B2B margin 9 pp: 11.27 %. Interest = principal x rate
x days / 365, rounded half up to the cent.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import trans_real
from openpyxl import load_workbook

from mahnwerk.collection import presets
from mahnwerk.collection.models import ActionItem, Playbook, Step
from mahnwerk.collection.services import ensure_default_playbook, run_collection
from mahnwerk.core.money import to_minor
from mahnwerk.ledger import claims, exports, timeline, timeline_display
from mahnwerk.ledger.claims import statement
from mahnwerk.ledger.models import Charge, Debtor, Invoice, TimelineEvent
from mahnwerk.ledger.services import create_invoices
from mahnwerk.ledger.setup import create_company

D = date.fromisoformat
AS_OF = D("2025-04-30")


def export(*args: str) -> str:
    out = StringIO()
    call_command("export", *args, stdout=out)
    return out.getvalue()


def read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the byte order mark Excel needs to read UTF-8
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=delimiter))


@pytest.fixture
def ledger(company: Any, make_debtor: Any, make_invoice: Any, pay: Any) -> dict[str, Any]:
    """A debtor in default with interest, the flat compensation and a part payment; another one paid up."""
    debtor = make_debtor(name="Metallbau Krüger GmbH", number="K100")
    # due on an agreed date: in default from 2025-02-10 without a reminder
    inv = make_invoice(debtor, "RE-1", "1000.00", "2025-02-09", issue="2025-01-10", due_date_agreed=True)
    other = make_invoice(debtor, "RE-2", "250.00", "2025-05-15", issue="2025-04-15")
    Charge.objects.create(
        company=company,
        debtor=debtor,
        invoice=inv,
        kind="flat_compensation",
        key=f"flat:{inv.pk}",
        amount_minor=4000,
        open_minor=4000,
        currency="EUR",
        booked_on=D("2025-02-10"),
    )
    run_collection(company, D("2025-02-16"))  # a reminder: the last step of RE-1
    paid_up = make_debtor(name="Bäckerei Ozols SIA", number="K200")
    small = make_invoice(paid_up, "RE-3", "80.00", "2025-03-01", issue="2025-02-01")
    pay(paid_up, "100.00", "2025-03-05", reference="RE-3")  # 80.00 on RE-3, 20.00 left as a credit
    return {"debtor": debtor, "inv": inv, "other": other, "paid_up": paid_up, "small": small}


@pytest.mark.django_db
def test_open_items_csv_has_the_statement_figures(
    company: Any, ledger: dict[str, Any], tmp_path: Path
) -> None:
    debtor, inv = ledger["debtor"], ledger["inv"]
    out = tmp_path / "open.csv"
    export("open-items", "--as-of", "2025-04-30", "--out", str(out), "--language", "en")
    rows = read_csv(out)
    assert [(r["debtor number"], r["invoice number"]) for r in rows] == [("K100", "RE-1"), ("K100", "RE-2")]
    first = rows[0]
    # interest 2025-02-10..2025-04-30 = 19 + 31 + 30 = 80 days: 1000.00 x 11.27 % x 80 / 365 = 24.7014 -> 24.70
    assert first["interest to date"] == "24.70"
    (line, _) = statement(company, debtor.pk, "business", AS_OF)["lines"]
    assert line["interest_open_minor"] == 2470
    assert {
        "amount": first["amount"],
        "principal": first["principal open"],
        "interest": first["interest to date"],
        "costs": first["costs open"],
        "total": first["total open"],
    } == {
        "amount": "1000.00",
        "principal": f"{Decimal(line['principal_open_minor']) / 100:.2f}",
        "interest": f"{Decimal(line['interest_open_minor']) / 100:.2f}",
        "costs": f"{Decimal(line['fees_open_minor']) / 100:.2f}",
        "total": f"{Decimal(line['total_open_minor']) / 100:.2f}",
    }
    assert first["total open"] == "1064.70"  # 1000.00 + 24.70 + 40.00
    assert (first["currency"], first["issue date"], first["due date"], first["default from"]) == (
        "EUR",
        "2025-01-10",
        "2025-02-09",
        "2025-02-10",
    )
    assert first["debtor name"] == "Metallbau Krüger GmbH"
    level = ActionItem.objects.get(invoice=inv).level
    assert (first["last step"], first["last step on"]) == (str(level), "2025-02-16")
    assert rows[1]["interest to date"] == "0.00" and rows[1]["last step"] == ""  # not due yet


@pytest.mark.django_db
def test_open_items_xlsx_has_number_and_date_cells_and_a_frozen_header(
    company: Any, ledger: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "open.xlsx"
    export("open-items", "--as-of", "2025-04-30", "--out", str(out), "--language", "en")
    sheet = load_workbook(out).active
    assert sheet is not None and sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:3] == ["debtor number", "debtor name", "invoice number"]
    first = dict(zip(header, rows[1], strict=True))
    assert first["interest to date"] == pytest.approx(24.70) and isinstance(first["total open"], float | int)
    assert first["total open"] == pytest.approx(1064.70)
    assert first["due date"] == datetime(2025, 2, 9)  # a date cell, read back as a datetime
    cell = sheet.cell(row=2, column=header.index("amount") + 1)
    assert cell.number_format == "#,##0.00" and cell.data_type == "n"


@pytest.mark.django_db
def test_german_locale_uses_semicolons_and_a_decimal_comma(
    company: Any, ledger: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "offen.csv"
    export("open-items", "--as-of", "2025-04-30", "--out", str(out), "--locale", "de", "--language", "en")
    text = out.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("debtor number;debtor name;invoice number;")
    rows = read_csv(out, delimiter=";")
    assert rows[0]["interest to date"] == "24,70" and rows[0]["total open"] == "1064,70"
    assert rows[0]["due date"] == "2025-02-09"  # ISO dates in every locale
    english = export("open-items", "--as-of", "2025-04-30", "--language", "en")  # to standard output
    assert english.startswith("\ufeffdebtor number,") and ",1064.70," in english


@pytest.mark.django_db
def test_payments_export_lists_what_each_payment_paid_and_its_credit(
    company: Any, ledger: dict[str, Any], pay: Any, tmp_path: Path
) -> None:
    debtor, inv = ledger["debtor"], ledger["inv"]
    pay(debtor, "100.00", "2025-03-11", reference="RE-1")
    out = tmp_path / "payments.csv"
    export("payments", "--from", "2025-03-01", "--to", "2025-03-31", "--out", str(out), "--language", "en")
    rows = read_csv(out)
    assert [(r["value date"], r["debtor number"], r["invoice number"]) for r in rows] == [
        ("2025-03-05", "K200", "RE-3"),
        ("2025-03-11", "K100", "RE-1"),
    ]
    credit, part = rows
    assert (credit["amount"], credit["principal paid"], credit["unallocated credit"]) == (
        "100.00",
        "80.00",
        "20.00",
    )
    assert credit["payer"] == "Bäckerei Ozols SIA" and credit["reference"] == "RE-3"
    # § 367 BGB: the 100.00 pays the fee 40.00, interest 2025-02-10..03-11 (30 days):
    # 1000.00 x 11.27 % x 30 / 365 = 9.2630 -> 9.26, then 50.74 principal
    assert (part["costs paid"], part["interest paid"], part["principal paid"]) == ("40.00", "9.26", "50.74")
    assert part["unallocated credit"] == "0.00"
    inv.refresh_from_db()
    assert inv.open_minor == 100000 - 5074
    assert read_csv(out) == rows
    outside = tmp_path / "april.csv"
    export("payments", "--from", "2025-04-01", "--out", str(outside), "--language", "en")
    assert read_csv(outside) == []


@pytest.mark.django_db
def test_timeline_export_renders_texts_in_the_chosen_language(
    company: Any, ledger: dict[str, Any], tmp_path: Path
) -> None:
    debtor = ledger["debtor"]
    timeline.event(debtor.pk, company.pk, "debtor_created", D("2025-01-02")).save()
    out = tmp_path / "timeline.xlsx"
    export("timeline", "--to", "2025-02-28", "--out", str(out), "--language", "de")
    sheet = load_workbook(out).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    first = dict(zip(header, body[0], strict=True))
    assert first[header[0]] == datetime(2025, 1, 2) and "Schuldner angelegt" in body[0]
    events = TimelineEvent.objects.filter(company=company, business_date__lte=D("2025-02-28"))
    assert len(body) == events.count()
    with translation.override("de"):
        expected = [timeline_display.describe(e) for e in events.order_by("business_date", "id")]
    assert [row[-1] for row in body] == expected
    kinds = {row[4] for row in body}
    assert {"debtor_created", "action_created"} <= kinds


@pytest.mark.django_db
def test_timeline_export_writes_choices_amounts_dates_and_actors_in_its_language(
    company: Any, ledger: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "verlauf.csv"
    export("timeline", "--to", "2025-02-28", "--out", str(out), "--locale", "de")
    rows = read_csv(out, delimiter=";")
    decided = next(r for r in rows if r["Art"] == "action_created")  # the kind stays its code
    # the event keeps "friendly", "€1,042.16" and "2025-02-26"; the German export writes them the German way
    assert "(friendly)" not in decided["Text"] and "€1,042.16" not in decided["Text"]
    assert "1.042,16\xa0€" in decided["Text"] and "26.02.2025" in decided["Text"]
    event = TimelineEvent.objects.get(company=company, kind="action_created")
    with translation.override("de"):
        assert decided["Text"] == timeline_display.describe(event)
        assert decided["Akteur"] == str(timeline_display.actor_label("system")) != "system"


@pytest.mark.django_db
def test_rows_are_in_the_export_language_whatever_language_is_active(
    company: Any, ledger: dict[str, Any]
) -> None:
    with translation.override("de"):
        expected = claims.default_rule_label("calendar_due_date")
    with translation.override("en"):  # a caller that does not set the language itself (a web download)
        _columns, rows = exports.export_rows("open-items", company, as_of=AS_OF, language="de")
        first = next(rows)
    assert first["default_rule"] == expected != "the due date agreed"


@pytest.mark.django_db
def test_the_locale_sets_the_language_and_the_number_format(company: Any, ledger: dict[str, Any]) -> None:
    # no locale: the company's language (de), and the unambiguous form: "," between fields, a decimal point
    plain = export("open-items", "--as-of", "2025-04-30")
    assert plain.startswith("\ufeffSchuldnernummer,Name des Schuldners,") and ",1064.70," in plain
    english = export("open-items", "--as-of", "2025-04-30", "--locale", "en")
    assert english.startswith("\ufeffdebtor number,debtor name,") and ",1064.70," in english
    latvian = export("open-items", "--as-of", "2025-04-30", "--locale", "lv")
    with translation.override("lv"):
        header = str(exports.OPEN_ITEM_COLUMNS[0].label)
    assert latvian.startswith(f"\ufeff{header};") and ";1064,70;" in latvian
    # --language still chooses the language alone; the locale then only the number format
    mixed = export("open-items", "--as-of", "2025-04-30", "--locale", "lv", "--language", "en")
    assert mixed.startswith("\ufeffdebtor number;") and ";1064,70;" in mixed
    timeline_en = export("timeline", "--to", "2025-02-28", "--locale", "en")
    assert timeline_en.startswith("\ufeffdate,recorded at (UTC),") and "Step 2 (friendly)" in timeline_en


@pytest.mark.django_db
def test_the_xlsx_sheet_is_named_in_the_export_language(
    company: Any, ledger: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "offen.xlsx"
    export("open-items", "--as-of", "2025-04-30", "--out", str(out), "--locale", "de")
    assert load_workbook(out).sheetnames == ["Offene Posten"]
    out = tmp_path / "timeline.xlsx"
    export("timeline", "--out", str(out), "--locale", "en")
    assert load_workbook(out).sheetnames == ["Timeline"]


@pytest.mark.django_db
def test_the_help_states_the_number_format_rule() -> None:
    from mahnwerk.ledger.management.commands.export import Command

    parser = Command().create_parser("mahnwerk", "export")
    text = " ".join(parser.format_help().split())
    assert "decimal point" in text and "decimal comma" in text and "XLSX" in text


@pytest.fixture
def german_step_names(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """German names of the step names the catalogue may not have yet (the call step's, "Anruf", it has)."""
    names = {"Payment reminder": "Zahlungserinnerung", "Final notice": "Letzte Mahnung"}
    with translation.override("de"):
        catalogue = trans_real.translation("de")._catalog._catalogs[0]  # type: ignore[attr-defined]
    for english, german in names.items():
        monkeypatch.setitem(catalogue, english, german)
    return names


@pytest.mark.django_db
def test_preset_step_names_are_written_in_the_companys_language(german_step_names: dict[str, str]) -> None:
    german = create_company(
        "werkzeug", ["de-b2b"], name="Werkzeug GmbH", country="DE", email="ap@werkzeug.example"
    )
    steps = [s.name for s in Step.objects.filter(playbook__company=german).order_by("level")]
    assert steps[1:] == ["Zahlungserinnerung", steps[2], "Anruf", "Letzte Mahnung"]
    with translation.override("de"):
        assert steps == [str(s.name) for s in presets.PRESETS["de-b2b"].steps]
    # in whatever language the command or the page runs: the company's
    with translation.override("lv"):
        english = create_company("tools", [], name="Tools Ltd", country="DE", default_language="en")
    assert [s.name for s in Step.objects.filter(playbook__company=english).order_by("level")][1:] == [
        "Payment reminder",
        "Second reminder",
        "Phone call",
        "Final notice",
    ]


@pytest.mark.django_db
def test_the_shipped_default_playbook_names_its_steps_in_the_companys_language(
    german_step_names: dict[str, str], company: Any
) -> None:
    Playbook.objects.filter(company=company).delete()
    names = [s.name for s in ensure_default_playbook(company).steps.order_by("level")]
    assert "Zahlungserinnerung" in names and "Letzte Mahnung" in names and "Payment reminder" not in names


@pytest.mark.django_db
def test_a_step_name_is_exported_as_the_playbook_has_it(
    german_step_names: dict[str, str], company: Any, ledger: dict[str, Any]
) -> None:
    # the fixture's company (German) got its default playbook after the names above were known
    for locale in ("en", "de", "lv"):
        _columns, rows = exports.export_rows("open-items", company, as_of=AS_OF, language=locale)
        assert (
            next(rows)["last_step_name"] == "Zahlungserinnerung"
        )  # the playbook's data, in no other language
    step = ActionItem.objects.get(invoice=ledger["inv"]).action.step
    step.name = "Erste Mahnung (bitte freundlich)"
    step.save(update_fields=["name"])
    english = export("open-items", "--as-of", "2025-04-30", "--locale", "en")
    assert ",Erste Mahnung (bitte freundlich),2025-02-16" in english


@pytest.mark.django_db
def test_xlsx_needs_a_file_and_bad_dates_are_refused(company: Any) -> None:
    with pytest.raises(CommandError, match="--out"):
        export("open-items", "--format", "xlsx")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        export("payments", "--from", "1.3.2025")


def _big_ledger(company: Any, debtors: int) -> None:
    made = Debtor.objects.bulk_create(
        Debtor(
            company=company,
            number=f"B{n:05d}",
            name=f"Kunde {n}",
            language="de",
            jurisdiction="DE",
            time_zone="Europe/Berlin",
        )
        for n in range(debtors)
    )
    create_invoices(
        company,
        [
            Invoice(
                company=company,
                debtor=d,
                number=f"{d.number}-{i}",
                issue_date=D("2025-01-10"),
                due_date=D("2025-02-09"),
                due_date_agreed=True,
                amount_minor=to_minor("100.00", "EUR"),
                currency="EUR",
                reference=f"{d.number}-{i}",
            )
            for d in made
            for i in range(2)
        ],
    )


def _count_queries(company: Any, chunk_size: int) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        rows = exports.open_items(company, AS_OF, chunk_size=chunk_size)
        assert isinstance(rows, Iterator)
        count = sum(1 for _ in rows)
    return count, len(queries.captured_queries)


@pytest.mark.django_db
def test_a_big_company_is_streamed_in_chunks_with_a_bounded_number_of_queries(company: Any) -> None:
    _big_ledger(company, 120)
    # nothing is read before the first row is asked for; then only the first chunk
    with CaptureQueriesContext(connection) as queries:
        rows = exports.open_items(company, AS_OF, chunk_size=50)
        assert len(queries.captured_queries) == 0
        first = next(rows)
        first_chunk = len(queries.captured_queries)
    assert first["invoice_number"] == "B00000-0" and first["interest_to_date"] == Decimal("2.47")
    # 100.00 x 11.27 % x 80 / 365 = 2.4701 -> 2.47
    assert first_chunk <= 8
    count, total = _count_queries(company, 50)
    assert count == 240
    # 3 chunks of debtors (50, 50, 20): a fixed number of queries each, never one per debtor
    assert total <= 3 * first_chunk + 1
    count, total = _count_queries(company, 500)  # one chunk for all: as many queries as for the first
    assert (count, total) == (240, first_chunk)
    for kind in ("payments", "timeline"):
        with CaptureQueriesContext(connection) as queries:
            columns, produced = exports.export_rows(kind, company, as_of=AS_OF, chunk_size=50)
            n = exports.write_csv(produced, columns, StringIO())
        assert len(queries.captured_queries) <= 3 + n // 50
