"""Edge cases fixed together: bad file paths of ``inbound`` and ``export`` are one-line command errors, the
PDF letter attached to an email has a file name any system takes, a split with an amount of zero or less
says so, and a dry run through the API checks (and keeps to) ``only_debtors`` as the real run does."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mahnwerk.collection.models import Action
from mahnwerk.collection.services import run_collection
from mahnwerk.comms.compose import render_pending
from mahnwerk.comms.email_build import build_email
from mahnwerk.comms.models import OutboundMessage
from mahnwerk.ledger.models import Invoice, StatementEntry
from mahnwerk.ledger.statements import import_statements

pytestmark = pytest.mark.django_db

D = date.fromisoformat
CAMT053 = Path(__file__).parent.parent / "data" / "bank" / "handmade_camt053.001.08.xml"


def _command_error(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())
    message = str(caught.value)
    assert "\n" not in message
    return message


# -- 1. file paths ------------------------------------------------------------------------------------------


def test_inbound_names_a_missing_file_and_a_directory(company: Any, tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent.eml"
    message = _command_error("inbound", str(missing))
    assert str(missing) in message and "no such file" in message

    message = _command_error("inbound", str(tmp_path))
    assert str(tmp_path) in message and "directory" in message


def test_export_names_a_file_it_cannot_write(company: Any, tmp_path: Path) -> None:
    target = tmp_path / "nonexistent" / "dir" / "x.csv"
    message = _command_error("export", "open-items", "--out", str(target))
    assert str(target) in message and "does not exist" in message and str(target.parent) in message

    for fmt in ("xlsx", "csv"):
        message = _command_error("export", "open-items", "--out", str(tmp_path), "--format", fmt)
        assert str(tmp_path) in message and "directory" in message
    assert list(tmp_path.iterdir()) == []  # nothing written

    inside_a_file = tmp_path / "plain.txt"
    inside_a_file.write_text("not a folder")
    message = _command_error("export", "open-items", "--out", str(inside_a_file / "x.csv"))
    assert str(inside_a_file / "x.csv") in message and message.startswith("cannot write")


def test_export_to_a_good_path_still_writes(
    company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any], tmp_path: Path
) -> None:
    make_invoice(make_debtor(), "R-1", "100.00", "2026-01-20")
    out = tmp_path / "open.csv"
    call_command("export", "open-items", "--out", str(out), stdout=io.StringIO(), stderr=io.StringIO())
    assert "R-1" in out.read_text(encoding="utf-8")


# -- 2. the PDF letter's file name -------------------------------------------------------------------------

LONG = "Letzte Mahnung: RE-2026-00630, RE-2026-00575, RE-2026-02781, RE-2026-02782, RE-2026-02790"


def test_the_letter_file_name_is_cut_at_a_list_boundary_and_safe() -> None:
    from mahnwerk.comms.email_build import letter_filename

    name = letter_filename(LONG)
    assert name == "Letzte-Mahnung-RE-2026-00630_RE-2026-00575_RE-2026-02781.pdf"
    assert letter_filename("Zahlungserinnerung: R/1") == "Zahlungserinnerung-R-1.pdf"
    assert letter_filename("Atgādinājums: rēķins 2026/17") == "Atgadinajums-rekins-2026-17.pdf"
    assert letter_filename("Mahnung über 1.234,56 €") == "Mahnung-uber-1.234-56.pdf"
    assert letter_filename("x" * 80) == "x" * 60 + ".pdf"  # no boundary to cut at: cut at the limit


def test_the_email_attaches_the_letter_under_a_safe_name(
    company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any], settings: Any
) -> None:
    settings.EMAIL_PDF = "all"
    debtor = make_debtor(name="Gartenbau Koch KG")
    make_invoice(debtor, "RE-2026-00630", "150.00", "2026-03-01")
    run_collection(company, D("2026-03-22"), approved=True, send=False)
    render_pending(company)
    msg = OutboundMessage.objects.filter(debtor=debtor, channel="email").latest("pk")
    msg.subject = LONG
    email = build_email(msg)
    names = [a[0] if isinstance(a, tuple) else a.get_filename() for a in email.attachments]
    pdfs = [n for n in names if n and n.endswith(".pdf")]
    assert pdfs == ["Letzte-Mahnung-RE-2026-00630_RE-2026-00575_RE-2026-02781.pdf"]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", n) for n in pdfs)


# -- 3. a split with an amount of zero or less -------------------------------------------------------------


@pytest.fixture
def entry(company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> StatementEntry:
    """The 60.00 of the hand-made camt file that nothing matches, waiting in the review queue."""
    debtor = make_debtor()
    make_invoice(debtor, "R-1001", "100.00", "2026-03-05")
    make_invoice(debtor, "R-1002", "200.00", "2026-03-05")
    import_statements(company, [CAMT053], actor="test")
    found = StatementEntry.objects.get(position="5")
    assert (found.status, found.amount_minor) == ("review", 60_00)
    return found


@pytest.mark.parametrize("first", ["-50", "0"])
def test_a_split_share_must_be_more_than_zero(entry: StatementEntry, first: str) -> None:
    second = str(60 - int(first))  # the amounts add up: only the amount of zero or less is wrong
    message = _command_error("payments", "split", str(entry.pk), f"R-1001={first}", f"R-1002={second}")
    assert "more than zero" in message and "R-1001" in message
    assert "add up" not in message
    entry.refresh_from_db()
    assert entry.status == "review"
    assert Invoice.objects.get(number="R-1002").open_minor == 200_00


def test_a_split_that_does_not_add_up_still_says_so(entry: StatementEntry) -> None:
    message = _command_error("payments", "split", str(entry.pk), "R-1001=10", "R-1002=20")
    assert "add up" in message and "more than zero" not in message


# -- 4. a dry run through the API checks only_debtors ------------------------------------------------------


def test_a_dry_run_checks_only_debtors_and_keeps_to_them(
    api_post: Callable[[str, Any], Any],
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
) -> None:
    first, second = (make_debtor(number=f"K{n}") for n in (1, 2))
    for n, debtor in enumerate((first, second), 1):
        make_invoice(debtor, f"R-{n}", "400.00", "2026-01-20", issue="2025-12-21")

    for dry_run in (True, False):
        refused = api_post("runs", {"as_of": "2026-03-02", "dry_run": dry_run, "only_debtors": [999999]})
        assert refused.status_code == 422, refused.content
        [error] = refused.json()["detail"]
        assert error["loc"] == ["body", "only_debtors"] and "999999" in error["msg"]
    assert not Action.objects.exists()

    dry = api_post("runs", {"as_of": "2026-03-02", "dry_run": True, "only_debtors": [second.pk]})
    assert dry.status_code == 200, dry.content
    assert [p["debtor_id"] for p in dry.json()["plan"]] == [second.pk]
    assert not Action.objects.exists()
    # without only_debtors the preview plans for both
    whole = api_post("runs", {"as_of": "2026-03-02", "dry_run": True}).json()
    assert sorted(p["debtor_id"] for p in whole["plan"]) == sorted([first.pk, second.pk])
