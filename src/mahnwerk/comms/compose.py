"""The outbox writes the messages the run decided: subject, text, letter paragraphs and payment code.

The collection run only decides and records (the action, its items and their amounts, the channel and the
recipient, in ``payload["compose"]``) and commits; it renders nothing. :func:`render_pending` turns those
records into the message the debtor receives — in the debtor's language, from the company's template — in
transactions of a few hundred messages, each together with its ``message_queued`` timeline event. The
sender, the print batch and every page that shows a message call it first, so nothing is ever read or sent
unrendered; several processes can render side by side (PostgreSQL hands each its own rows: ``SKIP LOCKED``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from django.db import DatabaseError, connections, router, transaction
from django.utils import translation
from django.utils.translation import gettext

from mahnwerk.comms import creditor
from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.comms.rendering import (
    MessageItem,
    coming_due_text,
    item_from_json,
    item_rows,
    message_language,
    render_reminder,
)
from mahnwerk.core.calendar import format_date
from mahnwerk.core.epc_qr import EpcError, build_epc_payload, creditor_payment
from mahnwerk.core.playbook import Channel
from mahnwerk.ledger import timeline
from mahnwerk.ledger.claims import debtor_law, law_ruleset
from mahnwerk.ledger.models import Company, Debtor

CHUNK = 500

log = logging.getLogger(__name__)


def epc_payload(company: Company, items: Sequence[MessageItem], reference: str) -> str | None:
    """The GiroCode payload for the total, when it can carry it (one currency, EUR, a valid IBAN)."""
    currencies = {i.currency for i in items}
    total = sum(i.total_minor for i in items)
    if currencies != {"EUR"} or total <= 0:
        return None
    try:
        return build_epc_payload(creditor_payment(company.name, company.iban, company.bic, total, reference))
    except EpcError:
        return None


def optional_texts(
    company: Company,
    rules: Any,
    debtor: Debtor,
    first_notice: bool,
    channel: Channel,
    opt_out: bool,
    has_qr: bool,
    as_of: date,
) -> dict[str, str]:
    """The optional placeholders, in the debtor's language: the right to object after a first written notice
    (Latvian consumers: how, where and by when), the opt-out line where the rule set requires it, a note on
    the payment code, the link to the debtor's page."""
    texts: dict[str, str] = {}
    language = message_language(company, debtor)
    with translation.override(language):
        days = rules.contact.first_notice_objection_days
        if days and channel is not Channel.SMS and first_notice:
            # a letter is received on the rule set's postal day (a letter printed later is written again with
            # the print date); an email the day it is sent, which may be as late as the outbox keeps trying: the
            # date named counts from then, so the customer never gets fewer days than the law gives
            from mahnwerk.comms.outbox import RETRY_GIVE_UP_AFTER

            received = as_of + (
                timedelta(days=rules.contact.postal_receipt_days)
                if channel is Channel.LETTER
                else timedelta(days=RETRY_GIVE_UP_AFTER.days)
            )
            where = [", ".join([company.name, *company.address_lines()])]
            email = creditor.contact_email(company)
            texts["objection_notice"] = gettext(
                "If you do not agree with this claim, you may object within {days} days of receiving this notice, "
                "that is by {date}: in writing to {address}{email}, giving your reasons. Until then we take no "
                "further steps for this claim."
            ).format(
                days=days,
                date=format_date(received + timedelta(days=days), language),
                address=where[0],
                email=gettext(" or by email to {email}").format(email=email) if email else "",
            )
        if opt_out and channel in (Channel.EMAIL, Channel.SMS):
            texts["opt_out_line"] = gettext("Reply STOP to receive no more messages on this channel.")
        if has_qr and channel is not Channel.SMS:
            texts["qr_note"] = gettext("Scan the payment code with your banking app to pay the total.")
        if channel is Channel.EMAIL:
            from mahnwerk.links import portal_link

            texts["portal_link"] = gettext(
                "Your open items, payment options and contact details online: {link}"
            ).format(link=portal_link(debtor))
    return texts


def compose(msg: OutboundMessage, company: Company, debtor: Debtor) -> None:
    """Write ``msg`` (a run's message, ``render_pending``) from what the run recorded; not saved."""
    recorded = dict(msg.payload)
    facts = recorded.pop("compose")
    for written in ("items", "coming", "letter"):  # a message written again (``redating.refigure``)
        recorded.pop(written, None)
    items = [item_from_json(i) for i in facts["items"]]
    coming = [item_from_json(i) for i in facts["coming"]]
    # the lines the message names, as the outbox, the letters and the pages read them
    payload = {"items": item_rows(items), "coming": item_rows(coming), **recorded}
    channel = Channel(msg.channel)
    as_of = msg.business_date or msg.created_at.date()
    deadline = date.fromisoformat(payload["deadline"]) if payload.get("deadline") else None
    rules = law_ruleset(debtor_law(company, debtor), as_of)
    qr = epc_payload(company, items, payload["reference"])
    payload["qr"] = qr
    extra = optional_texts(
        company, rules, debtor, facts["first_notice"], channel, facts["opt_out"], qr is not None, as_of
    )
    if facts.get("incentive_note") and channel is not Channel.SMS:
        extra["incentive_note"] = facts["incentive_note"]
    if coming and channel is not Channel.SMS:
        extra["coming_due"] = coming_due_text(coming, message_language(company, debtor))
    if facts.get("costs_capped"):
        extra["costs_capped"] = "yes"  # every cost the law allows is charged: no threat of more
    kind = {Channel.SMS: "sms", Channel.LETTER: "letter"}.get(channel, "email")
    rendered = render_reminder(
        company,
        debtor,
        payload["template"],
        items,
        deadline,
        as_of,
        tone=payload["tone"],
        kind=kind,
        extra=extra if kind != "sms" else None,
    )
    body = rendered.body_text
    if channel is Channel.SMS and extra.get("opt_out_line"):
        body = f"{body} {extra['opt_out_line']}"
    if channel is Channel.LETTER:
        paragraphs = list(rendered.paragraphs)
        if extra.get("coming_due") and not any(extra["coming_due"] in p for p in paragraphs):
            paragraphs.append(extra["coming_due"])
        payload["letter"] = {
            "greeting": rendered.greeting,
            "paragraphs": paragraphs,
            "closing": rendered.closing,
        }
    # a message that goes out on a later day is written again with that day's figures (comms.redating); the
    # sender lets go of the record once an email or text message is sent, a letter keeps it
    payload["compose"] = facts
    msg.subject = rendered.subject[:250]
    msg.body_text = body
    msg.payload = payload
    msg.render_pending = False


