"""What followed each message, per debtor and channel, read from the ledger in a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from mahnwerk.core.channel_learning import DEFAULT_WINDOW_DAYS, Event, Profile, Response, Touch, build_profile
from mahnwerk.core.playbook import Channel
from mahnwerk.ledger.ids import id_in

# a conversation on the phone: somebody was reached
CONVERSATIONS = ("reached", "promised", "disputed", "refused")
ANSWERS = {"portal_opened": Response.PORTAL, "reply_received": Response.REPLY}


def learning_settings(company_id: int) -> tuple[bool, int]:
    """Whether the company lets the run choose channels by the customer's response, and the days after a
    message in which a payment counts as its response (1 query)."""
    from mahnwerk.experiments.models import ChannelLearning

    row = ChannelLearning.objects.filter(company_id=company_id).values_list("enabled", "window_days").first()
    return (True, DEFAULT_WINDOW_DAYS) if row is None else (row[0], row[1] or DEFAULT_WINDOW_DAYS)


def set_learning(company_id: int, enabled: bool, window_days: int | None = None) -> None:
    from mahnwerk.experiments.models import ChannelLearning

    defaults: dict[str, object] = {"enabled": enabled}
    if window_days is not None:
        defaults["window_days"] = window_days
    ChannelLearning.objects.update_or_create(company_id=company_id, defaults=defaults)


def response_profiles(
    company_id: int, debtor_ids: Sequence[int], *, force: bool = False
) -> dict[int, Profile]:
    """Debtor id -> its response profile: collection messages that went out (bounced and returned ones as
    failures), calls made, payments, replies and visits to the payment page — 6 queries whatever the number
    of debtors; none but the first where the company switched learning off (``force``: read them anyway)."""
    from mahnwerk.collection.models import Task, TaskKind, TaskStatus
    from mahnwerk.comms.models import MessageStatus, OutboundMessage, Purpose
    from mahnwerk.ledger.models import Contact, ContactKind, Payment, TimelineEvent

    enabled, window = learning_settings(company_id)
    ids = list(debtor_ids)
    if not ids or not (enabled or force):
        return {}
    touches: dict[int, list[Touch]] = defaultdict(list)
    events: dict[int, list[Event]] = defaultdict(list)
    for debtor_id, channel, day, sent_at, status in OutboundMessage.objects.filter(
        id_in(OutboundMessage, "debtor_id", ids),
        purpose__in=(Purpose.COLLECTION, Purpose.OFFER),
        status__in=(MessageStatus.SENT, MessageStatus.BOUNCED, MessageStatus.RETURNED),
    ).values_list("debtor_id", "channel", "business_date", "sent_at", "status"):
        when = day or (sent_at.date() if sent_at else None)
        if when is None:
            continue
        touches[debtor_id].append(Touch(Channel(channel), when))
        if status != MessageStatus.SENT:
            events[debtor_id].append(Event(Response.BOUNCE, when, Channel(channel)))
    for debtor_id, due_on, outcome in Task.objects.filter(
        id_in(Task, "debtor_id", ids), kind=TaskKind.CALL, status=TaskStatus.DONE
    ).values_list("debtor_id", "due_on", "outcome"):
        touches[debtor_id].append(Touch(Channel.CALL, due_on))
        if outcome in CONVERSATIONS:
            events[debtor_id].append(Event(Response.REACHED, due_on, Channel.CALL))
    for debtor_id, value_date in Payment.objects.filter(id_in(Payment, "debtor_id", ids)).values_list(
        "debtor_id", "value_date"
    ):
        events[debtor_id].append(Event(Response.PAID, value_date))
    for debtor_id, kind, day in TimelineEvent.objects.filter(
        id_in(TimelineEvent, "debtor_id", ids), kind__in=list(ANSWERS)
    ).values_list("debtor_id", "kind", "business_date"):
        events[debtor_id].append(Event(ANSWERS[kind], day))
    opted: dict[int, set[Channel]] = defaultdict(set)
    for debtor_id, kind in Contact.objects.filter(
        id_in(Contact, "debtor_id", ids), opted_out=True
    ).values_list("debtor_id", "kind"):
        opted[debtor_id].add(Channel.EMAIL if kind == ContactKind.EMAIL else Channel.SMS)
    return {
        d: build_profile(touches[d], events[d], window, opted[d])
        for d in ids
        if touches.get(d) or opted.get(d)
    }
