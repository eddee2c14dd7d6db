"""Email backend that writes each message as one ``.eml`` file into the outbox folder."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage


class OutboxFolderBackend(BaseEmailBackend):
    """Delivers to ``<MAHNWERK_DATA_DIR>/outbox/<company>/<Message-ID>.eml``.

    Writing is idempotent: the file is named after the Message-ID, so delivering one message twice
    (after a crash between sending and recording it) leaves one file.
    """

    def __init__(self, file_path: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = Path(file_path or settings.OUTBOX_DIR)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        for message in email_messages:
            mime = message.message()
            folder = self.path / _safe(str(mime.get("X-Mahnwerk-Company", "default")))
            folder.mkdir(parents=True, exist_ok=True)
            name = _safe(str(mime.get("Message-ID", "")).strip("<>")) or f"message-{id(message)}"
            target = folder / f"{name}.eml"
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(mime.as_bytes(policy=mime.policy.clone(linesep="\r\n")))
            tmp.replace(target)
            sent += 1
        return sent


def _safe(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", value)[:200]
