"""The outbox: messages are written with their action in one transaction and sent after commit.

State machine::

    queued --claim--> sending --delivered--> sent
      ^                  |  \\--permanent error, or temporary errors for RETRY_GIVE_UP_AFTER--> failed
      |                  |--temporary error: next_attempt_at = now + backoff------------------> queued
      |                  \\--lease ran out (the sender died): taken again by the next sender
      |--------------------- mahnwerk outbox retry (failed, content still valid) <-------------- failed
    queued/sending --stale (see below)--> cancelled

A sender claims a batch with a conditional ``UPDATE`` and a lease (``claimed_until``, about a minute),
which it extends while it works; the outcome of every message is committed right after its own delivery,
so a sender that is killed loses at most the one message in flight, and the rest of its batch is taken by
the next sender once the lease has run out. The Message-ID is deterministic, so a message sent again after
a crash is recognisable (the outbox folder backend simply overwrites the same file). Temporary failures
(SMTP 4xx, timeouts, refused or dropped connections, DNS errors; an SMS provider's 5xx, 408 or 429) are
tried again with a pause that doubles from ``RETRY_FIRST_DELAY`` up to ``RETRY_MAX_DELAY``, for
``RETRY_GIVE_UP_AFTER``; permanent ones (SMTP 5xx, an invalid address) fail at once. A collection message
that fails takes its step back (its action is withdrawn, on the timeline), so the next run gives the step
again, on another channel when the address was refused as unknown (it is marked invalid, as a hard
bounce). A local error (a full disk, a read-only outbox folder) fails nothing: the messages stay queued and
``send_queued`` returns the error.

Just before a collection message goes out (and when the letters are printed, and whenever a payment, an
agreement or a dispute touches its items) it is compared with the ledger as it stands then
(:func:`stale_reasons`); one that no longer fits is withdrawn (:func:`withdraw`): cancelled with its
action, so the next run decides afresh with that day's figures.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import mailers
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mahnwerk.collection.agreements_models import (
    DisputeStatus,
    Incentive,
    InstalmentPlan,
    OfferStatus,
    PlanStatusChoice,
    Promise,
    PromiseStatus,
    Settlement,
)
from mahnwerk.collection.models import Action, ActionItem, ActionStatus, Dispute, Run, RunStatus
from mahnwerk.comms import creditor
from mahnwerk.comms.backends import DeliveryFailure, LocalDeliveryError, classify_email_error
from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.core.calendar import today_in
from mahnwerk.ledger import timeline
from mahnwerk.ledger.models import Allocation, Company, Contact, Debtor

log = logging.getLogger(__name__)

CLAIM_BATCH = 500
# A sender's hold on its claimed batch; extended before each message (to at least five times the
# transport's timeout, so one slow message cannot outlive it). A message whose lease ran out is taken again.
CLAIM_LEASE = timedelta(seconds=60)
# Temporary failures are tried again after 1, 2, 4, ... minutes, at most RETRY_MAX_DELAY apart, until the
# message has been failing for RETRY_GIVE_UP_AFTER: then it fails for good.
RETRY_FIRST_DELAY = timedelta(minutes=1)
RETRY_MAX_DELAY = timedelta(hours=4)
RETRY_GIVE_UP_AFTER = timedelta(days=3)
# A failed message put back in the queue goes out as it was written: only while its deadline is this far off.
RETRY_MIN_DEADLINE_DAYS = 7
# A run still "running" after this long belongs to a process that is gone (killed): the next ``run``
# command marks it failed. A run that was in fact alive marks itself done when it finishes.
RUN_STALE_AFTER = timedelta(hours=3)
STUCK_AFTER = timedelta(0)  # recover_stuck: how long past its lease a message waits before it is requeued
# A printed letter must leave the debtor at least this many days before its deadline ...
LETTER_MIN_DEADLINE_DAYS = 7
# ... and is not printed more than this many days after the business date it was written on.
# Who makes the offer a playbook step carries in its own message (``collection.services``).
PLAYBOOK_ACTOR = "playbook"


def message_id(company: Company, action: Action) -> str:
    """Stable per action: a resend after a crash carries the same Message-ID (and overwrites the same file)."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or "localhost"
    return f"<reminder.{company.slug}.{action.key.replace(':', '.')}.{action.pk}@{domain}>"


def email_recipients(debtor_ids: Iterable[int]) -> dict[int, str]:
    """The address to write to per debtor: its primary valid email not opted out, else any such email."""
    from mahnwerk.comms.dispatch import best_contacts

    return {d: email for d, (email, _phone, _opted) in best_contacts(debtor_ids).items() if email}


def retry_delay(attempts: int) -> timedelta:
    """The pause after the ``attempts``-th failed attempt: 1 minute, doubling, at most ``RETRY_MAX_DELAY``."""
    steps = max(attempts - 1, 0)
    if steps >= 20:
        return RETRY_MAX_DELAY
    return min(RETRY_FIRST_DELAY * (2**steps), RETRY_MAX_DELAY)


