"""``mahnwerk rates import`` checks every row it would add as ``rates add`` checks a rate typed in (start of a
half-year, 1999 to a year ahead, -5 % .. 25 %, a step of more than 3 points only with ``--confirm``): each
refused row named with its file, line and column, and nothing written while one is refused."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command

from mahnwerk.core.rate_files import check_import, parse_rate_file, plan_import
from mahnwerk.core.rates import load_tables

DATA = Path(__file__).parent.parent / "data" / "rates"
ECB_DAILY = str(DATA / "ecb_mro_daily_sdmx.csv")
TODAY = date(2026, 12, 7)
JULY_2026 = (
    10 + 2 * (2026 - 2002) + 2
)  # the line of 2026-07: ten header lines, two half-years a year from 2002-01


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Iterator[Path]:
    settings.DATA_DIR = tmp_path / "data"
    folder: Path = settings.DATA_DIR
    from mahnwerk.ledger.claims import reload_rules

    reload_rules()
    with time_machine.travel("2026-12-07 10:00 +0000", tick=False):
        yield folder
    reload_rules()


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def refusal(*args: str) -> str:
    with pytest.raises(CommandError) as err:
        run(*args)
    return str(err.value)


def bundesbank(tmp_path: Path, july_2026: bytes, extra: bytes = b"") -> str:
    """The German base-rate file with the value of 2026-07 replaced (and ``extra`` lines appended)."""
    raw = (DATA / "bbk_su0115_de.csv").read_bytes()
    assert raw.endswith(b"2026-07;1,27;\r\n")
    path = tmp_path / "basiszins.csv"
    path.write_bytes(raw.removesuffix(b"1,27;\r\n") + july_2026 + b";\r\n" + extra)
    return str(path)


def written(data_dir: Path) -> list[str]:
    folder = data_dir / "rates"
    return sorted(p.name for p in folder.glob("*")) if folder.exists() else []


def test_an_implausible_rate_is_refused_with_its_line_and_column(data_dir: Path, tmp_path: Path) -> None:
    path = bundesbank(tmp_path, b"30,00")
    for extra in ((), ("--dry-run",), ("--confirm",)):
        message = refusal("rates", "import", *extra, ECB_DAILY, path)
        assert message.splitlines() == [
            "Nothing imported: rows of the files fail the checks of a new rate.",
            f"  basiszins.csv, line {JULY_2026}, BBK01.SU0115: de_basiszinssatz 2026-07-01 30.00 %: outside the "
            "plausible range of -5.00 % to 25.00 % (a typing error?)",
        ]
    assert written(data_dir) == []  # not even the rows of the ECB file


def test_a_large_step_needs_confirm(data_dir: Path, tmp_path: Path) -> None:
    path = bundesbank(tmp_path, b"4,50")
    message = refusal("rates", "import", path)
    assert (
        f"  basiszins.csv, line {JULY_2026}, BBK01.SU0115: de_basiszinssatz 2026-07-01 4.50 %: 3.23 percentage "
        "points above the rate before it (1.27 % from 2026-01-01); no step of the shipped tables is larger than "
        "2.50 points. If 4.50 % is right, repeat with --confirm"
    ) in message.splitlines()
    assert written(data_dir) == []
    assert "de_basiszinssatz: added 2026-07-01 4.50 %" in run("rates", "import", "--confirm", path)
    assert written(data_dir) == ["de_basiszinssatz.csv"]


def test_every_refused_row_is_named(data_dir: Path, tmp_path: Path) -> None:
    path = bundesbank(tmp_path, b"1,27", b"2027-01;-6,00;\r\n2027-07;1,27;\r\n2028-01;1,27;\r\n")
    lines = refusal("rates", "import", path).splitlines()
    assert lines[1:] == [
        f"  basiszins.csv, line {JULY_2026 + 1}, BBK01.SU0115: de_basiszinssatz 2027-01-01 -6.00 %: outside "
        "the plausible range of -5.00 % to 25.00 % (a typing error?)",
        f"  basiszins.csv, line {JULY_2026 + 3}, period: de_basiszinssatz 2028-01-01 1.27 %: the date is more "
        "than a year ahead (after 2027-12-07); a rate is added once it is published, shortly before it applies",
    ]
    assert written(data_dir) == []


def test_an_ecb_change_more_than_a_year_ahead(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "ecb.csv"
    path.write_text(
        Path(ECB_DAILY).read_text(encoding="utf-8")
        + "FM.D.U2.EUR.4F.KR.MRR_FR.LEV,D,U2,EUR,4F,KR,MRR_FR,LEV,2027-12-08,2.4,A\n",
        encoding="utf-8",
    )
    last_line = path.read_text(encoding="utf-8").count("\n")
    lines = refusal("rates", "import", str(path)).splitlines()
    assert (
        f"  ecb.csv, line {last_line}, TIME_PERIOD: ecb_mro "
        "2027-12-08 2.40 %: the date is more than a year ahead (after 2027-12-07); a rate is added once it is "
        "published, shortly before it applies"
    ) in lines
    assert written(data_dir) == []


def test_importing_the_shipped_data_passes_the_checks_with_its_real_steps() -> None:
    """The shipped table's largest step (2.50 points, 2023-01-01) comes in by import without --confirm."""
    known = load_tables(None)
    table = known["de_basiszinssatz"]
    known["de_basiszinssatz"] = replace(
        table, entries=tuple(e for e in table.entries if e.valid_from < date(2022, 7, 1))
    )
    rate_file = parse_rate_file((DATA / "bbk_su0115_de.csv").read_bytes(), "bbk.csv")
    plan = plan_import(known, [rate_file])
    added = [(r.valid_from.isoformat(), r.percent) for r in plan.tables["de_basiszinssatz"].added]
    assert added[:2] == [("2022-07-01", "-0.88"), ("2023-01-01", "1.62")]
    assert check_import(plan, known, load_tables(None), TODAY) == []
