"""``mahnwerk note``: the same notes as the case file's, through the same service."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from mahnwerk.work.models import Note

pytestmark = [pytest.mark.django_db]


def test_add_and_list_notes(company: Any, make_debtor: Callable[..., Any]) -> None:
    debtor = make_debtor(name="Anna Schulz", number="K0042")
    out = io.StringIO()
    call_command(
        "note", "add", "K0042", "Rechnung per Post erneut geschickt", "--author", "user:anna", stdout=out
    )
    assert out.getvalue().startswith("note ")
    call_command(
        "note", "add", str(debtor.pk), "-", stdin=io.StringIO("zweite Notiz\n"), stdout=io.StringIO()
    )
    listed = io.StringIO()
    call_command("note", "list", "K0042", "--json", stdout=listed)
    rows = json.loads(listed.getvalue())
    assert [r["text"] for r in rows] == ["zweite Notiz", "Rechnung per Post erneut geschickt"]
    assert [r["author"] for r in rows] == ["cli", "user:anna"]


def test_an_empty_or_too_long_note_or_an_unknown_debtor_is_refused(
    company: Any, make_debtor: Callable[..., Any]
) -> None:
    make_debtor(name="Anna Schulz", number="K0042")
    with pytest.raises(CommandError, match="empty"):
        call_command("note", "add", "K0042", "   ")
    with pytest.raises(CommandError, match="2000"):
        call_command("note", "add", "K0042", "x" * 2001)
    with pytest.raises(CommandError):
        call_command("note", "add", "K9999", "lost")
    assert not Note.objects.exists()
