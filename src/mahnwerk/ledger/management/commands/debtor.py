from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.core.calendar import format_date
from mahnwerk.core.money import format_money
from mahnwerk.ledger.management.base import MahnwerkCommand
from mahnwerk.ledger.models import Debtor
from mahnwerk.ledger.queries import debtor_overview


class Command(MahnwerkCommand):
    help = "Show a debtor: contacts, open items and the timeline."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["show"])
        parser.add_argument("debtor", help="debtor id or customer number")

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        ident = options["debtor"]
        qs = Debtor.objects.filter(company=company)
        debtor = qs.filter(number=ident).first() or (
            qs.filter(pk=int(ident)).first() if ident.isdigit() else None
        )
        if debtor is None:
            raise CommandError(f"no debtor {ident!r} in {company.name}")
        data = debtor_overview(debtor)
        if options["json"]:
            self.emit_json(data)
            return
        self.stdout.write(
            f"{debtor.name} ({debtor.number}) — {debtor.get_kind_display()}, {debtor.language}, {debtor.jurisdiction}"
        )
        self.stdout.write(_("Rules: {rules}").format(rules=data["rules"]["text"]))
        for c in data["contacts"]:
            flags = "".join(
                [
                    " invalid" if not c["is_valid"] else "",
                    " opted-out" if c["opted_out"] else "",
                    " no-sms" if c["sms_refused"] else "",
                ]
            )
            self.stdout.write(f"  {c['kind']}: {c['value']}{flags}")
        self.stdout.write("Open items:")
        for i in data["open_items"]:
            self.stdout.write(
                f"  {i['number']:<16} due {format_date(i['due_date'], 'en'):<12} "
                f"{format_money(i['open_minor'], i['currency']):>14} of {format_money(i['amount_minor'], i['currency'])}"
                f"  step {i['level']}"
            )
        self.stdout.write(f"Total open: {data['total_open']}")
        self.stdout.write("Timeline:")
        for e in data["timeline"]:
            self.stdout.write(f"  {e['business_date']}  {e['actor']:<12} {e['text']}")
