from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

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
        sources = [p.read_bytes() for p in options["files"]] or [sys.stdin.buffer.read()]
        results = [process_inbound(raw) for raw in sources]
        if options["json"]:
            self.emit_json([r.__dict__ for r in results])
            return
        for r in results:
            self.stdout.write(f"{r.kind}: message {r.message_id or '-'} {r.recipient} {r.status}".rstrip())
