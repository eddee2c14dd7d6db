"""``mahnwerk experiment``: compare playbooks on debtors assigned at random, and switch channel learning.

mahnwerk experiment create NAME --arm PLAYBOOK --arm PLAYBOOK [--segment KEY ...] [--seed N]
mahnwerk experiment start|assign|stop EXPERIMENT [--date D]
mahnwerk experiment report EXPERIMENT [--date D] [--min-n N] [--json]
mahnwerk experiment promote EXPERIMENT [--arm PLAYBOOK] [--date D]
mahnwerk experiment list
mahnwerk experiment learning on|off|show [--window-days N]
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.core.experiments import Estimate, Verdict
from mahnwerk.core.money import format_money
from mahnwerk.ids import parse_id
from mahnwerk.ledger.models import Company
from mahnwerk.ledger.services import LedgerError, company_today, get_company


def business_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("Not a date (YYYY-MM-DD): {value}").format(value=value)) from None


def verdict_text(verdict: Verdict) -> str:
    return {
        Verdict.NOT_ENOUGH_DATA: _("not enough data yet"),
        Verdict.BETTER: _("better than the control"),
        Verdict.WORSE: _("worse than the control"),
        Verdict.NO_DIFFERENCE: _("no difference from the control shown"),
        Verdict.CONTROL: _("control"),
    }[verdict]


def share(e: Estimate) -> str:
    if e.value is None:
        return "-"
    if e.low is None or e.high is None:
        return f"{e.value:.0%}"
    return f"{e.value:.0%} [{e.low:.0%}, {e.high:.0%}]"


def points(e: Estimate) -> str:
    if e.value is None:
        return "-"
    if e.low is None or e.high is None:
        return f"{e.value * 100:+.1f}"
    return f"{e.value * 100:+.1f} [{e.low * 100:+.1f}, {e.high * 100:+.1f}]"


def number(e: Estimate) -> str:
    if e.value is None:
        return "-"
    if e.low is None or e.high is None:
        return f"{e.value:.1f}"
    return f"{e.value:.1f} [{e.low:.1f}, {e.high:.1f}]"


def money(e: Estimate, currency: str) -> str:
    if e.value is None:
        return "-"

    def m(x: float) -> str:
        return format_money(round(x), currency)

    if e.low is None or e.high is None:
        return m(e.value)
    return f"{m(e.value)} [{m(e.low)}, {m(e.high)}]"


class Command(BaseCommand):
    help = "Experiments with playbook variants (create, start, stop, report, promote) and channel learning."

    def add_arguments(self, parser: CommandParser) -> None:
        common = CommandParser(add_help=False)
        common.add_argument("--company", help="Company id or short name (default: the only one).")
        common.add_argument("--date", help="Business date YYYY-MM-DD (default: today in the company's zone).")
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser(
            "create", parents=[common], help="A draft experiment; the first arm is the control."
        )
        create.add_argument("name")
        create.add_argument(
            "--arm", action="append", required=True, help="A playbook (id or name); twice or more."
        )
        create.add_argument("--segment", action="append", default=[], help="Only this segment (repeatable).")
        create.add_argument("--seed", type=int, help="Random seed of the assignment.")
        for name, text in (
            ("start", "Start a draft experiment and assign its debtors at random, stratified by segment."),
            ("assign", "Assign debtors that have come since the start."),
            ("stop", "Stop: its debtors follow their segment's playbook again."),
        ):
            p = sub.add_parser(name, parents=[common], help=text)
            p.add_argument("experiment")
        report = sub.add_parser(
            "report", parents=[common], help="Outcomes per arm with confidence intervals."
        )
        report.add_argument("experiment")
        report.add_argument("--min-n", type=int, default=30, help="Debtors per arm before a verdict (30).")
        report.add_argument("--json", action="store_true", help="Print JSON.")
        promote = sub.add_parser(
            "promote", parents=[common], help="Make the winning arm's playbook the playbook of its segments."
        )
        promote.add_argument("experiment")
        promote.add_argument("--arm", help="Promote this arm's playbook instead of the measured winner.")
        sub.add_parser("list", parents=[common], help="The company's experiments.")
        learning = sub.add_parser(
            "learning", parents=[common], help="Channel choice by the customer's response."
        )
        learning.add_argument("switch", choices=["on", "off", "show"])
        learning.add_argument("--debtor", help="Also show what followed this debtor's messages, per channel.")
        learning.add_argument(
            "--window-days", type=int, help="Days after a message a payment counts as its answer."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from mahnwerk.experiments.services import ExperimentError

        try:
            company = get_company(options["company"])
        except LedgerError as exc:
            raise CommandError(str(exc)) from None
        as_of = business_date(options["date"]) if options["date"] else company_today(company)
        try:
            getattr(self, f"_{options['action']}")(company, as_of, options)
        except ExperimentError as exc:
            raise CommandError(str(exc)) from None

    def _create(self, company: Company, as_of: date, options: dict[str, Any]) -> None:
        from mahnwerk.experiments.services import create_experiment

        experiment = create_experiment(
            company, options["name"], options["arm"], options["segment"], options["seed"]
        )
        self.stdout.write(
            _(
                "Experiment {name} (#{id}) created with {arms} arms; start it with 'experiment start {id}'."
            ).format(name=experiment.name, id=experiment.pk, arms=len(experiment.arms))
        )

    def _start(self, company: Company, as_of: date, options: dict[str, Any]) -> None:
        from mahnwerk.experiments.services import get_experiment, start_experiment

        experiment = get_experiment(company, options["experiment"])
        count = start_experiment(experiment, as_of)
        self.stdout.write(
            _("Experiment {name} started on {date}: {count} debtor(s) assigned at random.").format(
                name=experiment.name, date=as_of.isoformat(), count=count
            )
        )

    def _assign(self, company: Company, as_of: date, options: dict[str, Any]) -> None:
        from mahnwerk.experiments.services import assign, get_experiment

        experiment = get_experiment(company, options["experiment"])
        count = assign(experiment, as_of)
        self.stdout.write(
            _("{count} debtor(s) assigned to experiment {name}.").format(count=count, name=experiment.name)
        )

    def _stop(self, company: Company, as_of: date, options: dict[str, Any]) -> None:
        from mahnwerk.experiments.services import get_experiment, stop_experiment

        experiment = get_experiment(company, options["experiment"])
        stop_experiment(experiment, as_of)
        self.stdout.write(_("Experiment {name} stopped.").format(name=experiment.name))

    def _list(self, company: Company, as_of: date, options: dict[str, Any]) -> None:
        from mahnwerk.experiments.models import Experiment

        for e in Experiment.objects.filter(company=company).order_by("pk"):
            self.stdout.write(
                f"#{e.pk:<4} {e.name:<30} {e.status:<8} {e.started_on or '-'!s:<10} "
                f"{e.assignments.count():>6}"
            )

    def _report(self, company: Company, as_of: date, options: dict[str, Any]) -> None:
        from mahnwerk.experiments.services import get_experiment, report

        experiment = get_experiment(company, options["experiment"])
        result = report(experiment, as_of, min_n=options["min_n"])
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
            return
        self.stdout.write(
            # xgettext:no-python-format (a per-cent sign, not a placeholder)
            _("Experiment {name} ({status}), as of {date}; 95 % intervals in brackets.").format(
                name=experiment.name, status=experiment.status, date=as_of.isoformat()
            )
        )
        for arm in result.report.arms:
            self.stdout.write("")
            self.stdout.write(f"{result.names.get(arm.arm, arm.arm)}: {verdict_text(arm.verdict)}")
            rows = [
                (_("debtors assigned / after 30 days"), f"{arm.assigned} / {arm.mature}"),
                (_("collected in full within 30 days"), share(arm.collected_share)),
                (_("difference to the control (points)"), points(arm.uplift)),
                (_("days to pay"), number(arm.days_to_pay)),
                (_("collected within 30 days per debtor"), money(arm.collected_minor, company.currency)),
                (_("difference to the control per debtor"), money(arm.amount_uplift, company.currency)),
                (_("opted out"), share(arm.opt_outs)),
                (_("disputed"), share(arm.disputes)),
            ]
            for label, value in rows:
                self.stdout.write(f"  {label:<40} {value}")
        self.stdout.write("")
        if not result.report.enough_data:
            self.stdout.write(
                _("Not enough data yet: every arm needs {n} debtors whose 30 days have passed.").format(
                    n=options["min_n"]
                )
            )
        elif result.report.winner is None:
            self.stdout.write(_("No arm differs from the control in the share collected: no winner."))
        else:
            self.stdout.write(
                _(
                    "Winner: {playbook}. 'experiment promote {id}' makes it the playbook of its segments."
                ).format(
                    playbook=result.names.get(result.report.winner, result.report.winner), id=experiment.pk
                )
            )

    def _promote(self, company: Company, as_of: date, options: dict[str, Any]) -> None:
        from mahnwerk.experiments.services import get_experiment, promote

        experiment = get_experiment(company, options["experiment"])
        playbook, segments = promote(experiment, as_of, options["arm"])
        self.stdout.write(
            _(
                "Playbook {playbook} is now the playbook of segment(s) {segments}; the experiment is stopped."
            ).format(playbook=playbook.name, segments=", ".join(segments) or "-")
        )

    def _learning(self, company: Company, as_of: date, options: dict[str, Any]) -> None:
        from mahnwerk.experiments.channels import learning_settings, set_learning

        if options["switch"] != "show":
            set_learning(company.pk, options["switch"] == "on", options["window_days"])
        enabled, window = learning_settings(company.pk)
        self.stdout.write(
            (
                _("Channel learning is on: a payment within {days} days counts as the answer to a message.")
                if enabled
                else _("Channel learning is off: the playbook and its fallbacks choose the channel.")
            ).format(days=window)
        )
        if options["debtor"]:
            self._profile(company, options["debtor"])

    def _profile(self, company: Company, ident: str) -> None:
        from mahnwerk.core.channel_learning import NAMES, describe
        from mahnwerk.experiments.channels import response_profiles
        from mahnwerk.ledger.models import Debtor

        debtor = Debtor.objects.filter(company=company, number=ident).first() or (
            Debtor.objects.filter(company=company, pk=pk).first() if (pk := parse_id(ident)) else None
        )
        if debtor is None:
            raise CommandError(_("No debtor {debtor} in this company.").format(debtor=ident))
        profile = response_profiles(company.pk, [debtor.pk], force=True).get(debtor.pk)
        if profile is None or not profile.channels:
            self.stdout.write(_("{debtor}: no message has gone out yet.").format(debtor=debtor.number))
            return
        self.stdout.write(f"{debtor.number} {debtor.name}")
        for channel, stats in sorted(profile.channels.items(), key=lambda kv: -kv[1].estimate()):
            self.stdout.write(
                f"  {NAMES[channel]:<8} {stats.touches:>3} {_('sent')}, {stats.paid:>3} {_('paid')}, "
                f"{stats.engaged:>3} {_('answered')}, {stats.bounced:>3} {_('undelivered')}; "
                f"{stats.estimate():.2f} — {describe(channel, stats)}"
            )