def send_queued(
    company: Company | None = None, limit: int | None = None, *, now: datetime | None = None
) -> dict[str, Any]:
    """Send queued emails and SMS whose time has come, in claimed batches. Safe in several processes.

    Returns the counts ``sent``, ``failed`` (for good), ``retry`` (a temporary failure: tried again later)
    and ``withdrawn`` (no longer fitting the ledger). If the mail server or the SMS provider cannot be
    reached, nothing more is claimed: the messages stay queued and ``unavailable`` says why. A local error
    (a full disk, a read-only outbox folder) leaves the messages queued and is returned as ``error``; it is
    logged, not raised. ``now`` stands for the current time (tests). Letters are not sent here: they go
    into the daily print batch (``comms.letters_batch``).
    """
    counts: dict[str, Any] = {"sent": 0, "failed": 0, "retry": 0, "withdrawn": 0}
    clock = _Clock(now)
    from mahnwerk.comms.compose import render_pending

    render_pending(company)  # what the run decided is written now, from its records
    for channel, opener in (("email", _open_mail), ("sms", _open_sms)):
        if not _claimable(company, channel, clock()).exists():
            continue
        try:
            transport = opener()
        except LocalDeliveryError as exc:
            counts["error"] = str(exc)
            continue
        except Exception as exc:  # the transport is down: leave everything queued
            log.warning("%s transport unavailable, messages stay queued: %s", channel, exc)
            counts["unavailable"] = str(exc)
            continue
        sender = _Sender(channel, transport, counts, clock)
        try:
            while limit is None or counts["sent"] + counts["failed"] + counts["retry"] < limit:
                size = CLAIM_BATCH if limit is None else min(CLAIM_BATCH, limit)
                claimed = _claim(company, channel, size, clock(), sender.lease)
                if claimed is None:
                    break
                if not sender.send_batch(*claimed):
                    break
        finally:
            sender.close()
    if "error" in counts:
        log.error("local delivery error, messages stay queued: %s", counts["error"])
    return counts


class _Clock:
    """The current time, or a given start time moving on with the real clock."""

    def __init__(self, start: datetime | None) -> None:
        self.start = start
        self.began = time.monotonic()

    def __call__(self) -> datetime:
        if self.start is None:
            return timezone.now()
        return self.start + timedelta(seconds=time.monotonic() - self.began)


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

        from mahnwerk.comms.backends import write_file_atomically
        from mahnwerk.comms.sms_gateway import SmsReceipt
        from mahnwerk.core.sms import analyse_sms

        info = analyse_sms(message.text)
        folder = settings.OUTBOX_DIR / "sms"
        name = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in message.message_id.strip("<>"))
        write_file_atomically(
            folder / f"{name}.json",
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
            ).encode("utf-8"),
        )
        return SmsReceipt(provider_id=name, encoding=info.encoding, segments=info.segments)


def _due(now: datetime) -> Q:
    """Queued and its time has come (contact allowed, the pause after a failure over)."""
    return (
        Q(status=MessageStatus.QUEUED)
        & (Q(not_before__isnull=True) | Q(not_before__lte=now))
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    )


def _lapsed(now: datetime) -> Q:
    """Being sent under a lease that ran out: its sender died (a claim from before leases: after one lease)."""
    return Q(status=MessageStatus.SENDING) & (
        Q(claimed_until__lt=now)
        | Q(claimed_until__isnull=True, claimed_at__lt=now - CLAIM_LEASE)
        | Q(claimed_until__isnull=True, claimed_at__isnull=True)
    )


def _claimable(company: Company | None, channel: str, now: datetime) -> Any:
    found = OutboundMessage.objects.filter(channel=channel, render_pending=False).filter(
        _due(now) | _lapsed(now)
    )
    return found if company is None else found.filter(company=company)


def _claim(
    company: Company | None, channel: str, size: int, now: datetime, lease: timedelta
) -> tuple[list[OutboundMessage], str] | None:
    """Claim up to ``size`` messages under a new token and lease: the conditional ``UPDATE`` takes only
    those still claimable, so two senders never hold one message."""
    ids = list(_claimable(company, channel, now).order_by("id").values_list("id", flat=True)[:size])
    if not ids:
        return None
    token = uuid.uuid4().hex
    taken = (
        OutboundMessage.objects.filter(pk__in=ids)
        .filter(_due(now) | _lapsed(now))
        .update(status=MessageStatus.SENDING, claim=token, claimed_at=now, claimed_until=now + lease)
    )
    if not taken:
        return [], token  # another sender was quicker: look again
    batch = OutboundMessage.objects.filter(claim=token).select_related("company", "action", "debtor")
    return list(batch.order_by("id")), token


def _send_one(transport: Any, msg: OutboundMessage) -> str:
    """Deliver one message; return the provider's reference (if any)."""
    if msg.channel == "sms":
        from mahnwerk.comms.sms_gateway import SmsMessage

        receipt = transport.send(
            SmsMessage(
                to=msg.recipient,
                sender=creditor.sms_sender(msg.company),
                text=msg.body_text,
                message_id=msg.message_id,
            )
        )
        return str(receipt.provider_id)
    from mahnwerk.comms.email_build import build_email

    transport.send_messages([build_email(msg, keep_pdf=True)])
    return ""


def _classify(channel: str, exc: BaseException) -> DeliveryFailure:
    from mahnwerk.comms.sms_gateway import SmsSendError

    if channel == "sms":
        if isinstance(exc, SmsSendError):
            return DeliveryFailure(
                str(exc), exc.permanent, invalid_address=exc.invalid_number, status=str(exc.status or "")
            )
        return DeliveryFailure(f"{type(exc).__name__}: {exc}", permanent=False)
    return classify_email_error(exc)


