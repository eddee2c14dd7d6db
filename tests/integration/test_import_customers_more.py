"""Spreadsheets someone else made: the customer's kind written as people write it, and a "Kunde" column that
holds customer numbers rather than names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mahnwerk.ledger.imports import ImportFailed, import_file
from mahnwerk.ledger.models import Debtor, Invoice

pytestmark = pytest.mark.django_db


def test_the_kind_is_read_as_people_write_it(company: Any, tmp_path: Path) -> None:
    path = tmp_path / "kunden.csv"
    rows = [
        ("K1", "Privatkunde"), ("K2", "Firma"), ("K3", "B2C"), ("K4", "b2b"), ("K5", "privātpersona"),
        ("K6", "Juridiska persona"), ("K7", "consumer"), ("K8", ""),
    ]  # fmt: skip
    path.write_text("Kundennummer;Name;Kundenart\n" + "".join(f"{n};Kunde {n};{k}\n" for n, k in rows))
    assert import_file(company, "debtors", path).created == 8
    kinds = dict(Debtor.objects.values_list("number", "kind"))
    assert kinds == {
        "K1": "consumer", "K2": "business", "K3": "consumer", "K4": "business", "K5": "consumer",
        "K6": "business", "K7": "consumer", "K8": "business",
    }  # fmt: skip


def test_an_unknown_kind_names_the_row_and_the_words_that_work(company: Any, tmp_path: Path) -> None:
    path = tmp_path / "kunden.csv"
    path.write_text("number;name;type\nK1;Eins;Privat\nK2;Zwei;Verein\n")
    with pytest.raises(ImportFailed) as raised:
        import_file(company, "debtors", path)
    [error] = raised.value.errors
    assert (error.row, error.column) == (3, "kind")
    assert "'Verein' is no kind of customer" in error.message
    assert not Debtor.objects.exists()


def test_a_customer_column_holding_numbers_finds_the_customer(
    company: Any, make_debtor: Any, tmp_path: Path
) -> None:
    mueller = make_debtor(number="10001", name="Müller GmbH")
    path = tmp_path / "rechnungen.csv"
    path.write_text(
        "Rechnungsnummer;Kunde;Rechnungsdatum;Fällig am;Betrag\n"
        "R-1;10001;01.09.2026;15.09.2026;100,00\n"
        "R-2;Neue Kunde AG;01.09.2026;15.09.2026;50,00\n"
    )
    result = import_file(company, "invoices", path)
    assert result.created == 2
    assert Invoice.objects.get(number="R-1").debtor_id == mueller.pk
    assert not Debtor.objects.filter(name="10001").exists()
    assert Invoice.objects.get(number="R-2").debtor.name == "Neue Kunde AG"  # a name: a new customer
    assert any("customer number in the customer name column" in w for w in result.warnings)
    assert result.details["customer_numbers_as_names"] == 1
