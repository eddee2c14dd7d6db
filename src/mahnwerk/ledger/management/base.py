"""Shared helpers for Mahnwerk's management commands."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mahnwerk.ledger.models import Company
from mahnwerk.ledger.services import LedgerError, get_company


class MahnwerkCommand(BaseCommand):
    """A command with ``--company`` and ``--json`` options and clean error output."""

    json_option = True
    company_option = True

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        if self.company_option:
            parser.add_argument("--company", help="company id or short name (default: the only one)")
        if self.json_option:
            parser.add_argument("--json", action="store_true", help="machine-readable output")
        return parser

    def company(self, options: dict[str, Any]) -> Company:
        try:
            return get_company(options.get("company"))
        except LedgerError as exc:
            raise CommandError(str(exc)) from None

    def emit_json(self, data: object) -> None:
        self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str))
