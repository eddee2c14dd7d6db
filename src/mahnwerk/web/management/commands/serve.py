from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the web application with a production server (gunicorn), static files included."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("MAHNWERK_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("MAHNWERK_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("MAHNWERK_WORKERS", "2")))

    def handle(self, *args: Any, **options: Any) -> None:
        from gunicorn.app.base import BaseApplication

        from mahnwerk.wsgi import application

        bind = f"{options['host']}:{options['port']}"

        class Server(BaseApplication):
            def load_config(self) -> None:
                self.cfg.set("bind", bind)
                self.cfg.set("workers", options["workers"])
                self.cfg.set("accesslog", "-")

            def load(self) -> Any:
                return application

        self.stdout.write(f"Mahnwerk at http://{bind}/ (Ctrl+C stops)")
        Server().run()
