from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from mahnwerk.collection.models import Step
from mahnwerk.core.money import format_money
from mahnwerk.demo import build_demo, demo_login
from mahnwerk.ledger.management.base import business_date

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-mahnwerk"


class Command(BaseCommand):
    help = "Build the demo company (seeded) and replay the last 60 days of collection runs with payments."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--debtors", type=int, default=300)
        parser.add_argument("--invoices", type=int, default=3000)
        parser.add_argument("--days", type=int, default=60)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--today", type=business_date, help="pretend today is this date (YYYY-MM-DD)")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(
            f"Building the demo company: {options['debtors']} debtors, {options['invoices']} invoices, "
            f"replaying {options['days']} days ..."
        )
        s = build_demo(
            options["debtors"],
            options["invoices"],
            options["days"],
            options["seed"],
            options["today"],
            echo=options["verbosity"] > 1,
        )
        names = dict(
            Step.objects.filter(playbook__company=s.company, playbook__is_default=True).values_list(
                "level", "name"
            )
        )
        out = self.stdout.write
        out("")
        out(f"{s.company.name}: collection runs from {s.start.isoformat()} to {s.end.isoformat()}")
        out(f"  debtors {s.debtors}, invoices {s.invoices}")
        out("  reminders by step:")
        for level in sorted(names):
            out(f"    {level}. {names[level]:<28} {s.steps.get(level, 0):>5}")
        out(f"  messages written          {s.messages:>8}")
        for channel, count in sorted(s.channels.items()):
            out(f"    {channel:<24}{count:>8}")
        for kind, count in sorted(s.tasks.items()):
            out(f"  tasks: {kind:<19}{count:>8}")
        out(f"  collected in the period   {format_money(s.collected_minor, 'EUR'):>14}")
        out(f"  still open                {format_money(s.open_minor, 'EUR'):>14}")
        out(f"  of which overdue          {format_money(s.overdue_minor, 'EUR'):>14}")
        for warning in sorted(s.warnings):
            out(f"  note: {warning}")
        demo_login(s.company, DEMO_USER, DEMO_PASSWORD)
        out("")
        out(f"Outbox (one .eml per message): {settings.OUTBOX_DIR / s.company.slug}")
        out(f"A debtor's case file:          mahnwerk debtor show K10001 --company {s.company.slug}")
        out("Outgoing messages:             mahnwerk outbox list")
        if s.letters_pdf:
            out(f"Letters printed ({s.letters_printed}), last batch: {s.letters_pdf}")
        out(
            f"Web application:               mahnwerk serve  -> http://127.0.0.1:8000/  (login {DEMO_USER} / {DEMO_PASSWORD})"
        )
        out("")
        out(f"Audit of every message written (mahnwerk audit): {s.audit}")
