"""Timeline events of the run as rows, written with ``ledger.bulk.bulk_insert_rows``: the run writes a few
for every debtor it contacts, and a model instance for each costs more than its insert."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from mahnwerk.ledger.bulk import bulk_insert_rows
from mahnwerk.ledger.models import TimelineEvent
from mahnwerk.ledger.timeline import EVENT_TEXTS

EVENT_COLUMNS = ("debtor_id", "company_id", "kind", "business_date", "actor", "note", "data")

EventRow = tuple[int, int, str, date, str, str, dict[str, Any]]


def event_row(
    debtor_id: int,
    company_id: int,
    kind: str,
    business_date: date,
    actor: str = "system",
    note: str = "",
    **data: Any,
) -> EventRow:
    """The row of an event, as ``ledger.timeline.event`` builds its instance (same check, same data)."""
    if kind not in EVENT_TEXTS:
        raise ValueError(f"unknown timeline event kind {kind!r}")
    values = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()}
    return (debtor_id, company_id, kind, business_date, actor, note, values)


def record_events(rows: Sequence[EventRow]) -> None:
    """Append the events (in this order), as ``ledger.timeline.record`` does with instances."""
    bulk_insert_rows(TimelineEvent, EVENT_COLUMNS, rows)