@dataclass
class _Sender:
    """One sender's work on one channel: its transport, its lease and its counts."""

    channel: str
    transport: Any
    counts: dict[str, Any]
    clock: Callable[[], datetime]
    lease: timedelta = CLAIM_LEASE
    extended_at: float = 0.0
    connected: bool = True

    def __post_init__(self) -> None:
        timeout = getattr(self.transport, "timeout", None)
        if isinstance(timeout, int | float) and timeout > 0:  # each SMTP command may take the timeout
            self.lease = max(CLAIM_LEASE, timedelta(seconds=5 * timeout + 10))

    def close(self) -> None:
        if self.channel == "email" and self.connected:
            try:
                self.transport.close()
            except Exception as exc:  # closing a broken connection: nothing to keep
                log.info("closing the mail connection: %s", exc)
        self.connected = False

    def abort(self) -> None:
        """Drop a connection in an unknown state without a polite QUIT (which may hang as well)."""
        connection = getattr(self.transport, "connection", None)
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()
            self.transport.connection = None
        else:
            self.close()
        self.connected = False

    def heartbeat(self, token: str) -> None:
        """Extend the lease of what is still claimed, a third of a lease after the last time."""
        if time.monotonic() - self.extended_at < self.lease.total_seconds() / 3:
            return
        OutboundMessage.objects.filter(claim=token, status=MessageStatus.SENDING).update(
            claimed_until=self.clock() + self.lease
        )
        self.extended_at = time.monotonic()

    def reconnect(self) -> bool:
        if self.connected or self.channel != "email":
            return True
        try:
            self.transport.open()
        except Exception as exc:
            log.warning("mail server unavailable, messages stay queued: %s", exc)
            self.counts["unavailable"] = str(exc)
            return False
        self.connected = True
        return True

    def send_batch(self, batch: list[OutboundMessage], token: str) -> bool:
        """Send a claimed batch one message at a time, each outcome committed at once. False: stop sending
        on this channel (a local error, the transport gone); what was not tried is released."""
        self.extended_at = time.monotonic()
        stale = stale_reasons(batch)
        if stale:  # the ledger moved since the message was written: withdraw it, send the rest
            self.counts["withdrawn"] += sum(withdraw(batch, stale).values())
            batch = [m for m in batch if m.pk not in stale]
        redated = redate_late(batch, self.clock())
        if redated:
            self.counts["redated"] = self.counts.get("redated", 0) + redated
        for index, msg in enumerate(batch):
            in_flight = False
            try:
                self.heartbeat(token)
                if not self.reconnect():
                    _release(batch[index:], token)
                    return False
                in_flight = True
                provider_id = _send_one(self.transport, msg)
            except LocalDeliveryError as exc:
                _release(batch[index:], token)
                self.counts["error"] = str(exc)
                return False
            except Exception as exc:
                failure = _classify(self.channel, exc)
                self.counts["failed" if _record_failure(msg, token, failure, self.clock()) else "retry"] += 1
                if failure.reconnect:
                    self.abort()
                if getattr(exc, "unreachable", False):  # the SMS provider is down: the rest waits
                    self.counts["unavailable"] = str(exc)
                    _release(batch[index + 1 :], token)
                    return False
                continue
            except BaseException:  # interrupted: the one in flight waits for its lease, the rest is free
                _release(batch[index + 1 :] if in_flight else batch[index:], token)
                raise
            _record_sent(msg, token, provider_id, self.clock())
            self.counts["sent"] += 1
        return True


# A message is written again for the day it goes out when it has waited this many days at most: longer than the
# outbox tries (``RETRY_GIVE_UP_AFTER``) with a margin. One that waited longer was written for a business date
# of its own (a run for a past date, a replay) and goes as written.
REDATE_WITHIN_DAYS = 14


def redate_late(messages: Sequence[OutboundMessage], now: datetime) -> int:
    """Messages of a run that go out on a later day than they were written (the mail server said "try again
    later", nobody sent the outbox that day) are written again for the day they go out: its date and
    figures, the deadline moved by as many days (``comms.redating``). The day is the run's business date
    moved by the days the message has waited, in the company's time zone. Returns how many were re-dated."""
    from mahnwerk.comms.redating import redate_one

    count = 0
    for msg in messages:
        action = msg.action
        if action is None or not msg.payload.get("compose"):
            continue
        zone = msg.company.time_zone
        waited = (today_in(zone, now) - today_in(zone, msg.created_at)).days
        day = action.as_of + timedelta(days=waited)
        if not 1 <= waited <= REDATE_WITHIN_DAYS or day <= _written_on(msg):
            continue
        with transaction.atomic():
            found = redate_one(msg, day)
            if found is not None:
                found.save()
                count += 1
    return count


def _release(messages: Sequence[OutboundMessage], token: str) -> None:
    """Give messages that were claimed but not tried back to the queue, as they were."""
    if messages:
        OutboundMessage.objects.filter(
            pk__in=[m.pk for m in messages], claim=token, status=MessageStatus.SENDING
        ).update(status=MessageStatus.QUEUED, claim="", claimed_until=None)


