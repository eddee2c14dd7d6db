from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mahnwerk.collection import runs
from mahnwerk.collection.services import CollectionError, run_collection
from mahnwerk.comms.compose import render_pending
from mahnwerk.comms.outbox import day_counts, mark_killed_runs, send_queued
from mahnwerk.core.playbook import Held
from mahnwerk.ledger.management.base import MahnwerkCommand, business_date
from mahnwerk.ledger.models import Company, Debtor

# why debtors were held, as the summary counts them (the case file says each at length)
HELD_TEXTS = {
    Held.NOTHING_OPEN.value: gettext_lazy("nothing open"),
    Held.DONE_TODAY.value: gettext_lazy("done today"),
    Held.COVERED.value: gettext_lazy("covered"),
    Held.TIME_BARRED.value: gettext_lazy("time barred"),
    Held.QUIET_DAY.value: gettext_lazy("quiet day"),
    Held.CADENCE.value: gettext_lazy("cadence"),
    Held.BELOW_MINIMUM.value: gettext_lazy("below minimum"),
    Held.BELOW_STEP_MINIMUM.value: gettext_lazy("below step minimum"),
    Held.NOT_YET.value: gettext_lazy("not yet"),
    Held.DEADLINE_RUNS.value: gettext_lazy("deadline runs"),
    Held.UNSENT.value: gettext_lazy("earlier message not sent"),
    Held.END_OF_PLAYBOOK.value: gettext_lazy("end of playbook"),
    Held.BANK_NOT_CURRENT.value: gettext_lazy("bank not current"),
    Held.RATE_MISSING.value: gettext_lazy("rate missing"),
}


