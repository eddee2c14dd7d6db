"""The history of the customer's data names what changed from what to what."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

pytestmark = [pytest.mark.django_db]


def _history(page: str) -> str:
    """The text of the details tab's history list, tags and surplus whitespace removed."""
    match = re.search(r'data-testid="details-history">(.*?)</ol>', page, re.S)
    assert match is not None
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1)))


def test_update_debtor_keeps_old_and_new_values(company: Any, make_debtor: Callable[..., Any]) -> None:
    from mahnwerk.ledger.services import update_debtor

    debtor = make_debtor(name="Anna Schulz", kind="consumer", language="de")
    long_name = "Schulz " + "x" * 193  # 200 characters: the longest name there is, kept whole
    assert len(long_name) == 200
    changed = update_debtor(
        company, debtor, {"language": "en", "name": long_name, "city": "Berlin"}, "user:bob"
    )
    assert sorted(changed) == ["city", "language", "name"]
    event = debtor.timeline.get(kind="debtor_details_changed")
    assert sorted(event.data["changes"], key=lambda c: c["field"]) == [
        {"field": "city", "old": "", "new": "Berlin"},
        {"field": "language", "old": "de", "new": "en"},
        {"field": "name", "old": "Anna Schulz", "new": long_name},
    ]
    assert "fields" in event.data  # the names stay, for those who read only them


def test_long_values_are_cut_at_200_characters() -> None:
    from mahnwerk.ledger.services import _detail_value

    assert _detail_value("a" * 200) == "a" * 200
    cut = _detail_value("b" * 5000)
    assert len(cut) == 200 and cut == "b" * 199 + "…"
    assert _detail_value(None) == ""


def test_details_tab_shows_field_old_and_new(
    bob: Client, company: Any, make_debtor: Callable[..., Any]
) -> None:
    from mahnwerk.ledger import timeline
    from mahnwerk.ledger.services import company_today, update_debtor

    debtor = make_debtor(name="Anna Schulz", kind="consumer", language="de")
    # an event written before the values were kept: names only, still shown
    timeline.event(
        debtor.pk,
        company.pk,
        "debtor_details_changed",
        company_today(company),
        actor="user:bob",
        fields="title",
    ).save()
    update_debtor(company, debtor, {"language": "en", "city": "Riga <b>"}, "user:bob")
    page = bob.get(f"/debtors/{debtor.pk}/?tab=details", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    history = _history(page)
    # a choice by its label, an empty value as a dash; the debtor's text escaped
    assert "Language: German → English" in history
    assert "City: – → Riga &lt;b&gt;" in history
    assert "Customer details changed: title" in history
    assert "Riga <b>" not in page
