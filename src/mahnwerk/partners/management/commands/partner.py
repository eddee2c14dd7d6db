from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from mahnwerk.ledger.management.base import MahnwerkCommand
from mahnwerk.partners import services
from mahnwerk.partners.models import ExchangeFormat, Handover, Partner, PartnerKind


def _percent(value: str) -> Decimal:
    try:
        return Decimal(value.replace(",", "."))
    except InvalidOperation:
        raise CommandError(f"not a percentage: {value!r}") from None


class Command(MahnwerkCommand):
    help = (
        "Collection agencies and lawyers: add one (its API token is printed once), list them, issue a new "
        "token, import the statuses a partner sends back (CSV or JSON), report the payments that reached us "
        "after a handover."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["add", "list", "token", "import-status", "report"])
        parser.add_argument(
            "name", nargs="?", help="partner name (add, token) or status file (import-status)"
        )
        parser.add_argument("--kind", choices=PartnerKind.values)
        parser.add_argument("--fee-percent", help="the partner's fee in percent of what it collects, e.g. 15")
        parser.add_argument("--email", default="")
        parser.add_argument("--format", choices=ExchangeFormat.values, help="exchange format (default csv)")
        parser.add_argument("--partner", help="import-status, report: only this partner's handovers")
        parser.add_argument("--out", help="report: write to this file instead of the screen")
        parser.add_argument("--all", action="store_true", help="report: also the payments reported before")
        parser.add_argument(
            "--dry-run", action="store_true", help="report: do not mark the lines as reported"
        )
        parser.add_argument("--actor", default="cli")

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        try:
            getattr(self, "_" + options["action"].replace("-", "_"))(company, options)
        except services.PartnerError as exc:
            raise CommandError(str(exc)) from None

    def _add(self, company: Any, options: dict[str, Any]) -> None:
        if not options["name"] or not options["kind"] or options["fee_percent"] is None:
            raise CommandError("usage: partner add NAME --kind agency|lawyer --fee-percent P")
        partner, key = services.add_partner(
            company,
            options["name"],
            options["kind"],
            _percent(options["fee_percent"]),
            email=options["email"],
            exchange_format=options["format"] or ExchangeFormat.CSV,
            actor=options["actor"],
        )
        if options["json"]:
            self.emit_json({"id": partner.pk, "name": partner.name, "token": key})
            return
        self.stdout.write(f"partner {partner.pk}: {partner.name} ({partner.kind}, {partner.fee_percent} %)")
        self.stdout.write(f"API token (shown once): {key}")

    def _list(self, company: Any, options: dict[str, Any]) -> None:
        rows = []
        for p in Partner.objects.filter(company=company).order_by("name"):
            handovers = Handover.objects.filter(partner=p)
            rows.append(
                {
                    "id": p.pk,
                    "name": p.name,
                    "kind": p.kind,
                    "fee_percent": str(p.fee_percent),
                    "email": p.email,
                    "format": p.format,
                    "active": p.active,
                    "open_handovers": handovers.filter(status="open").count(),
                    "handovers": handovers.count(),
                }
            )
        if options["json"]:
            self.emit_json(rows)
            return
        for r in rows:
            self.stdout.write(
                f"{r['id']:>4}  {r['name']:<30} {r['kind']:<7} {r['fee_percent']:>6} %  {r['format']:<4} "
                f"open {r['open_handovers']}/{r['handovers']}  {r['email']}"
                + ("" if r["active"] else "  (inactive)")
            )

    def _token(self, company: Any, options: dict[str, Any]) -> None:
        if not options["name"]:
            raise CommandError("usage: partner token NAME")
        key = services.reissue_token(services.find_partner(company, options["name"]), actor=options["actor"])
        self.stdout.write(f"API token (shown once, the earlier one no longer works): {key}")

    def _import_status(self, company: Any, options: dict[str, Any]) -> None:
        if not options["name"]:
            raise CommandError("usage: partner import-status FILE [--partner NAME]")
        path = Path(options["name"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        partner = services.find_partner(company, options["partner"]) if options["partner"] else None
        rows, first = services.read_status_file(path.read_bytes(), path.name, company.currency)
        try:
            result = services.apply_statuses(
                company, rows, partner=partner, source="file", actor=options["actor"]
            )
        except services.StatusInputError as exc:  # rows numbered as the file has them (a CSV: from row 2)
            raise services.StatusInputError(exc.errors, first_row=first) from None
        if options["json"]:
            self.emit_json(result.as_dict())
            return
        self.stdout.write(
            f"{result.booked} status(es) booked, {result.duplicates} seen before, "
            f"{len(result.payments)} payment(s) recorded"
            + (f"; handovers closed: {', '.join(result.closed)}" if result.closed else "")
        )

    def _report(self, company: Any, options: dict[str, Any]) -> None:
        partner = services.find_partner(company, options["partner"]) if options["partner"] else None
        fmt = options["format"] or (partner.format if partner is not None else ExchangeFormat.CSV)
        rows = services.payment_report(
            company, partner, mark=not options["dry_run"], include_reported=options["all"]
        )
        text = services.report_text(rows, ExchangeFormat.JSON if options["json"] else fmt)
        if options["out"]:
            Path(options["out"]).write_text(text, encoding="utf-8")
            self.stdout.write(f"{len(rows)} payment(s) written to {options['out']}")
        else:
            self.stdout.write(text.rstrip("\n"))
