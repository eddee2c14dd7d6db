#!/usr/bin/env python3
"""Fault campaign: ``mahnwerk run`` and ``mahnwerk outbox send`` killed with SIGKILL at random points, printed
as a table.

    python benchmarks/faults.py [--invoices 10000] [--kills 100] [--days 3] [--seed 11]

A synthetic ledger (the one of ``benchmarks/run.py``: N open invoices, N/5 debtors, seed 7) is generated once
and copied twice. The reference copy gets the collection run of each business date (14 days apart) once, without
disturbance. The campaign copy gets the same dates, its emails delivered over SMTP to a loopback server
(aiosmtpd) that records every Message-ID it receives; for each date, ``mahnwerk run --date D`` and ``mahnwerk
outbox send`` processes (chosen at random) are started and killed with SIGKILL after a random time between 0
and 1.1 times the reference run's duration, each kill followed by the next start, until the date's share of
``--kills`` kills is reached (a process that ends before its kill is counted as completed, and the next one
of its kind is then killed within 1.1 times its duration); then the date's run and a send are completed. At
the end senders run until no email or SMS waits (a killed sender's lease runs out after a minute), and the
campaign copy is checked:

- the same actions (debtor, date, step, channel) as the reference, and never two for a debtor on one date;
- every email and SMS sent, every email received by the SMTP server, no message received that was not written;
- deliveries received twice: at most one per kill (the message in flight);
- ``mahnwerk audit`` finds no violation; SQLite's integrity and foreign-key checks pass.

The exit status is 1 when a check fails. Letters go into the print batch, not the outbox, and are not counted.
"""

from __future__ import annotations

import argparse
import email.parser
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MAHNWERK = str(Path(sys.executable).with_name("mahnwerk"))
AS_OF = date(2026, 6, 1)  # benchmarks/run.py's ledger date
COMPANY = "bench"
LEASE_SECONDS = 60  # comms.outbox.CLAIM_LEASE


