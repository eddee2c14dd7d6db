"""``mahnwerk rates list|add|remove|import``: the reference-rate tables interest is computed from."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.core.rate_files import (
    BUNDESBANK_DE,
    BUNDESBANK_EN,
    ECB_PORTAL_CSV,
    ECB_SDMX_CSV,
    ImportPlan,
    RateFile,
    UserRateChange,
    add_user_rate,
    check_import,
    parse_rate_file,
    plan_import,
    remove_user_rate,
)
from mahnwerk.core.rates import RateError, RateTable, add_rates, get_table, load_tables
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
    help = _(
        "List the reference-rate tables, add a newly published rate, correct or remove a rate you added, "
        "or import the published files."
    )

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
        add.add_argument("--replace", action="store_true", help=_("correct the rate you added for this date"))
        confirm_help = _("take a rate more than 3 percentage points away from the rate before or after it")
        add.add_argument("--confirm", action="store_true", help=confirm_help)
        remove = sub.add_parser("remove", help=_("remove a rate you added (shipped rates stay)"))
        remove.add_argument("table")
        remove.add_argument("valid_from", help=_("first day of the rate to remove (YYYY-MM-DD)"))
        imp = sub.add_parser(
            "import",
            help=_(
                "import rate files as published: the Bundesbank CSV of the base rate (BBK01.SU0115), "
                "the ECB Data Portal CSV of the main refinancing rate (FM.B/FM.D...MRR_FR.LEV)"
            ),
        )
        imp.add_argument("files", nargs="+", metavar="FILE", help=_("a downloaded rate file"))
        imp.add_argument("--dry-run", action="store_true", help=_("show what would be added, write nothing"))
        imp.add_argument("--json", action="store_true", help=_("print JSON"))
        imp.add_argument("--confirm", action="store_true", help=confirm_help)

    def handle(self, *args: Any, **options: Any) -> None:
        overlay = data_dir() / "rates"
        try:
            tables = load_tables(overlay)
            if options["action"] == "list":
                self._list(tables, options.get("table"), bool(options.get("json")))
                return
            if options["action"] == "import":
                self._import(
                    overlay,
                    tables,
                    options["files"],
                    bool(options["dry_run"]),
                    bool(options["json"]),
                    bool(options["confirm"]),
                )
                return
            try:
                valid_from = date.fromisoformat(options["valid_from"])
            except ValueError:
                raise CommandError(
                    _("not a date (YYYY-MM-DD): {value}").format(value=options["valid_from"])
                ) from None
            table = get_table(tables, options["table"])
            if options["action"] == "remove":
                change = remove_user_rate(overlay, table.name, valid_from)
            else:
                change = add_user_rate(
                    overlay,
                    table.name,
                    valid_from,
                    options["percent"],
                    options["source"],
                    replace=bool(options["replace"]),
                    confirm=bool(options["confirm"]),
                )
        except RateError as exc:
            raise CommandError(str(exc)) from None
        from mahnwerk.ledger.claims import reload_rules

        reload_rules()
        self._report(change)

    def _report(self, change: UserRateChange) -> None:
        fields = {"table": change.table, "valid_from": change.valid_from.isoformat(), "path": change.path}
        if change.action == "added" and change.after is not None:
            # xgettext:no-python-format (a per-cent sign, not a placeholder)
            text = _("Added {table}: {percent} % from {valid_from} ({path})")
            self.stdout.write(text.format(percent=change.after.percent, **fields))
        elif change.action == "replaced" and change.before is not None and change.after is not None:
            # xgettext:no-python-format (a per-cent sign, not a placeholder)
            text = _("Replaced {table} from {valid_from}: was {old} %, now {new} % ({path})")
            self.stdout.write(text.format(old=change.before.percent, new=change.after.percent, **fields))
        elif change.before is not None:
            # xgettext:no-python-format (a per-cent sign, not a placeholder)
            text = _("Removed {table}: {percent} % from {valid_from} ({path})")
            self.stdout.write(text.format(percent=change.before.percent, **fields))
            if change.after is not None:
                # xgettext:no-python-format (a per-cent sign, not a placeholder)
                text = _("The shipped rate applies again from {valid_from}: {percent} %")
                self.stdout.write(text.format(percent=change.after.percent, **fields))

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

    def _import(
        self,
        overlay: Path,
        tables: dict[str, RateTable],
        paths: list[str],
        dry_run: bool,
        as_json: bool,
        confirm: bool,
    ) -> None:
        files: list[RateFile] = []
        for name in paths:
            path = Path(name)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise CommandError(
                    _("cannot read {path}: {error}").format(path=name, error=exc.strerror or exc)
                ) from None
            files.append(parse_rate_file(data, path.name))
        plan = plan_import(tables, files)
        if plan.conflicts:
            raise CommandError(
                _("Nothing imported: the files contradict the known rates.")
                + "\n"
                + "\n".join("  " + c for c in plan.conflicts)
            )
        # every row to add passes the checks of 'rates add' (its --confirm too) before anything is written
        refused = check_import(plan, tables, load_tables(None), date.today(), confirm=confirm)
        if refused:
            raise CommandError(
                _("Nothing imported: rows of the files fail the checks of a new rate.")
                + "\n"
                + "\n".join("  " + r for r in refused)
            )
        written = False
        if plan.changes_anything and not dry_run:
            add_rates(overlay, plan.additions(), plan.checked())
            written = True
            from mahnwerk.ledger.claims import reload_rules

            reload_rules()
            tables = load_tables(overlay)
        else:
            tables = _preview(tables, plan)
        if as_json:
            self.stdout.write(json.dumps(_import_json(files, plan, tables, dry_run, written), indent=2))
            return
        self._import_text(files, plan, tables, dry_run)

    def _import_text(
        self, files: list[RateFile], plan: ImportPlan, tables: dict[str, RateTable], dry_run: bool
    ) -> None:
        for f in files:
            line = _("Read {file}: {format}, series {series}, {count} values").format(
                file=f.origin,
                format=_format_label(f.format),
                series=", ".join(f.series),
                count=f.observations,
            )
            if f.as_of:
                line += " " + _("(as of {day})").format(day=f.as_of)
            self.stdout.write(line)
            if f.ignored:
                self.stdout.write(
                    "  "
                    + _("other series in the file, not imported: {series}").format(
                        series=", ".join(f.ignored)
                    )
                )
        for name in sorted(plan.tables):
            p = plan.tables[name]
            text = (
                _("{table}: would add {valid_from} {percent} %")
                if dry_run
                else _("{table}: added {valid_from} {percent} %")
            )
            for row in p.added:
                self.stdout.write(
                    text.format(table=name, valid_from=row.valid_from.isoformat(), percent=row.percent)
                )
            if p.checked_until is not None:
                self.stdout.write(
                    _("{table}: no change up to {day}").format(table=name, day=p.checked_until.isoformat())
                )
            if p.known:
                self.stdout.write(
                    _("{table}: {count} rates already known, unchanged").format(table=name, count=p.known)
                )
            if p.earlier:
                first = tables[name].entries[0].valid_from.isoformat()
                self.stdout.write(
                    _("{table}: {count} rates before the table's first rate ({day}) left out").format(
                        table=name, count=p.earlier, day=first
                    )
                )
            covered = tables[name].covered_until()
            if covered is not None:
                self.stdout.write(
                    _("{table}: covered until {day}").format(table=name, day=covered.isoformat())
                )
        if not plan.changes_anything:
            self.stdout.write(_("Nothing new: every rate in the files is already known."))
        elif dry_run:
            self.stdout.write(_("Dry run: nothing written."))


def _format_label(name: str) -> str:
    labels = {
        BUNDESBANK_DE: _("Deutsche Bundesbank time-series CSV (German)"),
        BUNDESBANK_EN: _("Deutsche Bundesbank time-series CSV (English)"),
        ECB_SDMX_CSV: _("ECB Data Portal SDMX-CSV"),
        ECB_PORTAL_CSV: _("ECB Data Portal series CSV"),
    }
    return labels.get(name, name)


def _preview(tables: dict[str, RateTable], plan: ImportPlan) -> dict[str, RateTable]:
    """The tables as they would be after the import (for a dry run's coverage)."""
    out = dict(tables)
    for name, rows in plan.additions().items():
        table = tables[name]
        merged = {e.valid_from: e for e in table.entries} | {e.valid_from: e for e in rows}
        out[name] = RateTable(
            name,
            table.period,
            tuple(merged[d] for d in sorted(merged)),
            table.title,
            table.source,
            table.checked_until,
        )
    for name, day in plan.checked().items():
        t = out[name]
        out[name] = RateTable(name, t.period, t.entries, t.title, t.source, day)
    return out


def _import_json(
    files: list[RateFile], plan: ImportPlan, tables: dict[str, RateTable], dry_run: bool, written: bool
) -> dict[str, Any]:
    result: list[dict[str, Any]] = []
    for name in sorted(plan.tables):
        p = plan.tables[name]
        covered = tables[name].covered_until()
        result.append(
            {
                "table": name,
                "added": [
                    {"valid_from": r.valid_from.isoformat(), "rate_percent": r.percent, "source": r.source}
                    for r in p.added
                ],
                "already_known": p.known,
                "left_out_before_first_rate": p.earlier,
                "checked_until": p.checked_until.isoformat() if p.checked_until else None,
                "covered_until": covered.isoformat() if covered else None,
            }
        )
    return {
        "dry_run": dry_run,
        "written": written,
        "files": [
            {
                "file": f.origin,
                "format": f.format,
                "series": list(f.series),
                "as_of": f.as_of or None,
                "values": f.observations,
                "ignored_series": list(f.ignored),
            }
            for f in files
        ],
        "tables": result,
    }
