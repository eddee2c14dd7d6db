"""The ``mahnwerk`` command: Django's management commands with Mahnwerk's settings.

Before a command that needs the database runs, the database is checked: on one that is not migrated (a fresh
data directory, or an update with migrations not applied yet) the command stops with one line naming the command
to run, ``mahnwerk migrate``, instead of failing midway with a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

# Django's own commands that need the project's tables; every Mahnwerk command is checked as well.
DJANGO_COMMANDS_USING_TABLES = frozenset(
    {"changepassword", "createsuperuser", "dumpdata", "flush", "loaddata", "shell", "runserver"}
)
HELP_WORDS = frozenset({"help", "-h", "--help", "--version", "version"})
# Commands (and their first argument, the action; ``None``: any) that only read. They skip Django's system
# checks, which import the whole web application and the API (URLs, template tags) and would double the start-up
# time of a command that prints one case file; ``mahnwerk check`` and every other command still run them.
READ_ONLY_COMMANDS: dict[str, frozenset[str] | None] = {
    "debtor": frozenset({"show"}),
    "outbox": frozenset({"list"}),
    "company": frozenset({"list", "show"}),
    "user": frozenset({"list"}),
    "rates": frozenset({"list"}),
    "experiment": frozenset({"list"}),
    "statement": None,
    "interest": None,
}


class DatabaseNotReady(Exception):
    """The database cannot be used yet; the message is one line saying what to do."""


def unmigrated_message(pending: int) -> str:
    return f"the database is not migrated ({pending} migration(s) to apply): run 'mahnwerk migrate' first"


def _migration_files_applied(connection: object) -> bool | None:
    """Cheap check: every migration file on disk is recorded as applied (True), the table of applied
    migrations is missing (False), or it cannot be told this way (None: squashed or unrecorded names)."""
    from importlib.util import find_spec

    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.recorder import MigrationRecorder

    recorder = MigrationRecorder(connection)  # type: ignore[arg-type]
    if not recorder.has_table():
        return False
    applied = set(recorder.applied_migrations())
    for config in apps.get_app_configs():
        module_name, _explicit = MigrationLoader.migrations_module(config.label)
        if module_name is None:
            continue
        try:
            spec = find_spec(module_name)
        except ModuleNotFoundError:
            continue
        if spec is None or not spec.submodule_search_locations:
            continue
        for folder in spec.submodule_search_locations:
            try:
                names = os.listdir(folder)
            except OSError:
                return None
            for file in names:
                if (
                    file.endswith(".py")
                    and not file.startswith(("_", "~"))
                    and (config.label, file[:-3]) not in applied
                ):
                    return None
    return True


def pending_migrations() -> int:
    """How many migrations the default database still needs (0: ready). Raises :class:`DatabaseNotReady`
    when the database cannot be reached."""
    from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
    from django.db.migrations.executor import MigrationExecutor

    connection = connections[DEFAULT_DB_ALIAS]
    try:
        if _migration_files_applied(connection):
            return 0
        executor = MigrationExecutor(connection)
        return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    except DatabaseError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DatabaseNotReady(f"cannot use the database: {first}") from None


def ensure_migrated() -> None:
    """Raise :class:`DatabaseNotReady` with the one-line instruction when migrations are pending."""
    pending = pending_migrations()
    if pending:
        raise DatabaseNotReady(unmigrated_message(pending))


def needs_migrated_database(argv: Sequence[str]) -> bool:
    """Whether the command line ``argv`` (without the program name) runs a command that uses the tables."""
    if not argv or any(arg in HELP_WORDS for arg in argv):
        return False
    name = argv[0]
    if name.startswith("-"):
        return False
    from django.core.management import get_commands

    app = get_commands().get(name)
    if app is None:
        return False  # Django says the command is unknown
    return app.startswith("mahnwerk") or name in DJANGO_COMMANDS_USING_TABLES


def without_checks_when_reading(argv: Sequence[str]) -> list[str]:
    """``argv`` (without the program name) with ``--skip-checks`` after the command name when the command
    only reads (:data:`READ_ONLY_COMMANDS`), else unchanged."""
    args = list(argv)
    if not args or "--skip-checks" in args or any(arg in HELP_WORDS for arg in args):
        return args
    if args[0] not in READ_ONLY_COMMANDS:
        return args
    actions = READ_ONLY_COMMANDS[args[0]]
    if actions is not None and (len(args) < 2 or args[1] not in actions):
        return args
    return [args[0], "--skip-checks", *args[1:]]


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

    args = list(sys.argv[1:] if argv is None else argv)
    if needs_migrated_database(args):
        try:
            ensure_migrated()
        except DatabaseNotReady as exc:
            print(f"mahnwerk: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    try:
        execute_from_command_line(["mahnwerk", *without_checks_when_reading(args)])
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader stopped reading (``mahnwerk debtor list | head``): no traceback, and nothing more is
        # written to the closed pipe when Python flushes at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
