"""Long id lists in the run's queries, without Django's work per parameter.

A filter ``pk__in=ids`` prepares and checks every one of the ids as a parameter of its own; the run reads and
writes by lists of thousands of ids in each chunk (its invoices, their charges, the debtors), where that
preparation costs more than the query (so do the claims of a chunk's invoices). :func:`id_in` writes the ids into the SQL text as integer literals
(each one made an ``int`` first, so nothing but digits reaches the text), which every database reads as fast
and which needs no parameter at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models.expressions import RawSQL


def literal_ids(ids: Iterable[int]) -> str:
    """``1,2,3``: the ids as SQL integer literals (``NULL`` for none, which matches nothing)."""
    text = ",".join(map(str, map(int, ids)))
    return text or "NULL"


def id_in(model: type[models.Model], field: str, ids: Iterable[int]) -> Any:
    """A condition for ``QuerySet.filter``: ``model``'s column of ``field`` (an attribute name such as
    ``"id"`` or ``"debtor_id"``) is one of ``ids``."""
    opts = model._meta
    column = opts.pk.column if field in ("pk", opts.pk.attname) else opts.get_field(field).column  # type: ignore[union-attr]
    sql = f'"{opts.db_table}"."{column}" IN ({literal_ids(ids)})'
    return RawSQL(sql, (), output_field=models.BooleanField())
