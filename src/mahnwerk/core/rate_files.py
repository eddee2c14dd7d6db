"""Reading the rate files as the central banks publish them, and planning their import.

Two publishers, three layouts, recognised from the content (never from the file name):

* **Deutsche Bundesbank time-series CSV** (series ``BBK01.SU0115``, "Basiszinssatz gemäß § 247 BGB").
  The first row names the series and its flag column (``"";BBK01.SU0115;BBK01.SU0115_FLAGS``), the
  rows after it until the first period are attributes (title, ``Einheit``, ``Dimension``, ``Stand vom``,
  ``Quelle``, ``Kommentar`` ...), then one row per period (``2026-07`` or ``2026-07-01``) with the
  value and a flag: ``.`` with "Kein Wert vorhanden" is a period without a value. The German export is
  separated by ``;`` with a decimal comma; the English one by ``,`` with a decimal point ("unit",
  "last update", "No value available"). A download basket may hold several series side by side.
  The base rate is a half-year rate: every value inside a half-year must agree.
* **ECB Data Portal, SDMX-CSV** (``format=csvdata`` of the SDMX 2.1 API, the portal's "CSV" of the
  data table): a header ``KEY,FREQ,REF_AREA,CURRENCY,PROVIDER_FM,INSTRUMENT_FM,PROVIDER_FM_ID,
  DATA_TYPE_FM,TIME_PERIOD,OBS_VALUE,OBS_STATUS,...`` and one row per observation. Standard
  SDMX-CSV without ``KEY`` (a ``DATAFLOW`` column such as ``ECB:FM(1.0)`` and the dimensions) is read
  too.
* **ECB Data Portal, series download**: ``"DATE","TIME PERIOD","<title> (FM.B.U2.EUR.4F.KR.MRR_FR.LEV)"``
  and one row per observation.

From the ECB main refinancing rate (``FM.B.U2.EUR.4F.KR.MRR_FR.LEV``: the dates of change;
``FM.D.U2.EUR.4F.KR.MRR_FR.LEV``: one value per day) come the rows of the change table ``ecb_mro``
(a row only where the rate changes) and of ``eu_reference_rate``: the rate in force on 1 January and
1 July of each half-year the file covers (Directive 2011/7/EU art. 2(12)). A change-date series says
nothing about the days after its last change; a daily series covers up to its last day.

Everything here is pure: :func:`parse_rate_file` reads bytes, :func:`plan_import` compares with the
known tables and returns what to add, what is already known and what contradicts them;
:func:`check_import` checks each row to add as a rate added by hand. Writing is left to
:func:`mahnwerk.core.rates.add_rates`.

The last section checks and writes one rate the user adds, corrects or removes by hand
(:func:`add_user_rate`, :func:`remove_user_rate`): only the user's own file changes, rewritten atomically.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from mahnwerk.core.rates import (
    RateEntry,
    RateError,
    RateTable,
    add_rates,
    get_table,
    half_year_start,
    load_tables,
    next_half_year,
    percent_to_units,
    units_to_percent,
    write_atomically,
)

BASE_RATE_SERIES = "BBK01.SU0115"
MRO_CHANGES_SERIES = "FM.B.U2.EUR.4F.KR.MRR_FR.LEV"
MRO_DAILY_SERIES = "FM.D.U2.EUR.4F.KR.MRR_FR.LEV"
UNDERSTOOD = {
    BASE_RATE_SERIES: "German base rate under section 247 BGB (Deutsche Bundesbank)",
    MRO_CHANGES_SERIES: "ECB main refinancing rate, dates of change (ECB Data Portal)",
    MRO_DAILY_SERIES: "ECB main refinancing rate, daily (ECB Data Portal)",
}

BUNDESBANK_DE = "Deutsche Bundesbank time-series CSV (German)"
BUNDESBANK_EN = "Deutsche Bundesbank time-series CSV (English)"
ECB_SDMX_CSV = "ECB Data Portal SDMX-CSV"
ECB_PORTAL_CSV = "ECB Data Portal series CSV"

_MISSING = {"", ".", "nan", "na", "n/a", "-"}
_BBK_KEY = re.compile(r"^BB[A-Z0-9]{2,}\.[A-Za-z0-9_.]+$")
_PORTAL_KEY = re.compile(r"\(([A-Z0-9_]+(?:\.[A-Z0-9_]+)+)\)\s*$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_HALF = re.compile(r"^(\d{4})-?(?:S|H|HJ)([12])$", re.IGNORECASE)
_DE_NUMBER = re.compile(r"^[+-]?\d+(,\d+)?$")
_EN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
_UNIT_KEYS = {"einheit", "unit", "bbk_unit", "bbk_unit_eng"}
_AS_OF_KEYS = {"stand vom", "last update", "stand"}


class RateFileError(RateError):
    """A file that cannot be read as one of the published rate files."""


def _understood_list() -> str:
    return "; ".join(f"{key} ({what})" for key, what in UNDERSTOOD.items())


@dataclass(frozen=True, slots=True)
class Observation:
    day: date
    units: int | None  # None: the period has no value
    line: int


@dataclass(frozen=True, slots=True)
class ImportRow:
    valid_from: date
    units: int
    source: str
    where: str  # "<file>, line <n>": where the value was read
    date_column: str = ""  # the columns of that line the date and the value were read from
    rate_column: str = ""

    @property
    def percent(self) -> str:
        return f"{units_to_percent(self.units)}"


@dataclass(frozen=True, slots=True)
class TableRows:
    """The rows one series of a file gives for one table.

    For a change table, ``first_day``..``last_day`` is the span the series speaks for: within it the
    rate is that of the last row on or before the day, except in ``gaps`` (days the series marks as
    without a value).
    """

    table: str
    period: str  # "half-year" or "change"
    series: str
    rows: tuple[ImportRow, ...]
    first_day: date | None = None
    last_day: date | None = None
    gaps: tuple[tuple[date, date], ...] = ()

    def in_gap(self, day: date) -> bool:
        return any(start <= day <= end for start, end in self.gaps)

    def rate_on(self, day: date) -> ImportRow | None:
        """The row in force on ``day`` by this series alone (change tables), ``None`` if it does not say."""
        if self.first_day is None or self.last_day is None:
            return None
        if not self.first_day <= day <= self.last_day or self.in_gap(day):
            return None
        found: ImportRow | None = None
        for row in self.rows:
            if row.valid_from <= day:
                found = row
            else:
                break
        return found


@dataclass(frozen=True, slots=True)
class RateFile:
    origin: str
    format: str
    series: tuple[str, ...]
    as_of: str
    observations: int  # values read (periods without a value not counted)
    tables: tuple[TableRows, ...]
    ignored: tuple[str, ...] = ()  # other series in the file, not imported


# --------------------------------------------------------------------------- reading


def decode(data: bytes | str) -> str:
    """The text of a file: UTF-8 (with or without BOM), else Windows-1252 as older downloads are."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="strict").removeprefix("\ufeff")


