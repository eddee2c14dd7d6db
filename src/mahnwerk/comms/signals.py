"""Receivers: a recorded payment cancels queued messages whose items it settled."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from mahnwerk.ledger.signals import items_settled


@receiver(items_settled)
def cancel_stale_messages(sender: object, debtor_ids: set[int], business_date: Any, **kwargs: Any) -> None:
    from mahnwerk.comms.outbox import cancel_stale

    cancel_stale(debtor_ids, business_date)
