"""``mahnwerk rates list|add``: the reference-rate tables interest is computed from."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.core.rates import RateError, RateTable, add_rate, get_table, load_tables
from mahnwerk.ledger.management.commands.interest import data_dir


def table_as_dict(table: RateTable) -> dict[str, Any]:
    covered = table.covered_until()
    return {
        "name": table.name,
        "title": table.title,
        "period": table.period,
        "source": table.source,
        "covered_until": covered.isoformat() if covered else None,
        "entries": [
            {"valid_from": e.valid_from.isoformat(), "rate_percent": f"{e.percent}", "source": e.source}
            for e in table.entries
        ],
    }


class Command(BaseCommand):
    help = _("List the reference-rate tables or add a newly published rate.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        show = sub.add_parser("list", help=_("list the tables and their rates"))
        show.add_argument("--table", default=None, help=_("only this table"))
        show.add_argument("--json", action="store_true", help=_("print JSON"))
        add = sub.add_parser("add", help=_("add a rate to a table (kept in the data directory)"))
        add.add_argument("table")
        add.add_argument("valid_from", help=_("first day the rate applies (YYYY-MM-DD)"))
        add.add_argument("percent", help=_("the rate in percent a year, e.g. 1.27 or -0.88"))
        add.add_argument("--source", default="", help=_("where the rate was published"))

    def handle(self, *args: Any, **options: Any) -> None:
        overlay = data_dir() / "rates"
        try:
            tables = load_tables(overlay)
            if options["action"] == "list":
                self._list(tables, options.get("table"), bool(options.get("json")))
                return
            try:
                valid_from = date.fromisoformat(options["valid_from"])
            except ValueError:
                raise CommandError(
                    _("not a date (YYYY-MM-DD): {value}").format(value=options["valid_from"])
                ) from None
            table = get_table(tables, options["table"])
            entry = add_rate(
                overlay, table.name, valid_from, options["percent"], options["source"], known=tables
            )
        except RateError as exc:
            raise CommandError(str(exc)) from None
        from mahnwerk.ledger.claims import reload_rules

        reload_rules()
        self.stdout.write(
            _("Added {table}: {percent} % from {valid_from} ({path})").format(
                table=table.name,
                percent=entry.percent,
                valid_from=entry.valid_from.isoformat(),
                path=overlay / f"{table.name}.csv",
            )
        )

    def _list(self, tables: dict[str, RateTable], name: str | None, as_json: bool) -> None:
        chosen = [get_table(tables, name)] if name else [tables[n] for n in sorted(tables)]
        if as_json:
            self.stdout.write(
                json.dumps({"tables": [table_as_dict(t) for t in chosen]}, indent=2, ensure_ascii=False)
            )
            return
        for t in chosen:
            data = table_as_dict(t)
            self.stdout.write(f"{t.name}: {t.title}")
            if t.source:
                self.stdout.write("  " + _("Source: {source}").format(source=t.source))
            if data["covered_until"]:
                self.stdout.write("  " + _("Covered until: {day}").format(day=data["covered_until"]))
            for e in data["entries"]:
                extra = "" if e["source"] == "packaged" else f"  ({e['source']})"
                self.stdout.write(f"  {e['valid_from']}  {e['rate_percent']:>6} %{extra}")