class Recorder:
    """An aiosmtpd handler that counts the Message-IDs it receives."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        headers = email.parser.BytesHeaderParser().parsebytes(envelope.original_content or envelope.content)
        with self.lock:
            self.received[str(headers.get("Message-ID", "")).strip()] += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(data_dir: Path, smtp_port: int | None) -> dict[str, str]:
    env = dict(os.environ, MAHNWERK_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="mahnwerk.settings")
    env.pop("MAHNWERK_DATABASE_URL", None)
    for name in ("MAHNWERK_SMTP_HOST", "MAHNWERK_SMTP_PORT", "MAHNWERK_SMS_URL"):
        env.pop(name, None)
    if smtp_port is not None:
        env.update(
            MAHNWERK_SMTP_HOST="127.0.0.1", MAHNWERK_SMTP_PORT=str(smtp_port), MAHNWERK_SMTP_TIMEOUT="10"
        )
    return env


def command(kind: str, day: date) -> list[str]:
    if kind == "run":
        return [MAHNWERK, "run", "--company", COMPANY, "--date", day.isoformat()]
    return [MAHNWERK, "outbox", "send"]


def complete(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    out = subprocess.run(argv, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(argv[1:])} failed ({out.returncode}): {out.stderr.strip()[-2000:]}")
    return time.perf_counter() - start


@dataclass
class Campaign:
    kills: Counter[str] = field(default_factory=Counter)
    completed: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    kill_times: list[float] = field(default_factory=list)


def disturb(
    day: date, kills: int, window: float, env: dict[str, str], rng: random.Random, c: Campaign
) -> None:
    done = 0
    took: dict[str, float] = {}  # the longest completed process of each kind on this date
    while done < kills:
        kind = rng.choice(("run", "send"))
        # once a process of this kind has ended by itself, the next ones have less to do: kill within its time
        at = rng.uniform(0.0, 1.1 * took[kind] if kind in took else window)
        began = time.perf_counter()
        with tempfile.TemporaryFile() as stderr:
            process = subprocess.Popen(command(kind, day), env=env, stdout=subprocess.DEVNULL, stderr=stderr)
            try:
                code = process.wait(timeout=at)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                c.kills[kind] += 1
                c.kill_times.append(at)
                done += 1
                continue
            c.completed[kind] += 1
            took[kind] = max(took.get(kind, 0.0), time.perf_counter() - began)
            if code != 0:
                stderr.seek(0)
                c.errors.append(f"{kind} {day}: exit {code}: {stderr.read().decode()[-300:]}")


def waiting(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM comms_outboundmessage WHERE channel != 'letter' AND status IN ('queued', 'sending')"
        ).fetchone()
    return int(row[0])


def actions(db: Path) -> set[tuple[int, str, int, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT debtor_id, as_of, level, channel FROM collection_action WHERE status = 'active'"
        ).fetchall()
    return {(int(d), str(a), int(lv), str(ch)) for d, a, lv, ch in rows}


def audit(env: dict[str, str]) -> tuple[int, int]:
    out = subprocess.run(
        [MAHNWERK, "audit", "--company", COMPANY, "--json"], env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"audit failed: {out.stderr.strip()}")
    report = json.loads(out.stdout)
    return len(report["violations"]), int(report["messages"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--days", type=int, default=3, help="business dates, 14 days apart")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--keep", type=Path, help="work in this folder and leave it (default: a temporary one)"
    )
    options = parser.parse_args()
    from aiosmtpd.controller import Controller

    rng = random.Random(options.seed)
    base = options.keep or Path(tempfile.mkdtemp(prefix="mahnwerk-faults-"))
    base.mkdir(parents=True, exist_ok=True)
    days = [AS_OF + timedelta(days=14 * i) for i in range(options.days)]
    started = time.perf_counter()
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        seed_dir = base / "seed"
        if not (seed_dir / "mahnwerk.sqlite3").exists():
            shutil.rmtree(seed_dir, ignore_errors=True)
            subprocess.run(
                [sys.executable, str(HERE / "run.py"), "--_generate", str(seed_dir), str(options.invoices)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        ref_dir, camp_dir = base / "reference", base / "campaign"
        for target in (ref_dir, camp_dir):
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(seed_dir, target)
        ref_env, camp_env = child_env(ref_dir, None), child_env(camp_dir, port)
        for env in (ref_env, camp_env):  # a kept seed from an older version
            complete([MAHNWERK, "migrate", "--noinput", "-v", "0"], env)
        windows = {day: complete(command("run", day), ref_env) for day in days}
        print(f"ledger and reference runs: {time.perf_counter() - started:.0f} s", file=sys.stderr)
        campaign = Campaign()
        per_day = [
            options.kills // len(days) + (1 if i < options.kills % len(days) else 0) for i in range(len(days))
        ]
        for day, kills in zip(days, per_day, strict=True):
            disturb(day, kills, 1.1 * windows[day], camp_env, rng, campaign)
            complete(command("run", day), camp_env)
            complete(command("send", day), camp_env)
            print(f"{day}: {kills} kills, {time.perf_counter() - started:.0f} s", file=sys.stderr)
        db = camp_dir / "mahnwerk.sqlite3"
        deadline = time.monotonic() + LEASE_SECONDS + 60
        while waiting(db) and time.monotonic() < deadline:
            time.sleep(5)  # a killed sender's lease runs out after a minute
            complete(command("send", days[-1]), camp_env)

        time.sleep(1)  # the last SMTP transaction recorded
        report(campaign, options, days, ref_dir, camp_dir, camp_env, recorder, time.perf_counter() - started)
    finally:
        controller.stop()
        if options.keep is None:
            shutil.rmtree(base, ignore_errors=True)


def report(
    c: Campaign,
    options: argparse.Namespace,
    days: list[date],
    ref_dir: Path,
    camp_dir: Path,
    env: dict[str, str],
    recorder: Recorder,
    seconds: float,
) -> None:
    db = camp_dir / "mahnwerk.sqlite3"
    reference, got = actions(ref_dir / "mahnwerk.sqlite3"), actions(db)
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        doubled_actions = conn.execute(
            "SELECT COUNT(*) FROM (SELECT debtor_id, as_of FROM collection_action WHERE status = 'active' "
            "GROUP BY debtor_id, as_of HAVING COUNT(*) > 1)"
        ).fetchone()[0]
        messages = conn.execute(
            "SELECT channel, status, message_id FROM comms_outboundmessage WHERE channel != 'letter'"
        ).fetchall()
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        foreign = len(conn.execute("PRAGMA foreign_key_check").fetchall())
        running = conn.execute("SELECT COUNT(*) FROM collection_run WHERE status = 'running'").fetchone()[0]
    statuses = Counter(status for _channel, status, _id in messages)
    emails = {mid for channel, status, mid in messages if channel == "email" and status != "cancelled"}
    with recorder.lock:
        received = Counter(recorder.received)
    missing = len(emails - set(received))
    unknown = len(set(received) - {mid for _c, _s, mid in messages})
    doubled = sum(n - 1 for n in received.values() if n > 1)
    kills = sum(c.kills.values())
    violations, audited = audit(env)
    not_sent = sum(n for status, n in statuses.items() if status != "sent")
    checks = [
        ("actions as in the undisturbed run", f"{len(got):,} of {len(reference):,}", got == reference),
        ("debtors with two actions on one date", f"{doubled_actions}", doubled_actions == 0),
        ("emails and SMS not sent", f"{not_sent} of {len(messages):,} ({dict(statuses)})", not_sent == 0),
        ("emails never received", f"{missing} of {len(emails):,}", missing == 0),
        ("received but never written", f"{unknown}", unknown == 0),
        ("deliveries received twice", f"{doubled} (at most {kills}, one per kill)", doubled <= kills),
        ("mahnwerk audit violations", f"{violations} in {audited:,} messages", violations == 0),
        (
            "SQLite integrity / foreign keys",
            f"{integrity} / {foreign} broken",
            integrity == "ok" and foreign == 0,
        ),
        ("commands that ended with an error", f"{len(c.errors)}", not c.errors),
    ]
    print(
        f"\nFault campaign: {options.invoices:,} open invoices, {len(days)} business dates, SQLite, "
        f"{os.cpu_count()} cores, seed {options.seed}, {seconds:.0f} s\n"
    )
    print("| | run | outbox send | all |")
    print("|---|---|---|---|")
    print(f"| killed (SIGKILL) | {c.kills['run']} | {c.kills['send']} | {kills} |")
    print(
        f"| ended before the kill | {c.completed['run']} | {c.completed['send']} | {sum(c.completed.values())} |"
    )
    spread = sorted(c.kill_times)
    if spread:
        middle = spread[len(spread) // 2]
        print(
            f"| kill after (s): min / median / max | | | {spread[0]:.2f} / {middle:.2f} / {spread[-1]:.2f} |"
        )
    print(f"| runs left 'running' (killed; marked at a start 3 h later) | {running} | | |")
    print("\n| check | result | ok |")
    print("|---|---|---|")
    for name, value, ok in checks:
        print(f"| {name} | {value} | {'yes' if ok else 'NO'} |")
    for error in c.errors[:5]:
        print(f"error: {error}", file=sys.stderr)
    if not all(ok for *_rest, ok in checks):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
