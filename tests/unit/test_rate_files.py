"""Reading the published rate files (Bundesbank, ECB Data Portal) and planning their import."""

from __future__ import annotations

import stat
from datetime import date
from pathlib import Path

import pytest

from mahnwerk.core.rate_files import (
    BUNDESBANK_DE,
    BUNDESBANK_EN,
    ECB_PORTAL_CSV,
    ECB_SDMX_CSV,
    RateFile,
    RateFileError,
    parse_rate_file,
    plan_import,
)
from mahnwerk.core.rates import RateEntry, RateError, add_rates, load_tables

DATA = Path(__file__).parent.parent / "data" / "rates"
D = date.fromisoformat


def read(name: str) -> RateFile:
    return parse_rate_file((DATA / name).read_bytes(), name)


def rows(rate_file: RateFile, table: str) -> list[tuple[str, str]]:
    (found,) = [t for t in rate_file.tables if t.table == table]
    return [(r.valid_from.isoformat(), r.percent) for r in found.rows]


def error(data: bytes | str, origin: str = "f.csv") -> str:
    with pytest.raises(RateFileError) as err:
        parse_rate_file(data, origin)
    return str(err.value)


BBK_HEAD = '"";BBK01.SU0115;BBK01.SU0115_FLAGS\n"";Basiszinssatz gemäß § 247 BGB;\nEinheit;% p.a.;\n'
ECB_HEAD = "KEY,FREQ,REF_AREA,CURRENCY,PROVIDER_FM,INSTRUMENT_FM,PROVIDER_FM_ID,DATA_TYPE_FM,TIME_PERIOD,OBS_VALUE,OBS_STATUS\n"


def ecb_day(day: str, value: str, freq: str = "D") -> str:
    return f"FM.{freq}.U2.EUR.4F.KR.MRR_FR.LEV,{freq},U2,EUR,4F,KR,MRR_FR,LEV,{day},{value},A\n"


# --------------------------------------------------------------------------- Bundesbank


def test_german_export_windows_1252_with_crlf() -> None:
    raw = (DATA / "bbk_su0115_de.csv").read_bytes()
    assert b"\r\n" in raw and "gemäß".encode("cp1252") in raw  # the fixture is what it claims to be
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    parsed = read("bbk_su0115_de.csv")
    assert parsed.format == BUNDESBANK_DE
    assert parsed.series == ("BBK01.SU0115",)
    assert parsed.as_of == "01.07.2026 09:02:17 Uhr"
    got = rows(parsed, "de_basiszinssatz")
    assert len(got) == 2 * (2026 - 2002) + 2  # every half-year from 2002-01 to 2026-07
    assert got[0] == ("2002-01-01", "2.57")
    # the published values: negative from 2013, -0.88 from 2016-07-01, 1.27 from 2025-07-01
    assert ("2013-01-01", "-0.13") in got
    assert ("2016-07-01", "-0.88") in got
    assert ("2024-01-01", "3.62") in got
    assert got[-1] == ("2026-07-01", "1.27")
    (table,) = parsed.tables
    assert table.rows[0].where == "bbk_su0115_de.csv, line 11"  # ten header lines above
    assert table.rows[-1].source == "Bundesbank BBK01.SU0115 as of 01.07.2026 09:02:17 Uhr"


