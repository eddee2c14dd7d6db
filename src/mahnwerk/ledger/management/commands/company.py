"""``mahnwerk company``: one's own company.

mahnwerk company create SLUG --name NAME --country DE [--currency EUR] [--iban I] [--bic B] [--email E]
                         [--language de] [--time-zone Z] [--preset de-b2b] ... [--json]
mahnwerk company list [--json]
mahnwerk company show SLUG [--json]
mahnwerk company update SLUG [--name NAME] [--iban I] ... [--preset P] [--json]
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.collection.presets import PRESETS
from mahnwerk.ledger.models import Company
from mahnwerk.ledger.services import LedgerError, get_company
from mahnwerk.ledger.setup import COMPANY_FIELDS, SetupError, company_summary, create_company, update_company

# Option name of each field where it is not the field's name with dashes.
OPTION_OF_FIELD = {"default_language": "language"}
FIELD_HELP = {
    "name": "the company's legal name, as letters and emails name the creditor",
    "country": "ISO 3166 country code of its seat, e.g. DE, LV",
    "currency": "ISO 4217 code of its invoices (default EUR)",
    "email": "the company's email address: the sender of collection emails",
    "phone": "phone number",
    "collections_email": "address for replies to collection emails (blank: --email)",
    "collections_phone": "phone for questions about payments (blank: --phone)",
    "sms_sender": "sender name of text messages, up to 11 letters or digits",
    "iban": "the account debtors pay to (without one, messages carry no bank details and no payment code)",
    "bic": "BIC of that account",
    "default_language": "language of its debtors by default: de, lv, en (default: by country)",
    "time_zone": "e.g. Europe/Berlin (default: by country)",
    "jurisdiction": "rules for its claims: DE, LV, EU, US (default: by country)",
    "street": "street and number",
    "postcode": "postcode",
    "city": "city",
    "legal_form": "e.g. GmbH, SIA",
    "register_court": "e.g. Amtsgericht Charlottenburg",
    "register_number": "commercial register number, e.g. HRB 123456 B",
    "managing_directors": "all of them, separated by commas",
    "registration_number": "Latvian Register of Enterprises number (11 digits)",
    "vat_id": "VAT identification number",
    "statement_interval_months": "months between statements of account to business customers with open "
    "items who hear nothing else: 1 monthly (default), 3 quarterly, 0 none",
}


def option_of(field: str) -> str:
    """The command-line option that sets ``field`` (the short name is the argument SLUG)."""
    if field == "slug":
        return "SLUG"
    if field not in COMPANY_FIELDS and field != "preset":
        return field
    return "--" + OPTION_OF_FIELD.get(field, field).replace("_", "-")


def add_company_options(parser: CommandParser) -> None:
    for field in COMPANY_FIELDS:
        parser.add_argument(option_of(field), dest=field, metavar=field.upper(), help=FIELD_HELP[field])
    parser.add_argument(
        "--preset",
        action="append",
        default=[],
        metavar="PRESET",
        help=f"playbook preset: {', '.join(PRESETS)} (repeatable); on create the first is the default "
        "playbook (default: the business preset of the country, where there is one)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


class Command(BaseCommand):
    help = "Create, list, show and change companies (the creditors whose receivables are collected)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a company with its playbooks")
        create.add_argument("slug", metavar="SLUG", help="short name: letters, digits, hyphens")
        add_company_options(create)
        listing = sub.add_parser("list", help="list the companies")
        listing.add_argument("--json", action="store_true", help="machine-readable output")
        show = sub.add_parser("show", help="a company's details, playbooks and members")
        show.add_argument("slug", metavar="SLUG", help="short name or id")
        show.add_argument("--json", action="store_true", help="machine-readable output")
        update = sub.add_parser("update", help="change a company's details or add preset playbooks")
        update.add_argument("slug", metavar="SLUG", help="short name or id")
        add_company_options(update)

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    @staticmethod
    def _values(options: dict[str, Any]) -> dict[str, Any]:
        return {field: options.get(field) for field in COMPANY_FIELDS}

    @staticmethod
    def _find(ident: str) -> Company:
        try:
            return get_company(ident)
        except LedgerError as exc:
            raise CommandError(str(exc)) from None

    def _create(self, options: dict[str, Any]) -> None:
        if options.get("name") is None:
            options["name"] = ""
        if options.get("country") is None:
            raise CommandError(_("company not created: --country: a country is required (e.g. DE, LV)."))
        try:
            company = create_company(options["slug"], options["preset"], **self._values(options))
        except SetupError as exc:
            raise CommandError(
                _("company not created: {errors}").format(errors=exc.line(option_of))
            ) from None
        self._show_company(company, options, _("Company {slug} created.").format(slug=company.slug))

    def _update(self, options: dict[str, Any]) -> None:
        company = self._find(options["slug"])
        try:
            update_company(company, options["preset"], **self._values(options))
        except SetupError as exc:
            raise CommandError(
                _("company not changed: {errors}").format(errors=exc.line(option_of))
            ) from None
        self._show_company(company, options, _("Company {slug} changed.").format(slug=company.slug))

    def _show(self, options: dict[str, Any]) -> None:
        self._show_company(self._find(options["slug"]), options, "")

    def _list(self, options: dict[str, Any]) -> None:
        rows = [
            {
                "id": c.pk,
                "slug": c.slug,
                "name": c.name,
                "country": c.country,
                "jurisdiction": c.jurisdiction,
                "currency": c.currency,
            }
            for c in Company.objects.order_by("slug")
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        if not rows:
            self.stdout.write(_("No company yet: create one with 'mahnwerk company create'."))
        for r in rows:
            self.stdout.write(
                f"{r['id']:>5}  {r['slug']:<24} {r['country'] or '-':<3} {r['currency']:<4} {r['name']}"
            )

    def _show_company(self, company: Company, options: dict[str, Any], headline: str) -> None:
        data = company_summary(company)
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str))
            return
        if headline:
            self.stdout.write(headline)
        self.stdout.write(f"{data['name']} ({data['slug']}, id {data['id']})")
        for field in COMPANY_FIELDS[1:]:
            if data[field]:
                self.stdout.write(f"  {field.replace('_', ' '):<22} {data[field]}")
        self.stdout.write("  " + _("playbooks:"))
        for p in data["playbooks"]:
            line = _("{name} (default): {count} steps") if p["default"] else _("{name}: {count} steps")
            self.stdout.write("    " + line.format(name=p["name"], count=p["steps"]))
        self.stdout.write("  " + _("members:"))
        for m in data["members"]:
            self.stdout.write(f"    {m['user']} ({m['role']})")
        if not data["members"]:
            self.stdout.write(
                "    "
                + _("none yet: mahnwerk user add NAME --company {slug} --role admin --password-stdin").format(
                    slug=company.slug
                )
            )
