"""An account at the end of its playbook handed to a collection agency: the dossier, the silence of our run,
payments that still reach us reported to the agency, the agency's statuses booked back, the recall.

Default playbook: note 3 days before due; reminder +7; firm reminder 14 days later; final notice 14 days later.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from pypdf import PdfReader

from mahnwerk.collection.models import Action, Case
from mahnwerk.collection.services import run_collection
from mahnwerk.core.money import to_minor
from mahnwerk.ledger.claims import debtor_law, statement
from mahnwerk.ledger.models import Payment, TimelineEvent
from mahnwerk.partners import services
from mahnwerk.partners.models import Handover, HandoverStatus, PaymentNotice, StatusReport

D = date.fromisoformat
HANDOVER_DAY = D("2025-04-01")


@pytest.fixture
def storage(settings: Any, tmp_path: Path) -> Path:
    settings.STORAGES = settings.STORAGES | {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "files"},
        }
    }
    return tmp_path / "files"


@pytest.fixture
def agency(company: Any) -> Any:
    partner, _key = services.add_partner(company, "Inkasso Nord", "agency", services.Decimal("15"))
    return partner


def walk_to_the_end(company: Any, make_debtor: Any, make_invoice: Any) -> tuple[Any, Any]:
    """Two debtors alike; the first one's account is walked to its final notice and beyond."""
    debtor = make_debtor(name="Metallbau Krüger GmbH", street="Werkstr. 5", postcode="20095", city="Hamburg")
    twin = make_debtor(name="Zwilling GmbH")
    for d, prefix in ((debtor, "RE"), (twin, "ZW")):
        inv = make_invoice(d, f"{prefix}-1", "1000.00", "2025-02-09", issue="2025-01-10")
        make_invoice(d, f"{prefix}-2", "250.00", "2025-03-28", issue="2025-02-26")
        if d is debtor:
            inv.document.save("RE-1.pdf", ContentFile(b"%PDF-1.4 invoice RE-1"))
    from mahnwerk.comms.letters_batch import print_letters

    day = D("2025-02-01")
    while day < HANDOVER_DAY:
        run_collection(company, day, approved=True)
        print_letters(company, day)  # the day's letters go to the post that day
        day += timedelta(days=1)
    levels = sorted(Action.objects.filter(debtor=debtor, status="active").values_list("level", flat=True))
    assert max(levels) == 4  # the final notice went out: the playbook is at its end
    return debtor, twin


