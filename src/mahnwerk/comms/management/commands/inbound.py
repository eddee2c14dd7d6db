from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.comms.inbound import process_inbound
from mahnwerk.ledger.management.base import MahnwerkCommand


class Command(MahnwerkCommand):
    help = "Read returned mail (bounces) and replies from .eml files or standard input."
    company_option = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "files", nargs="*", type=Path, help=".eml files (none: read one from standard input)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        sources = [_read(p) for p in options["files"]] or [sys.stdin.buffer.read()]
        results = [process_inbound(raw) for raw in sources]
        if options["json"]:
            self.emit_json([r.__dict__ for r in results])
            return
        for r in results:
            self.stdout.write(f"{r.kind}: message {r.message_id or '-'} {r.recipient} {r.status}".rstrip())


def _read(path: Path) -> bytes:
    """The file's bytes, or a :class:`CommandError` naming the file and why it cannot be read."""
    if not path.exists():
        raise CommandError(_("no such file: {path}").format(path=path))
    if path.is_dir():
        raise CommandError(_("cannot read {path}: it is a directory, not a file").format(path=path))
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CommandError(
            _("cannot read {path}: {error}").format(path=path, error=exc.strerror or exc)
        ) from None
