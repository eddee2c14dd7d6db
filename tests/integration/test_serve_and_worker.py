"""`mahnwerk serve` answers over HTTP from a real gunicorn; `mahnwerk worker --once` runs what is due."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from mahnwerk.collection.models import Run


def test_serve_answers_on_the_given_port(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    environ = os.environ | {"MAHNWERK_DATA_DIR": str(tmp_path)}
    environ.pop("MAHNWERK_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "mahnwerk", "migrate", "-v0"], env=environ, check=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "mahnwerk", "serve", "--port", str(port), "--workers", "1"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.status == 200 and b'"ok"' in response.read()
                    assert "gunicorn" in response.headers.get("Server", "")
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.django_db(transaction=True)  # the task worker closes its database connection when done
def test_worker_once_runs_each_company_once_a_day(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path, settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path  # the saved model goes here
    out = StringIO()
    call_command("worker", "--once", "--run-at", "00:00", stdout=out)
    call_command("worker", "--once", "--run-at", "00:00", stdout=out)
    assert Run.objects.filter(company=company, status="done").count() == 1
    # the payment model is trained on the first round (the fallback with so little history), not again a round later
    assert out.getvalue().count("payment model retrained (fallback)") == 1
