from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.core.calendar import format_date
from mahnwerk.core.money import format_money
from mahnwerk.ids import parse_id
from mahnwerk.ledger.management.base import MahnwerkCommand
from mahnwerk.ledger.models import Company, Debtor
from mahnwerk.ledger.queries import debtor_overview, debtor_page

MAX_LIMIT = 1000


class Command(MahnwerkCommand):
    help = (
        "List the company's debtors (list [--search TEXT] [--limit N] [--offset N]) or show one: contacts, "
        "open items and the timeline (show DEBTOR)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["show", "list"])
        parser.add_argument("debtor", nargs="?", help="debtor id or customer number (show)")
        parser.add_argument(
            "--search", default="", help="a part of the name or customer number, any case (list)"
        )
        parser.add_argument("--limit", type=int, default=50, help="how many to list, 1 to 1000 (default 50)")
        parser.add_argument("--offset", type=int, default=0, help="how many to skip (list)")

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        if options["action"] == "list":
            self.list_debtors(company, options)
            return
        ident = options["debtor"]
        if not ident:
            raise CommandError(_("debtor show needs the debtor's id or customer number"))
        qs = Debtor.objects.filter(company=company)
        debtor = qs.filter(number=ident).first() or (
            qs.filter(pk=pk).first() if (pk := parse_id(ident)) else None
        )
        if debtor is None:
            raise CommandError(
                _("no debtor {ident!r} in {company}").format(ident=ident, company=company.name)
            )
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

    def list_debtors(self, company: Company, options: dict[str, Any]) -> None:
        limit, offset = options["limit"], options["offset"]
        if not 1 <= limit <= MAX_LIMIT:
            raise CommandError(_("--limit: a whole number from 1 to {high}").format(high=MAX_LIMIT))
        if not 0 <= offset <= 2**62:
            raise CommandError(_("--offset: a whole number from 0"))
        page = debtor_page(company, options["search"].strip(), limit, offset)
        if options["json"]:
            self.emit_json(page)
            return
        for d in page["items"]:
            flag = "  " + _("no contact") if d["do_not_contact"] else ""
            self.stdout.write(
                f"{d['number']:<14} {d['name'][:40]:<40} {d['kind']:<9} {d['language']:<3}"
                f"{format_money(d['open_minor'], company.currency):>16}{flag}"
            )
        shown = len(page["items"])
        if shown:
            text = _("{first}–{last} of {count} debtors").format(
                first=offset + 1, last=offset + shown, count=page["count"]
            )
        else:
            text = _("no debtors found")
        self.stdout.write(text)
