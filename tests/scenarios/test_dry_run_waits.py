"""The dry run says which messages the real run holds for a person's approval — a stale bank statement, a
message that would claim interest without a known rate, a playbook in approval mode — and why: those debtors
stay in the plan with their step and amount, marked, so that approving is an informed decision."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from typing import Any

import pytest
from django.core.management import call_command

from mahnwerk.collection.models import Action, Playbook
from mahnwerk.collection.services import run_collection

from .test_stale_bank import statement_until

D = date.fromisoformat

pytestmark = pytest.mark.django_db


def _plan(result: Any) -> dict[int, dict[str, Any]]:
    return {int(entry["debtor_id"]): entry for entry in result.plan}


def test_a_stale_bank_statement_marks_every_planned_debtor_as_waiting(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    early = make_debtor(name="Früh GmbH")
    late = make_debtor(name="Spät GmbH")
    make_invoice(early, "RE-1", "300.00", "2025-02-27", issue="2025-01-27")
    make_invoice(late, "RE-2", "120.50", "2025-03-03", issue="2025-02-01")
    statement_until(company, "2025-03-05")  # a Wednesday; Monday 03-10 is three business days later

    preview = run_collection(company, D("2025-03-10"), dry_run=True)
    plan = _plan(preview)
    assert sorted(plan) == sorted([early.pk, late.pk])  # still listed, with step and amount
    for debtor, amount in ((early, 30_000), (late, 12_050)):
        entry = plan[debtor.pk]
        assert entry["waits_for_approval"] == "bank_not_current"
        assert "bank statement" in str(entry["waits_reason"])
        assert entry["level"] >= 1 and [i["open_minor"] for i in entry["items"]] == [amount]
    assert preview.debtors_due == 2 and preview.awaiting_approval == 2  # approving would send both
    assert preview.held["bank_not_current"] == 2
    assert any("2025-03-05" in w and "import statement" in w for w in preview.warnings)
    assert Action.objects.count() == 0

    # the real run does what the preview said: nothing goes, both wait
    real = run_collection(company, D("2025-03-10"), send=False)
    assert (real.actions_created, real.debtors_due, real.awaiting_approval) == (0, 0, 2)

    # approved, nothing waits; with a current statement neither
    approved = run_collection(company, D("2025-03-10"), dry_run=True, approved=True)
    assert approved.debtors_due == 2 and approved.awaiting_approval == 0
    assert {e["waits_for_approval"] for e in approved.plan} == {None}
    statement_until(company, "2025-03-07")
    current = run_collection(company, D("2025-03-10"), dry_run=True)
    assert current.debtors_due == 2 and {e["waits_reason"] for e in current.plan} == {None}
    # what is approved then is what the preview listed, step for step
    assert run_collection(company, D("2025-03-10"), send=False, approved=True).actions_created == 2
    assert dict(Action.objects.values_list("debtor_id", "level")) == {
        pk: e["level"] for pk, e in plan.items()
    }


def test_a_missing_rate_marks_only_the_message_that_would_claim_interest(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Any
) -> None:
    # the packaged German base rate ends with the half-year from 2026-01-01 (see test_missing_rate)
    krueger = make_debtor(name="Metallbau Krüger GmbH")
    make_invoice(krueger, "RE-7001", "1000.00", "2026-06-01", issue="2026-05-02")
    assert run_collection(company, D("2026-06-08")).actions_created == 1
    assert run_collection(company, D("2026-06-22")).actions_created == 1
    # a first reminder claims no interest: it is not held
    neu = make_debtor(name="Neu GmbH")
    make_invoice(neu, "RE-7100", "80.00", "2026-06-29", issue="2026-05-29")

    preview = run_collection(company, D("2026-07-06"), dry_run=True)
    plan = _plan(preview)
    assert plan[krueger.pk]["waits_for_approval"] == "rate_missing"
    assert "without a known rate" in str(plan[krueger.pk]["waits_reason"])
    assert [i["open_minor"] for i in plan[krueger.pk]["items"]] == [100_000]
    assert plan[neu.pk]["waits_for_approval"] is None and plan[neu.pk]["waits_reason"] is None
    assert (preview.debtors_due, preview.awaiting_approval, preview.held["rate_missing"]) == (2, 1, 1)
    assert any("de_basiszinssatz" in w and "2026-07-01" in w for w in preview.warnings)

    # the command line: the line per debtor says it waits and why; --json carries the reason
    out = io.StringIO()
    call_command(
        "run", "--date", "2026-07-06", "--dry-run", "--company", "acme", stdout=out, stderr=io.StringIO()
    )
    text = out.getvalue()
    assert re.search(r"awaiting approval +1\n", text)
    waiting = [line for line in text.splitlines() if f"to customer {krueger.number}:" in line]
    assert len(waiting) == 1 and "waits for approval: The message would claim interest" in waiting[0]
    assert next(line for line in text.splitlines() if f"to customer {neu.number}:" in line).endswith(
        "1 item(s)"
    )
    out = io.StringIO()
    call_command("run", "--date", "2026-07-06", "--dry-run", "--json", "--company", "acme", stdout=out)
    entries = {e["debtor_id"]: e for e in json.loads(out.getvalue())[0]["plan"]}
    assert entries[krueger.pk]["waits_for_approval"] == "rate_missing"
    assert entries[neu.pk]["waits_for_approval"] is None

    # the real run agrees: Neu's reminder goes, Krüger's waits
    real = run_collection(company, D("2026-07-06"), send=False)
    assert (real.actions_created, real.debtors_due, real.awaiting_approval) == (1, 1, 1)
    assert Action.objects.filter(as_of=D("2026-07-06"), debtor=neu).exists()


def test_a_playbook_in_approval_mode_is_named_as_the_reason(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    Playbook.objects.filter(company=company).update(approval_required=True)
    debtor = make_debtor(name="Vorsicht AG")
    make_invoice(debtor, "RE-9", "450.00", "2025-02-27", issue="2025-01-27")
    statement_until(company, "2025-03-05")  # stale on 03-10 too: the playbook's approval is the reason given

    preview = run_collection(company, D("2025-03-10"), dry_run=True)
    entry = _plan(preview)[debtor.pk]
    assert entry["waits_for_approval"] == "approval_mode" and "approval mode" in str(entry["waits_reason"])
    assert (preview.debtors_due, preview.awaiting_approval) == (1, 1)
    real = run_collection(company, D("2025-03-10"), send=False)
    assert (real.actions_created, real.awaiting_approval) == (0, 1)