def test_german_monthly_export_with_bom_and_months_without_a_value() -> None:
    raw = (DATA / "bbk_su0115_de_monthly.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"Kein Wert vorhanden" in raw
    parsed = read("bbk_su0115_de_monthly.csv")
    assert parsed.observations == 6  # 36 months, 30 of them "." (Kein Wert vorhanden)
    assert rows(parsed, "de_basiszinssatz") == [
        ("2024-01-01", "3.62"),
        ("2024-07-01", "3.37"),
        ("2025-01-01", "2.27"),
        ("2025-07-01", "1.27"),
        ("2026-01-01", "1.27"),
        ("2026-07-01", "1.27"),
    ]
    assert parsed.as_of == "03.12.2026 10:15:42 Uhr"


def test_english_export_agrees_with_the_german_one() -> None:
    english = read("bbk_su0115_en.csv")
    assert english.format == BUNDESBANK_EN
    assert english.as_of == "2026-07-01 09:02:17"
    got = rows(english, "de_basiszinssatz")
    assert got[0] == ("2020-01-01", "-0.88") and got[-1] == ("2026-07-01", "1.27")
    assert "2027-01-01" not in dict(got)  # "No value available"
    german = dict(rows(read("bbk_su0115_de.csv"), "de_basiszinssatz"))
    assert got == [(day, german[day]) for day, _ in got]


def test_download_basket_takes_the_base_rate_column_only() -> None:
    parsed = read("bbk_basket_de.csv")
    # ST0304 (1,93 / 1,92) sits to the left; the base rate is the second series
    assert rows(parsed, "de_basiszinssatz") == [
        ("2025-07-01", "1.27"),
        ("2026-01-01", "1.27"),
        ("2026-07-01", "1.27"),
    ]
    assert parsed.ignored == ("BBK01.ST0304",)


def test_another_bundesbank_series_is_refused_by_name() -> None:
    message = error((DATA / "bbk_st0304_de.csv").read_bytes(), "bbk_st0304_de.csv")
    assert message.startswith("bbk_st0304_de.csv: a Bundesbank file of the series BBK01.ST0304,")
    assert "BBK01.SU0115" in message and "FM.B.U2.EUR.4F.KR.MRR_FR.LEV" in message


def test_values_inside_one_half_year_must_agree() -> None:
    text = BBK_HEAD + "2026-07;1,27;\n2026-08;1,50;\n"
    message = error(text)
    assert "lines 4 and 5" in message and "2026-07-01" in message
    assert "1.27 and 1.50" in message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "2026-07;1.27;\n",
            "f.csv: line 4, BBK01.SU0115: not a percentage with a decimal comma (1,27): '1.27'",
        ),
        ("2026-07;1,2x;\n", "line 4, BBK01.SU0115: not a percentage"),
        ("2026-07;1,27;\n2026-13;1,27;\n", "f.csv: line 5, period: not a valid date: '2026-13'"),
        ("2026-07;1,27;\nJuli 2026;1,27;\n", "line 5, period: not a month (YYYY-MM) or a date"),
        ("2026-07;1,00001;\n", "line 4, BBK01.SU0115: 1.00001 has more than four decimal places"),
        ("2026-07;.;Kein Wert vorhanden\n", "no value of BBK01.SU0115"),
    ],
)
def test_bundesbank_errors_name_the_line_and_the_field(body: str, expected: str) -> None:
    assert expected in error(BBK_HEAD + body)


def test_english_export_wants_a_decimal_point() -> None:
    text = '"",BBK01.SU0115,BBK01.SU0115_FLAGS\nunit,% p.a.,\n2026-07-01,"1,27",\n'
    assert "line 3, BBK01.SU0115: not a percentage with a decimal point (1.27)" in error(text)


def test_a_unit_that_is_not_a_percentage_is_refused() -> None:
    text = '"";BBK01.SU0115;BBK01.SU0115_FLAGS\nEinheit;Euro;\n2026-07;1,27;\n'
    assert "line 2, Einheit: the unit is 'Euro', not a percentage" in error(text)


def test_negative_and_whole_values_and_half_year_periods() -> None:
    text = BBK_HEAD + "2016-S2;-0,88;\n2023-01-01;2;\n"
    assert rows(parse_rate_file(text), "de_basiszinssatz") == [
        ("2016-07-01", "-0.88"),
        ("2023-01-01", "2.00"),
    ]


# --------------------------------------------------------------------------- ECB


def test_ecb_sdmx_csv_of_the_change_dates() -> None:
    parsed = read("ecb_mro_changes_sdmx.csv")
    assert parsed.format == ECB_SDMX_CSV
    assert parsed.series == ("FM.B.U2.EUR.4F.KR.MRR_FR.LEV",)
    mro, reference = parsed.tables
    assert (mro.table, reference.table) == ("ecb_mro", "eu_reference_rate")
    got = rows(parsed, "ecb_mro")
    assert got[0] == ("1999-01-01", "3.00")
    assert got[-1] == ("2025-06-11", "2.15")
    assert ("2016-03-16", "0.00") in got
    # from 2000-06-28 the fixed rate has no value (variable-rate tenders) until 2008-10-15
    assert mro.gaps == ((D("2000-06-28"), D("2008-10-14")),)
    assert (mro.first_day, mro.last_day) == (D("1999-01-01"), D("2025-06-11"))
    ref = dict(rows(parsed, "eu_reference_rate"))
    assert ref["1999-07-01"] == "2.50"  # 2.50 % since 1999-04-09
    assert ref["2012-07-01"] == "1.00"  # the cut to 0.75 % came on 2012-07-11
    assert ref["2023-07-01"] == "4.00"  # 4.00 % since 2023-06-21
    assert ref["2025-01-01"] == "3.15"
    assert not any("2000-07-01" <= day <= "2008-07-01" for day in ref)  # inside the gap: not derived
    assert "2025-07-01" not in ref  # after the last change the series says nothing