@pytest.mark.django_db
def test_an_account_at_the_end_of_its_playbook_is_handed_over(
    company: Any,
    make_debtor: Any,
    make_invoice: Any,
    agency: Any,
    storage: Path,
    tmp_path: Path,
    outbox: Path,
) -> None:
    debtor, twin = walk_to_the_end(company, make_debtor, make_invoice)
    out = tmp_path / "dossier.zip"
    call_command(
        "handover", debtor.number, "--partner", "Inkasso Nord", "--date", "2025-04-01", "--out", str(out)
    )

    expected = statement(company, debtor.pk, debtor_law(company, debtor), HANDOVER_DAY)
    total = expected["totals"]["EUR"]["total_open_minor"]
    assert total > 125000  # principal 1250.00 plus interest and the flat compensations

    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert {
            "summary.pdf",
            "claims.json",
            "claims.csv",
            "debtor.json",
            "timeline.txt",
            "agreements.json",
        } <= names
        assert "invoices/RE-1.pdf" in names
        claims = json.loads(zf.read("claims.json"))
        rows = list(csv.DictReader(io.StringIO(zf.read("claims.csv").decode("utf-8-sig"))))
        timeline_text = zf.read("timeline.txt").decode()
        pdf_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(zf.read("summary.pdf"))).pages)
    # the machine-readable totals are the statement of that day, to the cent
    assert claims["total_minor"] == total
    assert sum(c["total_open_minor"] for c in claims["claims"]) == total
    assert [c["invoice"] for c in claims["claims"]] == ["RE-1", "RE-2"]
    assert claims["claims"][0]["segments"] and claims["claims"][0]["interest_open_minor"] > 0
    *lines, total_row = rows
    assert total_row["invoice"] == "TOTAL" and to_minor(total_row["total_open"], "EUR") == total
    assert sum(to_minor(r["total_open"], "EUR") for r in lines) == total
    assert "Metallbau Krüger GmbH" in pdf_text and "RE-1" in pdf_text and "Inkasso Nord" in pdf_text
    assert "RE-1" in timeline_text

    handover = Handover.objects.get(debtor=debtor)
    assert (handover.total_minor, handover.status, handover.partner) == (total, HandoverStatus.OPEN, agency)
    assert services.dossier_bytes(handover) == out.read_bytes()
    case = Case.objects.get(debtor=debtor)
    assert case.on_hold and case.hold_reason == "with partner Inkasso Nord since 2025-04-01"

    # no more reminders from the run (the one mid-way through its ladder is below)
    before = Action.objects.filter(debtor=debtor).count()
    day = HANDOVER_DAY
    while day < D("2025-06-01"):
        run_collection(company, day, approved=True)
        day += timedelta(days=1)
    assert Action.objects.filter(debtor=debtor).count() == before
    assert not Handover.objects.filter(debtor=twin).exists()

    # a second handover of the same account is refused
    with pytest.raises(services.PartnerError, match="already"):
        services.hand_over(company, debtor, agency, HANDOVER_DAY)


@pytest.mark.django_db
def test_the_run_takes_no_step_for_an_account_with_a_partner(
    company: Any, make_debtor: Any, make_invoice: Any, agency: Any, storage: Path
) -> None:
    debtor, twin = make_debtor(), make_debtor()
    for d in (debtor, twin):
        make_invoice(d, f"RE-{d.pk}", "500.00", "2025-02-09", issue="2025-01-10")
    for day in ("2025-02-06", "2025-02-16"):  # the note and the first reminder
        run_collection(company, D(day), approved=True)
    services.hand_over(company, debtor, agency, D("2025-02-20"))
    day = D("2025-02-20")
    while day < D("2025-04-30"):
        run_collection(company, day, approved=True)
        day += timedelta(days=1)
    # the twin gets its firm reminder and final notice; the account with the agency nothing more
    assert sorted(Action.objects.filter(debtor=twin).values_list("level", flat=True)) == [1, 2, 3, 4]
    assert sorted(Action.objects.filter(debtor=debtor).values_list("level", flat=True)) == [1, 2]
    assert TimelineEvent.objects.filter(debtor=debtor, kind="handed_over").count() == 1


@pytest.mark.django_db
def test_a_payment_after_the_handover_is_reported_to_the_partner(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any, agency: Any, storage: Path, tmp_path: Path
) -> None:
    debtor = make_debtor()
    make_invoice(debtor, "RE-7", "800.00", "2025-02-09", issue="2025-01-10")
    pay(debtor, "100.00", "2025-03-01")  # before the handover: in the dossier, not reported
    services.hand_over(company, debtor, agency, HANDOVER_DAY)
    pay(debtor, "200.00", "2025-04-10", reference="RE-7")

    (notice,) = PaymentNotice.objects.all()
    assert (notice.amount_minor, notice.value_date) == (20000, D("2025-04-10"))
    assert TimelineEvent.objects.filter(debtor=debtor, kind="partner_payment_noted").count() == 1

    out = tmp_path / "report.csv"
    call_command("partner", "report", "--partner", "Inkasso Nord", "--out", str(out), stdout=io.StringIO())
    (row,) = list(csv.DictReader(io.StringIO(out.read_text())))
    assert (row["debtor"], row["amount"], row["value_date"], row["currency"]) == (
        debtor.number,
        "200.00",
        "2025-04-10",
        "EUR",
    )
    # reported once: the next report is empty, --all shows it again
    assert services.payment_report(company, agency) == []
    listing = io.StringIO()
    call_command("partner", "report", "--all", "--json", "--dry-run", stdout=listing)
    assert [p["amount_minor"] for p in json.loads(listing.getvalue())["payments"]] == [20000]


