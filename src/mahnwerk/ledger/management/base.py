"""Shared helpers for Mahnwerk's management commands."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.ledger.models import Company
from mahnwerk.ledger.services import LedgerError, get_company

# The business dates a command accepts (as the partners' status files): a year like 9999 is a typing error, and
# the periods computed from it (service, objection, enforcement) would leave the calendar.
FIRST_BUSINESS_DATE = date(1990, 1, 1)
LAST_BUSINESS_DATE = date(2100, 12, 31)


def business_date(value: str) -> date:
    """An option's date YYYY-MM-DD within 1990..2100 (argparse type: a usage error, not a traceback)."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is None or not FIRST_BUSINESS_DATE <= day <= LAST_BUSINESS_DATE:
        raise argparse.ArgumentTypeError(
            _("a date YYYY-MM-DD within 1990..2100: {value}").format(value=value)
        )
    return day


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

    def run_from_argv(self, argv: list[str]) -> None:
        try:
            super().run_from_argv(argv)
        except CommandError as exc:
            # raised while the arguments were read (an option's own reader: "--date 2026-02-30"), where
            # Django does not catch it yet: one line and the exit code, as for any other CommandError
            self.stderr.write(f"CommandError: {exc}")
            sys.exit(exc.returncode)

    def company(self, options: dict[str, Any]) -> Company:
        try:
            return get_company(options.get("company"))
        except LedgerError as exc:
            raise CommandError(str(exc)) from None

    def emit_json(self, data: object) -> None:
        self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str))
