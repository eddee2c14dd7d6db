"""``mahnwerk accounts add|list``: the company's bank accounts that statements are imported for."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.ledger.management.base import MahnwerkCommand
from mahnwerk.ledger.services import LedgerError
from mahnwerk.ledger.statements import add_bank_account, bank_accounts


class Command(MahnwerkCommand):
    help = _(
        "The company's bank accounts: list them, or add one (an IBAN, or a bank code and account number) so "
        "that its statements can be imported. The company's own IBAN is always one of them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["add", "list"])
        parser.add_argument("iban", nargs="?", default="", help=_("add: the IBAN"))
        parser.add_argument("--bic", default="", help=_("add: the BIC"))
        parser.add_argument("--blz", default="", help=_("add: the bank code (German BLZ), without an IBAN"))
        parser.add_argument(
            "--account-number", default="", help=_("add: the account number, without an IBAN")
        )
        parser.add_argument("--name", default="", help=_("add: a name for the account"))

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        if options["action"] == "add":
            try:
                account = add_bank_account(
                    company,
                    iban=options["iban"],
                    bic=options["bic"],
                    blz=options["blz"],
                    account_number=options["account_number"],
                    name=options["name"],
                )
            except LedgerError as exc:
                raise CommandError(str(exc)) from None
            if options["json"]:
                self.emit_json({"id": account.pk, "account": str(account)})
            else:
                self.stdout.write(
                    _("Bank account #{id} added: {account}").format(id=account.pk, account=account)
                )
            return
        accounts = bank_accounts(company)
        rows = [
            {
                "id": a.pk,
                "name": a.name,
                "iban": a.iban,
                "bic": a.bic,
                "blz": a.blz,
                "account_number": a.account_number,
            }
            for a in accounts
        ]
        if options["json"]:
            self.emit_json(rows)
            return
        for a in accounts:
            self.stdout.write(f"#{a.pk} {a}{' ' + a.bic if a.bic else ''}")
