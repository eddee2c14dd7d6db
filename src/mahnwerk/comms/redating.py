"""Messages that go out on a later day than the run wrote them for are written again for the day they go out.

A letter printed days after its run, an email or text message held back by a mail server that answered "try
again later": each carries the day it goes out, its deadline moves by as many days (so that no customer is
given less time than the step grants), the interest runs to that day, the fees are those then open (a fee
of the step is booked that day), and default that the reminder causes moves with it. Its business date
becomes that day, so the audit compares it with that day's statement. Messages rendered without the run's
record (older ones) keep their figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import transaction

from mahnwerk.collection.consequences import move_default_with_letter
from mahnwerk.collection.models import Action
from mahnwerk.comms.models import OutboundMessage
from mahnwerk.core.playbook import Channel
from mahnwerk.ledger import timeline
from mahnwerk.ledger.models import TimelineEvent


def refigure(msg: OutboundMessage, action: Action, day: date) -> None:
    """Write ``msg`` again with the figures of ``day``: interest to that day (the date the message carries),
    the fees then open, the text, letter paragraphs and payment code to match; its business date becomes
    ``day``. Its reminder fee is booked that day. Messages rendered without the run's record keep their
    figures. Not saved."""
    from mahnwerk.collection.models import ActionItem, ActionStatus
    from mahnwerk.comms.compose import compose
    from mahnwerk.comms.rendering import item_to_json, message_item
    from mahnwerk.ledger.claims import claim_views, debtor_law
    from mahnwerk.ledger.models import Charge, Invoice

    facts = msg.payload.get("compose")
    if not facts:
        return
    company, debtor = msg.company, msg.debtor
    listed = dict(
        ActionItem.objects.filter(action=action, status=ActionStatus.ACTIVE).values_list(
            "invoice_id", "open_minor"
        )
    )
    invoices = sorted(Invoice.objects.filter(pk__in=list(listed)), key=lambda i: (i.due_date, i.number))
    Charge.objects.filter(
        key=f"fee:{action.key}:{action.pk}", allocations__isnull=True, booked_on__lt=day
    ).update(booked_on=day)
    claims = claim_views(company, invoices, {debtor.pk: debtor_law(company, debtor)}, day)
    facts["items"] = [
        item_to_json(message_item(inv, claims.get(inv.pk), min(inv.open_minor, listed[inv.pk])))
        for inv in invoices
    ]
    msg.business_date = day
    compose(msg, company, debtor)


def redate_one(msg: OutboundMessage, day: date) -> TimelineEvent | None:
    """Write ``msg`` (of an action, written for an earlier business date) for ``day`` and save it; its
    deadline moves by as many days. Returns the timeline event that says so (not saved), or None when the
    message was written for ``day`` or later, or has no action."""
    action = msg.action
    written = msg.business_date or (action.as_of if action else day)
    if action is None or written >= day:
        return None
    shift = day - written
    channel = Channel(msg.channel)
    if channel is Channel.LETTER:
        msg.payload["letter_date"] = day.isoformat()
    old_deadline = action.deadline
    if action.deadline is not None:
        action.deadline = action.deadline + shift
        msg.payload["deadline"] = action.deadline.isoformat()
        Action.objects.filter(pk=action.pk).update(deadline=action.deadline)
    move_default_with_letter(action, written, day, old_deadline, channel)
    refigure(msg, action, day)
    msg.business_date = day
    OutboundMessage.objects.filter(pk=msg.pk).update(
        payload=msg.payload, subject=msg.subject, body_text=msg.body_text, business_date=day
    )
    return timeline.event(
        msg.debtor_id,
        msg.company_id,
        "letter_redated" if channel is Channel.LETTER else "message_redated",
        day,
        written_on=written,
        deadline=action.deadline or "-",
        channel=msg.channel,
    )


@transaction.atomic
def redate(messages: Iterable[OutboundMessage], day: date) -> int:
    """:func:`redate_one` for each of ``messages`` (the letters of a print batch on ``day``); returns how many
    were re-dated (each noted on the timeline)."""
    events = [e for e in (redate_one(msg, day) for msg in messages) if e is not None]
    timeline.record(events)
    return len(events)
