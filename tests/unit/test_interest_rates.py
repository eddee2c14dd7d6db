"""Rate tables: packaged data, the user overlay, adding a rate, coverage."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from mahnwerk.core.rate_files import add_user_rate
from mahnwerk.core.rates import (
    MissingRateError,
    RateError,
    load_tables,
    percent_to_units,
    units_to_percent,
)

TODAY = date(2026, 12, 7)  # (a rate is added at most a year ahead of the day it is added)


def test_packaged_tables_and_published_values() -> None:
    tables = load_tables(None)
    assert set(tables) == {"de_basiszinssatz", "ecb_mro", "eu_reference_rate"}
    de = tables["de_basiszinssatz"]
    # Deutsche Bundesbank: 1.27 % from 2026-01-01, -0.88 % from 2016-07-01, 3.62 % from 2024-01-01
    assert de.rate_on(date(2026, 3, 1)) == percent_to_units("1.27")
    assert de.rate_on(date(2016, 7, 1)) == percent_to_units("-0.88")
    assert de.rate_on(date(2024, 6, 30)) == percent_to_units("3.62")
    assert de.covered_until() == date(2026, 6, 30)
    assert "Bundesbank" in de.source
    assert tables["ecb_mro"].period == "change"


def test_eu_reference_rate_is_the_mro_in_force_on_each_half_year_start() -> None:
    tables = load_tables(None)
    mro = tables["ecb_mro"]
    for entry in tables["eu_reference_rate"].entries:
        assert mro.rate_on(entry.valid_from, open_end=True) == entry.units, entry.valid_from


def test_change_table_refuses_the_unknown_future() -> None:
    mro = load_tables(None)["ecb_mro"]
    assert mro.rate_on(date(2025, 6, 11)) == percent_to_units("2.15")
    with pytest.raises(MissingRateError):
        mro.rate_on(date(2025, 6, 12))
    assert mro.rate_on(date(2025, 6, 12), open_end=True) == percent_to_units("2.15")


def test_percent_parsing() -> None:
    assert percent_to_units("1.27") == 12700
    assert percent_to_units("-0.88") == -8800
    assert percent_to_units("7.125") == 71250
    assert units_to_percent(12700) == Decimal("1.27")
    assert units_to_percent(71250) == Decimal("7.125")
    for bad in ("abc", "1.00001", "NaN", "10000"):
        with pytest.raises(RateError):
            percent_to_units(bad)


def test_add_rate_extends_coverage_through_the_overlay(tmp_path: Path) -> None:
    overlay = tmp_path / "rates"
    entry = add_user_rate(
        overlay, "de_basiszinssatz", date(2026, 7, 1), "1.52", "Bundesbank press release", today=TODAY
    ).after
    assert entry is not None and entry.units == 15200
    tables = load_tables(overlay)
    de = tables["de_basiszinssatz"]
    assert de.rate_on(date(2026, 7, 1)) == 15200
    assert de.covered_until() == date(2026, 12, 31)
    assert de.entries[-1].source == "Bundesbank press release"
    text = (overlay / "de_basiszinssatz.csv").read_text()
    assert text.splitlines() == ["valid_from,rate_percent,source", "2026-07-01,1.52,Bundesbank press release"]


def test_add_rate_refusals(tmp_path: Path) -> None:
    overlay = tmp_path / "rates"
    with pytest.raises(RateError, match="half-year"):
        add_user_rate(overlay, "de_basiszinssatz", date(2026, 8, 1), "1.5", today=TODAY)
    add_user_rate(overlay, "de_basiszinssatz", date(2026, 7, 1), "1.5", today=TODAY)
    with pytest.raises(RateError, match="already"):
        add_user_rate(overlay, "de_basiszinssatz", date(2026, 7, 1), "1.6", today=TODAY)
    with pytest.raises(RateError):
        add_user_rate(overlay, "no_such_table", date(2026, 7, 1), "1.6", today=TODAY)


def test_gap_in_the_middle_names_the_missing_half_year(tmp_path: Path) -> None:
    overlay = tmp_path / "rates"
    add_user_rate(overlay, "de_basiszinssatz", date(2027, 1, 1), "2.0", today=TODAY)  # 2026-07-01 missing
    de = load_tables(overlay)["de_basiszinssatz"]
    with pytest.raises(MissingRateError) as err:
        de.changes(date(2026, 6, 1), date(2027, 2, 1))
    assert err.value.period_start == date(2026, 7, 1)
    assert de.covered_until() == date(2026, 6, 30)


def test_overlay_row_overrides_packaged_row(tmp_path: Path) -> None:
    overlay = tmp_path / "rates"
    overlay.mkdir()
    (overlay / "de_basiszinssatz.csv").write_text("valid_from,rate_percent\n2026-01-01,1.30\n")
    de = load_tables(overlay)["de_basiszinssatz"]
    assert de.rate_on(date(2026, 1, 1)) == 13000
    assert de.entries[-1].source == "user"


def test_bad_overlay_file_names_the_row(tmp_path: Path) -> None:
    overlay = tmp_path / "rates"
    overlay.mkdir()
    (overlay / "de_basiszinssatz.csv").write_text("valid_from,rate_percent\n2026-07-01,1.3x\n")
    with pytest.raises(RateError, match="row 2"):
        load_tables(overlay)


def test_change_table_steps_refuse_days_after_the_last_known_state(tmp_path: Path) -> None:
    mro = load_tables(None)["ecb_mro"]
    steps = mro.changes(date(2025, 1, 1), date(2025, 6, 11))
    assert steps == [(date(2025, 1, 1), 31500), (date(2025, 2, 5), 29000), (date(2025, 3, 12), 26500),
                     (date(2025, 4, 23), 24000), (date(2025, 6, 11), 21500)]  # fmt: skip
    with pytest.raises(MissingRateError) as err:
        mro.changes(date(2025, 1, 1), date(2025, 7, 1))
    assert err.value.period_start == date(2025, 6, 12)
    overlay = tmp_path / "rates"
    overlay.mkdir()
    (overlay / "ecb_mro.csv").write_text("# checked_until: 2025-12-31\nvalid_from,rate_percent\n")
    checked = load_tables(overlay)["ecb_mro"]
    assert checked.covered_until() == date(2025, 12, 31)
    assert checked.changes(date(2025, 7, 1), date(2025, 12, 31)) == [(date(2025, 7, 1), 21500)]
