"""Messages about agreements and disputes: rendered in the debtor's language, queued in the outbox.

They go out like the playbook's reminders but belong to no action: each has a stable Message-ID
built from the agreement, so the same follow-up is never queued twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from django.conf import settings
from django.utils import translation

from mahnwerk.comms import creditor
from mahnwerk.comms.models import OutboundMessage, purpose_for_key
from mahnwerk.comms.rendering import (
    LANGUAGES,
    MessageItem,
    RenderedMessage,
    _bank_block,
    _table,
    has_bank_account,
    payment_reference,
    totals_text,
)
from mahnwerk.comms.salutation import greeting
from mahnwerk.core.calendar import format_date
from mahnwerk.core.money import format_money
from mahnwerk.ledger import timeline
from mahnwerk.ledger.models import Company, Debtor, Invoice, TimelineEvent


def message_language(company: Company, debtor: Debtor) -> str:
    return debtor.language if debtor.language in LANGUAGES else company.default_language


def _message_items(invoices: Iterable[Invoice]) -> list[MessageItem]:
    return [
        MessageItem(inv.number, inv.issue_date, inv.due_date, inv.open_minor, inv.currency, inv.reference)
        for inv in invoices
    ]


def schedule_table(rows: Sequence[tuple[int, date, int, int]], currency: str, language: str) -> str:
    """Number, due date, amount (and what is still open) of each payment of a plan."""
    from django.utils.translation import gettext

    header = (gettext("Payment"), gettext("Due date"), gettext("Amount"), gettext("Still open"))
    body = [
        (
            gettext("Down payment") if number == 0 else gettext("Instalment {number}").format(number=number),
            format_date(due, language),
            format_money(amount, currency, language),
            format_money(amount - paid, currency, language),
        )
        for number, due, amount, paid in rows
    ]
    widths = [max(len(r[c]) for r in [header, *body]) for c in range(4)]
    lines = [
        "  ".join(
            cell.ljust(w) if c < 2 else cell.rjust(w)
            for c, (cell, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in [header, *body]
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(line.rstrip() for line in lines)


def render_agreement_message(
    company: Company,
    debtor: Debtor,
    template: str,
    invoices: Sequence[Invoice],
    as_of: date,
    *,
    message_items: Sequence[MessageItem] | None = None,
    **extra: Any,
) -> RenderedMessage:
    """Render ``comms/messages/<template>.<language>.txt`` with the items, the bank details and ``extra``.

    Values in ``extra``: dates are formatted for the language, ``(minor, currency)`` pairs as money,
    callables are called inside the language (for tables and translated words). ``message_items``: the
    items with their interest and costs (default: the invoices' open principal only).
    """
    from django.template.loader import get_template

    language = message_language(company, debtor)
    items = list(message_items) if message_items is not None else _message_items(invoices)
    with translation.override(language):
        reference = payment_reference(debtor, items) if items else debtor.number
        context: dict[str, Any] = {
            "company": company,
            "debtor": debtor,
            "numbers": ", ".join(i.number for i in items),
            "items_table": _table(items, language) if items else "",
            "total": totals_text(items, language) if items else "",
            "date": format_date(as_of, language),
            "bank_block": _bank_block(company, reference),
            "has_bank_account": has_bank_account(company),
            "reference": reference,
            "signature": creditor.signature(company),
            "greeting": greeting(debtor, language, "friendly"),
        }
        for key, value in extra.items():
            if isinstance(value, date):
                value = format_date(value, language)
            elif isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], int):
                value = format_money(value[0], value[1], language)
            elif callable(value):
                value = value(language)
            context[key] = value
        rendered = get_template(f"comms/messages/{template}.{language}.txt").render(context)
    first, _, body = rendered.lstrip().partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"template {template}.{language} must start with 'Subject: ...'")
    return RenderedMessage(first.removeprefix("Subject:").strip(), body.strip() + "\n")


def queue_message(
    company: Company,
    debtor: Debtor,
    key: str,
    rendered: RenderedMessage,
    as_of: date,
    events: list[TimelineEvent],
    recipients: Mapping[int, str] | None = None,
    *,
    payload: dict[str, Any] | None = None,
) -> OutboundMessage | None:
    """Queue an email outside the playbook's actions; sent by the outbox like every other message.

    ``key`` makes the Message-ID unique and stable, so the same follow-up is never queued twice.
    ``recipients``: the addresses of many debtors, looked up at once by the caller. ``payload``: set on the
    message (a written agreement goes as a PDF letter attached to the email).
    """
    from mahnwerk.comms.outbox import email_recipients

    if recipients is None:
        recipients = email_recipients([debtor.pk])
    recipient = recipients.get(debtor.pk)
    if recipient is None:
        events.append(
            timeline.event(debtor.pk, company.pk, "no_contact", as_of, reason="no valid email address")
        )
        return None
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or "localhost"
    message_id = f"<agreement.{company.slug}.{key}@{domain}>"
    message, created = OutboundMessage.objects.get_or_create(
        message_id=message_id,
        defaults={
            "company": company,
            "debtor": debtor,
            "channel": "email",
            "recipient": recipient,
            "language": message_language(company, debtor),
            "subject": rendered.subject[:250],
            "body_text": rendered.body_text,
            "business_date": as_of,
            "purpose": purpose_for_key(key),
        },
    )
    if created:
        events.append(
            timeline.event(
                debtor.pk,
                company.pk,
                "message_queued",
                as_of,
                channel="email",
                recipient=recipient,
                subject=rendered.subject,
            )
        )
    if payload is not None:
        OutboundMessage.objects.filter(pk=message.pk).update(payload=payload)
    return message


def queue_messages(
    company: Company,
    rows: Sequence[tuple[Debtor, str, RenderedMessage]],
    as_of: date,
    recipients: Mapping[int, str],
) -> list[TimelineEvent]:
    """Queue many emails outside the playbook's actions at once — (debtor, key, rendered) each, the key
    making the Message-ID as in :func:`queue_message`; a key queued before is skipped (two queries in all).
    Returns the ``message_queued`` events of the messages written (the caller records them)."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or "localhost"
    wanted = {
        f"<agreement.{company.slug}.{key}@{domain}>": (debtor, key, rendered)
        for debtor, key, rendered in rows
        if debtor.pk in recipients
    }
    seen = set(
        OutboundMessage.objects.filter(message_id__in=list(wanted)).values_list("message_id", flat=True)
    )
    fresh = [
        OutboundMessage(
            company=company,
            debtor=debtor,
            channel="email",
            recipient=recipients[debtor.pk],
            language=message_language(company, debtor),
            subject=rendered.subject[:250],
            body_text=rendered.body_text,
            business_date=as_of,
            purpose=purpose_for_key(key),
            message_id=message_id,
        )
        for message_id, (debtor, key, rendered) in wanted.items()
        if message_id not in seen
    ]
    OutboundMessage.objects.bulk_create(fresh, batch_size=500, ignore_conflicts=True)
    return [
        timeline.event(
            m.debtor_id,
            company.pk,
            "message_queued",
            as_of,
            channel="email",
            recipient=m.recipient,
            subject=m.subject,
        )
        for m in fresh
    ]