@pytest.mark.django_db
def test_a_partner_file_books_the_amount_collected_net_of_the_fee(
    company: Any, make_debtor: Any, make_invoice: Any, agency: Any, storage: Path, tmp_path: Path
) -> None:
    company.claim_interest = company.charge_fees = False
    company.save()
    debtor = make_debtor()
    make_invoice(debtor, "RE-9", "1000.00", "2025-02-09", issue="2025-01-10")
    services.hand_over(company, debtor, agency, HANDOVER_DAY)
    status = tmp_path / "status.csv"
    status.write_text(
        "debtor;status;amount_collected;fee;date;note\n"
        f"{debtor.number};contacted;;;2025-04-05;letter sent\n"
        f"{debtor.number};collected;600,00;90,00;2025-04-20;first part\n"
    )
    out = io.StringIO()
    call_command("partner", "import-status", str(status), "--partner", "Inkasso Nord", stdout=out)
    assert "2 status(es) booked" in out.getvalue()

    (payment,) = Payment.objects.filter(debtor=debtor)
    assert (payment.amount_minor, payment.value_date) == (51000, D("2025-04-20"))  # 600.00 - 90.00 fee
    handover = Handover.objects.get(debtor=debtor)
    assert (handover.collected_minor, handover.fee_minor, handover.received_minor) == (60000, 9000, 51000)
    assert handover.partner_status == "collected" and handover.status == HandoverStatus.OPEN
    data = statement(company, debtor.pk, "business", D("2025-04-20"))
    assert data["totals"]["EUR"]["principal_open_minor"] == 100000 - 51000
    kinds = list(TimelineEvent.objects.filter(debtor=debtor).values_list("kind", flat=True))
    assert "partner_status" in kinds and "partner_collected" in kinds
    assert not PaymentNotice.objects.exists()  # the partner's own collection is not reported back to it

    # the same file again books nothing twice
    call_command("partner", "import-status", str(status), stdout=io.StringIO())
    assert Payment.objects.filter(debtor=debtor).count() == 1 and StatusReport.objects.count() == 2

    # "closed" ends the handover and releases the hold
    status.write_text(f"debtor,status,date,note\n{debtor.number},closed,2025-05-02,debtor insolvent\n")
    call_command("partner", "import-status", str(status), stdout=io.StringIO())
    handover.refresh_from_db()
    assert handover.status == HandoverStatus.CLOSED and handover.ended_on == D("2025-05-02")
    assert not Case.objects.get(debtor=debtor).on_hold


@pytest.mark.django_db
def test_a_bad_status_file_names_its_rows_and_books_nothing(
    company: Any, make_debtor: Any, make_invoice: Any, agency: Any, storage: Path, tmp_path: Path
) -> None:
    from django.core.management.base import CommandError

    debtor = make_debtor()
    make_invoice(debtor, "RE-9", "100.00", "2025-02-09")
    services.hand_over(company, debtor, agency, HANDOVER_DAY)
    bad = tmp_path / "status.json"
    bad.write_text(
        json.dumps(
            [
                {
                    "debtor": debtor.number,
                    "status": "collected",
                    "amount_collected": "50.00",
                    "date": "2025-04-05",
                },
                {"debtor": debtor.number, "status": "paid", "date": "2025-04-05"},
                {
                    "debtor": debtor.number,
                    "status": "collected",
                    "amount_collected": "5",
                    "fee": "9",
                    "date": "x",
                },
            ]
        )
    )
    with pytest.raises(CommandError) as failed:
        call_command("partner", "import-status", str(bad))
    assert "row 2, column 'status'" in str(failed.value) and "row 3, column 'date'" in str(failed.value)
    assert not Payment.objects.exists() and not StatusReport.objects.exists()


