"""Importing a customer list again says how many known customers changed, not only how many are new."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from mahnwerk.ledger.models import Debtor


def cli(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_second_import_counts_the_updated_customers(company: Any, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("number;name;city\nN1;Eins GmbH;Berlin\nN2;Zwei GmbH;Köln\n", encoding="utf-8")
    first = cli("import", "debtors", str(path), "--company", company.slug)
    assert "2 debtors imported" in first and "updated" not in first
    path.write_text("number;name;city\nN1;Eins GmbH;Hamburg\nN2;Zwei GmbH;Köln\n", encoding="utf-8")
    dry = cli("import", "debtors", str(path), "--company", company.slug, "--dry-run")
    assert "1 known debtor(s) would be updated, 1 unchanged." in dry
    again = cli("import", "debtors", str(path), "--company", company.slug)
    assert "0 debtors imported" in again and "1 known debtor(s) updated, 1 unchanged." in again
    assert Debtor.objects.get(number="N1").city == "Hamburg"
