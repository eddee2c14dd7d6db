"""``mahnwerk note add DEBTOR TEXT`` and ``mahnwerk note list DEBTOR``: free notes on a case file."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandError, CommandParser

from mahnwerk.collection.management.agreements_cli import find_debtor
from mahnwerk.ledger.management.base import MahnwerkCommand
from mahnwerk.work.notes import NoteError, add_note, debtor_notes


class Command(MahnwerkCommand):
    stealth_options = ("stdin",)  # tests pass the text this way
    help = "Free notes on a debtor's case file (shown on its conversation): add one, list them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["add", "list"])
        parser.add_argument("debtor", help="customer number or id")
        parser.add_argument("text", nargs="?", default="", help="the note (add); '-' reads it from stdin")
        parser.add_argument("--author", default="cli", help="who wrote it, as the timeline names people")

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        debtor = find_debtor(company, options["debtor"])
        if options["action"] == "add":
            text = (options.get("stdin") or sys.stdin).read() if options["text"] == "-" else options["text"]
            try:
                note = add_note(company, debtor, text, author=options["author"])
            except NoteError as exc:
                raise CommandError(str(exc)) from None
            if options["json"]:
                self.emit_json(
                    {"id": note.pk, "debtor": debtor.number, "created_at": note.created_at.isoformat()}
                )
            else:
                self.stdout.write(f"note {note.pk} on {debtor.number}")
            return
        rows: list[dict[str, Any]] = [
            {"id": n.pk, "created_at": n.created_at.isoformat(), "author": n.author, "text": n.text}
            for n in debtor_notes(company, debtor)
        ]
        if options["json"]:
            self.emit_json(rows)
            return
        for r in rows:
            self.stdout.write(f"{r['created_at'][:16]}  {r['author']}: {r['text']}")
