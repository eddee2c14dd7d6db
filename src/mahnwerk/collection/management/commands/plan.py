"""``mahnwerk plan propose|approve|confirm|list``: instalment plans."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.collection import agreement_queries, agreements
from mahnwerk.collection.agreements_models import InstalmentPlan
from mahnwerk.collection.management.agreements_cli import (
    AgreementCommand,
    find_debtor,
    find_invoices,
    parse_amount,
    parse_date,
)
from mahnwerk.ids import parse_id
from mahnwerk.ledger.models import Company


class Command(AgreementCommand):
    help = _("Propose, approve, confirm or list instalment plans.")
    actions = ("propose", "approve", "confirm", "cancel", "list")
    target_help = _("propose: the debtor (customer number or id); approve, confirm, cancel: the plan id")

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--invoice", action="append", help=_("invoice number (repeat; default: all open)")
        )
        parser.add_argument("--instalments", type=int, help=_("number of instalments"))
        parser.add_argument("--down", help=_("down payment, e.g. 100.00 (default: the policy's minimum)"))
        parser.add_argument("--first", type=parse_date, help=_("due date of the first payment YYYY-MM-DD"))
        parser.add_argument("--every-days", type=int, default=0, help=_("interval in days"))
        parser.add_argument("--every-months", type=int, default=0, help=_("interval in months (default 1)"))
        parser.add_argument("--dates", help=_("the instalments' due dates, comma-separated"))
        parser.add_argument("--costs", help=_("interest and fees claimed with the plan, e.g. 45.00"))
        parser.add_argument(
            "--costs-mode", choices=["first", "fold"], help=_("settle costs first or fold them in")
        )
        parser.add_argument(
            "--resume-step",
            type=int,
            default=0,
            help=_("Plan B: the step the playbook resumes at (0: the next)"),
        )
        parser.add_argument(
            "--by", choices=["clerk", "debtor"], default="clerk", help=_("who made the entry")
        )
        parser.add_argument("--note", default="", help=_("a note for the timeline"))
        parser.add_argument("--reason", default="", help=_("cancel: why"))

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        action = options["action"]
        if action == "list":
            debtor = find_debtor(company, options["debtor"]) if options["debtor"] else None
            rows = agreement_queries.list_plans(company, debtor, options["status"])
            if options["json"]:
                self.emit_json(rows)
                return
            for r in rows:
                self.stdout.write(
                    f"#{r['id']:<5} {r['debtor']:<10} {r['total']:>14} {sum(1 for i in r['instalments'] if i['number']):>3}x  {r['status']:<10}"
                    + (" " + _("needs approval") if r["needs_approval"] and not r["approved_by"] else "")
                    + f"  {', '.join(r['invoices'])}"
                )
            return
        try:
            if action == "propose":
                plan = self._propose(company, options)
            else:
                plan = self._plan(company, options)
                if action == "approve":
                    agreements.approve_plan(company, plan, actor=options["actor"], as_of=options["today"])
                elif action == "cancel":
                    agreements.cancel_agreement(
                        company,
                        plan,
                        reason=options["reason"],
                        actor=options["actor"],
                        as_of=options["today"],
                    )
                else:
                    agreements.confirm_plan(
                        company, plan, by=options["by"], actor=options["actor"], as_of=options["today"]
                    )
        except agreements.AgreementError as exc:
            raise CommandError(str(exc)) from None
        plan.refresh_from_db()
        row = agreement_queries.plan_as_dict(plan)
        if options["json"]:
            self.emit_json(row)
            return
        self.stdout.write(
            _("Plan #{id}: {status}, {total} in {count} instalment(s), confirm by {confirm_by}").format(
                id=plan.pk,
                status=plan.status,
                total=row["total"],
                count=plan.count,
                confirm_by=row["confirm_by"],
            )
        )
        if plan.needs_approval and not plan.approved_by:
            self.stdout.write(
                _("Outside the limits ({violations}): needs approval ('plan approve {id}').").format(
                    violations=", ".join(row["violations"]), id=plan.pk
                )
            )
        for i in row["instalments"]:
            self.stdout.write(f"  {i['number']:>2}  {i['due_date']}  {i['amount']:>14}")

    def _plan(self, company: Company, options: dict[str, Any]) -> InstalmentPlan:
        ident = self.need_target(options, _("a plan id"))
        plan = InstalmentPlan.objects.filter(company=company, pk=parse_id(ident) or 0).first()
        if plan is None:
            raise CommandError(_("no plan {id}").format(id=ident))
        return plan

    def _propose(self, company: Company, options: dict[str, Any]) -> InstalmentPlan:
        debtor = find_debtor(company, self.need_target(options, _("a debtor")))
        invoices = find_invoices(company, debtor, options["invoice"])
        currency = invoices[0].currency
        dates = [parse_date(d.strip()) for d in options["dates"].split(",")] if options["dates"] else None
        count = options["instalments"] or (len(dates) if dates else None)
        if not count:
            raise CommandError(_("propose needs --instalments (or --dates)"))
        return agreements.propose_plan(
            company,
            debtor,
            invoices,
            count,
            down_payment_minor=parse_amount(options["down"], currency),
            first_due=options["first"],
            interval_days=options["every_days"],
            interval_months=options["every_months"],
            dates=dates,
            costs_minor=parse_amount(options["costs"], currency) if options["costs"] else None,
            costs_mode=options["costs_mode"],
            resume_level=options["resume_step"],
            source=options["by"],
            actor=options["actor"],
            note=options["note"],
            as_of=options["today"],
        )
