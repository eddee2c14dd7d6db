from __future__ import annotations

import gc
import logging
import os
import threading
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

log = logging.getLogger(__name__)


def warm_forever(stop: threading.Event) -> None:
    """Read every company's figures and its run preview, then again each time a business date begins, until
    ``stop`` is set."""
    from django.db import connection

    from mahnwerk.ledger.figures import next_business_day_start, warm_amounts
    from mahnwerk.web.services import warm_previews

    while not stop.is_set():
        try:
            # once a business date: what the kept previews froze (see web.services) is collected again
            gc.unfreeze()
            gc.collect()
            warm_amounts()
            warm_previews()  # the run page: a whole dry run per company, once a day
            wait = (next_business_day_start() - datetime.now(UTC)).total_seconds() + 5
        except Exception:  # a database not reachable yet: try again in a minute, the pages work without it
            log.exception("reading the company-wide figures failed")
            wait = 60
        finally:
            connection.close()
        stop.wait(max(wait, 1))


def start_warming(worker: Any) -> None:
    """Gunicorn's post_worker_init hook: each worker keeps its figures ready in a background thread."""
    threading.Thread(
        target=warm_forever, args=(threading.Event(),), name="mahnwerk-warm", daemon=True
    ).start()


class Command(BaseCommand):
    help = "Serve the web application with a production server (gunicorn), static files included."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("MAHNWERK_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("MAHNWERK_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("MAHNWERK_WORKERS", "2")))

    def handle(self, *args: Any, **options: Any) -> None:
        from django.core.management import CommandError, call_command
        from gunicorn.app.base import BaseApplication

        from mahnwerk.cli import DatabaseNotReady, ensure_migrated

        try:  # a server on tables that are not there would answer every request with an error
            ensure_migrated()
        except DatabaseNotReady as exc:
            raise CommandError(str(exc)) from None
        # compressed copies with cache headers, read once at start rather than looked up per request
        call_command("collectstatic", interactive=False, verbosity=0)

        from mahnwerk.wsgi import application

        bind = f"{options['host']}:{options['port']}"

        class Server(BaseApplication):
            def load_config(self) -> None:
                self.cfg.set("bind", bind)
                self.cfg.set("workers", options["workers"])
                self.cfg.set("accesslog", "-")
                self.cfg.set("post_worker_init", start_warming)

            def load(self) -> Any:
                return application

        self.stdout.write(f"Mahnwerk at http://{bind}/ (Ctrl+C stops)")
        Server().run()
