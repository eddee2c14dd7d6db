"""The exact message that went out, one click from the case file's conversation.

Each outgoing message of a debtor is one entry of the conversation with its state (queued, retrying, sent,
failed, bounced, returned, withdrawn); the entry opens the message as it was built for sending: its headers,
its text, its HTML part (in a sandboxed frame that runs no script and loads nothing), the letter's PDF, the
SMS text. The debtor is looked up within the member's company and the message within the debtor, so another
company's message is "not found".
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from mahnwerk.comms import creditor, sent_pdfs
from mahnwerk.comms.compose import ensure_rendered, render_debtor
from mahnwerk.comms.debtor_documents import LETTER, LETTER_STATUSES, safe_filename
from mahnwerk.comms.documents import html_message, qr_png
from mahnwerk.comms.email_build import build_email, letter_filename, wants_pdf
from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.ledger.models import ChannelChoice, Company, Debtor
from mahnwerk.ledger.timeline_display import actor_label
from mahnwerk.web.access import CompanyRequest, member_required

# The timeline events that only tell a message's way out; the conversation shows the message itself (one
# entry with its present state) instead of them. Events that say what followed for the account (a failure
# that gives the step back, a bounce that marks the address invalid, a letter returned, a message withdrawn
# with its reason) stay on the conversation too.
MESSAGE_EVENT_KINDS = frozenset({"message_queued", "message_sent", "message_cancelled", "letter_printed"})

STATE_LABELS: dict[str, Any] = {
    "queued": gettext_lazy("queued"),
    "waiting": gettext_lazy("waiting for the next moment contact is allowed"),
    "retrying": gettext_lazy("retrying after a temporary failure"),
    "sending": gettext_lazy("being sent"),
    "sent": gettext_lazy("sent"),
    "printed": gettext_lazy("printed for the post"),
    "failed": gettext_lazy("failed"),
    "bounced": gettext_lazy("bounced"),
    "returned": gettext_lazy("returned by the post"),
    "withdrawn": gettext_lazy("withdrawn before it went out"),
}

MESSAGES_SHOWN = 100


def message_state(msg: OutboundMessage, now: datetime | None = None) -> str:
    """The message's state as the clerk reads it: a queued message that failed before is ``retrying``, one
    deferred to a later moment ``waiting``; a sent letter is ``printed``; a cancelled one ``withdrawn``."""
    now = now or timezone.now()
    if msg.status == MessageStatus.QUEUED:
        if msg.attempts and msg.last_error:
            return "retrying"
        if msg.not_before is not None and msg.not_before > now:
            return "waiting"
        return "queued"
    if msg.status == MessageStatus.SENT and msg.channel == ChannelChoice.LETTER:
        return "printed"
    if msg.status == MessageStatus.CANCELLED:
        return "withdrawn"
    return str(msg.status)


@dataclass
class Entry:
    """One line of the case file's conversation: a timeline event, an outgoing message or a note."""

    kind: str  # "event", "message" or "note"
    day: date
    at: datetime | None
    text: str
    who: str = ""
    state: str = ""
    state_label: str = ""
    url: str = ""

    @property
    def order(self) -> tuple[date, float, int]:
        return (
            self.day,
            self.at.timestamp() if self.at else 0.0,
            {"event": 0, "message": 1, "note": 2}[self.kind],
        )


def debtor_messages(
    company: Company, debtor: Debtor, limit: int = MESSAGES_SHOWN
) -> QuerySet[OutboundMessage]:
    """The debtor's newest outgoing messages (without their texts and data), newest first."""
    render_debtor(debtor.pk)
    return (
        OutboundMessage.objects.filter(company=company, debtor=debtor)
        .defer("body_text", "payload")
        .order_by("-created_at", "-pk")[:limit]
    )


def message_entry(msg: OutboundMessage, now: datetime) -> Entry:
    state = message_state(msg, now)
    what = msg.get_channel_display()
    text = _("{channel} to {recipient}: {subject}").format(
        channel=what, recipient=msg.recipient or "–", subject=msg.subject or what
    )
    return Entry(
        kind="message",
        day=msg.business_date or timezone.localdate(msg.created_at),
        at=msg.created_at,
        text=text,
        who=actor_label("system"),
        state=state,
        state_label=str(STATE_LABELS.get(state, msg.get_status_display())),
        url=reverse("web:debtor_message", kwargs={"pk": msg.debtor_id, "msg_id": msg.pk}),
    )


def _letter_pdf(msg: OutboundMessage) -> bool:
    """Whether the message has a letter PDF to download from the case file's documents: a letter, or an email
    that carries one (once sent, only if its PDF was kept)."""
    if msg.status not in LETTER_STATUSES:
        return False
    if msg.channel == ChannelChoice.LETTER:
        return True
    return msg.channel == ChannelChoice.EMAIL and (
        sent_pdfs.is_kept(msg) if msg.status == MessageStatus.SENT else wants_pdf(msg)
    )


def _headers(msg: OutboundMessage) -> list[tuple[str, str]]:
    """The headers the email carries (as ``comms.email_build.build_email`` writes them)."""
    company = msg.company
    sender = creditor.from_header(company)
    headers = [("From", sender)]
    if not creditor.is_configured_sender(sender):
        headers.append(("Sender", str(settings.DEFAULT_FROM_EMAIL)))
    headers += [("To", msg.recipient)]
    reply_to = creditor.reply_to(company)
    if reply_to:
        headers.append(("Reply-To", ", ".join(reply_to)))
    headers += [
        ("Subject", msg.subject),
        ("Message-ID", msg.message_id),
        ("Content-Language", msg.language),
    ]
    return headers


