"""Day one without the demo: ``mahnwerk company`` and ``mahnwerk user`` set up one's own company, its preset
playbooks and its users; bad input is one clear line and writes nothing; the new company runs."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from mahnwerk.collection.models import Playbook, Step
from mahnwerk.collection.presets import PRESETS, create_preset_playbook
from mahnwerk.core.playbook import PlaybookSpec
from mahnwerk.ledger.models import Company

pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"
ACME = ["company", "create", "acme", "--name", "Acme Werkzeug GmbH", "--country", "DE", "--iban", IBAN]


def cli(*args: str, stdin: str | None = None) -> str:
    out = StringIO()
    extra: dict[str, Any] = {"stdin": StringIO(stdin)} if stdin is not None else {}
    call_command(*args, stdout=out, **extra)
    return out.getvalue()


def error_of(*args: str) -> str:
    with pytest.raises(CommandError) as raised:
        cli(*args)
    message = str(raised.value)
    assert "\n" not in message and "Traceback" not in message, message
    return message


def snapshot() -> tuple[int, ...]:
    from django.contrib.auth import get_user_model

    from mahnwerk.web.models import Membership

    return (
        Company.objects.count(),
        Playbook.objects.count(),
        Step.objects.count(),
        get_user_model().objects.count(),
        Membership.objects.count(),
    )


def test_create_list_show_and_update(outbox: Path) -> None:
    created = json.loads(
        cli(
            *ACME,
            "--bic",
            "COBADEFFXXX",
            "--email",
            "buchhaltung@acme.example",
            "--collections-email",
            "forderungen@acme.example",
            "--legal-form",
            "GmbH",
            "--register-court",
            "Amtsgericht Charlottenburg",
            "--register-number",
            "HRB 204711 B",
            "--street",
            "Hauptstraße 1",
            "--postcode",
            "10115",
            "--city",
            "Berlin",
            "--json",
        )
    )
    assert (
        created["slug"] == "acme" and created["iban"] == IBAN and created["register_number"] == "HRB 204711 B"
    )
    # what follows from the country: the rules, the time zone, the language, the business preset
    assert (
        created["jurisdiction"],
        created["time_zone"],
        created["default_language"],
        created["currency"],
    ) == (
        "DE",
        "Europe/Berlin",
        "de",
        "EUR",
    )
    assert created["playbooks"] == [
        {
            "id": created["playbooks"][0]["id"],
            "name": "Germany, business customers",
            "default": True,
            "steps": 5,
        }
    ]
    listed = json.loads(cli("company", "list", "--json"))
    assert [c["slug"] for c in listed] == ["acme"]
    assert "Acme Werkzeug GmbH" in cli("company", "list")
    shown = cli("company", "show", "acme")
    assert "Germany, business customers (default): 5 steps" in shown and "mahnwerk user add" in shown

    changed = json.loads(
        cli("company", "update", "acme", "--phone", "+49 30 5550100", "--preset", "de-b2c", "--json")
    )
    assert changed["phone"] == "+49 30 5550100" and changed["iban"] == IBAN
    assert {(p["name"], p["default"]) for p in changed["playbooks"]} == {
        ("Germany, business customers", True),
        ("Germany, consumers", False),
    }


def test_a_latvian_company_with_both_presets() -> None:
    created = json.loads(
        cli(
            "company",
            "create",
            "ozols",
            "--name",
            "Ozols SIA",
            "--country",
            "lv",
            "--iban",
            "LV80 BANK 0000 4351 9500 1",
            "--registration-number",
            "40003012345",
            "--preset",
            "lv-b2c",
            "--preset",
            "lv-b2b",
            "--json",
        )
    )
    assert (created["jurisdiction"], created["time_zone"], created["default_language"]) == (
        "LV",
        "Europe/Riga",
        "lv",
    )
    assert [(p["name"], p["default"]) for p in created["playbooks"]] == [
        ("Latvia, consumers", True),
        ("Latvia, business customers", False),
    ]
    consumer = Playbook.objects.get(company__slug="ozols", is_default=True)
    steps = list(consumer.steps.order_by("level"))
    # the first written notice gives the 21 days a consumer has to object; no text message, no call
    assert steps[1].offset_days > 0 and steps[1].deadline_days == 21
    assert {s.channel for s in steps} == {"email", "letter"}


def test_users_are_added_with_a_role_and_a_password_from_stdin() -> None:
    cli(*ACME)
    out = cli(
        "user",
        "add",
        "alice",
        "--company",
        "acme",
        "--role",
        "admin",
        "--email",
        "alice@acme.example",
        "--password-stdin",
        stdin="correct-horse-battery\n",
    )
    assert "alice created: admin of acme" in out
    out = cli("user", "add", "bob", "--company", "acme", "--role", "viewer")
    assert "no password yet" in out
    out = cli("user", "add", "bob", "--company", "acme", "--role", "collector")
    assert "changed: collector of acme" in out
    rows = json.loads(cli("user", "list", "--json"))
    assert [(r["user"], r["role"], r["can_sign_in"]) for r in rows] == [
        ("alice", "admin", True),
        ("bob", "collector", False),
    ]
    from django.contrib.auth import get_user_model

    alice = get_user_model().objects.get(username="alice")
    assert alice.check_password("correct-horse-battery") and alice.email == "alice@acme.example"
    assert "alice (admin)" in cli("company", "show", "acme")

    before = snapshot()
    with pytest.raises(CommandError, match="nothing was read from standard input"):
        cli("user", "add", "carol", "--company", "acme", "--role", "admin", "--password-stdin", stdin="")
    with pytest.raises(CommandError, match="too short"):
        cli("user", "add", "carol", "--company", "acme", "--role", "admin", "--password-stdin", stdin="abc\n")
    assert "NAME: Enter a valid username" in error_of(
        "user", "add", "not valid!", "--company", "acme", "--role", "viewer"
    )
    assert "no company 'nowhere'" in error_of(
        "user", "add", "dora", "--company", "nowhere", "--role", "viewer"
    )
    assert snapshot() == before


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"slug": "acme"}, "SLUG: The short name 'acme' is taken by another company."),
        ({"--iban": "DE89370400440532013001"}, "--iban: Invalid IBAN"),
        ({"--iban": "not an iban"}, "--iban: Invalid IBAN"),
        ({"--country": "XX"}, "--country: Unknown country code: XX"),
        ({"--name": ""}, "--name: This field cannot be blank."),
        ({"--name": "   "}, "--name: This field cannot be blank."),
        ({"--name": "x" * 5000}, "--name: Ensure this value has at most 200 characters (it has 5000)."),
        ({"--currency": "EURO"}, "--currency:"),
        ({"--currency": "XXX"}, "--currency: XXX is no currency invoices are paid in"),
        ({"--currency": "xau"}, "--currency: XAU is no currency invoices are paid in"),
        ({"--currency": "XDR"}, "--currency: XDR is no currency invoices are paid in"),
        ({"--currency": "QQQ"}, "--currency: Unknown currency code: QQQ"),
        ({"--time-zone": "Mars/Olympus"}, "--time-zone: Unknown time zone: Mars/Olympus"),
        ({"--country": "CH"}, "--jurisdiction: There are no rules for claims in CH"),
        ({"--preset": "fr-b2b"}, "--preset: unknown playbook preset 'fr-b2b'"),
        ({"slug": "12"}, "SLUG: A short name must not be only digits"),
        ({"slug": "a b"}, "SLUG: Enter a valid"),
        ({"--email": "nobody"}, "--email: Enter a valid email address."),
    ],
)
def test_bad_input_is_one_clear_line_and_writes_nothing(change: dict[str, str], expected: str) -> None:
    cli(*ACME)
    before = snapshot()
    args = ["company", "create", change.get("slug", "other")]
    options = {"--name": "Other GmbH", "--country": "DE", "--iban": IBAN} | {
        k: v for k, v in change.items() if k != "slug"
    }
    for option, value in options.items():
        args += [option, value]
    message = error_of(*args)
    assert message.startswith("company not created: ") and expected in message, message
    assert snapshot() == before


@pytest.mark.parametrize("code", ["XXX", "XTS", "XAG", "XPT", "XPD", "XBB", "XBC", "XBD", "XSU", "XUA"])
def test_update_refuses_a_currency_that_is_no_money(code: str) -> None:
    cli(*ACME)
    message = error_of("company", "update", "acme", "--currency", code)
    assert message == (
        f"company not changed: --currency: {code} is no currency invoices are paid in (ISO 4217 keeps it "
        "for tests, precious metals or units of account): give the currency of your invoices, e.g. EUR."
    ), message
    assert Company.objects.get(slug="acme").currency == "EUR"
    cli("company", "update", "acme", "--currency", "chf")
    assert Company.objects.get(slug="acme").currency == "CHF"


def test_update_checks_too_and_changes_nothing_on_error() -> None:
    cli(*ACME)
    message = error_of("company", "update", "acme", "--iban", "DE00", "--city", "Potsdam")
    assert message.startswith("company not changed: --iban: Invalid IBAN")
    company = Company.objects.get(slug="acme")
    assert company.iban == IBAN and company.city == ""
    assert "already has a playbook named 'Germany, business customers'" in error_of(
        "company", "update", "acme", "--preset", "de-b2b"
    )
    assert "no company 'nope'" in error_of("company", "show", "nope")


def test_every_preset_is_a_valid_playbook_and_the_demo_one_is_the_german_business_one(company: Any) -> None:
    for key, preset in PRESETS.items():
        PlaybookSpec(0, tuple(s.spec for s in preset.steps))  # validates the steps
        playbook = create_preset_playbook(company, key)
        assert playbook.steps.count() == len(preset.steps) and not playbook.is_default
    consumer_de = PRESETS["de-b2c"]
    assert all(s.spec.channel.value != "call" for s in consumer_de.steps)
    lv = PRESETS["lv-b2c"]
    assert all(s.spec.channel.value in ("email", "letter") for s in lv.steps)
    # no step before the previous deadline has passed, with days for a transfer made on its last day
    for key, preset in PRESETS.items():
        for before, step in itertools.pairwise(s.spec for s in preset.steps):
            if step.anchor.value == "previous" and before.deadline_days:
                assert step.offset_days >= before.deadline_days + 3, (key, step.level)


DEBTORS = """number,name,kind,language,email,street,postcode,city,country
K1,Bäckerei Schulz GmbH,business,de,ap@schulz.example,Hauptstr. 1,10115,Berlin,DE
K2,Tischlerei Lange KG,business,de,buero@lange.example,Gartenweg 2,04109,Leipzig,DE
"""
INVOICES = """number,debtor,issue_date,due_date,amount
RE-1,K1,2026-02-01,2026-03-01,1234.56
RE-2,K2,2026-02-01,2026-03-01,99.90
"""


def test_a_run_on_the_new_company(outbox: Path, tmp_path: Path) -> None:
    from django.core.cache import cache

    from mahnwerk.ledger.imports import import_file

    cache.clear()
    cli(*ACME, "--email", "buchhaltung@acme.example")
    cli(
        "user",
        "add",
        "alice",
        "--company",
        "acme",
        "--role",
        "admin",
        "--password-stdin",
        stdin="correct-horse-battery\n",
    )
    company = Company.objects.get(slug="acme")
    (tmp_path / "d.csv").write_text(DEBTORS, encoding="utf-8")
    (tmp_path / "i.csv").write_text(INVOICES, encoding="utf-8")
    assert import_file(company, "debtors", tmp_path / "d.csv").created == 2
    assert import_file(company, "invoices", tmp_path / "i.csv").created == 2
    result = json.loads(cli("run", "--company", "acme", "--date", "2026-03-08", "--json"))
    assert result[0]["actions_created"] == 2 and result[0]["steps"] == {"2": 2}
    assert len(list((outbox / "acme").glob("*.eml"))) == 2
    # the preset's second reminder comes 14 days later
    later = json.loads(cli("run", "--company", "acme", "--date", "2026-03-22", "--json"))
    assert later[0]["steps"] == {"3": 2}


def test_the_installed_command_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    environ = os.environ | {"MAHNWERK_DATA_DIR": str(tmp_path)}
    environ.pop("MAHNWERK_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "mahnwerk", "migrate", "-v0"], env=environ, check=True)

    def mahnwerk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mahnwerk", *args], env=environ, capture_output=True, text=True
        )

    bad = mahnwerk("company", "create", "acme", "--name", "x" * 5000, "--country", "DE", "--iban", IBAN)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.strip().count("\n") == 0 and "--name: Ensure this value" in bad.stderr, bad.stderr
    good = mahnwerk(*ACME)
    assert good.returncode == 0 and "Company acme created." in good.stdout
    taken = mahnwerk(*ACME)
    assert taken.returncode == 1 and taken.stderr.strip().count("\n") == 0
    assert "The short name 'acme' is taken" in taken.stderr