def _rows(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            cells = [c.strip() for c in row]
            if any(cells):
                out.append((reader.line_num, cells))
    except csv.Error as exc:
        raise RateFileError(f"line {reader.line_num}: not readable as CSV ({exc})") from None
    return out


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def parse_rate_file(data: bytes | str, origin: str = "file") -> RateFile:
    """Read one published rate file; the format is told from the content. Raises :class:`RateFileError`."""
    try:
        text = decode(data)
    except UnicodeDecodeError:
        raise RateFileError(f"{origin}: not a text file") from None
    if "\x00" in text:
        raise RateFileError(f"{origin}: not a text file")
    first = _first_line(text)
    if not first:
        raise RateFileError(f"{origin}: the file is empty")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        rows = _rows(text, delimiter)
        if not rows:
            raise RateFileError("the file is empty")
        header = [c.upper() for c in rows[0][1]]
        if header and header[0] == "" and any(_BBK_KEY.match(c) for c in rows[0][1][1:]):
            return _parse_bundesbank(rows, origin, german=delimiter == ";")
        if "TIME_PERIOD" in header and "OBS_VALUE" in header:
            return _parse_sdmx_csv(rows, origin)
        if len(header) >= 3 and header[0] == "DATE" and header[1] == "TIME PERIOD":
            return _parse_portal_csv(rows, origin)
    except RateFileError as exc:
        raise RateFileError(f"{origin}: {exc}") from None
    raise RateFileError(
        f"{origin}: not a rate file this import understands; expected a Deutsche Bundesbank "
        f"time-series CSV or an ECB Data Portal CSV of one of these series: {_understood_list()}"
    )


def _parse_period(cell: str, line: int, column: str) -> date | None:
    """``2026-07`` (a month), ``2026-07-01`` (a day) or ``2026-S2`` (a half-year); ``None`` if not one."""
    try:
        if m := _MONTH.match(cell):
            return date(int(m[1]), int(m[2]), 1)
        if m := _DAY.match(cell):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _HALF.match(cell):
            return date(int(m[1]), 1 if m[2] == "1" else 7, 1)
    except ValueError:
        raise RateFileError(f"line {line}, {column}: not a valid date: {cell!r}") from None
    return None


def _looks_like_period(cell: str) -> bool:
    return bool(re.match(r"^\d{4}-", cell))


def _value(cell: str, line: int, column: str, german: bool) -> int | None:
    """A percentage cell: ``None`` for a period without a value, else rate units."""
    if cell.lower() in _MISSING:
        return None
    if not (_DE_NUMBER if german else _EN_NUMBER).match(cell):
        style = "a decimal comma (1,27)" if german else "a decimal point (1.27)"
        raise RateFileError(f"line {line}, {column}: not a percentage with {style}: {cell!r}")
    try:
        return percent_to_units(cell.replace(",", "."))
    except RateError as exc:
        raise RateFileError(f"line {line}, {column}: {exc}") from None


def _parse_bundesbank(rows: list[tuple[int, list[str]]], origin: str, german: bool) -> RateFile:
    _, header = rows[0]
    keys = [c for c in header[1:] if c and not c.upper().endswith("_FLAGS")]
    if BASE_RATE_SERIES not in keys:
        raise RateFileError(
            f"a Bundesbank file of the series {', '.join(keys)}, not of a series this import "
            f"understands: {_understood_list()}"
        )
    col = header.index(BASE_RATE_SERIES)
    as_of = ""
    observations: list[Observation] = []
    data_started = False
    for line, cells in rows[1:]:
        cells = cells + [""] * (len(header) - len(cells))
        head = cells[0]
        if not data_started and not _looks_like_period(head):
            name = head.lower().strip(" :")
            value = cells[col]
            if name in _UNIT_KEYS and value and not re.search(r"%|prozent|percent", value, re.IGNORECASE):
                raise RateFileError(f"line {line}, {head}: the unit is {value!r}, not a percentage")
            if name in _AS_OF_KEYS:
                as_of = value
            continue
        if head == "":
            continue  # a footnote below the values
        data_started = True
        day = _parse_period(head, line, "period")
        if day is None:
            raise RateFileError(
                f"line {line}, period: not a month (YYYY-MM) or a date (YYYY-MM-DD): {head!r}"
            )
        # "." (flagged "Kein Wert vorhanden" / "No value available") is a period without a value
        units = _value(cells[col], line, BASE_RATE_SERIES, german)
        observations.append(Observation(day, units, line))
    fmt = BUNDESBANK_DE if german else BUNDESBANK_EN
    source = f"Bundesbank {BASE_RATE_SERIES}" + (f" as of {as_of}" if as_of else "")
    table = _half_year_rows("de_basiszinssatz", BASE_RATE_SERIES, observations, origin, source)
    others = [k for k in keys if k != BASE_RATE_SERIES]
    if not table.rows:
        raise RateFileError(f"no value of {BASE_RATE_SERIES} in the file")
    count = sum(1 for o in observations if o.units is not None)
    return RateFile(origin, fmt, (BASE_RATE_SERIES,), as_of, count, (table,), tuple(others))


def _half_year_rows(
    table: str, series: str, observations: Sequence[Observation], origin: str, source: str
) -> TableRows:
    """One row per half-year; every value given inside a half-year must agree."""
    by_half: dict[date, Observation] = {}
    for o in observations:
        if o.units is None:
            continue
        start = half_year_start(o.day)
        seen = by_half.get(start)
        if seen is None:
            by_half[start] = o
        elif seen.units != o.units:
            assert seen.units is not None
            raise RateFileError(
                f"lines {seen.line} and {o.line} give different rates for the half-year from "
                f"{start.isoformat()} ({units_to_percent(seen.units)} and {units_to_percent(o.units)}); "
                "the rate changes only on 1 January and 1 July"
            )
    rows = tuple(
        ImportRow(start, o.units, source, f"{origin}, line {o.line}", "period", series)
        for start, o in sorted(by_half.items())
        if o.units is not None
    )
    return TableRows(table, "half-year", series, rows)


def _sdmx_key(row: Mapping[str, str]) -> str:
    if row.get("KEY"):
        return row["KEY"]
    flow = row.get("DATAFLOW", "")
    m = re.match(r"^(?:[A-Z0-9_]+:)?([A-Z0-9_]+)(?:\(.*\))?$", flow)
    dims = ["FREQ", "REF_AREA", "CURRENCY", "PROVIDER_FM", "INSTRUMENT_FM", "PROVIDER_FM_ID", "DATA_TYPE_FM"]
    if m and all(row.get(d) for d in dims):
        return ".".join([m[1], *(row[d] for d in dims)])
    return ""


def _parse_sdmx_csv(rows: list[tuple[int, list[str]]], origin: str) -> RateFile:
    _, header = rows[0]
    names = [c.upper() for c in header]
    if "KEY" not in names and "DATAFLOW" not in names:
        raise RateFileError("an SDMX-CSV file without a KEY or DATAFLOW column")
    found: dict[str, list[Observation]] = {}
    others: list[str] = []
    for line, cells in rows[1:]:
        if len(cells) > len(names):
            raise RateFileError(f"line {line}: {len(cells)} fields, the header has {len(names)}")
        record = dict(zip(names, cells + [""] * (len(names) - len(cells)), strict=True))
        key = _sdmx_key(record)
        if key not in (MRO_CHANGES_SERIES, MRO_DAILY_SERIES):
            if key not in others:
                others.append(key or "?")
            continue
        period = record["TIME_PERIOD"]
        day = _parse_period(period, line, "TIME_PERIOD") if _DAY.match(period) else None
        if day is None:
            raise RateFileError(f"line {line}, TIME_PERIOD: not a date (YYYY-MM-DD): {period!r}")
        units = _value(record["OBS_VALUE"], line, "OBS_VALUE", german=False)
        found.setdefault(key, []).append(Observation(day, units, line))
    return _ecb_file(origin, ECB_SDMX_CSV, found, others)


def _parse_portal_csv(rows: list[tuple[int, list[str]]], origin: str) -> RateFile:
    _, header = rows[0]
    columns: dict[str, int] = {}
    others: list[str] = []
    for index, title in enumerate(header[2:], start=2):
        m = _PORTAL_KEY.search(title)
        key = m[1] if m else title
        if key in (MRO_CHANGES_SERIES, MRO_DAILY_SERIES):
            columns[key] = index
        else:
            others.append(key)
    found: dict[str, list[Observation]] = {}
    for line, cells in rows[1:]:
        day = _parse_period(cells[0], line, "DATE") if _DAY.match(cells[0]) else None
        if day is None:
            raise RateFileError(f"line {line}, DATE: not a date (YYYY-MM-DD): {cells[0]!r}")
        for key, index in columns.items():
            cell = cells[index] if index < len(cells) else ""
            found.setdefault(key, []).append(Observation(day, _value(cell, line, key, german=False), line))
    return _ecb_file(origin, ECB_PORTAL_CSV, found, others)


def _ecb_file(origin: str, fmt: str, found: Mapping[str, list[Observation]], others: list[str]) -> RateFile:
    if not found:
        shown = ", ".join(others) if others else "none"
        raise RateFileError(
            f"an ECB file of the series {shown}, not of a series this import understands: {_understood_list()}"
        )
    tables: list[TableRows] = []
    count = 0
    for key in (MRO_CHANGES_SERIES, MRO_DAILY_SERIES):
        if key not in found:
            continue
        observations = _unique_days(found[key])
        count += sum(1 for o in observations if o.units is not None)
        columns = ("TIME_PERIOD", "OBS_VALUE") if fmt == ECB_SDMX_CSV else ("DATE", key)
        mro = _change_rows(key, observations, origin, *columns)
        if not mro.rows:
            raise RateFileError(f"no value of {key} in the file")
        tables += [mro, _reference_rows(mro, key)]
    return RateFile(origin, fmt, tuple(k for k in (MRO_CHANGES_SERIES, MRO_DAILY_SERIES) if k in found),
                    "", count, tuple(tables), tuple(others))  # fmt: skip


def _unique_days(observations: Iterable[Observation]) -> list[Observation]:
    by_day: dict[date, Observation] = {}
    for o in observations:
        seen = by_day.get(o.day)
        if seen is not None and seen.units != o.units:
            shown = [("no value" if u is None else f"{units_to_percent(u)} %") for u in (seen.units, o.units)]
            raise RateFileError(
                f"lines {seen.line} and {o.line} give different values for {o.day.isoformat()} "
                f"({shown[0]} and {shown[1]})"
            )
        by_day.setdefault(o.day, o)
    return [by_day[d] for d in sorted(by_day)]


def _change_rows(
    key: str, observations: Sequence[Observation], origin: str, date_column: str, rate_column: str
) -> TableRows:
    """The days the rate changes, the span the series covers and its days without a value."""
    source = f"ECB {key}"
    rows: list[ImportRow] = []
    gaps: list[tuple[date, date]] = []
    gap_start: date | None = None
    last: int | None = None
    first_day: date | None = None
    last_day: date | None = None
    for o in observations:
        if o.units is None:
            if first_day is not None and gap_start is None:
                gap_start = o.day
            continue
        if gap_start is not None:
            gaps.append((gap_start, o.day - timedelta(days=1)))
            gap_start = None
        if first_day is None:
            first_day = o.day
        if o.units != last:
            rows.append(
                ImportRow(o.day, o.units, source, f"{origin}, line {o.line}", date_column, rate_column)
            )
            last = o.units
        last_day = o.day
    return TableRows("ecb_mro", "change", key, tuple(rows), first_day, last_day, tuple(gaps))


def _reference_rows(mro: TableRows, key: str) -> TableRows:
    """The rate in force on each 1 January / 1 July that the series covers (Directive 2011/7/EU)."""
    rows: list[ImportRow] = []
    if mro.first_day is not None and mro.last_day is not None:
        start = half_year_start(mro.first_day)
        if start < mro.first_day:
            start = next_half_year(start)
        while start <= mro.last_day:
            in_force = mro.rate_on(start)
            if in_force is not None:
                source = f"ECB {key} in force on {start.isoformat()}"
                rows.append(
                    ImportRow(
                        start,
                        in_force.units,
                        source,
                        in_force.where,
                        in_force.date_column,
                        in_force.rate_column,
                    )
                )
            start = next_half_year(start)
    return TableRows("eu_reference_rate", "half-year", key, tuple(rows))


# --------------------------------------------------------------------------- planning


@dataclass
class TablePlan:
    table: str
    added: list[ImportRow] = field(default_factory=list)
    known: int = 0  # rows the table already has with the same rate
    earlier: int = 0  # rows before the table's first row, left out
    checked_until: date | None = None  # a change table: no change is missing up to this day


@dataclass
class ImportPlan:
    tables: dict[str, TablePlan]
    conflicts: list[str]

    @property
    def changes_anything(self) -> bool:
        return any(p.added or p.checked_until for p in self.tables.values())

    def additions(self) -> dict[str, list[RateEntry]]:
        return {
            name: [RateEntry(r.valid_from, r.units, r.source) for r in plan.added]
            for name, plan in self.tables.items()
            if plan.added
        }

    def checked(self) -> dict[str, date]:
        return {name: p.checked_until for name, p in self.tables.items() if p.checked_until is not None}


@dataclass
class _State:
    table: RateTable
    entries: dict[date, RateEntry | ImportRow]
    coverage: date | None  # change tables: the last day known without a gap
    first: date | None  # the table's first row before the import


def _pct(units: int) -> str:
    return f"{units_to_percent(units)} %"


def _origin(item: RateEntry | ImportRow) -> str:
    return item.where if isinstance(item, ImportRow) else item.source


def plan_import(known: Mapping[str, RateTable], files: Sequence[RateFile]) -> ImportPlan:
    """What importing ``files`` (in order) adds to the ``known`` tables; nothing is written.

    A row the table already has with the same rate is counted as known; a row before the table's
    first row is left out (a table keeps the start it was built with); a row that contradicts the table
    (or a file read before) is a conflict, and a change-table file that starts after the table's known
    days would leave days unaccounted for, which is a conflict too.
    """
    states: dict[str, _State] = {}
    plans: dict[str, TablePlan] = {}
    conflicts: list[str] = []
    for rate_file in files:
        for rows in rate_file.tables:
            if rows.table not in known:
                conflicts.append(f"{rate_file.origin}: no rate table named {rows.table!r}")
                continue
            state = states.get(rows.table)
            if state is None:
                table = known[rows.table]
                coverage = table.covered_until() if table.period == "change" else None
                first = table.entries[0].valid_from if table.entries else None
                state = _State(table, {e.valid_from: e for e in table.entries}, coverage, first)
                states[rows.table] = state
            plan = plans.setdefault(rows.table, TablePlan(rows.table))
            if state.table.period != rows.period:
                conflicts.append(
                    f"{rows.table}: a {rows.period} series cannot feed a {state.table.period} table"
                )
            elif rows.period == "half-year":
                _plan_half_year(rows, state, plan, conflicts)
            else:
                _plan_change(rows, state, plan, conflicts)
    return ImportPlan(plans, conflicts)


def _plan_half_year(rows: TableRows, state: _State, plan: TablePlan, conflicts: list[str]) -> None:
    for row in rows.rows:
        if state.first is not None and row.valid_from < state.first:
            plan.earlier += 1
            continue
        have = state.entries.get(row.valid_from)
        if have is None:
            state.entries[row.valid_from] = row
            plan.added.append(row)
        elif have.units == row.units:
            plan.known += 1
        else:
            conflicts.append(
                f"{rows.table} {row.valid_from.isoformat()}: {row.where} gives {_pct(row.units)}, "
                f"the table has {_pct(have.units)} ({_origin(have)})"
            )


def _in_force(state: _State, day: date) -> RateEntry | ImportRow | None:
    if state.coverage is None or day > state.coverage:
        return None
    found: RateEntry | ImportRow | None = None
    for d in sorted(state.entries):
        if d <= day:
            found = state.entries[d]
        else:
            break
    return found


def _plan_change(rows: TableRows, state: _State, plan: TablePlan, conflicts: list[str]) -> None:
    assert rows.first_day is not None and rows.last_day is not None
    if state.coverage is not None and rows.first_day > state.coverage + timedelta(days=1):
        conflicts.append(
            f"{rows.table}: {rows.rows[0].where.rsplit(',', 1)[0]} starts on {rows.first_day.isoformat()}, "
            f"but the table is known only until {state.coverage.isoformat()}: a change in between "
            f"would be missed; import a file that starts on or before "
            f"{(state.coverage + timedelta(days=1)).isoformat()}"
        )
        return
    before = list(state.entries.values())
    for row in rows.rows:
        if state.first is not None and row.valid_from < state.first:
            plan.earlier += 1
            continue
        have = _in_force(state, row.valid_from)
        if have is None:
            state.entries[row.valid_from] = row
            plan.added.append(row)
        elif have.units == row.units:
            plan.known += 1
        else:
            conflicts.append(
                f"{rows.table} {row.valid_from.isoformat()}: {row.where} gives {_pct(row.units)} from that day, "
                f"the table has {_pct(have.units)} in force then ({_origin(have)})"
            )
    # a change the table knows must be in the file too, where the file speaks for that day
    for entry in before:
        if state.first is not None and entry.valid_from < state.first:
            continue
        said = rows.rate_on(entry.valid_from)
        if said is not None and said.units != entry.units:
            conflicts.append(
                f"{rows.table} {entry.valid_from.isoformat()}: the table has {_pct(entry.units)} from that day "
                f"({_origin(entry)}), {said.where} gives {_pct(said.units)} from {said.valid_from.isoformat()}, "
                "still in force then"
            )
    last_entry = max(state.entries) if state.entries else None
    if state.coverage is None or rows.last_day > state.coverage:
        state.coverage = rows.last_day
        if last_entry is not None and rows.last_day > last_entry:
            plan.checked_until = rows.last_day


# --------------------------------------------------------------------------- the user's own rates
#
# ``mahnwerk rates add|remove`` change the user's overlay file ``<data>/rates/<table>.csv`` only; the
# shipped tables (``core/data/rates``) are never written. A new or replacing rate is checked first, and so
# is every row ``mahnwerk rates import`` would add (:func:`check_import`):
#
# * the start date fits the table: a half-year table starts a rate on 1 January or 1 July only;
# * it lies from ``EARLIEST_VALID_FROM`` (1 January 1999, the euro's introduction: the ECB main
#   refinancing rate and the base rate that § 247 BGB continued begin then; a shipped table starting
#   earlier allows its own first date) to one year after today (rates are published days to weeks
#   before they apply, the base rate a few days before its half-year);
# * the value lies within ``PLAUSIBLE_MIN``..``PLAUSIBLE_MAX`` percent (-5 % .. 25 %): every value of
#   the shipped tables lies between -0.88 % (German base rate 2016-2022) and 4.50 % (ECB 2023-2024);
# * a step of more than ``MAX_STEP`` percentage points (3) from the neighbouring rate of the table is
#   taken only with ``confirm=True``: the largest step in the shipped tables is 2.50 points (German
#   base rate and EU reference rate on 2023-01-01); the ECB's largest single move there is 0.75.

PLAUSIBLE_MIN = Decimal("-5")
PLAUSIBLE_MAX = Decimal("25")
MAX_STEP = Decimal("3")
EARLIEST_VALID_FROM = date(1999, 1, 1)


class RateCheckError(RateError):
    """A new rate :func:`check_new_rate` refuses; ``field`` is the input at fault: ``"valid_from"`` or
    ``"rate"``."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class RateConfirmError(RateCheckError):
    """A rate that may be right but looks like a typing error: taken only when confirmed."""


@dataclass(frozen=True, slots=True)
class UserRateChange:
    """What changed in the user's file: ``before``/``after`` the rate of that date in the merged table."""

    action: str  # "added", "replaced" or "removed"
    table: str
    valid_from: date
    before: RateEntry | None
    after: RateEntry | None
    path: Path


@dataclass(slots=True)
class _OwnFile:
    lines: list[str]
    columns: list[str]
    rows: dict[date, tuple[int, RateEntry]]  # valid_from -> (index in lines, entry)
    trailing_newline: bool


def _read_own(path: Path) -> _OwnFile | None:
    """The user's file of a table, line by line, so a change keeps every other line as it is."""
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    columns: list[str] = []
    rows: dict[date, tuple[int, RateEntry]] = {}
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        cells = [c.strip() for c in next(csv.reader([stripped]))]
        if not columns:
            columns = cells
            continue
        record = dict(zip(columns, cells + [""] * (len(columns) - len(cells)), strict=False))
        try:
            day = date.fromisoformat(record.get("valid_from", ""))
            units = percent_to_units(record.get("rate_percent", ""))
        except (ValueError, RateError):
            raise RateError(f"{path}, line {index + 1}: not a rate row: {stripped!r}") from None
        rows[day] = (index, RateEntry(day, units, record.get("source", "") or "user"))
    return _OwnFile(lines, columns, rows, text.endswith("\n"))


def _row_line(columns: Sequence[str], old_line: str, entry: RateEntry) -> str:
    old = [c.strip() for c in next(csv.reader([old_line.strip()]))]
    cells = dict(zip(columns, old + [""] * (len(columns) - len(old)), strict=False))
    cells.update(
        valid_from=entry.valid_from.isoformat(),
        rate_percent=f"{units_to_percent(entry.units)}",
        source=entry.source,
    )
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([cells.get(c, "") for c in columns])
    return out.getvalue()


def _one_year_later(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def check_new_rate(
    table: RateTable,
    shipped: RateTable | None,
    valid_from: date,
    units: int,
    today: date,
    confirm: bool = False,
) -> None:
    """Refuse a rate ``table`` should not get from ``valid_from`` (see the bounds above).

    Raises :class:`RateCheckError`, or :class:`RateConfirmError` for a large step when not ``confirm``.
    """
    day = valid_from.isoformat()
    value = _pct(units)
    if table.period == "half-year" and valid_from != half_year_start(valid_from):
        raise RateCheckError(
            f"{table.name} {day} {value}: {table.name} changes only on 1 January and 1 July; "
            f"the half-year of {day} starts on {half_year_start(valid_from).isoformat()}",
            "valid_from",
        )
    earliest = EARLIEST_VALID_FROM
    if shipped is not None and shipped.entries:
        earliest = min(earliest, shipped.entries[0].valid_from)
    if valid_from < earliest:
        raise RateCheckError(
            f"{table.name} {day} {value}: the date is before {earliest.isoformat()}, "
            "the start of the rates the tables hold",
            "valid_from",
        )
    latest = _one_year_later(today)
    if valid_from > latest:
        raise RateCheckError(
            f"{table.name} {day} {value}: the date is more than a year ahead (after {latest.isoformat()}); "
            "a rate is added once it is published, shortly before it applies",
            "valid_from",
        )
    percent = units_to_percent(units)
    if not PLAUSIBLE_MIN <= percent <= PLAUSIBLE_MAX:
        raise RateCheckError(
            f"{table.name} {day} {value}: outside the plausible range of {_pct(percent_to_units(PLAUSIBLE_MIN))} "
            f"to {_pct(percent_to_units(PLAUSIBLE_MAX))} (a typing error?)",
            "rate",
        )
    if confirm:
        return
    others = [e for e in table.entries if e.valid_from != valid_from]
    before = [e for e in others if e.valid_from < valid_from]
    after = [e for e in others if e.valid_from > valid_from]
    limit = percent_to_units(MAX_STEP)
    for neighbour, where in (
        (before[-1] if before else None, "before"),
        (after[0] if after else None, "after"),
    ):
        if neighbour is None or abs(units - neighbour.units) <= limit:
            continue
        step = units_to_percent(abs(units - neighbour.units))
        direction = "above" if units > neighbour.units else "below"
        raise RateConfirmError(
            f"{table.name} {day} {value}: {step} percentage points {direction} the rate {where} it "
            f"({_pct(neighbour.units)} from {neighbour.valid_from.isoformat()}); no step of the shipped "
            f"tables is larger than 2.50 points. If {value} is right, repeat with --confirm",
            "rate",
        )


def check_import(
    plan: ImportPlan,
    known: Mapping[str, RateTable],
    shipped: Mapping[str, RateTable],
    today: date,
    confirm: bool = False,
) -> list[str]:
    """Every row ``plan`` would add, checked by :func:`check_new_rate` as if it were added by hand, table by
    table in date order (a step is measured from the rate before it: known or imported before it, and to the
    known rate after it); a refused row is left out of the steps of the rows after it. Returns each refusal as
    ``"<file>, line <n>, <column>: <reason>"`` (the column of the date or of the value); an empty list: the
    import may be written."""
    problems: list[str] = []
    for name in sorted(plan.tables):
        added = sorted(plan.tables[name].added, key=lambda r: r.valid_from)
        if not added:
            continue
        table = known[name]
        entries = {e.valid_from: e for e in table.entries}
        for row in added:
            current = RateTable(name, table.period, tuple(entries[d] for d in sorted(entries)))
            try:
                check_new_rate(current, shipped.get(name), row.valid_from, row.units, today, confirm=confirm)
            except RateCheckError as exc:
                column = row.date_column if exc.field == "valid_from" else row.rate_column
                problems.append(f"{row.where}, {column}: {exc}" if column else f"{row.where}: {exc}")
                continue
            entries[row.valid_from] = RateEntry(row.valid_from, row.units, row.source)
    return problems


def add_user_rate(
    overlay_dir: Path,
    table: str,
    valid_from: date,
    percent: str | Decimal,
    source: str = "",
    *,
    replace: bool = False,
    confirm: bool = False,
    today: date | None = None,
) -> UserRateChange:
    """Add a rate to the user's file of ``table`` (or, with ``replace``, correct the user's own rate of
    that date), after :func:`check_new_rate`; the file is rewritten atomically. The shipped rates are
    never shadowed: a date the shipped table has is refused."""
    tables = load_tables(overlay_dir)
    current = get_table(tables, table)
    shipped = load_tables(None).get(table)
    try:
        units = percent_to_units(percent)
    except RateError as exc:
        raise RateError(f"{table} {valid_from.isoformat()}: {exc}") from None
    check_new_rate(current, shipped, valid_from, units, today or date.today(), confirm=confirm)
    path = overlay_dir / f"{table}.csv"
    own = _read_own(path)
    mine = own.rows.get(valid_from) if own is not None else None
    day = valid_from.isoformat()
    packaged = {e.valid_from: e for e in shipped.entries} if shipped is not None else {}
    if mine is None and valid_from in packaged:
        raise RateError(
            f"{table} {day}: the shipped table already has {_pct(packaged[valid_from].units)} from that day; "
            "shipped rates cannot be changed or shadowed"
        )
    if mine is not None and not replace:
        raise RateError(
            f"{table} already has a user rate from {day}: {_pct(mine[1].units)} (in {path}); to correct it: "
            f"mahnwerk rates add {table} {day} {percent} --replace"
        )
    if mine is None and replace:
        raise RateError(f"{table} has no rate of yours from {day} to replace; add it without --replace")
    entry = RateEntry(valid_from, units, source.strip() or "user")
    merged = {e.valid_from: e for e in current.entries} | {valid_from: entry}
    RateTable(table, current.period, tuple(merged[d] for d in sorted(merged)))  # validates
    if mine is None:
        add_rates(overlay_dir, {table: [entry]})
        return UserRateChange("added", table, valid_from, None, entry, path)
    assert own is not None
    index, old = mine
    own.lines[index] = _row_line(own.columns, own.lines[index], entry)
    write_atomically(path, "\n".join(own.lines) + ("\n" if own.trailing_newline else ""))
    return UserRateChange("replaced", table, valid_from, old, entry, path)


def remove_user_rate(overlay_dir: Path, table: str, valid_from: date) -> UserRateChange:
    """Remove the user's own rate of ``valid_from`` from the user's file of ``table`` (atomically).

    A shipped rate is refused: only rates the user added (by hand or by import) can be removed.
    ``after`` is the shipped rate of that date, if the user's rate stood over one.
    """
    tables = load_tables(overlay_dir)
    get_table(tables, table)
    shipped = load_tables(None).get(table)
    packaged = {e.valid_from: e for e in shipped.entries} if shipped is not None else {}
    path = overlay_dir / f"{table}.csv"
    own = _read_own(path)
    mine = own.rows.get(valid_from) if own is not None else None
    day = valid_from.isoformat()
    if mine is None:
        if valid_from in packaged:
            raise RateError(
                f"{table} {day}: {_pct(packaged[valid_from].units)} is a shipped rate, not one you added; "
                "shipped rates cannot be removed"
            )
        raise RateError(f"{table} has no rate from {day}")
    assert own is not None
    index, old = mine
    del own.lines[index]
    write_atomically(path, "\n".join(own.lines) + ("\n" if own.lines and own.trailing_newline else ""))
    return UserRateChange("removed", table, valid_from, old, packaged.get(valid_from), path)