def render_pending(company: Company | None = None, ids: Iterable[int] | None = None) -> int:
    """Render every message the run left for the outbox (of ``company``, or only ``ids``); returns how many.

    One transaction per :data:`CHUNK` messages: each message's text and its ``message_queued`` timeline event
    are written together, so a crash leaves the rest for the next call and nothing twice. A message that cannot
    be written (a template the company broke, data it does not expect) fails on its own with the reason in
    ``last_error`` and stays unrendered — ``outbox retry`` queues it again once the cause is mended — and the
    others go on."""
    wanted = None if ids is None else sorted(set(ids))
    done = 0
    while True:
        with transaction.atomic():
            pending = OutboundMessage.objects.filter(
                render_pending=True, status=MessageStatus.QUEUED
            ).order_by("id")
            if company is not None:
                pending = pending.filter(company=company)
            if wanted is not None:
                pending = pending.filter(pk__in=wanted[:CHUNK])
            batch = list(
                pending.select_for_update(skip_locked=True, of=("self",)).select_related("company", "debtor")[
                    :CHUNK
                ]
            )
            if not batch:
                return done
            failed = []
            for msg in batch:
                try:
                    compose(msg, msg.company, msg.debtor)  # reads what the run recorded: no query of its own
                except DatabaseError:
                    raise  # the database's problem, not the message's: the chunk is rolled back, nothing marked
                except Exception as exc:  # one message's problem, not the outbox's
                    log.exception("message %s could not be written", msg.pk)
                    failed.append((msg.pk, f"could not be written: {exc}"[:2000]))
            for pk, error in failed:
                OutboundMessage.objects.filter(pk=pk).update(status=MessageStatus.FAILED, last_error=error)
            gone = {pk for pk, _error in failed}
            batch = [m for m in batch if m.pk not in gone]
            _write(batch)
            timeline.record(
                timeline.event(
                    msg.debtor_id,
                    msg.company_id,
                    "message_queued",
                    msg.business_date or msg.created_at.date(),
                    channel=msg.channel,
                    recipient=msg.recipient,
                    subject=msg.subject or msg.body_text[:80],
                )
                for msg in batch
            )
        done += len(batch)
        if wanted is not None:
            wanted = wanted[CHUNK:]
            if not wanted:
                return done


def _write(batch: Sequence[OutboundMessage]) -> None:
    """Subject, text and payload of ``batch`` in one prepared ``UPDATE`` (``bulk_update`` builds a ``CASE``
    per column and row)."""
    meta = OutboundMessage._meta
    alias = router.db_for_write(OutboundMessage)
    connection = connections[alias]
    payload_field = meta.get_field("payload")
    quote = connection.ops.quote_name
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {quote('subject')} = %s, {quote('body_text')} = %s, "
        f"{quote('payload')} = %s, {quote('render_pending')} = %s WHERE {quote('id')} = %s"
    )
    rows = [
        (m.subject, m.body_text, payload_field.get_db_prep_save(m.payload, connection), False, m.pk)
        for m in batch
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def render_in_processes(company: Company | None, workers: int) -> int:
    """:func:`render_pending` in ``workers`` processes at once (this one and ``workers - 1`` started beside it),
    on PostgreSQL, where ``SKIP LOCKED`` gives each its own rows; SQLite writes one transaction at a time, so
    there this process renders alone. Returns how many messages all of them rendered."""
    if workers <= 1 or connections[router.db_for_write(OutboundMessage)].vendor != "postgresql":
        return render_pending(company)
    import json
    import subprocess
    import sys

    command = [sys.executable, "-m", "mahnwerk", "outbox", "render", "--json"]
    if company is not None:
        command += ["--company", company.slug]
    helpers = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(workers - 1)]
    done = render_pending(company)
    for helper in helpers:
        out, _err = helper.communicate()
        if helper.returncode == 0 and out.strip():
            done += int(json.loads(out)["rendered"])
    # what a helper that failed left behind (its transaction rolled back), and what it held while this one ended
    return done + render_pending(company)


def render_debtor(debtor_id: int) -> int:
    """Render what is still pending for one debtor (its case file or documents are about to be shown)."""
    ids = list(
        OutboundMessage.objects.filter(debtor_id=debtor_id, render_pending=True).values_list("pk", flat=True)
    )
    return render_pending(ids=ids) if ids else 0


def ensure_rendered(messages: Iterable[OutboundMessage]) -> None:
    """Render those of ``messages`` that are still pending (a page or a batch about to read them) and refresh
    them in place."""
    pending = [m for m in messages if m.render_pending]
    if not pending:
        return
    render_pending(ids=[m.pk for m in pending])
    fresh = OutboundMessage.objects.in_bulk([m.pk for m in pending])
    for m in pending:
        if m.pk in fresh:
            f = fresh[m.pk]
            m.subject, m.body_text, m.payload, m.render_pending = f.subject, f.body_text, f.payload, False
