"""``mahnwerk rates add [--replace] [--confirm]`` and ``rates remove``: correcting a mistyped rate from the
command line, the checks at ``add`` time, and interest computed afterwards with the corrected rate."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import date, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from mahnwerk.core.rate_files import add_user_rate
from mahnwerk.core.rates import RateError

PACKAGED = Path(__file__).parents[2] / "src" / "mahnwerk" / "core" / "data" / "rates"


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


def own_file(data_dir: Path, table: str = "de_basiszinssatz") -> str:
    return (data_dir / "rates" / f"{table}.csv").read_text(encoding="utf-8")


def interest_de() -> list[tuple[str, str, str]]:
    data = json.loads(
        run(
            "interest",
            "--jurisdiction",
            "DE",
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


def packaged_texts() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(PACKAGED.glob("*.csv"))}


def test_a_mistyped_rate_is_corrected_with_replace_and_interest_follows(data_dir: Path) -> None:
    shipped = packaged_texts()
    with pytest.raises(CommandError, match="--confirm"):
        run("rates", "add", "de_basiszinssatz", "2026-07-01", "12.7")
    assert not (data_dir / "rates" / "de_basiszinssatz.csv").exists()  # nothing written when refused
    out = run("rates", "add", "de_basiszinssatz", "2026-07-01", "12.7", "--confirm")
    assert out.startswith("Added de_basiszinssatz: 12.70 % from 2026-07-01")
    # the typing error shows in the interest: 12.70 + 9 points
    assert interest_de()[1][:2] == ("2026-07-01", "21.70")
    # adding again is refused and names the way to correct it
    with pytest.raises(CommandError) as refused:
        run("rates", "add", "de_basiszinssatz", "2026-07-01", "1.27")
    assert "already has a user rate from 2026-07-01: 12.70 %" in str(refused.value)
    assert "mahnwerk rates add de_basiszinssatz 2026-07-01 1.27 --replace" in str(refused.value)
    out = run("rates", "add", "de_basiszinssatz", "2026-07-01", "1.27", "--replace", "--source", "Bundesbank")
    assert out.startswith("Replaced de_basiszinssatz from 2026-07-01: was 12.70 %, now 1.27 % (")
    assert own_file(data_dir).splitlines() == ["valid_from,rate_percent,source", "2026-07-01,1.27,Bundesbank"]
    # June: 1000 x 10.27 % x 30/365 = 8.44; July: x 31/365 = 8.72
    assert interest_de() == [("2026-06-01", "10.27", "8.44"), ("2026-07-01", "10.27", "8.72")]
    assert packaged_texts() == shipped


def test_replace_keeps_the_rest_of_the_file_as_it_was(data_dir: Path) -> None:
    folder = data_dir / "rates"
    folder.mkdir(parents=True)
    text = (
        "# my own notes\n"
        "valid_from,rate_percent,source\n"
        "2026-07-01,12.7,typed from the press release\n"
        "\n"
        "2027-01-01,1.5,guess\n"
    )
    (folder / "de_basiszinssatz.csv").write_text(text, encoding="utf-8")
    os.chmod(folder / "de_basiszinssatz.csv", 0o600)
    run("rates", "add", "de_basiszinssatz", "2026-07-01", "1.27", "--replace", "--confirm")
    assert own_file(data_dir) == text.replace(
        "2026-07-01,12.7,typed from the press release", "2026-07-01,1.27,user"
    )
    assert (folder / "de_basiszinssatz.csv").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in folder.iterdir()] == ["de_basiszinssatz.csv"]  # no temporary file left behind


def test_replace_without_an_own_rate_is_refused(data_dir: Path) -> None:
    with pytest.raises(CommandError, match="has no rate of yours from 2026-07-01 to replace"):
        run("rates", "add", "de_basiszinssatz", "2026-07-01", "1.27", "--replace")
    with pytest.raises(CommandError, match=r"shipped table already has 1.27 % from that day"):
        run("rates", "add", "de_basiszinssatz", "2026-01-01", "1.30", "--replace")


def test_remove_takes_out_the_own_rate_only(data_dir: Path) -> None:
    run("rates", "add", "de_basiszinssatz", "2026-07-01", "1.27")
    run("rates", "add", "de_basiszinssatz", "2027-01-01", "1.50")
    out = run("rates", "remove", "de_basiszinssatz", "2026-07-01")
    assert out.startswith("Removed de_basiszinssatz: 1.27 % from 2026-07-01 (")
    assert own_file(data_dir).splitlines() == ["valid_from,rate_percent,source", "2027-01-01,1.50,user"]
    with pytest.raises(CommandError, match="no de_basiszinssatz rate for the half-year from 2026-07-01"):
        interest_de()
    with pytest.raises(CommandError, match="de_basiszinssatz has no rate from 2026-07-01"):
        run("rates", "remove", "de_basiszinssatz", "2026-07-01")


def test_shipped_rates_cannot_be_removed_or_shadowed(data_dir: Path) -> None:
    shipped = packaged_texts()
    with pytest.raises(CommandError) as refused:
        run("rates", "remove", "de_basiszinssatz", "2026-01-01")
    assert "de_basiszinssatz 2026-01-01: 1.27 % is a shipped rate, not one you added" in str(refused.value)
    with pytest.raises(CommandError, match=r"shipped table already has 1\.27 % from that day"):
        run("rates", "add", "de_basiszinssatz", "2026-01-01", "1.30")
    with pytest.raises(CommandError, match=r"shipped table already has 2\.15 % from that day"):
        run("rates", "add", "ecb_mro", "2025-06-11", "2.00")
    assert packaged_texts() == shipped
    assert not (data_dir / "rates").exists()


def test_removing_an_own_row_over_a_shipped_one_says_the_shipped_rate_applies_again(data_dir: Path) -> None:
    folder = data_dir / "rates"
    folder.mkdir(parents=True)
    (folder / "de_basiszinssatz.csv").write_text(
        "valid_from,rate_percent\n2026-01-01,1.30\n", encoding="utf-8"
    )
    out = run("rates", "remove", "de_basiszinssatz", "2026-01-01")
    assert "The shipped rate applies again from 2026-01-01: 1.27 %" in out
    assert own_file(data_dir) == "valid_from,rate_percent\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("de_basiszinssatz", "2026-07-01", "-99"),
            "de_basiszinssatz 2026-07-01 -99.00 %: outside the plausible range",
        ),
        (("de_basiszinssatz", "2026-07-01", "25.01"), "outside the plausible range of -5.00 % to 25.00 %"),
        (
            ("de_basiszinssatz", "9999-07-01", "1.27"),
            "de_basiszinssatz 9999-07-01 1.27 %: the date is more than a year ahead",
        ),
        (("de_basiszinssatz", "1998-07-01", "1.27"), "the date is before 1999-01-01"),
        (("de_basiszinssatz", "2026-08-01", "1.27"), "changes only on 1 January and 1 July"),
        (
            ("eu_reference_rate", "2026-07-01", "5.16"),
            "eu_reference_rate 2026-07-01 5.16 %: 3.01 percentage points above",
        ),
        (("de_basiszinssatz", "2026-07-01", "1.2x"), "de_basiszinssatz 2026-07-01: not a percentage"),
    ],
)
def test_add_refuses_implausible_rates_and_dates(data_dir: Path, args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        run("rates", "add", *args)
    assert not (data_dir / "rates").exists()


def test_a_step_of_three_points_is_taken_and_a_confirmed_large_one_too(data_dir: Path) -> None:
    run("rates", "add", "eu_reference_rate", "2026-07-01", "5.15")  # 2.15 + 3.00: the limit
    run("rates", "add", "de_basiszinssatz", "2026-07-01", "-4.5", "--confirm")
    assert own_file(data_dir, "eu_reference_rate").splitlines()[-1] == "2026-07-01,5.15,user"
    assert own_file(data_dir).splitlines()[-1] == "2026-07-01,-4.50,user"


def test_the_date_bound_moves_with_today(data_dir: Path) -> None:
    overlay = data_dir / "rates"
    today = date(2026, 12, 7)
    add_user_rate(overlay, "ecb_mro", today + timedelta(days=365), "2.15", today=today)
    with pytest.raises(RateError, match="more than a year ahead"):
        add_user_rate(overlay, "ecb_mro", today + timedelta(days=366), "2.15", today=today)


def test_every_shipped_rate_passes_the_checks() -> None:
    from mahnwerk.core.rate_files import check_new_rate
    from mahnwerk.core.rates import load_tables

    for table in load_tables(None).values():
        for entry in table.entries:
            check_new_rate(table, table, entry.valid_from, entry.units, today=date(2026, 12, 7))
