from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from mahnwerk.collection.calls import CallError, prepare_call, record_call_outcome
from mahnwerk.collection.models import CallOutcome, Task, TaskStatus
from mahnwerk.core.money import to_minor
from mahnwerk.ledger.management.base import MahnwerkCommand, business_date


class Command(MahnwerkCommand):
    help = "Tasks for people: list them, prepare a call, record its outcome."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "prepare", "done"])
        parser.add_argument("task", nargs="?", type=int)
        parser.add_argument("--outcome", choices=CallOutcome.values)
        parser.add_argument("--notes", default="")
        parser.add_argument("--promised-on", type=business_date)
        parser.add_argument("--amount", help="promised amount, e.g. 250.00")
        parser.add_argument("--actor", default="cli")

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        if options["action"] == "list":
            rows = list(
                Task.objects.filter(company=company, status=TaskStatus.OPEN)
                .order_by("due_on", "id")
                .values("id", "kind", "due_on", "debtor__number", "debtor__name")
            )
            if options["json"]:
                self.emit_json(rows)
            else:
                for r in rows:
                    self.stdout.write(
                        f"{r['id']:>6}  {r['due_on']}  {r['kind']:<17} {r['debtor__number']} {r['debtor__name']}"
                    )
            return
        task = (
            Task.objects.filter(company=company, pk=options["task"])
            .select_related("debtor", "company", "action")
            .first()
        )
        if task is None:
            raise CommandError(f"no task {options['task']} in {company.name}")
        if options["action"] == "prepare":
            self.emit_json(prepare_call(task))
            return
        if not options["outcome"]:
            raise CommandError("--outcome is required")
        amount = to_minor(options["amount"], company.currency) if options["amount"] else None
        try:
            record_call_outcome(
                task,
                options["outcome"],
                notes=options["notes"],
                promised_on=options["promised_on"],
                amount_minor=amount,
                actor=options["actor"],
            )
        except CallError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"task {task.pk}: {options['outcome']}")
