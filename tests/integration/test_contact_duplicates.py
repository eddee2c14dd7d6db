"""An address or phone number given twice for one customer is one contact — in a spreadsheet cell, through
the API, or in another case when the customer gives it again — never a crash on the unique contact."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mahnwerk.ledger.imports import import_file
from mahnwerk.ledger.models import Contact, Debtor
from mahnwerk.ledger.services import set_primary_contacts

pytestmark = pytest.mark.django_db


def test_a_cell_naming_an_address_twice_gives_one_contact(company: Any, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    cells = '"a@b.de; A@B.DE";"+49 30 123456; +4930123456"'
    path.write_text(f"number;name;email;phone\nN1;Eins GmbH;{cells}\n", encoding="utf-8")
    assert import_file(company, "debtors", path).created == 1
    debtor = Debtor.objects.get(number="N1")
    assert sorted(Contact.objects.filter(debtor=debtor).values_list("kind", "value", "is_primary")) == [
        ("email", "a@b.de", True),
        ("phone", "+49 30 123456", True),
    ]


def test_the_api_takes_a_repeated_address_once(api_post: Callable[[str, Any], Any]) -> None:
    body = [{"number": "N11", "name": "x", "email": ["a@b.de", "a@b.de"], "phone": ["+4930123456"] * 2}]
    response = api_post("debtors", body)
    assert response.status_code == 201, response.content
    assert Contact.objects.filter(debtor__number="N11").count() == 2


def test_an_address_given_again_in_another_case_is_the_same_contact(
    company: Any, make_debtor: Callable[..., Any]
) -> None:
    debtor = make_debtor(email="buchhaltung@kunde.example")
    set_primary_contacts(debtor, email="Buchhaltung@Kunde.EXAMPLE")
    assert list(debtor.contacts.filter(kind="email").values_list("value", "is_primary")) == [
        ("buchhaltung@kunde.example", True)
    ]
