"""``mahnwerk rates import`` end to end through Django's call_command, with a temporary data directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

DATA = Path(__file__).parent.parent / "data" / "rates"
BBK_DE = str(DATA / "bbk_su0115_de.csv")
ECB_DAILY = str(DATA / "ecb_mro_daily_sdmx.csv")


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Iterator[Path]:
    settings.DATA_DIR = tmp_path / "data"
    folder: Path = settings.DATA_DIR
    from mahnwerk.ledger.claims import reload_rules

    reload_rules()  # the rate tables of an earlier test's data directory must not be reused
    yield folder
    reload_rules()


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def overlay_files(data_dir: Path) -> dict[str, str]:
    folder = data_dir / "rates"
    return (
        {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*"))} if folder.exists() else {}
    )


def interest(jurisdiction: str) -> list[tuple[str, str, str]]:
    data = json.loads(
        run(
            "interest",
            "--jurisdiction",
            jurisdiction,
            "--debtor-kind",
            "business",
            "--principal",
            "1000.00",
            "--currency",
            "EUR",
            "--from",
            "2026-06-01",
            "--to",
            "2026-07-31",
            "--json",
        )
    )
    return [(s["from"], s["rate"], s["amount"]) for s in data["segments"]]


def test_import_adds_the_missing_half_years_and_interest_then_computes(data_dir: Path) -> None:
    for jurisdiction, table in (("DE", "de_basiszinssatz"), ("LV", "eu_reference_rate")):
        with pytest.raises(CommandError, match=f"no {table} rate for the half-year from 2026-07-01"):
            interest(jurisdiction)
    text = run("rates", "import", BBK_DE, ECB_DAILY)
    lines = text.splitlines()
    assert lines[0] == (
        "Read bbk_su0115_de.csv: Deutsche Bundesbank time-series CSV (German), series BBK01.SU0115, "
        "50 values (as of 01.07.2026 09:02:17 Uhr)"
    )
    for expected in (
        "de_basiszinssatz: added 2026-07-01 1.27 %",
        "de_basiszinssatz: 49 rates already known, unchanged",
        "de_basiszinssatz: covered until 2026-12-31",
        "ecb_mro: no change up to 2026-12-04",
        "ecb_mro: covered until 2026-12-04",
        "eu_reference_rate: added 2026-07-01 2.15 %",
        "eu_reference_rate: covered until 2026-12-31",
    ):
        assert expected in lines
    assert not any(line.startswith(("ecb_mro: added", "Nothing new", "Dry run")) for line in lines)
    files = overlay_files(data_dir)
    assert files["de_basiszinssatz.csv"].splitlines() == [
        "valid_from,rate_percent,source",
        "2026-07-01,1.27,Bundesbank BBK01.SU0115 as of 01.07.2026 09:02:17 Uhr",
    ]
    assert files["ecb_mro.csv"].splitlines()[0] == "# checked_until: 2026-12-04"
    assert files["eu_reference_rate.csv"].splitlines()[1].startswith("2026-07-01,2.15,")
    # DE business: base rate + 9 points. June: 1000 x 10.27 % x 30/365 = 8.4411; July: x 31/365 = 8.7225
    assert interest("DE") == [("2026-06-01", "10.27", "8.44"), ("2026-07-01", "10.27", "8.72")]
    # LV business: reference rate + 8 points. June: 1000 x 10.15 % x 30/365 = 8.3425; July: x 31/365 = 8.6205
    assert interest("LV") == [("2026-06-01", "10.15", "8.34"), ("2026-07-01", "10.15", "8.62")]


def test_importing_the_same_files_again_changes_nothing_and_says_so(data_dir: Path) -> None:
    run("rates", "import", BBK_DE, ECB_DAILY)
    before = overlay_files(data_dir)
    text = run("rates", "import", ECB_DAILY, BBK_DE, str(DATA / "ecb_mro_portal.csv"))
    assert "Nothing new: every rate in the files is already known." in text
    assert "de_basiszinssatz: 50 rates already known, unchanged" in text
    assert " added " not in text and "no change up to" not in text
    assert overlay_files(data_dir) == before


def test_dry_run_writes_nothing(data_dir: Path) -> None:
    text = run("rates", "import", "--dry-run", BBK_DE)
    assert "de_basiszinssatz: would add 2026-07-01 1.27 %" in text
    assert "de_basiszinssatz: covered until 2026-12-31" in text  # as it would be
    assert text.splitlines()[-1] == "Dry run: nothing written."
    assert overlay_files(data_dir) == {}
    listed = json.loads(run("rates", "list", "--table", "de_basiszinssatz", "--json"))
    assert listed["tables"][0]["covered_until"] == "2026-06-30"


def test_json_output(data_dir: Path) -> None:
    data = json.loads(run("rates", "import", "--json", str(DATA / "bbk_su0115_de_monthly.csv"), ECB_DAILY))
    assert data["dry_run"] is False and data["written"] is True
    assert [(f["file"], f["series"], f["values"]) for f in data["files"]] == [
        ("bbk_su0115_de_monthly.csv", ["BBK01.SU0115"], 6),
        ("ecb_mro_daily_sdmx.csv", ["FM.D.U2.EUR.4F.KR.MRR_FR.LEV"], 583),
    ]
    by_name = {t["table"]: t for t in data["tables"]}
    assert by_name["de_basiszinssatz"]["added"] == [
        {
            "valid_from": "2026-07-01",
            "rate_percent": "1.27",
            "source": "Bundesbank BBK01.SU0115 as of 03.12.2026 10:15:42 Uhr",
        }
    ]
    assert by_name["de_basiszinssatz"]["already_known"] == 5
    assert by_name["ecb_mro"]["added"] == [] and by_name["ecb_mro"]["checked_until"] == "2026-12-04"
    assert by_name["eu_reference_rate"]["covered_until"] == "2026-12-31"
    listed = json.loads(run("rates", "list", "--table", "eu_reference_rate", "--json"))
    assert listed["tables"][0]["entries"][-1]["valid_from"] == "2026-07-01"


def test_a_contradiction_refuses_everything_with_both_values(data_dir: Path, tmp_path: Path) -> None:
    changed = tmp_path / "basiszins.csv"
    raw = (DATA / "bbk_su0115_de.csv").read_bytes()
    assert b"2026-01;1,27;" in raw
    changed.write_bytes(raw.replace(b"2026-01;1,27;", b"2026-01;1,30;"))
    with pytest.raises(CommandError) as err:
        run("rates", "import", ECB_DAILY, str(changed))
    message = str(err.value)
    assert message.startswith("Nothing imported: the files contradict the known rates.")
    line = 10 + 2 * (2026 - 2002) + 1  # ten header lines, two half-years a year from 2002-01
    assert (
        f"de_basiszinssatz 2026-01-01: basiszins.csv, line {line} gives 1.30 %, the table has 1.27 % (packaged)"
    ) in message
    assert overlay_files(data_dir) == {}  # not even the ECB file's rows


def test_an_imported_rate_contradicting_one_added_by_hand(data_dir: Path) -> None:
    run("rates", "add", "de_basiszinssatz", "2026-07-01", "1.50", "--source", "press release")
    with pytest.raises(CommandError, match=r"gives 1\.27 %, the table has 1\.50 % \(press release\)"):
        run("rates", "import", BBK_DE)
    assert overlay_files(data_dir)["de_basiszinssatz.csv"].splitlines()[-1] == "2026-07-01,1.50,press release"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "bbk_st0304_de.csv",
            "bbk_st0304_de.csv: a Bundesbank file of the series BBK01.ST0304, not of a series",
        ),
        (
            "ecb_dfr_sdmx.csv",
            "ecb_dfr_sdmx.csv: an ECB file of the series FM.B.U2.EUR.4F.KR.DFR.LEV, not of a",
        ),
        ("no_such_file.csv", "cannot read"),
    ],
)
def test_unusable_files_refuse_the_whole_import(data_dir: Path, name: str, expected: str) -> None:
    with pytest.raises(CommandError) as err:
        run("rates", "import", BBK_DE, str(DATA / name))
    assert expected in str(err.value)
    assert overlay_files(data_dir) == {}


def test_a_basket_file_names_the_series_left_aside(data_dir: Path) -> None:
    text = run("rates", "import", str(DATA / "bbk_basket_de.csv"))
    assert "  other series in the file, not imported: BBK01.ST0304" in text.splitlines()
    assert "de_basiszinssatz: added 2026-07-01 1.27 %" in text
    assert "de_basiszinssatz: 2 rates already known, unchanged" in text


def test_garbage_and_empty_files(data_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.csv"
    garbage.write_text("Name;Betrag\nMüller;12,50\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"empty\.csv: the file is empty"):
        run("rates", "import", str(empty))
    with pytest.raises(CommandError, match=r"garbage\.csv: not a rate file this import understands"):
        run("rates", "import", str(garbage))
    assert overlay_files(data_dir) == {}
