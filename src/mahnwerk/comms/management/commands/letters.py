from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mahnwerk.comms.letters_batch import (
    NoReturnAddress,
    NotReturnable,
    print_letters,
    record_returned_letter,
    withdrawn_summary,
)
from mahnwerk.comms.models import OutboundMessage
from mahnwerk.ids import parse_id
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
            try:
                batch = print_letters(company)
            except NoReturnAddress as exc:
                raise CommandError(str(exc)) from None
            data = {
                "letters": batch.letters,
                "path": str(batch.path) if batch.path else None,
                "withdrawn": batch.withdrawn,
            }
            if options["json"]:
                self.emit_json(data)
            else:
                printed = ngettext("{count} letter", "{count} letters", batch.letters).format(
                    count=batch.letters
                )
                self.stdout.write(printed + (f": {batch.path}" if batch.path else ""))
                if batch.withdrawn:
                    self.stdout.write(withdrawn_summary(batch.withdrawn))
            return
        if not options["message"]:
            raise CommandError(_("give the id of the returned letter"))
        pk = parse_id(options["message"])
        msg = (
            OutboundMessage.objects.filter(company=company, pk=pk, channel="letter").first()
            if pk is not None
            else None
        )
        if msg is None:
            raise CommandError(
                _("no letter {id} in {company}").format(id=options["message"], company=company.name)
            )
        try:
            record_returned_letter(msg, actor="cli")
        except NotReturnable as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            _("letter {id} recorded as returned; the debtor's postal address is marked invalid").format(
                id=msg.pk
            )
        )
