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


@pytest.mark.parametrize(
    "args",
    [
        ["promise", "add", "D3", "--date", "2026-02-30"],
        ["export", "open-items", "--as-of", "2026-13-01"],
        ["writeoff", "list", "--today", "2026-99-01"],
    ],
)
def test_an_impossible_date_is_one_line(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mahnwerk", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "not a date (YYYY-MM-DD)" in done.stderr
