from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from mahnwerk.collection.models import Task, TaskKind, TaskStatus
from mahnwerk.ledger.management.base import MahnwerkCommand, business_date
from mahnwerk.ledger.services import LedgerError, company_today
from mahnwerk.partners import research, services


class Command(MahnwerkCommand):
    help = (
        "Address research for debtors nobody can reach: list the open cases, show what is known and the "
        "sources to try, record the address found (the debtor is updated, the task closed and the step "
        "that could not be taken is taken now, by letter where only the address is known)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "show", "result"])
        parser.add_argument("debtor", nargs="?", help="debtor id or customer number")
        parser.add_argument("--street")
        parser.add_argument("--postcode")
        parser.add_argument("--city")
        parser.add_argument("--country", default="", help="ISO 3166 code, e.g. DE")
        parser.add_argument("--email", default="")
        parser.add_argument("--source", choices=list(research.SOURCES), default="other")
        parser.add_argument("--note", default="")
        parser.add_argument("--date", type=business_date, help="as of this date (default: today)")
        parser.add_argument("--no-send", action="store_true", help="record the address, take no step")
        parser.add_argument("--actor", default="cli")

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        if options["action"] == "list":
            rows = list(
                Task.objects.filter(company=company, kind=TaskKind.ADDRESS_RESEARCH, status=TaskStatus.OPEN)
                .order_by("due_on", "pk")
                .values("id", "due_on", "debtor__number", "debtor__name")
            )
            if options["json"]:
                self.emit_json(rows)
            else:
                for r in rows:
                    self.stdout.write(
                        f"{r['id']:>6}  {r['due_on']}  {r['debtor__number']:<12} {r['debtor__name']}"
                    )
            return
        if not options["debtor"]:
            raise CommandError(f"usage: research {options['action']} DEBTOR")
        try:
            debtor = services.find_debtor(company, options["debtor"])
        except services.PartnerError as exc:
            raise CommandError(str(exc)) from None
        if options["action"] == "show":
            self._show(research.research_case(company, debtor), options["json"])
            return
        if not (options["street"] and options["postcode"] and options["city"]):
            raise CommandError("usage: research result DEBTOR --street S --postcode P --city C [--email E]")
        try:
            outcome = research.record_result(
                company,
                debtor,
                street=options["street"],
                postcode=options["postcode"],
                city=options["city"],
                country=options["country"],
                email=options["email"],
                source=options["source"],
                note=options["note"],
                as_of=options["date"] or company_today(company),
                actor=options["actor"],
                repeat=not options["no_send"],
            )
        except ValidationError as exc:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            ) from None
        except LedgerError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.emit_json(outcome.as_dict())
            return
        self.stdout.write(f"{debtor.number}: address recorded ({', '.join(outcome.changed) or 'unchanged'})")
        if outcome.action is not None:
            self.stdout.write(f"step {outcome.action.level} taken again by {outcome.action.channel}")
        elif outcome.refused:
            self.stdout.write(f"no step taken: {outcome.refused}")

    def _show(self, case: dict[str, Any], as_json: bool) -> None:
        if as_json:
            self.emit_json(case)
            return
        out = self.stdout.write
        d, a = case["debtor"], case["address"]
        out(f"{d['number']} {d['name']} ({d['kind']})")
        task = case["task"]
        out(f"research task: {task['id']} since {task['since']}" if task else "no open research task")
        address = ", ".join(
            x for x in (a["street"], f"{a['postcode']} {a['city']}".strip(), a["country"]) if x
        )
        out(f"address: {address or '-'}" + (" (invalid: letter returned)" if a["invalid"] else ""))
        for c in case["contacts"]:
            flags = [f for f, on in (("invalid", not c["valid"]), ("opted out", c["opted_out"])) if on]
            out(f"  {c['kind']:<6} {c['value']}" + (f" ({', '.join(flags)})" if flags else ""))
        out("last contacts:")
        for m in case["last_contacts"]:
            out(f"  {m['date']}  {m['channel']:<7} {m['recipient']}  {m['status']}")
        out("what failed:")
        for p in case["problems"]:
            out(f"  {p['date']}  {p['text']}")
        out("sources to try:")
        for s in case["sources"]:
            out(f"  - {s['label']}: {s['how']}")
