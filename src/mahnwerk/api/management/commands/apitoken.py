"""``mahnwerk apitoken``: personal API tokens.

mahnwerk apitoken create --user NAME --company SLUG [--name LABEL]   (the key is printed once)
mahnwerk apitoken list [--company SLUG] [--json]
mahnwerk apitoken revoke ID
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.api.models import ApiToken
from mahnwerk.ledger.services import LedgerError, get_company
from mahnwerk.web.models import Membership


class Command(BaseCommand):
    help = "Create, list and revoke personal API tokens (one user, one company)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token and print its key once")
        create.add_argument("--user", required=True, help="user name")
        create.add_argument("--company", required=True, help="company id or short name")
        create.add_argument("--name", default="", help="label, e.g. the system that uses the token")
        listing = sub.add_parser("list", help="list tokens (never their keys)")
        listing.add_argument("--company", help="company id or short name")
        listing.add_argument("--json", action="store_true", help="machine-readable output")
        revoke = sub.add_parser("revoke", help="delete a token")
        revoke.add_argument("id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _create(self, options: dict[str, Any]) -> None:
        try:
            company = get_company(options["company"])
        except LedgerError as exc:
            raise CommandError(str(exc)) from None
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(_("No user {name}.").format(name=options["user"]))
        if not Membership.objects.filter(user=user, company=company).exists():
            raise CommandError(
                _("{user} is not a member of {company}; add the membership first.").format(
                    user=user.get_username(), company=company.slug
                )
            )
        token, key = ApiToken.issue(user, company, options["name"] or f"{user.get_username()}@{company.slug}")
        self.stdout.write(key)
        self.stderr.write(
            _(
                "Token {id} created. The key is shown only this once; send it as 'Authorization: Bearer <key>'."
            ).format(id=token.pk)
        )

    def _list(self, options: dict[str, Any]) -> None:
        tokens = ApiToken.objects.select_related("user", "company").order_by("pk")
        if options["company"]:
            try:
                tokens = tokens.filter(company=get_company(options["company"]))
            except LedgerError as exc:
                raise CommandError(str(exc)) from None
        rows = [
            {
                "id": t.pk,
                "name": t.name,
                "user": t.user.get_username(),
                "company": t.company.slug,
                "created_at": t.created_at.isoformat(),
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
            }
            for t in tokens
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for r in rows:
            self.stdout.write(
                f"{r['id']:>5}  {r['company']:<20} {r['user']:<20} {r['name']:<30} {r['last_used_at'] or '-'}"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        deleted, _count = ApiToken.objects.filter(pk=options["id"]).delete()
        if not deleted:
            raise CommandError(_("No token {id}.").format(id=options["id"]))
        self.stdout.write(_("Token {id} revoked.").format(id=options["id"]))