def test_ecb_daily_series_gives_changes_and_coverage() -> None:
    parsed = read("ecb_mro_daily_sdmx.csv")
    assert parsed.series == ("FM.D.U2.EUR.4F.KR.MRR_FR.LEV",)
    assert parsed.observations == 583  # 2025-05-01 .. 2026-12-04, one a day
    assert rows(parsed, "ecb_mro") == [("2025-05-01", "2.40"), ("2025-06-11", "2.15")]
    mro = parsed.tables[0]
    assert (mro.first_day, mro.last_day) == (D("2025-05-01"), D("2026-12-04"))
    assert rows(parsed, "eu_reference_rate") == [
        ("2025-07-01", "2.15"),
        ("2026-01-01", "2.15"),
        ("2026-07-01", "2.15"),
    ]


def test_ecb_portal_series_download() -> None:
    raw = (DATA / "ecb_mro_portal.csv").read_bytes()
    assert raw.startswith(b'"DATE","TIME PERIOD","Main refinancing operations') and b"\r\n" in raw
    parsed = read("ecb_mro_portal.csv")
    assert parsed.format == ECB_PORTAL_CSV
    assert parsed.series == ("FM.B.U2.EUR.4F.KR.MRR_FR.LEV",)
    got = rows(parsed, "ecb_mro")
    assert got[0] == ("2008-10-15", "3.75") and got[-1] == ("2025-06-11", "2.15")
    assert dict(rows(parsed, "eu_reference_rate"))["2024-07-01"] == "4.25"


def test_standard_sdmx_csv_with_a_dataflow_column() -> None:
    text = (
        "DATAFLOW,FREQ,REF_AREA,CURRENCY,PROVIDER_FM,INSTRUMENT_FM,PROVIDER_FM_ID,DATA_TYPE_FM,TIME_PERIOD,OBS_VALUE\n"
        "ECB:FM(1.0),B,U2,EUR,4F,KR,MRR_FR,LEV,2024-12-18,3.15\n"
        "ECB:FM(1.0),B,U2,EUR,4F,KR,MRR_FR,LEV,2025-02-05,2.9\n"
    )
    parsed = parse_rate_file(text)
    assert parsed.series == ("FM.B.U2.EUR.4F.KR.MRR_FR.LEV",)
    assert rows(parsed, "ecb_mro") == [("2024-12-18", "3.15"), ("2025-02-05", "2.90")]
    assert rows(parsed, "eu_reference_rate") == [("2025-01-01", "3.15")]


def test_days_without_a_value_are_gaps_not_continuations() -> None:
    text = ECB_HEAD + "".join(
        ecb_day(day, value)
        for day, value in [
            ("2026-06-29", "2.15"),
            ("2026-06-30", "2.15"),
            ("2026-07-01", "NaN"),
            ("2026-07-02", ""),
            ("2026-07-03", "2.4"),
            ("2026-07-04", "2.4"),
        ]
    )
    parsed = parse_rate_file(text)
    mro = parsed.tables[0]
    assert rows(parsed, "ecb_mro") == [("2026-06-29", "2.15"), ("2026-07-03", "2.40")]
    assert mro.gaps == ((D("2026-07-01"), D("2026-07-02")),)
    assert rows(parsed, "eu_reference_rate") == []  # 1 July has no value: no reference rate derived
    assert parsed.observations == 4


