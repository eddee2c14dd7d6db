"""The deadline tasks of a court application are done once its items are paid."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from mahnwerk.ledger.signals import items_settled


@receiver(items_settled)
def close_paid_court_tasks(sender: Any, debtor_ids: set[int], **kwargs: Any) -> None:
    from mahnwerk.escalation.deadlines import close_paid

    close_paid(debtor_ids, kwargs.get("business_date"))