def _record_sent(msg: OutboundMessage, token: str, provider_id: str, now: datetime) -> None:
    # the run's record is needed only until the message has gone out (``redate_late``)
    kept = (
        {"payload": {k: v for k, v in msg.payload.items() if k != "compose"}}
        if "compose" in msg.payload
        else {}
    )
    with transaction.atomic():
        updated = OutboundMessage.objects.filter(pk=msg.pk, claim=token).update(
            **kept,
            status=MessageStatus.SENT,
            sent_at=now,
            provider_id=provider_id,
            attempts=msg.attempts + 1,
            first_attempt_at=msg.first_attempt_at or now,
            next_attempt_at=None,
            claim="",
            claimed_until=None,
            last_error="",
        )
        if not updated:  # our lease ran out and another sender took the message meanwhile
            log.warning("message %s was sent after its lease had run out", msg.message_id)
            return
        timeline.event(
            msg.debtor_id,
            msg.company_id,
            "message_sent",
            _day(msg),
            channel=msg.channel,
            recipient=msg.recipient,
            subject=msg.subject or msg.body_text[:80],
        ).save()


def _record_failure(msg: OutboundMessage, token: str, failure: DeliveryFailure, now: datetime) -> bool:
    """Record a failed attempt: queued again after a pause, or failed for good (permanent, or failing for
    ``RETRY_GIVE_UP_AFTER``). Returns whether it failed for good. An email refused because its address does
    not exist is ``bounced``, as when the bounce comes back later (``comms.inbound``): it never reached the
    debtor."""
    attempts = msg.attempts + 1
    first = msg.first_attempt_at or now
    final = failure.permanent or now - first >= RETRY_GIVE_UP_AFTER
    with transaction.atomic():
        if final:
            expired = "" if failure.permanent else f"given up after {attempts} attempts: "
            updated = OutboundMessage.objects.filter(pk=msg.pk, claim=token).update(
                status=MessageStatus.BOUNCED
                if failure.invalid_address and msg.channel == "email"
                else MessageStatus.FAILED,
                attempts=attempts,
                first_attempt_at=first,
                next_attempt_at=None,
                claim="",
                claimed_until=None,
                last_error=f"{expired}{failure.text}"[:2000],
            )
            if updated:
                _take_back(msg, failure, f"{expired}{failure.text}")
            return True
        OutboundMessage.objects.filter(pk=msg.pk, claim=token).update(
            status=MessageStatus.QUEUED,
            attempts=attempts,
            first_attempt_at=first,
            next_attempt_at=min(now + retry_delay(attempts), first + RETRY_GIVE_UP_AFTER),
            claim="",
            claimed_until=None,
            last_error=failure.text[:2000],
        )
    return False


def _take_back(msg: OutboundMessage, failure: DeliveryFailure, error: str) -> None:
    """A message failed for good: its step did not happen. The action is withdrawn (the next run gives the
    step again) and the timeline says so; an address refused as unknown is marked invalid, as a hard bounce
    does (``comms.inbound``), so the next run chooses another channel."""
    from mahnwerk.collection.services import cancel_actions

    day = _day(msg)
    events = []
    if failure.invalid_address and msg.channel == "sms":
        from mahnwerk.comms.dispatch import e164

        # the number cannot take text messages (a landline, a number the provider does not know): no more
        # SMS to it, while a clerk may still call it
        phones = Contact.objects.filter(debtor_id=msg.debtor_id, kind="phone")
        Contact.objects.filter(pk__in=[c.pk for c in phones if e164(c.value) == msg.recipient]).update(
            sms_refused=True
        )
        events.append(
            timeline.event(
                msg.debtor_id,
                msg.company_id,
                "sms_refused",
                day,
                recipient=msg.recipient,
                status=failure.status or failure.text[:100],
            )
        )
    if failure.invalid_address and msg.channel == "email":
        Contact.objects.filter(debtor_id=msg.debtor_id, kind="email", value__iexact=msg.recipient).update(
            is_valid=False
        )
        events.append(
            timeline.event(
                msg.debtor_id,
                msg.company_id,
                "message_bounced",
                day,
                recipient=msg.recipient,
                status=failure.status or "5xx",
            )
        )
    note = ""
    if msg.action_id is not None:
        cancel_actions([msg.action_id])
        with translation.override(msg.company.default_language or "en"):
            note = _("the step is withdrawn: the next run gives it again")
    events.append(
        timeline.event(msg.debtor_id, msg.company_id, "message_failed", day, note=note, error=error[:200])
    )
    timeline.record(events)


def _day(msg: OutboundMessage) -> date:
    """The business date a message belongs to: its action's, else today in the company's time zone."""
    return msg.action.as_of if msg.action is not None else today_in(msg.company.time_zone)


def recover_stuck(older_than: timedelta = STUCK_AFTER) -> int:
    """Put messages back in the queue whose sender died: their lease ran out ``older_than`` ago. (Senders
    take such messages themselves; this only makes the queue show them as queued.)"""
    now = timezone.now() - older_than
    return OutboundMessage.objects.filter(_lapsed(now)).update(
        status=MessageStatus.QUEUED, claim="", claimed_until=None
    )


def mark_killed_runs(now: datetime | None = None) -> int:
    """Runs still "running" whose process is gone (killed): on this host, a run whose process id no longer
    exists; anywhere, a run still "running" after ``RUN_STALE_AFTER``. Marked failed with
    ``stats={"killed": true}``; what they committed stays, the next run on the date does the rest."""
    now = now or timezone.now()
    running = Run.objects.filter(status=RunStatus.RUNNING)
    host = socket.gethostname()
    gone = [
        pk
        for pk, owner in running.values_list("pk", "stats")
        if isinstance(owner, dict)
        and owner.get("host") == host
        and isinstance(owner.get("pid"), int)
        and not _process_alive(owner["pid"])
    ]
    return running.filter(Q(started_at__lt=now - RUN_STALE_AFTER) | Q(pk__in=gone)).update(
        status=RunStatus.FAILED, finished_at=now, stats={"killed": True}
    )


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # another user's process, or a pid this system cannot check
        return True
    return True


