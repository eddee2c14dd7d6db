"""Mail that comes back: delivery status notifications (bounces, RFC 3464) and replies from debtors.

A hard bounce (status 5.x.x) marks the address invalid and cancels the step, so the next run gives
it again on another channel (a letter when there is a postal address). A soft bounce (4.x.x) is only
noted. A reply is matched to the message it answers and becomes a task for a person to read.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage, Message

from django.db import transaction

from mahnwerk.collection.models import Task, TaskKind, TaskStatus
from mahnwerk.collection.services import cancel_actions
from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.ledger import timeline
from mahnwerk.ledger.models import Contact
from mahnwerk.ledger.services import company_today


@dataclass
class InboundResult:
    kind: str  # "hard_bounce", "soft_bounce", "reply", "unmatched"
    message_id: int | None = None
    recipient: str = ""
    status: str = ""


def _original_message_id(report: Message) -> str | None:
    for part in report.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            if ctype == "message/rfc822":
                inner = part.get_payload(0) if part.is_multipart() else None
                if isinstance(inner, Message) and inner.get("Message-ID"):
                    return str(inner["Message-ID"]).strip()
            payload = part.get_payload(decode=True) or b""
            if isinstance(payload, bytes):
                found = re.search(rb"^Message-ID:\s*(<[^>]+>)", payload, re.I | re.M)
                if found:
                    return found.group(1).decode("ascii", "replace")
    return None


def _delivery_status(report: Message) -> tuple[str, str, str]:
    """(action, status, final recipient) of the first per-recipient block of a DSN."""
    for part in report.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        text = ""
        if part.is_multipart():
            text = "\n".join(str(block) for block in part.get_payload())
        else:
            raw = part.get_payload(decode=True)
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(part.get_payload())
        fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.+?)\s*$", text, re.M))
        lower = {k.lower(): v for k, v in fields.items()}
        recipient = lower.get("final-recipient", lower.get("original-recipient", "")).split(";")[-1].strip()
        return lower.get("action", "").lower(), lower.get("status", ""), recipient
    return "", "", ""


@transaction.atomic
def process_inbound(raw: bytes) -> InboundResult:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    is_dsn = (
        parsed.get_content_type() == "multipart/report"
        and parsed.get_param("report-type") == "delivery-status"
    )
    if is_dsn:
        original = _original_message_id(parsed)
        action, status, recipient = _delivery_status(parsed)
        msg = (
            OutboundMessage.objects.filter(message_id=original).select_related("company").first()
            if original
            else None
        )
        if msg is None:
            return InboundResult("unmatched", None, recipient, status)
        hard = status.startswith("5") or (action == "failed" and not status.startswith("4"))
        day = company_today(msg.company)
        if not hard:
            return InboundResult("soft_bounce", msg.pk, recipient, status)
        address = recipient or msg.recipient
        Contact.objects.filter(debtor_id=msg.debtor_id, kind="email", value__iexact=address).update(
            is_valid=False
        )
        OutboundMessage.objects.filter(pk=msg.pk).update(
            status=MessageStatus.BOUNCED, last_error=f"bounce {status}"
        )
        if msg.action_id:
            cancel_actions([msg.action_id])
        timeline.event(
            msg.debtor_id, msg.company_id, "message_bounced", day, recipient=address, status=status
        ).save()
        return InboundResult("hard_bounce", msg.pk, address, status)
    refs = " ".join(str(parsed.get(h, "")) for h in ("In-Reply-To", "References"))
    ids = re.findall(r"<[^>]+>", refs)
    msg = (
        OutboundMessage.objects.filter(message_id__in=ids).select_related("company").first() if ids else None
    )
    if msg is None:
        return InboundResult("unmatched")
    day = company_today(msg.company)
    subject = str(parsed.get("Subject", ""))[:200]
    timeline.event(msg.debtor_id, msg.company_id, "reply_received", day, subject=subject).save()
    if not Task.objects.filter(
        debtor_id=msg.debtor_id, kind=TaskKind.REVIEW, status=TaskStatus.OPEN
    ).exists():
        Task.objects.create(
            company_id=msg.company_id,
            debtor_id=msg.debtor_id,
            kind=TaskKind.REVIEW,
            due_on=day,
            notes=subject,
        )
    return InboundResult("reply", msg.pk, str(parsed.get("From", "")))
