from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.core.money import format_money
from mahnwerk.escalation.court import (
    lv_warning,
    mahnantrag,
    record_lv_warning,
    record_mahnantrag,
    record_small_claims,
    small_claims,
)
from mahnwerk.escalation.deadlines import CourtTaskError, withdraw
from mahnwerk.escalation.evidence import build_bundle
from mahnwerk.escalation.pdf import lv_warning_pdf, mahnantrag_pdf, small_claims_pdf
from mahnwerk.escalation.services import EscalationError, find_debtor
from mahnwerk.ledger.management.base import MahnwerkCommand, business_date
from mahnwerk.ledger.services import company_today


class Command(MahnwerkCommand):
    help = (
        "Court: 'mahnantrag DEBTOR' the data of a German court payment order (§ 690 ZPO) and its deadlines; "
        "'lv-bridinajums DEBTOR' the Latvian warning procedure (application data and warning letter); "
        "'evidence DEBTOR --out FILE.zip' the evidence bundle (invoices, reminders, agreements, interest); "
        "'small-claims DEBTOR' the claim form A of the European Small Claims Procedure (Regulation 861/2007); "
        "'withdraw DEBTOR --reason R' the application withdrawn, its deadline tasks cancelled. What is prepared "
        "goes on the debtor's timeline, the deadlines that follow on the task list."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "action", choices=["mahnantrag", "lv-bridinajums", "small-claims", "evidence", "withdraw"]
        )
        parser.add_argument("debtor", help="debtor id or customer number")
        parser.add_argument("--date", type=business_date, help="as of this date (default: today)")
        parser.add_argument("--pdf", type=Path, metavar="FILE", help="write the data as a PDF to FILE")
        parser.add_argument("--out", type=Path, metavar="FILE.zip", help="evidence: the ZIP file to write")
        parser.add_argument(
            "--no-record", action="store_true", help="do not put the prepared application on the timeline"
        )
        parser.add_argument(
            "--include-time-barred",
            action="store_true",
            help="claim invoices whose limitation period has ended too (left out by default, and named)",
        )
        parser.add_argument(
            "--currency",
            metavar="CODE",
            help="the currency to claim when the debtor owes in several (one application per currency)",
        )
        parser.add_argument("--actor", default="cli", help="who prepares it (recorded on the timeline)")
        parser.add_argument("--reason", default="", help="withdraw: why the application is withdrawn")

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        as_of = options["date"] or company_today(company)
        action = options["action"]
        try:
            debtor = find_debtor(company, options["debtor"])
            if action == "withdraw":
                try:
                    tasks = withdraw(company, debtor, options["reason"], as_of, actor=options["actor"])
                except CourtTaskError as exc:
                    raise CommandError(str(exc)) from None
                self.stdout.write(
                    _("{count} court deadline task(s) of {debtor} cancelled.").format(
                        count=len(tasks), debtor=debtor.number
                    )
                )
                return
            if action == "evidence":
                if options["out"] is None:
                    raise CommandError(_("evidence needs --out FILE.zip"))
                manifest = build_bundle(company, debtor, as_of, options["out"], actor=options["actor"])
                if options["json"]:
                    self.emit_json(manifest)
                else:
                    self.stdout.write(
                        _("Evidence bundle written to {file}: {count} file(s)").format(
                            file=options["out"], count=len(manifest["files"])
                        )
                    )
                    for missing in manifest["missing"]:
                        self.stdout.write("  " + _("missing: {what}").format(what=missing))
                return
            barred = options["include_time_barred"]
            currency = options["currency"]
            if action == "mahnantrag":
                data = mahnantrag(company, debtor, as_of, include_time_barred=barred, currency=currency)
                if not options["no_record"]:
                    record_mahnantrag(company, debtor, data, actor=options["actor"])
                render = mahnantrag_pdf
            elif action == "small-claims":
                data = small_claims(company, debtor, as_of, include_time_barred=barred, currency=currency)
                if not options["no_record"]:
                    record_small_claims(company, debtor, data, actor=options["actor"])
                render = small_claims_pdf
            else:
                data = lv_warning(company, debtor, as_of, include_time_barred=barred, currency=currency)
                if not options["no_record"]:
                    record_lv_warning(company, debtor, data, actor=options["actor"])
                render = lv_warning_pdf
        except EscalationError as exc:
            raise CommandError(str(exc)) from None
        if options["pdf"]:
            options["pdf"].write_bytes(render(data))
            self.stdout.write(_("PDF written to {file}").format(file=options["pdf"]))
            return
        if options["json"]:
            self.emit_json(data)
            return
        if action == "lv-bridinajums":
            self.stdout.write(data["warning_letter"]["text"])
            for t in data["deadlines"]:
                self.stdout.write(f"  {t['due']}  {t['text']}")
            for w in data["warnings"]:
                self.stdout.write("  ! " + w)
            return
        if action == "small-claims":
            self._show_small_claims(data)
            return
        cur = data["currency"]
        out = self.stdout.write
        out(_("Court payment order for {name} as of {date}").format(name=debtor.name, date=as_of.isoformat()))
        for c in data["main_claims"]:
            out(f"  {c['description']:<48} {format_money(c['open_minor'], cur):>12}")
        for c in data["interest_claims"]:
            amount = c.get("principal_minor") if c["kind"] == "running" else c.get("amount_minor")
            out(
                f"  {c['invoice']:<12} {c['kind']:<10} {c['basis']:<48} {c.get('from') or c.get('until')}  "
                f"{format_money(amount or 0, cur)}"
            )
        for c in data["costs"]:
            out(f"  {c['invoice']:<12} {c['label']:<48} {format_money(c['amount_minor'], cur):>12}")
        out("  " + data["counter_performance"]["text"])
        fee = data["court_fee_minor"]
        out(
            _("Court fee: {fee}").format(
                fee=format_money(fee, cur) if fee is not None else data["court_fee_error"]
            )
        )
        for t in data["deadlines"]:
            out(f"  {t['due']}  {t['text']}")
        for w in data["warnings"]:
            out("  ! " + w)

    def _show_small_claims(self, data: dict[str, Any]) -> None:
        cur = data["currency"]
        out = self.stdout.write
        out(
            _("European Small Claims Procedure, claim form A, against {name} as of {date}").format(
                name=data["defendant"]["name"], date=data["as_of"].isoformat()
            )
        )
        out(
            "  "
            + _("Court: at the defendant's domicile, {country} ({city})").format(
                country=data["court"]["country_name"], city=data["court"]["city"] or "-"
            )
        )
        for c in data["claims"]:
            out(f"  {c['invoice']:<16} {c['invoice_date']}  {format_money(c['principal_minor'], cur):>12}")
        for i in data["interest"]:
            basis = (
                _("{points} points above the base rate").format(points=i["margin_points"])
                if i["margin_points"] is not None
                else _("{rate} % a year").format(rate=i["rate_percent"])
            )
            out(
                f"  {i['invoice']:<16} {basis} ({i['rate_percent']} %) "
                + _("from {date}").format(date=i["from"])
                + f"  {format_money(i['accrued_to_date_minor'], cur):>12}"
            )
        for c in data["costs"]:
            out(f"  {c['invoice']:<16} {c['kind']:<24} {format_money(c['amount_minor'], cur):>12}")
        out(
            _("Principal {principal}, interest {interest}, costs {costs}, total {total}").format(
                principal=format_money(data["principal_minor"], cur),
                interest=format_money(data["interest_minor"], cur),
                costs=format_money(data["costs_minor"], cur),
                total=format_money(data["total_minor"], cur),
            )
        )
        for w in data["warnings"]:
            out("  ! " + w)