@dataclass
class RetryResult:
    requeued: list[int] = field(default_factory=list)
    withdrawn: dict[str, int] = field(default_factory=dict)  # per reason
    superseded: list[int] = field(default_factory=list)  # a later step was taken meanwhile
    no_address: list[int] = field(default_factory=list)  # an email whose debtor has no valid address now
    not_failed: list[int] = field(default_factory=list)  # asked for by id, but not failed (or not found)


def retry_failed(
    company: Company | None = None, ids: Sequence[int] | None = None, *, now: datetime | None = None
) -> RetryResult:
    """Put failed messages back in the queue (all of ``company``'s, or those of ``ids``).

    A collection message gets its step back (action and items active again) and is then checked against
    the ledger (:func:`stale_reasons`): one that no longer fits is withdrawn, not sent. One whose debtor has
    had a later step meanwhile (the next run already gave the step again) stays failed. An email goes to
    the debtor's current address (one corrected since is used); without a valid one it stays failed."""
    now = now or timezone.now()
    result = RetryResult()
    failed = OutboundMessage.objects.filter(status=MessageStatus.FAILED)
    if company is not None:
        failed = failed.filter(company=company)
    if ids is not None:
        failed = failed.filter(pk__in=list(ids))
    with transaction.atomic():
        messages = list(failed.select_for_update().order_by("id"))
        if ids is not None:
            found = {m.pk for m in messages}
            result.not_failed = [i for i in ids if i not in found]
        action_ids = {m.action_id for m in messages if m.action_id is not None}
        actions = {a.pk: a for a in Action.objects.filter(pk__in=action_ids)}
        later = set(
            Action.objects.filter(
                debtor_id__in={a.debtor_id for a in actions.values()}, status=ActionStatus.ACTIVE
            )
            .exclude(pk__in=action_ids)
            .values_list("debtor_id", "as_of")
        )
        emails = email_recipients({m.debtor_id for m in messages if m.channel == "email"})
        chosen = []
        for msg in messages:
            action = actions.get(msg.action_id or 0)
            if action is not None and any(d == action.debtor_id and day >= action.as_of for d, day in later):
                result.superseded.append(msg.pk)
                continue
            if msg.channel == "email":
                address = emails.get(msg.debtor_id)
                if address is None:
                    result.no_address.append(msg.pk)
                    continue
                if address.lower() != msg.recipient.lower():
                    msg.recipient = address
                    OutboundMessage.objects.filter(pk=msg.pk).update(recipient=address)
            chosen.append(msg)
        if not chosen:
            return result
        back = [m.action_id for m in chosen if m.action_id is not None]
        Action.objects.filter(pk__in=back).update(status=ActionStatus.ACTIVE)
        ActionItem.objects.filter(action_id__in=back).update(status=ActionStatus.ACTIVE)
        OutboundMessage.objects.filter(pk__in=[m.pk for m in chosen]).update(
            status=MessageStatus.QUEUED,
            attempts=0,
            first_attempt_at=None,
            next_attempt_at=None,
            claim="",
            claimed_until=None,
        )
        for msg in chosen:
            msg.status = MessageStatus.QUEUED
        today = today_in(chosen[0].company.time_zone)
        stale = stale_reasons(chosen)
        for msg in chosen:  # it goes out as written: its deadline must still leave the customer time
            deadline = actions[msg.action_id].deadline if msg.action_id in actions else None
            if (
                msg.pk not in stale
                and deadline is not None
                and (deadline - today).days < RETRY_MIN_DEADLINE_DAYS
            ):
                stale[msg.pk] = ("deadline", {"deadline": deadline, "days": RETRY_MIN_DEADLINE_DAYS})
        if stale:
            result.withdrawn = withdraw(chosen, stale, today)
        result.requeued = [m.pk for m in chosen if m.pk not in stale]
        # the step counts again: the default it causes when received now, as the run would have booked it
        from mahnwerk.collection.consequences import restore_default

        restore_default(
            [actions[m.action_id] for m in chosen if m.pk not in stale and m.action_id in actions], today
        )
    return result


def _written_on(msg: OutboundMessage) -> date:
    """The business date a message was written for (its run's date)."""
    return msg.business_date or _day(msg)


Reason = tuple[str, dict[str, Any]]  # a ``timeline.WITHDRAWAL_REASONS`` key and the details its text names
_Row = tuple[int, int, int, bool]  # invoice id, open amount listed, open amount now, invoice on hold


