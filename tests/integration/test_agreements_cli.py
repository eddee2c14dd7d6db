"""``mahnwerk promise|plan|dispute``: the same service functions from the command line, in JSON."""

from __future__ import annotations

import json
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
def test_promise_add_and_list(company: Any, make_debtor: Any, make_invoice: Any, outbox: Path) -> None:
    debtor = make_debtor(number="K1")
    make_invoice(debtor, "RE-1", "120.00", "2026-03-01")
    make_invoice(debtor, "RE-2", "80.00", "2026-03-05")
    add = ("promise", "add", "K1", "--today", "2026-03-10")
    added = json.loads(cli(*add, "--invoice", "RE-2", "--date", "2026-03-20", "--json"))
    assert added["invoices"] == ["RE-2"] and added["amount_minor"] == 8000 and added["grace_days"] == 3
    listed = json.loads(cli("promise", "list", "--json"))
    assert [p["id"] for p in listed] == [added["id"]] and listed[0]["status"] == "pending"
    with pytest.raises(CommandError, match="already covered by promise"):
        cli(*add, "--date", "2026-03-21")  # all open items: RE-1 and RE-2
    with pytest.raises(CommandError, match="no such invoice"):
        cli(*add, "--invoice", "RE-9", "--date", "2026-03-20")
    with pytest.raises(CommandError, match="at most what is open"):
        cli(*add, "--invoice", "RE-1", "--date", "2026-03-20", "--amount", "120.01")
    text = cli(*add, "--invoice", "RE-1", "--date", "2026-03-21", "--amount", "50")
    assert "Promise #" in text and "€50.00" in text
    assert len(json.loads(cli("promise", "list", "--debtor", "K1", "--status", "pending", "--json"))) == 2
    cancelled = json.loads(cli("promise", "cancel", str(added["id"]), "--reason", "Irrtum", "--json"))
    assert cancelled["status"] == "cancelled"
    with pytest.raises(CommandError, match="give a reason"):
        cli("promise", "cancel", str(added["id"]))


@pytest.mark.django_db
def test_plan_propose_approve_confirm_list(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    debtor = make_debtor(number="K2")
    make_invoice(debtor, "RE-3", "1000.00", "2026-03-01")
    proposed = json.loads(
        cli(
            "plan", "propose", "K2", "--instalments", "8", "--down", "50.00", "--first", "2026-04-01",
            "--today", "2026-03-20", "--json",
        )
    )  # fmt: skip
    # 8 instalments > 6, 50.00 < 10 % of 1,000.00, last instalment 1 Dec = 256 days > 180: approval needed.
    # 950.00 / 8 = 118.75 each.
    assert proposed["needs_approval"]
    assert proposed["violations"] == ["too_many_instalments", "down_payment_too_small", "too_long"]
    assert [i["amount_minor"] for i in proposed["instalments"]] == [5000] + [11875] * 8
    assert [i["due_date"] for i in proposed["instalments"]][:3] == ["2026-04-01", "2026-05-01", "2026-06-01"]
    plan_id = str(proposed["id"])
    with pytest.raises(CommandError, match="approved first"):
        cli("plan", "confirm", plan_id, "--today", "2026-03-21")
    approved = json.loads(
        cli("plan", "approve", plan_id, "--actor", "anna", "--today", "2026-03-21", "--json")
    )
    assert approved["approved_by"] == "anna"
    confirmed = json.loads(
        cli("plan", "confirm", plan_id, "--by", "debtor", "--today", "2026-03-22", "--json")
    )
    assert confirmed["status"] == "active" and confirmed["confirmed_on"] == "2026-03-22"
    assert json.loads(cli("plan", "list", "--status", "active", "--json"))[0]["id"] == proposed["id"]
    assert "active" in cli("plan", "list")
    cancelled = json.loads(cli("plan", "cancel", plan_id, "--reason", "Neuverhandlung", "--json"))
    assert cancelled["status"] == "cancelled"


@pytest.mark.django_db
def test_dispute_open_resolve_list(company: Any, make_debtor: Any, make_invoice: Any, outbox: Path) -> None:
    debtor = make_debtor(number="K3")
    make_invoice(debtor, "RE-4", "300.00", "2026-03-01")
    opened = json.loads(
        cli(
            "dispute",
            "open",
            "RE-4",
            "--reason",
            "wrong_invoice",
            "--amount",
            "100",
            "--today",
            "2026-03-05",
            "--json",
        )
    )
    assert opened["status"] == "open" and opened["amount_minor"] == 10000
    with pytest.raises(CommandError, match="already in dispute"):
        cli("dispute", "open", "RE-4", "--reason", "other")
    resolved = json.loads(
        cli(
            "dispute", "resolve", str(opened["id"]), "--outcome", "partly", "--credit", "40",
            "--resolution", "Versandkosten erstattet", "--today", "2026-03-06", "--json",
        )
    )  # fmt: skip
    assert (
        resolved["status"] == "partly" and resolved["credit_note"] and resolved["resume_on"] == "2026-03-16"
    )
    assert json.loads(cli("dispute", "list", "--debtor", "K3", "--json"))[0]["id"] == opened["id"]
    with pytest.raises(CommandError, match="already resolved"):
        cli("dispute", "resolve", str(opened["id"]), "--outcome", "rejected", "--resolution", "x")
