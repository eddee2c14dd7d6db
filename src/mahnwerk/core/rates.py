"""Rate tables: the published reference rates that statutory interest is built on.

A table is a CSV file ``valid_from,rate_percent[,source]`` with ``#`` comment lines on top naming the
table, its period kind and its source. Packaged tables live in ``core/data/rates/``; a user overlay
directory (``$MAHNWERK_DATA_DIR/rates/<table>.csv``) adds rates published after the release, and wins
over a packaged row with the same ``valid_from``.

Two period kinds:

* ``half-year``: one rate per half-year, valid from 1 January or 1 July (the German base rate, the EU
  late-payment reference rate). Every half-year must have its own row; a half-year without one is
  refused with :class:`MissingRateError` -- never extrapolated from the last known rate.
* ``change``: a rate applies from its date until the next change (the ECB main refinancing rate).
  Such a table says nothing about the future: it covers days up to its last change or its
  ``# checked_until:`` header date, whichever is later, and refuses later days (``rate_on`` accepts
  ``open_end=True`` for a caller who knowingly takes the last rate, as for a reference lookup).

Rates are held exactly as integer *rate units* of 1/10,000 of a percent (``RATE_SCALE``), so the
interest engine can compute with integers only. Negative rates (the German base rate 2013-2022) are
ordinary values.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path

RATE_SCALE = 10_000  # rate units per percentage point: 1.27 % == 12_700 units
PACKAGED_SOURCE = "packaged"


class RateError(ValueError):
    """A rate or rate table that cannot be used."""


class MissingRateError(RateError):
    """A period the rate table does not cover. ``period_start`` names the first uncovered half-year or day."""

    def __init__(self, table: str, period_start: date, half_year: bool = True) -> None:
        self.table = table
        self.period_start = period_start
        self.half_year = half_year
        what = "the half-year from" if half_year else "the date"
        super().__init__(
            f"no {table} rate for {what} {period_start.isoformat()}; add it with: "
            f"mahnwerk rates add {table} {period_start.isoformat()} <percent>"
        )

    @property
    def add_command(self) -> str:
        return f"mahnwerk rates add {self.table} {self.period_start.isoformat()} <percent>"


def percent_to_units(value: str | Decimal | int) -> int:
    """Parse a percentage ("1.27", "-0.88") into rate units; refuse more than four decimal places."""
    try:
        amount = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise RateError(f"not a percentage: {value!r}") from None
    if not amount.is_finite():
        raise RateError(f"not a percentage: {value!r}")
    scaled = amount * RATE_SCALE
    if scaled != scaled.to_integral_value():
        raise RateError(f"{value} has more than four decimal places")
    if abs(scaled) >= 100 * RATE_SCALE * 100:
        raise RateError(f"{value} % is not a plausible interest rate")
    return int(scaled)


def units_to_percent(units: int) -> Decimal:
    """Rate units back to a percentage with at least two decimal places (12_700 -> Decimal('1.27'))."""
    value = Decimal(units) / RATE_SCALE
    return value.quantize(Decimal("0.01")) if value == value.quantize(Decimal("0.01")) else value.normalize()


def half_year_start(day: date) -> date:
    return date(day.year, 1 if day.month <= 6 else 7, 1)


def next_half_year(start: date) -> date:
    return date(start.year, 7, 1) if start.month == 1 else date(start.year + 1, 1, 1)


@dataclass(frozen=True, slots=True)
class RateEntry:
    valid_from: date
    units: int
    source: str = PACKAGED_SOURCE

    @property
    def percent(self) -> Decimal:
        return units_to_percent(self.units)


@dataclass(frozen=True, slots=True)
class RateTable:
    name: str
    period: str  # "half-year" or "change"
    entries: tuple[RateEntry, ...]  # sorted by valid_from, one per date
    title: str = ""
    source: str = ""
    checked_until: date | None = None  # change tables: no change up to this day is known to be missing
    _by_date: dict[date, int] = field(default_factory=dict, init=False, repr=False, compare=False)
    # the answer of covered_until, once worked out (the entries never change; a run asks for every invoice)
    _covered: list[date | None] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.period not in ("half-year", "change"):
            raise RateError(f"table {self.name}: unknown period kind {self.period!r}")
        dates = [e.valid_from for e in self.entries]
        if dates != sorted(set(dates)):
            raise RateError(f"table {self.name}: entries must be sorted and unique by valid_from")
        if self.period == "half-year":
            for e in self.entries:
                if e.valid_from != half_year_start(e.valid_from) or e.valid_from.day != 1:
                    raise RateError(
                        f"table {self.name}: {e.valid_from.isoformat()} is not the start of a half-year "
                        "(1 January or 1 July)"
                    )
        self._by_date.update((e.valid_from, e.units) for e in self.entries)

    def _index(self) -> dict[date, int]:
        return self._by_date

    def rate_on(self, day: date, open_end: bool = False) -> int:
        """The rate (units) that applies on ``day``."""
        if self.period == "half-year":
            start = half_year_start(day)
            units = self._index().get(start)
            if units is None:
                raise MissingRateError(self.name, start)
            return units
        found: int | None = None
        for e in self.entries:
            if e.valid_from <= day:
                found = e.units
            else:
                break
        if found is None or (not open_end and day > self._change_coverage()):
            raise MissingRateError(self.name, day, half_year=False)
        return found

    def _change_coverage(self) -> date:
        last = self.entries[-1].valid_from if self.entries else date.min
        return max(last, self.checked_until or date.min)

    def changes(self, first: date, last: date) -> list[tuple[date, int]]:
        """The rates that apply between ``first`` and ``last`` (inclusive) as ``(from, units)`` steps.

        The first step starts at ``first``; for a half-year table every half-year touched must be in
        the table, else :class:`MissingRateError` names the earliest missing one.
        """
        if last < first:
            raise RateError("the period ends before it starts")
        if self.period == "half-year":
            index = self._index()
            steps: list[tuple[date, int]] = []
            start = half_year_start(first)
            while start <= last:
                units = index.get(start)
                if units is None:
                    raise MissingRateError(self.name, start)
                steps.append((max(start, first), units))
                start = next_half_year(start)
            return steps
        steps = [(first, self.rate_on(first, open_end=True))]
        if last > self._change_coverage():
            # a change table says nothing about days after its last known state: refuse, never extrapolate
            raise MissingRateError(self.name, self._change_coverage() + timedelta(days=1), half_year=False)
        for e in self.entries:
            if first < e.valid_from <= last:
                steps.append((e.valid_from, e.units))
        return steps

    def covered_until(self) -> date | None:
        """The last day the table covers without a gap from its first row (``None`` if empty)."""
        if not self.entries:
            return None
        if self.period == "change":
            return self._change_coverage()
        if not self._covered:
            start = self.entries[0].valid_from
            index = self._index()
            while next_half_year(start) in index:
                start = next_half_year(start)
            self._covered.append(date(start.year, 6, 30) if start.month == 1 else date(start.year, 12, 31))
        return self._covered[0]


def _parse_csv(text: str, origin: str, source_default: str) -> tuple[dict[str, str], list[RateEntry]]:
    meta: dict[str, str] = {}
    body: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            key, sep, value = stripped[1:].partition(":")
            if sep:
                meta[key.strip().lower()] = value.strip()
        elif stripped:
            body.append(stripped)
    entries: list[RateEntry] = []
    reader = csv.DictReader(io.StringIO("\n".join(body)))
    if reader.fieldnames is None or not {"valid_from", "rate_percent"} <= set(reader.fieldnames):
        raise RateError(f"{origin}: expected the columns valid_from,rate_percent")
    for lineno, row in enumerate(reader, start=2):
        try:
            valid_from = date.fromisoformat(row["valid_from"].strip())
        except ValueError:
            raise RateError(f"{origin}, row {lineno}: not a date: {row['valid_from']!r}") from None
        try:
            units = percent_to_units(row["rate_percent"])
        except RateError as exc:
            raise RateError(f"{origin}, row {lineno}: {exc}") from None
        source = (row.get("source") or "").strip() or source_default
        entries.append(RateEntry(valid_from, units, source))
    return meta, entries


def _packaged_files() -> dict[str, str]:
    folder = resources.files("mahnwerk.core").joinpath("data", "rates")
    return {
        item.name.removesuffix(".csv"): item.read_text(encoding="utf-8")
        for item in folder.iterdir()
        if item.name.endswith(".csv")
    }


def load_tables(overlay_dir: Path | None = None) -> dict[str, RateTable]:
    """All rate tables: packaged ones, with the rows of ``overlay_dir/<table>.csv`` merged over them."""
    tables: dict[str, RateTable] = {}
    packaged = _packaged_files()
    overlays: dict[str, str] = {}
    if overlay_dir is not None and overlay_dir.is_dir():
        for path in sorted(overlay_dir.glob("*.csv")):
            overlays[path.stem] = path.read_text(encoding="utf-8")
    for name in sorted(set(packaged) | set(overlays)):
        meta: dict[str, str] = {}
        rows: dict[date, RateEntry] = {}
        if name in packaged:
            meta, entries = _parse_csv(packaged[name], f"rate table {name}", PACKAGED_SOURCE)
            rows.update((e.valid_from, e) for e in entries)
        if name in overlays:
            over_meta, entries = _parse_csv(overlays[name], f"{overlay_dir}/{name}.csv", "user")
            meta = {**over_meta, **meta}
            if "checked_until" in over_meta:  # the user may confirm a change table up to a later day
                meta["checked_until"] = over_meta["checked_until"]
            rows.update((e.valid_from, e) for e in entries)
        period = meta.get("period", "half-year").split()[0]
        checked = meta.get("checked_until", "").strip()
        tables[name] = RateTable(
            name=name,
            period=period,
            entries=tuple(rows[d] for d in sorted(rows)),
            title=meta.get("title", ""),
            source=meta.get("source", ""),
            checked_until=date.fromisoformat(checked) if checked else None,
        )
    return tables


def get_table(tables: Mapping[str, RateTable], name: str) -> RateTable:
    try:
        return tables[name]
    except KeyError:
        raise RateError(f"no rate table named {name!r} (known: {', '.join(sorted(tables))})") from None


def _stage(target: Path, text: str) -> Path:
    """``text`` written and synced to a temporary file next to ``target`` (with its permissions), to be
    renamed over it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def write_atomically(target: Path, text: str) -> None:
    """Replace ``target`` by ``text`` at once: a reader sees the old file or the new one, never half."""
    tmp = _stage(target, text)
    try:
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _overlay_text(old: str | None, rows: Iterable[RateEntry], checked_until: date | None) -> str:
    """The overlay file ``old`` (``None``: none yet) with ``rows`` appended and ``checked_until`` set."""
    lines = old.splitlines() if old is not None else []
    if checked_until is not None:
        lines = [ln for ln in lines if not ln.strip().lower().replace(" ", "").startswith("#checked_until:")]
        lines.insert(0, f"# checked_until: {checked_until.isoformat()}")
    if not any(ln.strip() and not ln.strip().startswith("#") for ln in lines):
        lines.append("valid_from,rate_percent,source")
    out = io.StringIO()
    out.write("\n".join(lines) + "\n")
    writer = csv.writer(out, lineterminator="\n")
    for e in rows:
        writer.writerow([e.valid_from.isoformat(), f"{units_to_percent(e.units)}", e.source])
    return out.getvalue()