def stale_reasons(
    messages: Sequence[OutboundMessage], *, print_date: date | None = None
) -> dict[int, Reason]:
    """Which of ``messages`` no longer fit the ledger, and why: message id -> reason.

    Only collection messages (those of an action) are looked at. One is stale when an item it lists is now
    open for less than it says (paid, credited, written off), on hold, in an open dispute, or covered by an
    agreement that is live on the message's business date: a pending promise up to its date plus grace
    unless its amount came in, a proposed plan up to its deadline to confirm, a running plan, a settlement
    or an incentive offered up to its deadline (not the playbook's own offer made on that date, which the
    message itself carries); or when the debtor is not to be contacted or its case is on hold. With
    ``print_date`` (the letters' print batch) a letter is also stale when its action's deadline is fewer
    than ``LETTER_MIN_DEADLINE_DAYS`` after that date, once moved with the letter's re-dating.

    One message per debtor at a time: a later one while an earlier has not gone out is ``superseded``.

    Set-based: at most ten queries, however many messages.
    """
    checked = [m for m in messages if m.action_id is not None]
    if not checked:
        return {}
    items: dict[int, list[_Row]] = defaultdict(list)
    for action_id, invoice_id, listed, open_now, on_hold in ActionItem.objects.filter(
        action_id__in=[m.action_id for m in checked], status=ActionStatus.ACTIVE
    ).values_list("action_id", "invoice_id", "open_minor", "invoice__open_minor", "invoice__on_hold"):
        items[action_id].append((invoice_id, listed, open_now, on_hold))
    flags = {
        pk: (bool(dnc), bool(hold))
        for pk, dnc, hold in Debtor.objects.filter(pk__in={m.debtor_id for m in checked})
        .filter(Q(do_not_contact=True) | Q(case__on_hold=True))
        .values_list("pk", "do_not_contact", "case__on_hold")
    }
    invoice_ids = sorted({row[0] for rows in items.values() for row in rows})
    covers = _Covers.load(invoice_ids)
    reasons: dict[int, Reason] = {}
    for msg in checked:
        found = _stale(
            msg, items.get(msg.action_id or 0, []), flags.get(msg.debtor_id, (False, False)), covers
        )
        if found is None and print_date is not None and msg.channel == "letter":
            found = _late_letter(msg, print_date)
        if found is not None:
            reasons[msg.pk] = found
    _superseded(checked, reasons)
    return reasons


def _superseded(checked: Sequence[OutboundMessage], reasons: dict[int, Reason]) -> None:
    """One collection message at a time: where a debtor has an earlier one that has not gone out yet (a
    letter waiting for the print batch, an email the mail server keeps refusing), a later one would reach the
    customer with it, the next step beside the one before, each with its own total. The earliest still
    fitting goes; the later ones are withdrawn (their steps come again after its deadline)."""
    unsent: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for pk, debtor_id, day in (
        OutboundMessage.objects.filter(
            debtor_id__in={m.debtor_id for m in checked},
            action__isnull=False,
            status__in=[MessageStatus.QUEUED, MessageStatus.SENDING],
        )
        .annotate(day=Coalesce("business_date", "action__as_of"))
        .values_list("pk", "debtor_id", "day")
    ):
        if pk not in reasons:
            unsent[debtor_id].append((day, pk))
    for msg in checked:
        if msg.pk in reasons or len(unsent.get(msg.debtor_id, ())) < 2:
            continue
        first_day, first = min(unsent[msg.debtor_id])
        if first != msg.pk:
            reasons[msg.pk] = ("superseded", {"date": first_day})


class _Covers:
    """The open disputes and live agreements on some invoices, with the dates they hold until."""

    def __init__(self) -> None:
        self.disputed: set[int] = set()
        # invoice -> (promise id, made on, last day with grace, amount promised)
        self.promises: dict[int, list[tuple[int, date, date, int]]] = defaultdict(list)
        self.paid: dict[int, list[tuple[date, int]]] = defaultdict(list)  # promise -> payments on its items
        self.plans: dict[int, list[date | None]] = defaultdict(list)  # invoice -> confirm by (None: running)
        self.settlements: dict[int, list[date]] = defaultdict(list)  # invoice -> deadline
        self.incentives: dict[int, list[tuple[date, date, str]]] = defaultdict(
            list
        )  # deadline, offered, actor

    @classmethod
    def load(cls, invoice_ids: Sequence[int]) -> _Covers:
        """In at most six queries."""
        covers = cls()
        if not invoice_ids:
            return covers
        covers.disputed = set(
            Dispute.objects.filter(invoice_id__in=invoice_ids, status=DisputeStatus.OPEN).values_list(
                "invoice_id", flat=True
            )
        )
        for (
            invoice_id,
            promise_id,
            made_on,
            promised,
            grace,
            amount,
        ) in Promise.invoices.through.objects.filter(
            invoice_id__in=invoice_ids, promise__status=PromiseStatus.PENDING
        ).values_list(
            "invoice_id",
            "promise_id",
            "promise__made_on",
            "promise__promised_date",
            "promise__grace_days",
            "promise__amount_minor",
        ):
            covers.promises[invoice_id].append(
                (promise_id, made_on, promised + timedelta(days=grace), amount)
            )
        if covers.promises:  # payments on all the promises' items: a promise whose amount came in is kept
            promise_ids = {row[0] for rows in covers.promises.values() for row in rows}
            for promise_id, value_date, amount in Allocation.objects.filter(
                payment__isnull=False, invoice__promises__in=promise_ids
            ).values_list("invoice__promises", "value_date", "amount_minor"):
                covers.paid[promise_id].append((value_date, amount))
        for invoice_id, status, confirm_by in InstalmentPlan.invoices.through.objects.filter(
            invoice_id__in=invoice_ids,
            instalmentplan__status__in=[PlanStatusChoice.PROPOSED, PlanStatusChoice.ACTIVE],
        ).values_list("invoice_id", "instalmentplan__status", "instalmentplan__confirm_by"):
            covers.plans[invoice_id].append(confirm_by if status == PlanStatusChoice.PROPOSED else None)
        for invoice_id, deadline in Settlement.invoices.through.objects.filter(
            invoice_id__in=invoice_ids, settlement__status=OfferStatus.OFFERED
        ).values_list("invoice_id", "settlement__deadline"):
            covers.settlements[invoice_id].append(deadline)
        for invoice_id, deadline, offered_on, actor in Incentive.invoices.through.objects.filter(
            invoice_id__in=invoice_ids, incentive__status=OfferStatus.OFFERED
        ).values_list("invoice_id", "incentive__deadline", "incentive__offered_on", "incentive__actor"):
            covers.incentives[invoice_id].append((deadline, offered_on, actor))
        return covers

    def promise(self, invoice_id: int, day: date) -> bool:
        """A pending promise holds the item on ``day`` (``core.promise_state``: up to its last day, not kept)."""
        for promise_id, made_on, last_day, amount in self.promises.get(invoice_id, ()):
            paid = sum(a for d, a in self.paid.get(promise_id, ()) if made_on <= d <= min(day, last_day))
            if day <= last_day and paid < amount:
                return True
        return False

    def plan(self, invoice_id: int, day: date) -> bool:
        return any(by is None or day <= by for by in self.plans.get(invoice_id, ()))

    def settlement(self, invoice_id: int, day: date) -> bool:
        return any(day <= deadline for deadline in self.settlements.get(invoice_id, ()))

    def incentive(self, invoice_id: int, day: date) -> bool:
        return any(
            day <= deadline and not (actor == PLAYBOOK_ACTOR and offered_on == day)
            for deadline, offered_on, actor in self.incentives.get(invoice_id, ())
        )