def test_one_day_with_two_values_names_both_lines() -> None:
    text = ECB_HEAD + ecb_day("2026-07-01", "2.15") + ecb_day("2026-07-01", "2.4")
    assert "lines 2 and 3 give different values for 2026-07-01 (2.15 % and 2.40 %)" in error(text)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (ecb_day("01.07.2026", "2.15"), "line 2, TIME_PERIOD: not a date (YYYY-MM-DD): '01.07.2026'"),
        (ecb_day("2026-02-30", "2.15"), "line 2, TIME_PERIOD: not a valid date: '2026-02-30'"),
        (ecb_day("2026-07-01", "2,15"), "line 2: 12 fields, the header has 11"),
        (
            ecb_day("2026-07-01", "two"),
            "line 2, OBS_VALUE: not a percentage with a decimal point (1.27): 'two'",
        ),
    ],
)
def test_ecb_errors_name_the_line_and_the_field(line: str, expected: str) -> None:
    assert expected in error(ECB_HEAD + line)


def test_another_ecb_series_is_refused_by_name() -> None:
    message = error((DATA / "ecb_dfr_sdmx.csv").read_bytes(), "ecb_dfr_sdmx.csv")
    assert (
        "an ECB file of the series FM.B.U2.EUR.4F.KR.DFR.LEV, not of a series this import understands"
        in message
    )
    assert "FM.D.U2.EUR.4F.KR.MRR_FR.LEV" in message


# --------------------------------------------------------------------------- any file


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "f.csv: the file is empty"),
        (b"\xef\xbb\xbf", "f.csv: the file is empty"),
        (b"\r\n  \n\n", "f.csv: the file is empty"),
        (b";;;\n", "f.csv: the file is empty"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "f.csv: not a text file"),
        (b"Hello,world\n1,2\n", "f.csv: not a rate file this import understands"),
        (b"valid_from,rate_percent\n2026-07-01,1.27\n", "f.csv: not a rate file this import understands"),
    ],
)
def test_empty_binary_and_unknown_files(data: bytes, expected: str) -> None:
    message = error(data)
    assert message.startswith(expected)
    if "understands" in message:
        assert "BBK01.SU0115" in message and "FM.B.U2.EUR.4F.KR.MRR_FR.LEV" in message


def test_the_format_is_told_from_the_content_not_the_name() -> None:
    content = (DATA / "ecb_mro_portal.csv").read_bytes()
    assert parse_rate_file(content, "basiszinssatz.csv").format == ECB_PORTAL_CSV
    content = (DATA / "bbk_su0115_en.csv").read_bytes()
    assert parse_rate_file(content, "ecb.csv").format == BUNDESBANK_EN


def test_lf_and_crlf_read_alike() -> None:
    text = BBK_HEAD + "2026-01;1,27;\n2026-07;1,27;\n"
    assert parse_rate_file(text.replace("\n", "\r\n").encode("utf-8")).tables == parse_rate_file(text).tables


# --------------------------------------------------------------------------- planning


def test_plan_adds_only_what_is_new() -> None:
    plan = plan_import(load_tables(None), [read("bbk_su0115_de.csv"), read("ecb_mro_daily_sdmx.csv")])
    assert plan.conflicts == []
    de, mro, ref = (plan.tables[n] for n in ("de_basiszinssatz", "ecb_mro", "eu_reference_rate"))
    assert [(r.valid_from, r.units) for r in de.added] == [(D("2026-07-01"), 12_700)]
    assert de.known == 49  # 2002-01 .. 2026-01 are packaged
    assert mro.added == [] and mro.known == 2 and mro.checked_until == D("2026-12-04")
    assert [(r.valid_from, r.units) for r in ref.added] == [(D("2026-07-01"), 21_500)]
    assert plan.checked() == {"ecb_mro": D("2026-12-04")}


def test_plan_leaves_out_rows_before_a_tables_first_row() -> None:
    plan = plan_import(load_tables(None), [read("ecb_mro_changes_sdmx.csv")])
    assert plan.conflicts == [] and not plan.changes_anything
    # ecb_mro starts 2007-06-13: seven changes 1999-01-01 .. 2000-06-09 come before it
    assert plan.tables["ecb_mro"].earlier == 7
    # eu_reference_rate starts 2014-01-01: 1999-01, 1999-07, 2000-01 and 2009-01 .. 2013-07 come before
    assert plan.tables["eu_reference_rate"].earlier == 3 + 10


