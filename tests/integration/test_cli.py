"""The command line, as scripts use it: JSON output, clear errors, exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command


def cli(*args: str) -> Any:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_run_debtor_and_outbox_in_json(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    debtor = make_debtor(number="K1", language="en")
    make_invoice(debtor, "RE-1", "120.00", "2026-03-01")
    dry = json.loads(cli("run", "--date", "2026-03-08", "--dry-run", "--json"))
    assert dry[0]["debtors_due"] == 1 and dry[0]["plan"][0]["items"][0]["open_minor"] == 12000
    result = json.loads(cli("run", "--date", "2026-03-08", "--json"))
    assert result[0]["actions_created"] == 1 and result[0]["steps"] == {"2": 1}
    shown = json.loads(cli("debtor", "show", "K1", "--json"))
    assert shown["open_items"][0]["number"] == "RE-1" and shown["open_items"][0]["level"] == 2
    on_the_day = [e["kind"] for e in shown["timeline"] if e["business_date"] == "2026-03-08"]
    assert on_the_day == ["action_created", "message_queued", "message_sent"]
    listed = json.loads(cli("outbox", "list", "--json"))
    assert (
        listed["counts"] == {"sent": 1} and listed["messages"][0]["recipient"] == debtor.contacts.get().value
    )
    assert re.search(r"already done today +0\n", cli("run", "--date", "2026-03-09"))


@pytest.mark.django_db
def test_debtor_list_pages_and_searches_with_what_is_open(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    from mahnwerk.ledger.models import Company

    mueller = make_debtor(number="K2", name="Müller GmbH")
    make_invoice(mueller, "RE-1", "120.00", "2026-03-01")
    make_invoice(mueller, "RE-2", "30.50", "2026-03-05")
    make_debtor(number="K1", name="Anna Berzina")
    other = Company.objects.create(
        slug="other", name="Other SIA", iban="LV80BANK0000435195001", jurisdiction="LV", currency="EUR"
    )
    make_debtor(number="K3", name="Müller Riga", company=other)
    page = json.loads(cli("debtor", "list", "--company", "acme", "--json"))
    assert page["count"] == 2 and [d["number"] for d in page["items"]] == ["K1", "K2"]
    assert [d["open_minor"] for d in page["items"]] == [0, 15050]
    found = json.loads(cli("debtor", "list", "--company", "acme", "--search", "MÜLLER", "--json"))
    assert [d["number"] for d in found["items"]] == ["K2"]  # not the other company's
    # as the web application searches: accents and case ignored, invoice numbers found
    for search in ("muller", "re-2"):
        found = json.loads(cli("debtor", "list", "--company", "acme", "--search", search, "--json"))
        assert [d["number"] for d in found["items"]] == ["K2"], search
    second = json.loads(cli("debtor", "list", "--company", "acme", "--limit", "1", "--offset", "1", "--json"))
    assert second["count"] == 2 and [d["number"] for d in second["items"]] == ["K2"]
    text = cli("debtor", "list", "--company", "acme")
    assert "Müller GmbH" in text and "€150.50" in text and "1–2 of 2 debtors" in text
    assert "no debtors found" in cli("debtor", "list", "--company", "acme", "--search", "nobody")
    with pytest.raises(CommandError, match="--limit: a whole number from 1 to 1000"):
        cli("debtor", "list", "--company", "acme", "--limit", "0")
    with pytest.raises(CommandError, match="needs the debtor's id or customer number"):
        cli("debtor", "show", "--company", "acme")


@pytest.mark.django_db
def test_import_errors_are_reported_as_a_command_error(company: Any, tmp_path: Path) -> None:
    bad = tmp_path / "i.csv"
    bad.write_text("number,debtor,issue_date,due_date,amount\nRE-1,nobody,2026-01-01,2026-01-31,10\n")
    with pytest.raises(CommandError, match="row 2, column 'debtor'"):
        cli("import", "invoices", str(bad))
    with pytest.raises(CommandError, match="--map expects COLUMN=FIELD"):
        cli("import", "invoices", str(bad), "--map", "nonsense")


@pytest.mark.django_db
def test_several_companies_need_a_name(company: Any) -> None:
    from mahnwerk.ledger.models import Company

    Company.objects.create(
        slug="other",
        name="Other SIA",
        iban="LV80BANK0000435195001",
        jurisdiction="LV",
        time_zone="Europe/Riga",
        default_language="lv",
        currency="EUR",
    )
    with pytest.raises(CommandError, match="several companies"):
        cli("debtor", "show", "K1")
    with pytest.raises(CommandError, match="no debtor 'K1' in Other SIA"):
        cli("debtor", "show", "K1", "--company", "other")


def test_the_installed_command_runs_the_demo_end_to_end(tmp_path: Path) -> None:
    environ = os.environ | {"MAHNWERK_DATA_DIR": str(tmp_path)}
    environ.pop("MAHNWERK_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "mahnwerk", "migrate", "-v0"], env=environ, check=True)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mahnwerk",
            "demo",
            "--debtors",
            "30",
            "--invoices",
            "200",
            "--days",
            "20",
            "--today",
            "2026-03-10",
        ],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "reminders by step" in proc.stdout
    written = list((tmp_path / "outbox" / "demo").glob("*.eml"))
    assert written, proc.stdout
    lines = proc.stdout.splitlines()
    total = int(next(line for line in lines if "messages written" in line).split()[-1])
    by_channel = {
        line.split()[0]: int(line.split()[-1])
        for line in lines
        if line.startswith("    ") and line.split()[0] in {"email", "letter", "sms"}
    }
    assert sum(by_channel.values()) == total
    assert by_channel["email"] == len(written)
    if by_channel.get("sms"):
        assert len(list((tmp_path / "outbox" / "sms").glob("*.json"))) == by_channel["sms"]
    if by_channel.get("letter"):
        assert next(tmp_path.glob("documents/demo/letters/*.pdf")).read_bytes()[:4] == b"%PDF"
    # a second demo replaces the first: the same story again, not an error over what the first one wrote
    again = subprocess.run(proc.args, env=environ, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-2000:]

    def story(out: str) -> list[str]:  # the print batch's file name carries the new message ids
        return [line for line in out.splitlines() if "batch-" not in line]

    assert story(again.stdout) == story(proc.stdout)
    assert len(list((tmp_path / "outbox" / "demo").glob("*.eml"))) == len(written)


@pytest.mark.django_db
def test_the_run_summary_names_the_days_messages_and_the_letters_to_print(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    by_mail = make_debtor(number="K1", language="en")
    by_post = make_debtor(
        number="K2", language="en", email=None, street="Lindenallee 5", postcode="04109", city="Leipzig"
    )
    make_invoice(by_mail, "RE-1", "120.00", "2026-03-01")
    make_invoice(by_post, "RE-2", "80.00", "2026-03-01")
    out = cli("run", "--date", "2026-03-08")
    assert re.search(r"emails and SMS of the day, sent +1\n", out), out
    assert re.search(r"letters for the print batch +1\n", out), out
    again = json.loads(cli("run", "--date", "2026-03-08", "--json"))  # a second run that day: the same day
    assert again[0]["actions_created"] == 0
    assert again[0]["outbox"]["sent"] == 1 and again[0]["outbox"]["letters"] == 1