def _stale(
    msg: OutboundMessage, rows: Sequence[_Row], flags: tuple[bool, bool], covers: _Covers
) -> Reason | None:
    day = _written_on(msg)
    for reason, holds in (
        ("paid", lambda row: row[2] < row[1]),
        ("invoice_hold", lambda row: row[3]),
        ("dispute", lambda row: row[0] in covers.disputed),
        ("promise", lambda row: covers.promise(row[0], day)),
        ("plan", lambda row: covers.plan(row[0], day)),
        ("settlement", lambda row: covers.settlement(row[0], day)),
        ("incentive", lambda row: covers.incentive(row[0], day)),
    ):
        if any(holds(row) for row in rows):
            return reason, {}
    not_to_contact, case_hold = flags
    if not_to_contact:
        return "do_not_contact", {}
    if case_hold:
        return "case_hold", {}
    return None


def _late_letter(msg: OutboundMessage, print_date: date) -> Reason | None:
    """A letter printed after the day it was written is re-dated to the print date with its deadline moved
    as far (``comms.letters_batch.redate``); one whose step gives fewer than ``LETTER_MIN_DEADLINE_DAYS``
    even then is withdrawn."""
    deadline = msg.action.deadline if msg.action is not None else None
    if deadline is None:
        return None
    moved = deadline + max(print_date - _written_on(msg), timedelta(0))
    if (moved - print_date).days < LETTER_MIN_DEADLINE_DAYS:
        return "deadline", {"deadline": deadline, "days": LETTER_MIN_DEADLINE_DAYS}
    return None


@transaction.atomic
def withdraw(
    messages: Sequence[OutboundMessage], reasons: Mapping[int, Reason], on: date | None = None
) -> dict[str, int]:
    """Withdraw the messages named in ``reasons`` (see :func:`stale_reasons`): cancelled with the reason in
    ``last_error``, their actions and action items cancelled (the next run decides afresh), and a
    ``message_withdrawn`` event on the timeline dated ``on`` (default: the message's business date).

    Only a message still queued, or being sent under the caller's own claim, is withdrawn; one another
    sender claimed meanwhile is left to it (it checks again before sending). Returns the count per reason.
    """
    chosen = [m for m in messages if m.pk in reasons]
    if not chosen:
        return {}
    claims = {m.claim for m in chosen if m.status == MessageStatus.SENDING and m.claim}
    ours = Q(status=MessageStatus.QUEUED) | Q(status=MessageStatus.SENDING, claim__in=claims)
    held = set(
        OutboundMessage.objects.select_for_update()
        .filter(ours, pk__in=[m.pk for m in chosen])
        .values_list("pk", flat=True)
    )
    chosen = [m for m in chosen if m.pk in held]
    groups: dict[str, list[OutboundMessage]] = defaultdict(list)
    for msg in chosen:
        groups[reasons[msg.pk][0]].append(msg)
    for reason, group in groups.items():  # one UPDATE per reason (a handful at most)
        with translation.override("en"):
            text = timeline.withdrawal_reason(reason, reasons[group[0].pk][1])
        OutboundMessage.objects.filter(pk__in=[m.pk for m in group]).update(
            status=MessageStatus.CANCELLED, last_error=f"withdrawn before sending: {text}"[:2000], claim=""
        )
    from mahnwerk.collection.services import cancel_actions

    cancel_actions({m.action_id for m in chosen if m.action_id is not None})
    timeline.record(
        timeline.event(
            m.debtor_id,
            m.company_id,
            "message_withdrawn",
            on or _written_on(m),
            channel=m.channel,
            subject=m.subject[:200],
            reason=reasons[m.pk][0],
            **reasons[m.pk][1],
        )
        for m in chosen
    )
    return {reason: len(group) for reason, group in groups.items()}


