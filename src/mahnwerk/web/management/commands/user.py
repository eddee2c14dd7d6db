"""``mahnwerk user``: who may work for which company.

mahnwerk user add NAME --company SLUG --role admin|collector|viewer [--email E] [--password-stdin] [--json]
mahnwerk user list [--company SLUG] [--json]
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.ledger.services import LedgerError, get_company
from mahnwerk.ledger.setup import MemberResult, SetupError, add_member, member_rows
from mahnwerk.web.models import Role

OPTION_OF_FIELD = {"username": "NAME", "role": "--role", "email": "--email", "password": "password"}


class Command(BaseCommand):
    stealth_options = ("stdin",)  # tests pass the password this way
    help = "Add users to a company with a role (admin, collector, viewer), or list them."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser(
            "add",
            help="add a user to a company, or change the user's role there (what changed is printed; an "
            "existing user's password is not replaced: use 'mahnwerk changepassword NAME'; the only admin "
            "of a company keeps the role)",
        )
        add.add_argument("name", metavar="NAME", help="user name (to sign in with)")
        add.add_argument("--company", required=True, help="company id or short name")
        add.add_argument(
            "--role",
            required=True,
            choices=list(Role.values),
            help="admin: settings, playbooks, users; collector: works the cases; viewer: reads only",
        )
        add.add_argument("--email", default="", help="the user's email address")
        add.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of standard input (a new user without one "
            "cannot sign in until 'mahnwerk changepassword NAME'; refused for an existing user)",
        )
        add.add_argument("--json", action="store_true", help="machine-readable output")
        listing = sub.add_parser("list", help="users and their roles")
        listing.add_argument("--company", help="company id or short name")
        listing.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _add(self, options: dict[str, Any]) -> None:
        try:
            company = get_company(options["company"])
        except LedgerError as exc:
            raise CommandError(str(exc)) from None
        password = None
        if options["password_stdin"]:
            stdin = options.get("stdin") or sys.stdin
            password = stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError(_("user not added: password: nothing was read from standard input."))
        try:
            result = add_member(
                options["name"], company, options["role"], email=options["email"], password=password
            )
        except SetupError as exc:
            raise CommandError(
                _("user not added: {errors}").format(
                    errors=exc.line(lambda field: OPTION_OF_FIELD.get(field, field))
                )
            ) from None
        user = result.membership.user.get_username()
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "user": user,
                        "company": company.slug,
                        "role": result.membership.role,
                        "created": result.user_created,
                        "previous_role": result.previous_role,
                        "email_changed": result.email_changed,
                        "can_sign_in": result.has_password,
                    },
                    indent=2,
                )
            )
            return
        self.stdout.write(self._added_line(result, user, company.slug))
        if not result.has_password:
            self.stdout.write(
                _("{user} has no password yet: set one with 'mahnwerk changepassword {user}'.").format(
                    user=user
                )
            )

    @staticmethod
    def _added_line(result: MemberResult, user: str, company: str) -> str:
        """One line saying what ``user add`` did: created, added to the company, its role changed (from what
        to what) or nothing changed; and whether the email address was replaced."""
        role, before = result.membership.role, result.previous_role
        if result.user_created:
            text = _("User {user} created: {role} of {company}.")
        elif before is None:
            text = _("User {user} (already existing) added: {role} of {company}.")
        elif before != role:
            text = _("User {user} changed: {role} of {company} (was {before}).")
        else:
            text = _("User {user} unchanged: {role} of {company}.")
        if result.email_changed:
            text += " " + _("Email address replaced.")
        return text.format(user=user, role=role, company=company, before=before)

    def _list(self, options: dict[str, Any]) -> None:
        company = None
        if options["company"]:
            try:
                company = get_company(options["company"])
            except LedgerError as exc:
                raise CommandError(str(exc)) from None
        rows = member_rows(company)
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        if not rows:
            self.stdout.write(
                _("No users yet: add one with 'mahnwerk user add NAME --company SLUG --role admin'.")
            )
        for r in rows:
            sign_in = "" if r["can_sign_in"] else "  " + _("(no password)")
            self.stdout.write(f"{r['user']:<24} {r['company']:<24} {r['role']:<10}{sign_in}")
