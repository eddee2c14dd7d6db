"""No reminder while the bank statements are behind: the money may already be in the bank."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from mahnwerk.collection.services import run_collection
from mahnwerk.ledger.models import BankAccount, BankStatement

D = date.fromisoformat


def statement_until(company: Any, day: str) -> None:
    account, _ = BankAccount.objects.get_or_create(company=company, iban=company.iban)
    BankStatement.objects.create(
        company=company,
        account=account,
        statement_id=f"S-{day}",
        format="camt.053",
        to_date=D(day),
        file_hash=day,
    )


@pytest.mark.django_db
def test_reminders_wait_while_the_newest_statement_is_more_than_two_business_days_old(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    never = make_debtor(name="Ohne Kontoauszug GmbH")
    make_invoice(never, "RE-1", "300.00", "2025-02-20", issue="2025-01-20")
    # a company that never imported a statement is not held: it records its payments otherwise
    assert run_collection(company, D("2025-02-27")).actions_created == 1

    debtor = make_debtor(name="Spät GmbH")
    make_invoice(debtor, "RE-2", "300.00", "2025-02-27", issue="2025-01-27")
    statement_until(company, "2025-03-05")  # a Wednesday
    # Friday 03-07 is two business days after it: still current, the reminder (due + 7 = 03-06) goes out
    assert run_collection(company, D("2025-03-07")).actions_created == 1

    other = make_debtor(name="Noch Später GmbH")
    make_invoice(other, "RE-3", "300.00", "2025-03-03", issue="2025-02-01")
    # Monday 03-10 (reminder due: 03-03 + 7): three business days after Wednesday — held, said why
    held = run_collection(company, D("2025-03-10"))
    assert held.actions_created == 0 and held.held["bank_not_current"] == 1 and held.awaiting_approval == 1
    assert any("2025-03-05" in w and "import statement" in w for w in held.warnings)
    # a newer statement (to Friday 03-07) lifts the hold
    statement_until(company, "2025-03-07")
    assert run_collection(company, D("2025-03-10")).actions_created == 1


@pytest.mark.django_db
def test_a_person_may_approve_the_run_anyway(company: Any, make_debtor: Any, make_invoice: Any) -> None:
    debtor = make_debtor(name="Spät GmbH")
    make_invoice(debtor, "RE-2", "300.00", "2025-02-27", issue="2025-01-27")
    statement_until(company, "2025-02-28")
    assert run_collection(company, D("2025-03-06")).actions_created == 0
    assert run_collection(company, D("2025-03-06"), approved=True).actions_created == 1