def test_plan_refuses_a_contradicting_half_year_with_both_values() -> None:
    text = BBK_HEAD + "2026-01;1,30;\n2026-07;1,27;\n"
    plan = plan_import(load_tables(None), [parse_rate_file(text, "bbk.csv")])
    assert plan.conflicts == [
        "de_basiszinssatz 2026-01-01: bbk.csv, line 4 gives 1.30 %, the table has 1.27 % (packaged)"
    ]


def test_plan_refuses_a_change_on_another_day() -> None:
    # the table has the cut to 2.15 % on 2025-06-11; this file has it a day later
    days = [("2025-06-09", "2.4"), ("2025-06-10", "2.4"), ("2025-06-11", "2.4"), ("2025-06-12", "2.15")]
    text = ECB_HEAD + "".join(ecb_day(d, v) for d, v in days)
    plan = plan_import(load_tables(None), [parse_rate_file(text, "ecb.csv")])
    assert plan.conflicts == [
        "ecb_mro 2025-06-11: the table has 2.15 % from that day (packaged), "
        "ecb.csv, line 2 gives 2.40 % from 2025-06-09, still in force then"
    ]


def test_plan_refuses_a_file_that_leaves_days_unaccounted_for() -> None:
    text = ECB_HEAD + ecb_day("2026-01-01", "2.15") + ecb_day("2026-01-02", "2.15")
    plan = plan_import(load_tables(None), [parse_rate_file(text, "ecb.csv")])
    (conflict,) = plan.conflicts
    assert "ecb.csv starts on 2026-01-01, but the table is known only until 2025-06-11" in conflict


def test_plan_checks_files_against_each_other() -> None:
    first = parse_rate_file(BBK_HEAD + "2026-07;1,27;\n", "a.csv")
    second = parse_rate_file(BBK_HEAD + "2026-07;1,52;\n", "b.csv")
    plan = plan_import(load_tables(None), [first, second])
    assert plan.conflicts == [
        "de_basiszinssatz 2026-07-01: b.csv, line 4 gives 1.52 %, the table has 1.27 % (a.csv, line 4)"
    ]


# --------------------------------------------------------------------------- writing


def test_add_rates_writes_all_tables_or_none(tmp_path: Path) -> None:
    overlay = tmp_path / "rates"
    good = {"de_basiszinssatz": [RateEntry(D("2026-07-01"), 12_700, "Bundesbank")]}
    bad = {**good, "eu_reference_rate": [RateEntry(D("2026-08-01"), 21_500, "ECB")]}  # not a half-year start
    with pytest.raises(RateError, match="half-year"):
        add_rates(overlay, bad)
    assert not overlay.exists() or list(overlay.iterdir()) == []
    written = add_rates(overlay, good, {"ecb_mro": D("2026-12-04")})
    assert sorted(p.name for p in overlay.iterdir()) == ["de_basiszinssatz.csv", "ecb_mro.csv"]
    assert written["de_basiszinssatz"].read_text().splitlines() == [
        "valid_from,rate_percent,source",
        "2026-07-01,1.27,Bundesbank",
    ]
    assert stat.S_IMODE(written["ecb_mro"].stat().st_mode) == 0o644
    tables = load_tables(overlay)
    assert tables["de_basiszinssatz"].covered_until() == D("2026-12-31")
    assert tables["ecb_mro"].covered_until() == D("2026-12-04")


def test_add_rates_keeps_the_overlay_and_moves_checked_until(tmp_path: Path) -> None:
    overlay = tmp_path / "rates"
    overlay.mkdir()
    (overlay / "ecb_mro.csv").write_text(
        "# checked_until: 2025-12-31\n# note: kept\nvalid_from,rate_percent,source\n2025-06-11,2.15,user\n"
    )
    add_rates(overlay, {"ecb_mro": [RateEntry(D("2026-09-10"), 24_000, "ECB")]}, {"ecb_mro": D("2026-12-04")})
    assert (overlay / "ecb_mro.csv").read_text().splitlines() == [
        "# checked_until: 2026-12-04",
        "# note: kept",
        "valid_from,rate_percent,source",
        "2025-06-11,2.15,user",
        "2026-09-10,2.40,ECB",
    ]
    with pytest.raises(RateError, match="already has a user rate from 2026-09-10"):
        add_rates(overlay, {"ecb_mro": [RateEntry(D("2026-09-10"), 24_000, "ECB")]})
    assert [p.name for p in overlay.iterdir()] == ["ecb_mro.csv"]  # no temporary file left