@pytest.mark.django_db
def test_recall_ends_the_handover_and_releases_the_hold(
    company: Any, make_debtor: Any, make_invoice: Any, agency: Any, storage: Path
) -> None:
    debtor = make_debtor()
    make_invoice(debtor, "RE-5", "300.00", "2025-02-09", issue="2025-01-10")
    services.hand_over(company, debtor, agency, HANDOVER_DAY)
    assert run_collection(company, D("2025-04-02"), approved=True).actions_created == 0

    call_command(
        "recall", debtor.number, "--reason", "customer called, pays directly", "--date", "2025-04-03"
    )
    handover = Handover.objects.get(debtor=debtor)
    assert (
        handover.status == HandoverStatus.RECALLED and handover.end_reason == "customer called, pays directly"
    )
    assert not Case.objects.get(debtor=debtor).on_hold
    assert TimelineEvent.objects.filter(debtor=debtor, kind="handover_recalled").exists()
    # our own collection resumes
    assert run_collection(company, D("2025-04-03"), approved=True).actions_created == 1
    # a payment now is ours, not the partner's
    from mahnwerk.ledger.services import Receipt, record_payment

    record_payment(company, Receipt(debtor.pk, 1000, "EUR", D("2025-04-04")))
    assert not PaymentNotice.objects.exists()
    with pytest.raises(services.PartnerError):
        services.recall(company, debtor, "again", D("2025-04-05"))


@pytest.mark.django_db
def test_a_hold_the_case_had_before_comes_back_after_the_recall(
    company: Any, make_debtor: Any, make_invoice: Any, agency: Any, storage: Path
) -> None:
    from mahnwerk.collection.services import set_hold

    debtor = make_debtor()
    make_invoice(debtor, "RE-6", "300.00", "2025-02-09")
    set_hold(company, debtor, True, reason="checking the delivery")
    services.hand_over(company, debtor, agency, HANDOVER_DAY)
    services.recall(company, debtor, "wrong account", D("2025-04-02"))
    case = Case.objects.get(debtor=debtor)
    assert case.on_hold and case.hold_reason == "checking the delivery"


@pytest.mark.django_db
def test_partner_add_and_list(company: Any) -> None:
    out = io.StringIO()
    call_command(
        "partner",
        "add",
        "Kanzlei Ost",
        "--kind",
        "lawyer",
        "--fee-percent",
        "0",
        "--format",
        "json",
        stdout=out,
    )
    assert "API token (shown once): mwp_" in out.getvalue()
    listing = io.StringIO()
    call_command("partner", "list", "--json", stdout=listing)
    (row,) = json.loads(listing.getvalue())
    assert (row["name"], row["kind"], row["format"]) == ("Kanzlei Ost", "lawyer", "json")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="already"):
        call_command("partner", "add", "Kanzlei Ost", "--kind", "lawyer", "--fee-percent", "0")
    with pytest.raises(CommandError):
        call_command("partner", "add", "Teuer", "--kind", "agency", "--fee-percent", "120")
    # a new token from the command line: the earlier one stops working, the partner's history says so
    from mahnwerk.partners.models import Partner

    partner = Partner.objects.get(name="Kanzlei Ost")
    first = out.getvalue().split("API token (shown once): ")[1].split()[0]
    assert services.partner_for_token(first) == partner
    again = io.StringIO()
    call_command("partner", "token", "Kanzlei Ost", "--actor", "anna", stdout=again)
    second = again.getvalue().split(": ")[-1].strip()
    assert services.partner_for_token(second) == partner and services.partner_for_token(first) is None
    assert [(e.kind, e.actor) for e in partner.history.order_by("id")] == [
        ("created", "cli"),
        ("token_issued", "anna"),
    ]
    assert row["active"] is True
