"""The outbox: messages are written with their action in one transaction and sent after commit.

State machine: queued -> sending -> sent | failed (after MAX_ATTEMPTS) ; queued -> cancelled.
Workers claim messages with a conditional UPDATE, so two senders never send one message twice;
the Message-ID is deterministic, so a resend after a crash is recognisable (the outbox folder
backend simply overwrites the same file).

Just before a collection message goes out (and when the letters are printed, and whenever a payment, an
agreement or a dispute touches its items) it is compared with the ledger as it stands then
(:func:`stale_reasons`); one that no longer fits is withdrawn (:func:`withdraw`): cancelled with its
action, so the next run decides afresh with that day's figures.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import mailers
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone, translation

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
from mahnwerk.collection.models import Action, ActionItem, ActionStatus, Dispute
from mahnwerk.comms import creditor
from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.core.calendar import today_in
from mahnwerk.ledger import timeline
from mahnwerk.ledger.models import Allocation, Company, Debtor

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
CLAIM_BATCH = 500
STUCK_AFTER = timedelta(minutes=10)
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


def send_queued(company: Company | None = None, limit: int | None = None) -> dict[str, Any]:
    """Send queued emails and SMS whose time has come, in claimed batches. Safe in several processes.

    If the mail server or the SMS provider cannot be reached, nothing more is claimed: the messages
    stay queued for the next attempt and the error is returned (and logged), not raised. Letters are
    not sent here: they go into the daily print batch (``comms.letters_batch``). A claimed collection
    message that no longer fits the ledger is withdrawn instead of sent (counted as ``withdrawn``).
    """
    counts: dict[str, Any] = {"sent": 0, "failed": 0, "retry": 0, "withdrawn": 0}
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


def _send_batch(transport: Any, batch: list[OutboundMessage], counts: dict[str, Any]) -> None:
    from mahnwerk.comms.sms_gateway import SmsSendError

    stale = stale_reasons(batch)
    if stale:  # the ledger moved since the message was written: withdraw it, send the rest
        counts["withdrawn"] += sum(withdraw(batch, stale).values())
        batch = [m for m in batch if m.pk not in stale]
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

    Set-based: at most nine queries, however many messages.
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
    return reasons


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


def cancel_stale(debtor_ids: set[int], business_date: date | None) -> int:
    """A payment or credit note lowered these debtors' items: withdraw their queued messages that no longer fit."""
    return sum(recheck_queued(debtor_ids=debtor_ids, on=business_date).values())


def outbox_counts(company: Company | None = None) -> dict[str, int]:
    qs = OutboundMessage.objects.all() if company is None else OutboundMessage.objects.filter(company=company)
    return {row["status"]: row["n"] for row in qs.values("status").annotate(n=Count("id")).order_by()}