def _message(request: CompanyRequest, pk: int, msg_id: int) -> tuple[Debtor, OutboundMessage]:
    """The debtor within the member's company, the message within the debtor; else "not found"."""
    debtor = get_object_or_404(Debtor.objects.select_related("company"), company=request.company, pk=pk)
    msg = get_object_or_404(
        OutboundMessage.objects.select_related("company"), company=request.company, debtor=debtor, pk=msg_id
    )
    ensure_rendered([msg])
    return debtor, msg


def email_file(msg: OutboundMessage) -> bytes:
    """The email of ``msg`` as an RFC 5322 file, built as the sender builds it (``build_email``): dated when
    it was sent (if it was), and with the letter PDF that was kept when it went out rather than a new one."""
    email = build_email(msg)
    if msg.sent_at is not None:
        email.extra_headers["Date"] = msg.sent_at
    kept = sent_pdfs.kept(msg)
    if kept is not None:
        name = letter_filename(msg.subject)
        email.attachments = [
            (name, kept, "application/pdf") if isinstance(a, tuple) and a[0] == name else a
            for a in email.attachments
        ]
    return bytes(email.message().as_bytes())


@require_safe
@never_cache
@member_required()
def debtor_message_file(request: CompanyRequest, pk: int, msg_id: int) -> HttpResponse:
    """The email as a file (``.eml``) to open in a mail program or forward."""
    _debtor, msg = _message(request, pk, msg_id)
    if msg.channel != ChannelChoice.EMAIL:
        raise Http404("only emails are files")
    content = email_file(msg)
    response = HttpResponse(content, content_type="message/rfc822")
    day = (msg.business_date or timezone.localdate(msg.created_at)).isoformat()
    response["Content-Disposition"] = content_disposition_header(
        True, safe_filename(f"{day} {msg.subject}", ".eml")
    )
    return response


@require_safe
@never_cache
@member_required()
def debtor_message(request: CompanyRequest, pk: int, msg_id: int) -> Any:
    """One outgoing message of the debtor as it was built for sending, with its state."""
    debtor, msg = _message(request, pk, msg_id)
    now = timezone.now()
    state = message_state(msg, now)
    html = ""
    if msg.channel == ChannelChoice.EMAIL:
        png = qr_png(msg)
        src = f"data:image/png;base64,{base64.b64encode(png).decode('ascii')}" if png else None
        html = html_message(msg.subject, msg.body_text, msg.language, src)
    letter_url = (
        reverse("web:debtor_document", kwargs={"pk": debtor.pk, "kind": LETTER, "doc_id": msg.pk})
        if _letter_pdf(msg)
        else ""
    )
    context = {
        "debtor": debtor,
        "msg": msg,
        "state": state,
        "state_label": STATE_LABELS.get(state, msg.get_status_display()),
        "headers": _headers(msg) if msg.channel == ChannelChoice.EMAIL else [],
        "html": html,
        "letter_url": letter_url,
        "next_attempt": (
            date_format(timezone.localtime(msg.next_attempt_at), "SHORT_DATETIME_FORMAT")
            if state == "retrying" and msg.next_attempt_at
            else ""
        ),
        "back": reverse("web:debtor", kwargs={"pk": debtor.pk}) + "?tab=conversation",
        "file_url": (
            reverse("web:debtor_message_file", kwargs={"pk": debtor.pk, "msg_id": msg.pk})
            if msg.channel == ChannelChoice.EMAIL
            else ""
        ),
    }
    return render(request, "web/message.html", context)


ATTENTION_SHOWN = 200
ATTENTION_TITLES: dict[str, Any] = {
    "failed": gettext_lazy("Emails and SMS that failed"),
    "retrying": gettext_lazy("Emails and SMS waiting to be tried again"),
}


@require_safe
@never_cache
@member_required()
def outbox_attention(request: CompanyRequest, state: str) -> HttpResponse:
    """The emails and SMS the home page counts as failed (last 7 days) or waiting to be tried again, newest
    first, each with its debtor, its error and a link to the message."""
    from mahnwerk.comms.outbox import ATTENTION_DAYS, attention_messages
    from mahnwerk.ledger.services import company_today

    if state not in ATTENTION_TITLES:
        raise Http404("no such list")
    company = request.company
    found = list(
        attention_messages(company, company_today(company), state)
        .select_related("debtor")
        .defer("body_text", "payload")[: ATTENTION_SHOWN + 1]
    )
    rows = [
        {
            "msg": msg,
            "day": msg.business_date or timezone.localdate(msg.created_at),
            "url": reverse("web:debtor_message", kwargs={"pk": msg.debtor_id, "msg_id": msg.pk}),
            "debtor_url": reverse("web:debtor", kwargs={"pk": msg.debtor_id}),
            "next_attempt": (
                date_format(timezone.localtime(msg.next_attempt_at), "SHORT_DATETIME_FORMAT")
                if msg.next_attempt_at
                else ""
            ),
        }
        for msg in found[:ATTENTION_SHOWN]
    ]
    return render(
        request,
        "web/outbox_attention.html",
        {
            "state": state,
            "title": ATTENTION_TITLES[state],
            "rows": rows,
            "more": len(found) > ATTENTION_SHOWN,
            "shown": ATTENTION_SHOWN,
            "days": ATTENTION_DAYS,
        },
    )
