"""Output piped into a reader that stops early (``mahnwerk debtor list | head``) ends the command quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
import django.core.management as management

def talk(argv):
    for n in range(200_000):
        print(f"line {n} of a long listing")

management.execute_from_command_line = talk
from mahnwerk.cli import main
main(["help"])
"""


def test_a_closed_pipe_gives_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "MAHNWERK_DATA_DIR": str(tmp_path)}
    reader = subprocess.Popen(["head", "-c", "20"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert reader.stdin is not None
    writer = subprocess.run(
        [sys.executable, "-c", SCRIPT], stdout=reader.stdin, stderr=subprocess.PIPE, env=env, timeout=120
    )
    reader.stdin.close()
    reader.wait(timeout=30)
    assert "Traceback" not in writer.stderr.decode(), writer.stderr.decode()[-2000:]
    assert writer.returncode == 1
