"""A wrong value in an option (a date that does not exist) gets one line and exit code 1, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("data")
    env = {**os.environ, "MAHNWERK_DATA_DIR": str(data)}
    subprocess.run([sys.executable, "-m", "mahnwerk", "migrate", "-v", "0"], env=env, check=True, timeout=300)
    return env


# a business date given as an option is read alike in every command: a usage error (exit 2) for a date that
# does not exist or lies outside 1990..2100
BUSINESS_DATE = (2, "a date YYYY-MM-DD within 1990..2100")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["promise", "add", "D3", "--date", "2026-02-30"], (1, "not a date (YYYY-MM-DD)")),
        (["export", "open-items", "--as-of", "2026-13-01"], BUSINESS_DATE),
        (["export", "open-items", "--as-of", "9999-12-31"], BUSINESS_DATE),
        (["writeoff", "list", "--today", "2026-99-01"], BUSINESS_DATE),
        (["statement", "K1", "--date", "0001-01-01"], BUSINESS_DATE),
        (["run", "--dry-run", "--date", "9999-12-31"], BUSINESS_DATE),
    ],
)
def test_an_impossible_date_is_one_line(
    args: list[str], expected: tuple[int, str], env: dict[str, str]
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mahnwerk", *args], env=env, capture_output=True, text=True, timeout=120
    )
    code, text = expected
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert text in done.stderr
