"""The outbox: messages are written with their action in one transaction and sent after commit.

State machine: queued -> sending -> sent | failed (after MAX_ATTEMPTS) ; queued -> cancelled.
Workers claim messages with a conditional UPDATE, so two senders never send one message twice;
the Message-ID is deterministic, so a resend after a crash is recognisable (the outbox folder
backend simply overwrites the same file).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import mailers
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from mahnwerk.collection.models import Action, ActionItem, ActionStatus
from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.core.calendar import today_in
from mahnwerk.ledger import timeline
from mahnwerk.ledger.models import Company

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
CLAIM_BATCH = 500
STUCK_AFTER = timedelta(minutes=10)


def message_id(company: Company, action: Action) -> str:
    """Stable per action: a resend after a crash carries the same Message-ID (and overwrites the same file)."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or "localhost"
    return f"<reminder.{company.slug}.{action.key.replace(':', '.')}.{action.pk}@{domain}>"


def email_recipients(debtor_ids: Iterable[int]) -> dict[int, str]:
    """The address to write to per debtor: its primary valid email not opted out, else any such email."""
    from mahnwerk.comms.dispatch import best_contacts

    return {d: email for d, (email, _phone, _opted) in best_contacts(debtor_ids).items() if email}


def send_queued(company: Company | None = None, limit: int | None = None) -> dict[str, Any]:
    """Send queued emails and SMS whose time has come, in claimed batches. Safe in several processes.

    If the mail server or the SMS provider cannot be reached, nothing more is claimed: the messages
    stay queued for the next attempt and the error is returned (and logged), not raised. Letters are
    not sent here: they go into the daily print batch (``comms.letters_batch``).
    """
    counts: dict[str, Any] = {"sent": 0, "failed": 0, "retry": 0}
    for channel, opener in (("email", _open_mail), ("sms", _open_sms)):
        if not _sendable(company, channel).exists():
            continue
        try:
            transport = opener()
        except Exception as exc:  # the transport is down: leave everything queued
            log.warning("%s transport unavailable, messages stay queued: %s", channel, exc)
            counts["unavailable"] = str(exc)
            continue
        try:
            while limit is None or counts["sent"] + counts["failed"] < limit:
                batch = _claim(company, channel, CLAIM_BATCH if limit is None else min(CLAIM_BATCH, limit))
                if not batch:
                    break
                _send_batch(transport, batch, counts)
        finally:
            if channel == "email":
                transport.close()
    return counts


def _open_mail() -> Any:
    connection = mailers.default
    connection.open()
    return connection


def _open_sms() -> Any:
    from mahnwerk.comms.sms_gateway import JsonHttpSmsGateway

    if settings.SMS_URL:
        return JsonHttpSmsGateway(settings.SMS_URL, settings.SMS_TOKEN)
    return SmsOutboxFolder()


class SmsOutboxFolder:
    """Without an SMS provider, text messages are written as JSON files next to the emails."""

    def send(self, message: Any) -> Any:
        import json

        from mahnwerk.comms.sms_gateway import SmsReceipt
        from mahnwerk.core.sms import analyse_sms

        info = analyse_sms(message.text)
        folder = settings.OUTBOX_DIR / "sms"
        folder.mkdir(parents=True, exist_ok=True)
        name = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in message.message_id.strip("<>"))
        (folder / f"{name}.json").write_text(
            json.dumps(
                {
                    "to": message.to,
                    "from": message.sender,
                    "text": message.text,
                    "encoding": info.encoding,
                    "segments": info.segments,
                },
                ensure_ascii=False,
                indent=2,
            ),
            encoding="utf-8",
        )
        return SmsReceipt(provider_id=name, encoding=info.encoding, segments=info.segments)


def _sendable(company: Company | None, channel: str) -> Any:
    queued = OutboundMessage.objects.filter(status=MessageStatus.QUEUED, channel=channel).filter(
        Q(not_before__isnull=True) | Q(not_before__lte=timezone.now())
    )
    return queued if company is None else queued.filter(company=company)


def _claim(company: Company | None, channel: str, size: int) -> list[OutboundMessage]:
    ids = list(_sendable(company, channel).order_by("id").values_list("id", flat=True)[:size])
    if not ids:
        return []
    token = uuid.uuid4().hex
    OutboundMessage.objects.filter(pk__in=ids, status=MessageStatus.QUEUED).update(
        status=MessageStatus.SENDING, claim=token, claimed_at=timezone.now(), attempts=F("attempts") + 1
    )
    return list(OutboundMessage.objects.filter(claim=token).select_related("company", "action", "debtor"))


