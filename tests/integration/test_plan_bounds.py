"""An agreement asks for nothing the debtor does not owe: a plan's interest and fees are at most what is
open on its items that day, and no agreement covers an item under an open dispute (the default items of the
command line leave such items out)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from mahnwerk.collection.agreements_models import InstalmentPlan

pytestmark = pytest.mark.django_db


def cli(*args: str) -> Any:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_a_plan_claims_no_more_costs_than_are_open(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    make_invoice(make_debtor(number="D1"), "R-1", "181.97", "2026-11-01")
    plan = ["plan", "propose", "D1", "--instalments", "2", "--first", "2026-12-15", "--today", "2026-12-07"]
    with pytest.raises(CommandError, match=r"cannot be more than the .* open on these items today"):
        cli(*plan, "--costs", "9999")
    with pytest.raises(CommandError):
        cli(*plan, "--costs", "-1")
    assert not InstalmentPlan.objects.exists()
    waived = json.loads(cli(*plan, "--costs", "0", "--json"))  # less than is open: a waiver
    assert waived["costs_minor"] == 0


def test_no_agreement_covers_a_disputed_item(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    debtor = make_debtor(number="D1")
    make_invoice(debtor, "R-1", "100.00", "2026-11-01")
    make_invoice(debtor, "R-2", "80.00", "2026-11-01")
    cli("dispute", "open", "R-2", "--reason", "wrong_invoice", "--today", "2026-12-01")
    with pytest.raises(CommandError, match="R-2 is under dispute"):
        cli("plan", "propose", "D1", "--invoice", "R-2", "--instalments", "2", "--today", "2026-12-07")
    with pytest.raises(CommandError, match="R-2 is under dispute"):
        cli("promise", "add", "D1", "--invoice", "R-2", "--date", "2026-12-20", "--today", "2026-12-07")
    proposed = json.loads(
        cli(
            "plan",
            "propose",
            "D1",
            "--instalments",
            "2",
            "--first",
            "2026-12-15",
            "--today",
            "2026-12-07",
            "--json",
        )
    )
    assert [i.number for i in InstalmentPlan.objects.get(pk=proposed["id"]).invoices.all()] == ["R-1"]


def test_a_cancelled_plan_s_proposal_is_not_sent(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    from mahnwerk.comms.models import OutboundMessage

    make_invoice(make_debtor(number="D1"), "R-1", "181.97", "2026-11-01")
    proposed = json.loads(
        cli("plan", "propose", "D1", "--instalments", "1", "--today", "2026-12-07", "--json")
    )
    about_it = OutboundMessage.objects.filter(message_id__contains=f".plan.{proposed['id']}.")
    assert list(about_it.values_list("status", flat=True)) == [
        "queued"
    ]  # the written agreement, not sent yet
    cli("plan", "cancel", str(proposed["id"]), "--reason", "test")
    [withdrawn] = about_it.all()
    assert withdrawn.status == "cancelled" and "was cancelled" in withdrawn.last_error
    cli("outbox", "send")
    assert OutboundMessage.objects.get(pk=withdrawn.pk).status == "cancelled"
