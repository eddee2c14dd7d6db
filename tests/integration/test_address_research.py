"""Address research: a debtor nobody can reach gets a research task from the run; what is known and the
sources to try are shown; the address found updates the debtor, closes the task and takes the step again by
letter."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mahnwerk.collection.models import Action, Task, TaskKind, TaskStatus
from mahnwerk.collection.services import run_collection, set_hold
from mahnwerk.comms.models import OutboundMessage
from mahnwerk.ledger.models import Contact, TimelineEvent
from mahnwerk.partners import research

pytestmark = pytest.mark.django_db

D = date.fromisoformat


def unreachable(make_debtor: Any, make_invoice: Any, **fields: Any) -> Any:
    """A debtor whose only email bounced and whose letter came back."""
    debtor = make_debtor(
        street="Alte Str. 1", postcode="10115", city="Berlin", address_invalid=True, **fields
    )
    Contact.objects.filter(debtor=debtor).update(is_valid=False)
    make_invoice(debtor, f"RE-{debtor.number}", "400.00", "2025-02-09", issue="2025-01-10")
    return debtor


def test_the_run_opens_a_research_case_and_the_address_found_takes_the_step_by_letter(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    debtor = unreachable(make_debtor, make_invoice, name="Krüger Bau GmbH")
    result = run_collection(company, D("2025-02-16"), approved=True)
    assert result.actions_created == 0 or not Action.objects.filter(debtor=debtor, status="active").exists()
    task = Task.objects.get(debtor=debtor, kind=TaskKind.ADDRESS_RESEARCH, status=TaskStatus.OPEN)

    listing = io.StringIO()
    call_command("research", "list", "--json", stdout=listing)
    assert [r["id"] for r in json.loads(listing.getvalue())] == [task.pk]

    shown = io.StringIO()
    call_command("research", "show", debtor.number, "--json", stdout=shown)
    case = json.loads(shown.getvalue())
    assert case["task"]["id"] == task.pk
    assert case["address"]["invalid"] is True
    assert case["contacts"][0]["valid"] is False
    assert any("No reminder sent" in p["text"] for p in case["problems"])
    assert [s["source"] for s in case["sources"]] == ["commercial_register", "last_contacts"]
    assert "Handelsregister" in case["sources"][0]["how"]
    text = io.StringIO()
    call_command("research", "show", debtor.number, stdout=text)
    assert "sources to try:" in text.getvalue() and "invalid: letter returned" in text.getvalue()

    out = io.StringIO()
    call_command(
        "research",
        "result",
        debtor.number,
        "--street",
        "Neue Str. 9",
        "--postcode",
        "20095",
        "--city",
        "Hamburg",
        "--source",
        "commercial_register",
        "--note",
        "Handelsregister B, new seat",
        "--date",
        "2025-02-18",
        stdout=out,
    )
    debtor.refresh_from_db()
    assert (debtor.street, debtor.postcode, debtor.city, debtor.address_invalid) == (
        "Neue Str. 9",
        "20095",
        "Hamburg",
        False,
    )
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and "Handelsregister B" in task.notes
    action = Action.objects.get(debtor=debtor, status="active")
    assert (action.as_of, action.channel) == (D("2025-02-18"), "letter")
    assert "taken again by letter" in out.getvalue()
    letter = OutboundMessage.objects.get(debtor=debtor)
    assert letter.channel == "letter"
    kinds = set(TimelineEvent.objects.filter(debtor=debtor).values_list("kind", flat=True))
    assert {"address_found", "debtor_details_changed"} <= kinds


def test_a_new_email_is_recorded_too(company: Any, make_debtor: Any, make_invoice: Any) -> None:
    debtor = unreachable(make_debtor, make_invoice)
    run_collection(company, D("2025-02-16"), approved=True)
    outcome = research.record_result(
        company,
        debtor,
        street="Neue Str. 9",
        postcode="20095",
        city="Hamburg",
        email="buchhaltung@neu.example",
        as_of=D("2025-02-18"),
    )
    assert "email" in outcome.changed and outcome.action is not None
    assert (
        Contact.objects.get(debtor=debtor, is_primary=True, kind="email").value == "buchhaltung@neu.example"
    )
    assert not Task.objects.filter(debtor=debtor, status=TaskStatus.OPEN).exists()


def test_a_debtor_on_hold_gets_the_address_but_no_step(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    debtor = unreachable(make_debtor, make_invoice)
    run_collection(company, D("2025-02-16"), approved=True)
    set_hold(company, debtor, True, reason="with partner X since 2025-02-17")
    outcome = research.record_result(
        company, debtor, street="Neue Str. 9", postcode="20095", city="Hamburg", as_of=D("2025-02-18")
    )
    assert outcome.action is None and outcome.refused
    debtor.refresh_from_db()
    assert debtor.city == "Hamburg"


@pytest.mark.parametrize(
    ("country", "expected"),
    [("DE", "Melderegisterauskunft"), ("LV", "Iedzīvotāju reģistrs"), ("FR", "residents' register")],
)
def test_a_person_is_looked_for_at_the_registration_office(
    company: Any, make_debtor: Any, country: str, expected: str
) -> None:
    debtor = make_debtor(kind="consumer", country=country, email=None)
    (first, last) = research.sources(company, debtor)
    assert first["source"] == "registration_office" and expected in first["how"]
    assert last["source"] == "last_contacts"


def test_bad_input_is_refused(company: Any, make_debtor: Any) -> None:
    debtor = make_debtor()
    with pytest.raises(CommandError, match="usage"):
        call_command("research", "result", debtor.number, "--street", "X")
    with pytest.raises(CommandError, match="No debtor"):
        call_command("research", "show", "NOPE")
    with pytest.raises(CommandError, match="country"):
        call_command(
            "research", "result", debtor.number, "--street", "S", "--postcode", "1", "--city", "C",
            "--country", "Germany", "--no-send",
        )  # fmt: skip