def add_rates(
    overlay_dir: Path,
    additions: Mapping[str, Iterable[RateEntry]],
    checked_until: Mapping[str, date] | None = None,
) -> dict[str, Path]:
    """Append many rates (and change tables' ``checked_until``) to the overlay, all or nothing.

    Every table is validated as merged with its new rows before anything is written; a date the
    overlay already has is refused (as by :func:`mahnwerk.core.rate_files.add_user_rate`). Each file is written to a temporary file
    next to it and then renamed over it, so a file is never left half written; the renames follow only
    once every new file is on disk. Returns the written path per table.
    """
    checked = dict(checked_until or {})
    names = sorted(set(additions) | set(checked))
    tables = load_tables(overlay_dir)
    texts: dict[str, str] = {}
    for name in names:
        table = get_table(tables, name)
        rows = sorted(additions.get(name, ()), key=lambda e: e.valid_from)
        path = overlay_dir / f"{name}.csv"
        old = path.read_text(encoding="utf-8") if path.exists() else None
        own_dates: set[date] = set()
        if old is not None:
            own_dates = {e.valid_from for e in _parse_csv(old, str(path), "user")[1]}
        merged = {e.valid_from: e for e in table.entries}
        for e in rows:
            if e.valid_from in own_dates or e.valid_from in {r.valid_from for r in rows if r is not e}:
                raise RateError(f"{name} already has a user rate from {e.valid_from.isoformat()} in {path}")
            merged[e.valid_from] = e
        RateTable(name, table.period, tuple(merged[d] for d in sorted(merged)))  # validates
        if name in checked and table.period != "change":
            raise RateError(f"table {name}: checked_until applies to change tables only")
        texts[name] = _overlay_text(old, rows, checked.get(name))
    overlay_dir.mkdir(parents=True, exist_ok=True)
    staged: dict[str, Path] = {}
    try:
        for name, text in texts.items():
            staged[name] = _stage(overlay_dir / f"{name}.csv", text)
        written: dict[str, Path] = {}
        for name, tmp_path in staged.items():
            target = overlay_dir / f"{name}.csv"
            os.replace(tmp_path, target)
            written[name] = target
        return written
    finally:
        for tmp_path in staged.values():
            tmp_path.unlink(missing_ok=True)
