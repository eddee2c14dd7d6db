from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from mahnwerk.ledger.imports import FIELDS, ImportFailed, import_file
from mahnwerk.ledger.management.base import MahnwerkCommand


class Command(MahnwerkCommand):
    help = "Import debtors, invoices or payments from a CSV file (validated first, applied atomically)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(FIELDS))
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="read file column COLUMN as field FIELD (repeatable)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        mapping = {}
        for item in options["map"]:
            column, sep, target = item.partition("=")
            if not sep or not column or not target:
                raise CommandError(f"--map expects COLUMN=FIELD, got {item!r}")
            if target not in FIELDS[options["kind"]]:
                raise CommandError(
                    f"--map {item}: unknown field {target!r} (known: {', '.join(FIELDS[options['kind']])})"
                )
            mapping[column] = target
        if not options["file"].is_file():
            raise CommandError(f"no such file: {options['file']}")
        company = self.company(options)
        try:
            result = import_file(company, options["kind"], options["file"], mapping, actor="cli import")
        except ImportFailed as exc:
            if options["json"]:
                self.emit_json({"ok": False, "errors": [asdict(e) for e in exc.errors]})
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.emit_json({"ok": True, "kind": result.kind, "created": result.created, **result.details})
        else:
            self.stdout.write(f"{result.created} {result.kind} imported into {company.name}")