class Command(MahnwerkCommand):
    help = "The daily collection run: decide and send what is due for every open item as of a date."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=business_date, help="business date YYYY-MM-DD (default: today)")
        parser.add_argument("--dry-run", action="store_true", help="show what would be done, write nothing")
        parser.add_argument(
            "--approve",
            action="store_true",
            help="also take the steps that wait for approval: playbooks in approval mode, messages that would "
            "claim interest for days without a known rate",
        )
        parser.add_argument(
            "--no-send", action="store_true", help="queue messages but leave sending to the worker"
        )
        parser.add_argument(
            "--partition", default="0/1", help="I/N: take only debtors with id %% N == I (several workers)"
        )
        parser.add_argument(
            "--exclude-debtor",
            action="append",
            default=[],
            metavar="NUMBER",
            help="leave this debtor (customer number or id) out of this run; repeatable; needs --company",
        )
        parser.add_argument(
            "--exclude-item",
            action="append",
            default=[],
            metavar="INVOICE",
            help="leave this invoice (number) out of its debtor's message and total; repeatable; needs --company",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            index, parts = (int(x) for x in options["partition"].split("/"))
            assert 0 <= index < parts
        except (ValueError, AssertionError):
            raise CommandError("--partition must be I/N with 0 <= I < N") from None
        excluding = options["exclude_debtor"] or options["exclude_item"]
        if excluding and not options["company"]:
            raise CommandError(_("--exclude-debtor and --exclude-item need --company"))
        companies = [self.company(options)] if options["company"] else list(Company.objects.order_by("id"))
        if not companies:
            raise CommandError(
                "there is no company yet: create one with 'mahnwerk company create' (or try 'mahnwerk demo')"
            )
        if not options["dry_run"]:
            # a run left "running" by a process that is gone (killed) is marked as such
            killed = mark_killed_runs()
            if killed:
                self.stderr.write(
                    _("%(count)d earlier run(s) were interrupted and are now marked failed")
                    % {"count": killed}
                )
        results = []
        delivery: dict[int, dict[str, int]] = {}
        errors: list[str] = []
        for company in companies:
            try:
                debtor_ids, item_ids = runs.resolve(
                    company, options["exclude_debtor"], options["exclude_item"]
                )
                if not options["dry_run"]:
                    runs.check_run_date(company, options["date"])
                result = run_collection(
                    company,
                    options["date"],
                    dry_run=options["dry_run"],
                    send=not options["no_send"],
                    partition=(index, parts),
                    approved=options["approve"],
                    exclude_debtors=debtor_ids,
                    exclude_items=item_ids,
                    actor=runs.command_line(company).actor,
                    explain=options["dry_run"] and options["json"],  # each held debtor and why
                )
            except CollectionError as exc:
                raise CommandError(str(exc)) from None
            results.append(result)
            if result.dry_run:
                continue
            if options["no_send"]:
                render_pending(company)  # written for review, not sent
            else:
                # what the run's own sending could not deliver gets one more try here, and a local
                # delivery error (a full disk, a read-only outbox folder) is reported, not swallowed
                sent = send_queued(company=company)
                if sent.get("error"):
                    errors.append(str(sent["error"]))
            delivery[company.pk] = day_counts(company, result.as_of)
        if options["json"]:
            self.emit_json(
                [
                    r.as_dict() | ({"outbox": delivery[r.company_id]} if r.company_id in delivery else {})
                    for r in results
                ]
            )
            self.fail_on(errors)
            return
        for company, r in zip(companies, results, strict=True):
            self._summary(company, r, delivery.get(company.pk))
        self.fail_on(errors)

    def _summary(self, company: Company, r: Any, day: dict[str, int] | None) -> None:
        """The run's figures for one company, each on a line of its own (labels in the reader's language)."""

        rows: list[tuple[str, str, object]] = []  # (indent, label, value), aligned as one block

        def line(label: str, value: object, indent: str = "  ") -> None:
            rows.append((indent, label, value))

        mode = _(" (dry run: nothing written)") if r.dry_run else ""
        self.stdout.write(f"{company.name} — {r.as_of.isoformat()}{mode}")
        line(_("open items evaluated"), r.open_items)
        line(_("debtors with steps due"), r.debtors_due)
        line(_("already done today"), r.already_done)
        if not r.dry_run:
            line(_("actions created"), r.actions_created)
            line(_("messages queued"), r.messages_queued)
            line(_("without contact"), r.no_contact)
            line(_("limitation warnings"), r.limitation_warnings)
        if not r.dry_run or r.awaiting_approval:
            line(_("awaiting approval"), r.awaiting_approval)
        if not r.dry_run:
            line(_("time-barred (to a person)"), r.time_barred)
            line(_("changed before writing"), r.withdrawn_at_write)
            if day is not None:  # the whole business date's, this run's and earlier runs' of the day
                line(_("emails and SMS of the day, sent"), day["sent"])
                line(_("still queued"), day["queued"], indent="    ")
                line(_("retrying"), day["retrying"], indent="    ")
                line(_("failed"), day["failed"], indent="    ")
                line(_("letters for the print batch"), day["letters"])
        if r.excluded_debtors or r.excluded_items:
            line(
                _("left out of this run"),
                _("{debtors} debtor(s), {items} invoice(s)").format(
                    debtors=len(r.excluded_debtors), items=len(r.excluded_items)
                ),
            )
        for reason, count in sorted(r.held.items()):
            label = _("held, {reason}").format(reason=HELD_TEXTS.get(reason, reason.replace("_", " ")))
            line(label, _("{count} debtor(s)").format(count=count))
        width = max(len(indent) + len(label) for indent, label, _value in rows)
        for indent, label, value in rows:
            self.stdout.write(f"{indent}{label:<{width - len(indent)}} {value}")
        for warning in r.warnings:
            self.stderr.write("  " + _("warning: {text}").format(text=warning))
        for level, count in sorted(r.steps.items()):
            self.stdout.write("  " + _("step {level}: {count} debtor(s)").format(level=level, count=count))
        shown = r.plan[:50]
        names = dict(
            Debtor.objects.filter(pk__in={int(str(p["debtor_id"])) for p in shown}).values_list(
                "pk", "number"
            )
        )
        for plan in shown:
            items = plan["items"]
            assert isinstance(items, list)
            waits = (
                " — " + _("waits for approval: %(reason)s") % {"reason": plan["waits_reason"]}
                if plan.get("waits_reason")
                else ""
            )
            debtor_id = int(str(plan["debtor_id"]))
            self.stdout.write(
                "  "
                + _("would send step {level} to customer {number}: {count} item(s)").format(
                    level=plan["level"], number=names.get(debtor_id, f"#{debtor_id}"), count=len(items)
                )
                + waits
            )

    def fail_on(self, errors: list[str]) -> None:
        if errors:
            raise CommandError(_("%(error)s; the messages stay queued") % {"error": errors[0]})