def recheck_queued(
    *,
    debtor_ids: Iterable[int] | None = None,
    invoice_ids: Iterable[int] | None = None,
    on: date | None = None,
) -> dict[str, int]:
    """Check the queued collection messages of ``debtor_ids`` (or those listing ``invoice_ids``) against the
    ledger now and withdraw those that no longer fit: after a payment, a credit note, an agreement, a dispute.
    Returns the count per reason."""
    queued = OutboundMessage.objects.filter(status=MessageStatus.QUEUED, action__isnull=False)
    if debtor_ids is not None:
        queued = queued.filter(debtor_id__in=list(debtor_ids))
    if invoice_ids is not None:
        queued = queued.filter(
            pk__in=ActionItem.objects.filter(
                invoice_id__in=list(invoice_ids), status=ActionStatus.ACTIVE
            ).values("action__message")
        )
    messages = list(queued.select_related("company", "action"))
    return withdraw(messages, stale_reasons(messages), on) if messages else {}


def withdraw_agreement_messages(company: Company, key: str, on: date) -> int:
    """Withdraw the queued messages about one agreement (``key``: ``plan.7``, ``promise.3``; its proposal,
    confirmation, reminders) once it is cancelled: a plan cancelled before its proposal went out must not
    reach the debtor. Returns how many were withdrawn."""
    prefix = f"<agreement.{company.slug}.{key}."
    queued = list(
        OutboundMessage.objects.filter(
            company=company, status=MessageStatus.QUEUED, action__isnull=True, message_id__startswith=prefix
        )
    )
    reasons: dict[int, Reason] = {m.pk: ("agreement_cancelled", {}) for m in queued}
    return sum(withdraw(queued, reasons, on).values())


def cancel_stale(debtor_ids: set[int], business_date: date | None) -> int:
    """A payment or credit note lowered these debtors' items: withdraw their queued messages that no longer fit."""
    return sum(recheck_queued(debtor_ids=debtor_ids, on=business_date).values())


def outbox_counts(company: Company | None = None) -> dict[str, int]:
    qs = OutboundMessage.objects.all() if company is None else OutboundMessage.objects.filter(company=company)
    return {row["status"]: row["n"] for row in qs.values("status").annotate(n=Count("id")).order_by()}


def retrying_count(company: Company | None = None) -> int:
    """Queued messages waiting for another attempt after a temporary failure."""
    qs = OutboundMessage.objects.filter(status=MessageStatus.QUEUED, next_attempt_at__isnull=False)
    return (qs if company is None else qs.filter(company=company)).count()


def day_counts(company: Company, business_date: date) -> dict[str, int]:
    """The emails and SMS of one business date (a run's): sent, queued (or being sent), retrying (of the
    queued), failed (or bounced); and its letters waiting for the print batch."""
    rows = (
        OutboundMessage.objects.filter(company=company, business_date=business_date)
        .values("channel", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_status: dict[str, int] = defaultdict(int)
    letters = 0
    for row in rows:
        if row["channel"] == "letter":
            letters += row["n"] if row["status"] == MessageStatus.QUEUED else 0
        else:
            by_status[row["status"]] += row["n"]
    retrying = OutboundMessage.objects.filter(
        company=company,
        business_date=business_date,
        status=MessageStatus.QUEUED,
        next_attempt_at__isnull=False,
    ).count()
    return {
        "sent": by_status.get(MessageStatus.SENT, 0),
        "queued": by_status.get(MessageStatus.QUEUED, 0) + by_status.get(MessageStatus.SENDING, 0),
        "retrying": retrying,
        "failed": by_status.get(MessageStatus.FAILED, 0) + by_status.get(MessageStatus.BOUNCED, 0),
        "letters": letters,
    }


ATTENTION_DAYS = 7


def _attention(today: date, days: int) -> dict[str, Q]:
    """What :func:`attention_counts` counts: ``retrying`` and ``failed`` (the latter of the last ``days``)."""
    since = today - timedelta(days=days - 1)
    recent = Q(business_date__gte=since) | Q(business_date__isnull=True, created_at__date__gte=since)
    given_up = Q(status__in=[MessageStatus.FAILED, MessageStatus.BOUNCED])
    return {
        "retrying": Q(status=MessageStatus.QUEUED, next_attempt_at__isnull=False),
        "failed": given_up & recent,
        "given_up": given_up,
    }


def attention_messages(
    company: Company, today: date, state: str, days: int = ATTENTION_DAYS
) -> QuerySet[OutboundMessage]:
    """The emails and SMS :func:`attention_counts` counts as ``state`` ("failed" or "retrying"), newest first."""
    if state not in {"failed", "retrying"}:
        raise ValueError(state)
    return (
        OutboundMessage.objects.filter(company=company)
        .filter(_attention(today, days)[state])
        .exclude(channel="letter")
        .order_by("-created_at", "-pk")
    )


def attention_counts(company: Company, today: date, days: int = ATTENTION_DAYS) -> dict[str, int]:
    """The emails and SMS that need an eye, across days (one query, on the status index): ``retrying`` —
    queued again after a temporary failure, whatever their day; ``failed`` — failed for good or bounced,
    written in the last ``days`` days (``mahnwerk outbox retry`` queues the failed ones again)."""
    found = _attention(today, days)
    waiting, given_up = found["retrying"], found["given_up"]
    counts = (
        OutboundMessage.objects.filter(company=company)
        .filter(waiting | found["failed"])
        .exclude(channel="letter")
        .aggregate(retrying=Count("id", filter=waiting), failed=Count("id", filter=given_up))
    )
    return {"retrying": counts["retrying"] or 0, "failed": counts["failed"] or 0, "days": days}
