"""A statement entry matched for sure whose payment the ledger cannot book (a value date far ahead of today)
goes to the review queue with the reason, instead of stopping the whole import; the others are booked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mahnwerk.ledger.models import Invoice, Payment, StatementEntry
from mahnwerk.ledger.services import VALUE_DATE_AHEAD_DAYS, company_today
from mahnwerk.ledger.statements import add_bank_account, import_statements, reason_texts

pytestmark = pytest.mark.django_db


def _mt940(today: Any, later: Any) -> str:
    def d(day: Any) -> str:
        return day.strftime("%y%m%d")

    return (
        ":20:STMT\n:25:DE85110101002482488293\n:28C:1/1\n"
        f":60F:C{d(today)}EUR0,00\n"
        f":61:{d(today)}{d(today)[2:]}C100,00NTRFNONREF\n:86:166?20RE-1?32Bäckerei Eins GmbH\n"
        f":61:{d(later)}{d(later)[2:]}C50,00NTRFNONREF\n:86:166?20RE-2?32Zwei GmbH\n"
        f":62F:C{d(later)}EUR150,00\n-\n"
    )


def test_a_sure_match_dated_far_ahead_goes_to_review(
    company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any], tmp_path: Path
) -> None:
    add_bank_account(company, iban="DE85110101002482488293", name="Giro")
    make_invoice(make_debtor("Bäckerei Eins GmbH"), "RE-1", "100.00", "2026-03-01")
    make_invoice(make_debtor("Zwei GmbH"), "RE-2", "50.00", "2026-03-01")
    today = company_today(company)
    later = today + timedelta(days=VALUE_DATE_AHEAD_DAYS + 30)
    path = tmp_path / "s.sta"
    path.write_text(_mt940(today, later), encoding="utf-8")
    result = import_statements(company, [path])
    assert result.errors == [] and (result.matched, result.review) == (1, 1)
    assert Invoice.objects.get(number="RE-1").open_minor == 0
    assert Invoice.objects.get(number="RE-2").open_minor == 50_00
    assert list(Payment.objects.values_list("amount_minor", flat=True)) == [100_00]
    held = StatementEntry.objects.get(status="review")
    assert held.amount_minor == 50_00
    assert any("not booked" in text and "cannot be here yet" in text for text in reason_texts(held.reasons))
