from __future__ import annotations

import logging
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

log = logging.getLogger(__name__)
RETRAIN_AFTER_SECONDS = 7 * 24 * 3600


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

    def retrain_weekly(self) -> None:
        """Retrain each company's payment-prediction model when it is missing or a week old, then predict."""
        from mahnwerk.insights.services import company_model_path, predict_open_invoices, train_company_model

        for company in Company.objects.order_by("id"):
            path = company_model_path(company)
            if path.exists() and time.time() - path.stat().st_mtime < RETRAIN_AFTER_SECONDS:
                continue
            try:
                trained = train_company_model(company)
                predict_open_invoices(company)
            except Exception:  # a failed training must not stop reminders going out
                log.exception("retraining the payment model of %s failed", company.slug)
                continue
            self.stdout.write(f"{company.slug}: payment model retrained ({trained.kind})")

    def round(self, run_at: Any) -> None:
        from mahnwerk.comms.outbox import mark_killed_runs

        mark_killed_runs()  # a run left "running" by a process that died is marked, and runs again below
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
        self.retrain_weekly()
        recover_stuck()
        send_queued()
        from mahnwerk.hooks.services import deliver_webhooks

        try:
            deliver_webhooks()
        except Exception:  # a webhook endpoint's trouble must not stop the worker
            log.exception("delivering webhooks failed")
        call_command("db_worker", batch=True, startup_delay=False, stdout=self.stdout, stderr=self.stderr)
