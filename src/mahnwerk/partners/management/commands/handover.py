from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from mahnwerk.core.money import format_money
from mahnwerk.ledger.management.base import MahnwerkCommand, business_date
from mahnwerk.ledger.services import company_today
from mahnwerk.partners import services


class Command(MahnwerkCommand):
    help = (
        "Hand a debtor's account to a collection agency or lawyer: builds the dossier (a ZIP with a PDF "
        "summary, claims.json and claims.csv totalling the statement of that day, the timeline, invoice "
        "copies, letters, agreements, the debtor's data) and stops our reminders (a hold) until a recall."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("debtor", help="debtor id or customer number")
        parser.add_argument("--partner", required=True, help="the partner's name (mahnwerk partner list)")
        parser.add_argument("--date", type=business_date, help="as of this date (default: today)")
        parser.add_argument("--out", help="write the ZIP here as well (default: <debtor>-handover.zip)")
        parser.add_argument("--actor", default="cli")

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        try:
            debtor = services.find_debtor(company, options["debtor"])
            partner = services.find_partner(company, options["partner"])
            as_of = options["date"] or company_today(company)
            handover, content = services.hand_over(company, debtor, partner, as_of, actor=options["actor"])
        except services.PartnerError as exc:
            raise CommandError(str(exc)) from None
        out = Path(options["out"] or f"{debtor.number}-handover.zip")
        out.write_bytes(content)
        if options["json"]:
            self.emit_json(
                {
                    "handover_id": handover.pk,
                    "debtor": debtor.number,
                    "partner": partner.name,
                    "handed_over_on": handover.handed_over_on,
                    "total_minor": handover.total_minor,
                    "currency": handover.currency,
                    "zip": str(out),
                }
            )
            return
        self.stdout.write(
            f"{debtor.number} handed over to {partner.name} as of {as_of.isoformat()}: "
            f"{format_money(handover.total_minor, handover.currency)}; dossier {out}"
        )
