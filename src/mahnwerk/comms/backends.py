"""Email backend that writes each message as one ``.eml`` file into the outbox folder, and how delivery
errors are told apart: temporary (try again later), permanent (the message cannot go out) or local (this
machine cannot write: the messages stay queued and the command says so)."""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage
from django.utils.translation import gettext as _


class LocalDeliveryError(Exception):
    """This machine cannot deliver (a full disk, a read-only outbox folder): no fault of the message.

    The outbox leaves the messages queued and stops; the commands exit non-zero with this text."""


class OutboxFolderBackend(BaseEmailBackend):
    """Delivers to ``<MAHNWERK_DATA_DIR>/outbox/<company>/<Message-ID>.eml``.

    Writing is idempotent: the file is named after the Message-ID, so delivering one message twice
    (after a crash between sending and recording it) leaves one file. A file that cannot be written
    raises :class:`LocalDeliveryError`.
    """

    def __init__(self, file_path: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = Path(file_path or settings.OUTBOX_DIR)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        for message in email_messages:
            mime = message.message()
            folder = self.path / _safe(str(mime.get("X-Mahnwerk-Company", "default")))
            name = _safe(str(mime.get("Message-ID", "")).strip("<>")) or f"message-{id(message)}"
            target = folder / f"{name}.eml"
            write_file_atomically(target, mime.as_bytes(policy=mime.policy.clone(linesep="\r\n")))
            sent += 1
        return sent


def write_file_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file beside it (a reader never sees half a file).

    An operating-system error (no space left, read-only folder, no permission) becomes a
    :class:`LocalDeliveryError` naming the folder; no partial file is left behind."""
    tmp = target.with_suffix(".tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        tmp.replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise LocalDeliveryError(
            _("cannot write to the outbox folder %(folder)s: %(reason)s")
            % {"folder": target.parent, "reason": exc.strerror or str(exc)}
        ) from exc


def _safe(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", value)[:200]


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    """What a failed delivery means for the message."""

    text: str
    permanent: bool  # trying again cannot help: the message fails (and its step is withdrawn)
    invalid_address: bool = False  # the recipient does not exist: the address is marked invalid
    reconnect: bool = False  # the connection is in an unknown state: close it before the next message
    status: str = ""  # the server's code ("550 5.1.1"), when it gave one


# Enhanced status codes (RFC 3463) of a recipient that does not exist or an address that is malformed.
_BAD_MAILBOX = re.compile(r"\b5\.1\.[0-36]\b")
_BAD_MAILBOX_WORDS = re.compile(
    r"user unknown|unknown user|no such user|mailbox unavailable|does not exist|recipient (address )?rejected"
    r"|address rejected|invalid (mailbox|recipient|address)|mailbox not found",
    re.IGNORECASE,
)


def classify_email_error(exc: BaseException) -> DeliveryFailure:
    """Temporary: SMTP 4xx, timeouts, refused or dropped connections, DNS errors. Permanent: SMTP 5xx, an
    address that cannot be written to. A 5xx for the recipient that says it does not exist (550/551/553 or
    enhanced code 5.1.x with words such as "user unknown") is an invalid address, as a hard bounce."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = list(exc.recipients.values())
        code, raw = answers[0] if answers else (0, b"")
        text = _answer(code, raw)
        permanent = 500 <= code < 600
        said_unknown = bool(_BAD_MAILBOX.search(text) or _BAD_MAILBOX_WORDS.search(text))
        return DeliveryFailure(
            f"recipient refused: {text}",
            permanent,
            permanent and code in (550, 551, 553) and said_unknown,
            status=_status(code, text),
        )
    if isinstance(exc, smtplib.SMTPResponseException):  # sender refused, data refused, other answers
        text = _answer(exc.smtp_code, exc.smtp_error)
        permanent = 500 <= exc.smtp_code < 600
        bad_mailbox = permanent and bool(_BAD_MAILBOX.search(text))
        # a 421 or a code outside 2xx-5xx means the server is closing the connection: start anew
        reconnect = exc.smtp_code == 421 or not 400 <= exc.smtp_code < 600
        return DeliveryFailure(
            f"mail server answered {text}",
            permanent,
            bad_mailbox,
            reconnect=reconnect,
            status=_status(exc.smtp_code, text),
        )
    if isinstance(exc, ValueError):  # Django's address check: the address cannot be written to at all
        return DeliveryFailure(f"invalid address: {exc}", permanent=True, invalid_address=True)
    if isinstance(exc, UnicodeError):
        return DeliveryFailure(f"cannot be encoded for the mail server: {exc}", permanent=True)
    if isinstance(exc, socket.gaierror):
        return DeliveryFailure(f"mail server name not resolved: {exc}", permanent=False, reconnect=True)
    if isinstance(exc, TimeoutError | socket.timeout):
        return DeliveryFailure(f"mail server timed out: {exc}", permanent=False, reconnect=True)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryFailure(f"mail server closed the connection: {exc}", permanent=False, reconnect=True)
    if isinstance(exc, OSError):  # refused, reset, unreachable, TLS trouble
        return DeliveryFailure(f"mail server not reachable: {exc}", permanent=False, reconnect=True)
    return DeliveryFailure(f"{type(exc).__name__}: {exc}", permanent=False, reconnect=True)


def _answer(code: int, raw: bytes | str) -> str:
    message = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return f"{code} {' '.join(message.split())}".strip()


def _status(code: int, text: str) -> str:
    enhanced = re.search(r"\b[245]\.\d{1,3}\.\d{1,3}\b", text)
    return enhanced.group(0) if enhanced else str(code)