def _send_one(transport: Any, msg: OutboundMessage) -> str:
    """Deliver one message; return the provider's reference (if any)."""
    if msg.channel == "sms":
        from mahnwerk.comms.sms_gateway import SmsMessage

        receipt = transport.send(
            SmsMessage(
                to=msg.recipient, sender=settings.SMS_SENDER, text=msg.body_text, message_id=msg.message_id
            )
        )
        return str(receipt.provider_id)
    from mahnwerk.comms.email_build import build_email

    transport.send_messages([build_email(msg, keep_pdf=True)])
    return ""


def _send_batch(transport: Any, batch: list[OutboundMessage], counts: dict[str, Any]) -> None:
    from mahnwerk.comms.sms_gateway import SmsSendError

    sent: list[OutboundMessage] = []
    events = []
    for msg in batch:
        try:
            msg.provider_id = _send_one(transport, msg)
        except Exception as exc:  # any transport error: keep the message and retry later
            final = msg.attempts >= MAX_ATTEMPTS or (isinstance(exc, SmsSendError) and exc.permanent)
            OutboundMessage.objects.filter(pk=msg.pk).update(
                status=MessageStatus.FAILED if final else MessageStatus.QUEUED,
                last_error=str(exc)[:2000],
                claim="",
            )
            counts["failed" if final else "retry"] += 1
            if final:
                events.append(
                    timeline.event(
                        msg.debtor_id, msg.company_id, "message_failed", _day(msg), error=str(exc)[:200]
                    )
                )
            continue
        msg.status, msg.sent_at = MessageStatus.SENT, timezone.now()
        sent.append(msg)
        events.append(
            timeline.event(
                msg.debtor_id,
                msg.company_id,
                "message_sent",
                _day(msg),
                channel=msg.channel,
                recipient=msg.recipient,
                subject=msg.subject or msg.body_text[:80],
            )
        )
    plain = [m.pk for m in sent if not m.provider_id]
    if plain:  # the common case (email): one UPDATE for the batch
        OutboundMessage.objects.filter(pk__in=plain).update(status=MessageStatus.SENT, sent_at=timezone.now())
    OutboundMessage.objects.bulk_update(
        [m for m in sent if m.provider_id], ["status", "sent_at", "provider_id"], batch_size=500
    )
    counts["sent"] += len(sent)
    timeline.record(events)


def _day(msg: OutboundMessage) -> date:
    """The business date a message belongs to: its action's, else today in the company's time zone."""
    return msg.action.as_of if msg.action is not None else today_in(msg.company.time_zone)


def recover_stuck(older_than: timedelta = STUCK_AFTER) -> int:
    """Put messages back in the queue whose sender died between claiming and recording the result."""
    return OutboundMessage.objects.filter(
        status=MessageStatus.SENDING, claimed_at__lt=timezone.now() - older_than
    ).update(status=MessageStatus.QUEUED, claim="")


@transaction.atomic
def cancel_stale(debtor_ids: set[int], business_date: date | None) -> int:
    """Cancel queued messages that list an item whose open amount has gone down since they were written.

    The action and its items are cancelled with the message, so the next run decides afresh:
    nothing for settled items, the same step with the remaining amount for partly paid ones.
    """
    stale_actions: set[int] = set()
    rows = ActionItem.objects.filter(
        action__message__status=MessageStatus.QUEUED,
        action__debtor_id__in=list(debtor_ids),
        status=ActionStatus.ACTIVE,
    ).filter(Q(invoice__open_minor__lt=F("open_minor")))
    stale_actions.update(rows.values_list("action_id", flat=True))
    if not stale_actions:
        return 0
    messages = list(OutboundMessage.objects.filter(action_id__in=stale_actions, status=MessageStatus.QUEUED))
    cancelled = OutboundMessage.objects.filter(
        pk__in=[m.pk for m in messages], status=MessageStatus.QUEUED
    ).update(status=MessageStatus.CANCELLED, last_error="payment received before sending")
    from mahnwerk.collection.services import cancel_actions

    cancel_actions(stale_actions)
    when = business_date or timezone.localdate()
    timeline.record(
        timeline.event(
            m.debtor_id, m.company_id, "message_cancelled", when, reason="payment received before sending"
        )
        for m in messages
    )
    return cancelled


def outbox_counts(company: Company | None = None) -> dict[str, int]:
    qs = OutboundMessage.objects.all() if company is None else OutboundMessage.objects.filter(company=company)
    return {row["status"]: row["n"] for row in qs.values("status").annotate(n=Count("id")).order_by()}
