from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from mahnwerk.ledger.management.base import MahnwerkCommand, business_date
from mahnwerk.ledger.services import company_today
from mahnwerk.partners import services


class Command(MahnwerkCommand):
    help = (
        "Recall a debtor's account from the agency or lawyer: the handover ends, our own collection resumes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("debtor", help="debtor id or customer number")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--date", type=business_date, help="as of this date (default: today)")
        parser.add_argument("--actor", default="cli")

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        try:
            debtor = services.find_debtor(company, options["debtor"])
            as_of = options["date"] or company_today(company)
            handover = services.recall(company, debtor, options["reason"], as_of, actor=options["actor"])
        except services.PartnerError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.emit_json(
                {"handover_id": handover.pk, "status": handover.status, "ended_on": handover.ended_on}
            )
            return
        self.stdout.write(f"{debtor.number} recalled from {handover.partner.name}")
