"""The PDF of each letter as it went out — printed in a batch, or attached to an email — kept in the file
storage, so that a copy downloaded later is the letter that was sent: with the creditor's and the debtor's
details of that day, not of today.

A file is written before the message counts as sent (a print batch or a send that fails midway leaves the
message queued, and the next attempt writes it again); it is only ever read for a sent message.
"""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from mahnwerk.comms.models import MessageStatus, OutboundMessage


def _name(msg: OutboundMessage) -> str:
    return f"sent/{msg.company_id}/{msg.pk}.pdf"


def keep(msg: OutboundMessage, pdf: bytes) -> None:
    """Store ``pdf`` as the letter of ``msg`` (replacing an earlier attempt's)."""
    name = _name(msg)
    if default_storage.exists(name):
        default_storage.delete(name)
    default_storage.save(name, ContentFile(pdf))


def is_kept(msg: OutboundMessage) -> bool:
    return msg.status == MessageStatus.SENT and default_storage.exists(_name(msg))


def kept(msg: OutboundMessage) -> bytes | None:
    """The letter of a sent ``msg`` as it went out, or None (not sent, or sent without a PDF)."""
    if msg.status != MessageStatus.SENT:
        return None
    try:
        with default_storage.open(_name(msg), "rb") as fh:
            return bytes(fh.read())
    except (FileNotFoundError, OSError):
        return None
