from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from mahnwerk.comms.letters_batch import print_letters, record_returned_letter, withdrawn_summary
from mahnwerk.comms.models import OutboundMessage
from mahnwerk.ledger.management.base import MahnwerkCommand


class Command(MahnwerkCommand):
    help = (
        "Letters: print today's batch (one PDF in postcode order) or record a letter the post brought back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["print", "returned"])
        parser.add_argument("message", nargs="?", help="for 'returned': the message id")

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        if options["action"] == "print":
            batch = print_letters(company)
            data = {
                "letters": batch.letters,
                "path": str(batch.path) if batch.path else None,
                "withdrawn": batch.withdrawn,
            }
            if options["json"]:
                self.emit_json(data)
            else:
                self.stdout.write(f"{batch.letters} letter(s)" + (f": {batch.path}" if batch.path else ""))
                if batch.withdrawn:
                    self.stdout.write(withdrawn_summary(batch.withdrawn))
            return
        if not options["message"]:
            raise CommandError("give the id of the returned letter")
        msg = OutboundMessage.objects.filter(company=company, pk=options["message"], channel="letter").first()
        if msg is None:
            raise CommandError(f"no letter {options['message']} in {company.name}")
        record_returned_letter(msg, actor="cli")
        self.stdout.write(
            f"letter {msg.pk} recorded as returned; the debtor's postal address is marked invalid"
        )
