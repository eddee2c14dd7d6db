"""`mahnwerk run` speaks the reader's language and names customers by their number, as a clerk knows them."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation


def cli(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_the_dry_run_names_the_customer_and_the_summary_is_translated(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    debtor = make_debtor(number="K-4711", language="en")
    make_invoice(debtor, "RE-1", "120.00", "2026-03-01")
    dry = cli("run", "--date", "2026-03-08", "--dry-run")
    assert "would send step 2 to customer K-4711: 1 item(s)" in dry
    assert f"debtor {debtor.pk}" not in dry
    assert re.search(r"open items evaluated +1\n", dry)
    with translation.override("de"):
        german = cli("run", "--date", "2026-03-08", "--dry-run")
    assert "K-4711" in german
    assert "open items evaluated" not in german and "would send step" not in german
