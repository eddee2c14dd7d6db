"""The ``mahnwerk`` command: Django's management commands with Mahnwerk's settings."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mahnwerk.settings")
    from mahnwerk.env import ImproperlyConfiguredEnv

    try:
        import django

        django.setup()
    except ImproperlyConfiguredEnv as exc:
        print(f"mahnwerk: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    from django.core.management import execute_from_command_line

    execute_from_command_line(["mahnwerk", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
