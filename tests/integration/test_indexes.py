"""The tables a run or an import writes by the hundred thousand keep one index per leading column: every
foreign key is the first column of some index (a look-up or delete by it stays indexed), and none has a
single-column index of its own when another index already starts with it (each would be written on every
insert for nothing). On SQLite and PostgreSQL alike (`ledger/index_migrations.py`)."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.db import connection, models

HOT = (
    "ledger.Invoice",
    "ledger.Debtor",
    "ledger.TimelineEvent",
    "ledger.StatementEntry",
    "collection.ActionItem",
    "comms.OutboundMessage",
)


def _indexes(table: str) -> dict[str, Any]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    # unique constraints have an index too (PostgreSQL reports them as constraints only)
    return {
        name: info
        for name, info in found.items()
        if (info["index"] or info["unique"]) and not info["primary_key"] and info["columns"]
    }


@pytest.mark.django_db
@pytest.mark.parametrize("label", HOT)
def test_each_foreign_key_leads_one_index_and_has_no_redundant_one(label: str) -> None:
    model = apps.get_model(label)
    table = model._meta.db_table
    indexes = _indexes(table)
    partial = {
        i.name for i in [*model._meta.indexes, *model._meta.constraints] if getattr(i, "condition", None)
    }
    for field in model._meta.concrete_fields:
        if not isinstance(field, models.ForeignKey):
            continue
        leading = [name for name, info in indexes.items() if info["columns"][0] == field.column]
        assert leading, f"{table}.{field.column}: no index starts with it"
        alone = [n for n in leading if indexes[n]["columns"] == [field.column] and not indexes[n]["unique"]]
        # (a partial index covers only its own rows)
        wider = [n for n in leading if len(indexes[n]["columns"]) > 1 and n not in partial]
        assert not (alone and wider), f"{table}.{field.column}: {alone} is covered by {wider}"
