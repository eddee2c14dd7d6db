from __future__ import annotations

import signal
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from mahnwerk.collection.models import Run, RunStatus
from mahnwerk.collection.services import run_collection
from mahnwerk.comms.outbox import recover_stuck, send_queued
from mahnwerk.ledger.models import Company


class Command(BaseCommand):
    help = (
        "Background worker: runs each company's daily collection run once its local time has passed --run-at, "
        "sends the outbox and processes queued jobs. Safe to run twice; stops cleanly on SIGTERM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="do one round, then stop")
        parser.add_argument(
            "--run-at", default="07:00", help="local time HH:MM of the daily run (default 07:00)"
        )
        parser.add_argument("--interval", type=int, default=60, help="seconds between rounds")

    def handle(self, *args: Any, **options: Any) -> None:
        run_at = datetime.strptime(options["run_at"], "%H:%M").time()
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping:
            self.round(run_at)
            if options["once"]:
                break
            for _ in range(options["interval"]):
                if stopping:
                    break
                time.sleep(1)

    def round(self, run_at: Any) -> None:
        for company in Company.objects.order_by("id"):
            now = datetime.now(ZoneInfo(company.time_zone))
            if now.time() < run_at:
                continue
            if Run.objects.filter(company=company, as_of=now.date(), status=RunStatus.DONE).exists():
                continue
            result = run_collection(company, now.date())
            self.stdout.write(
                f"{company.slug} {result.as_of}: {result.actions_created} action(s), "
                f"{result.messages_queued} message(s)"
            )
        recover_stuck()
        send_queued()
        call_command("db_worker", batch=True, startup_delay=False, stdout=self.stdout, stderr=self.stderr)
