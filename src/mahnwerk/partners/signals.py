"""Payments that reach the creditor after a handover are noted for the partner as they are recorded."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from mahnwerk.ledger.signals import items_settled


@receiver(items_settled)
def note_payments_for_partners(sender: Any, debtor_ids: set[int], **kwargs: Any) -> None:
    from mahnwerk.partners.services import note_payments

    note_payments(debtor_ids=debtor_ids)
