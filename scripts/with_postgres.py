#!/usr/bin/env python3
"""Run a command against a throw-away PostgreSQL cluster, then remove the cluster.

    python scripts/with_postgres.py -- pytest tests/integration

Creates a cluster with initdb in a temporary directory, starts it on a Unix socket there (and on a free
loopback port), creates a database, runs the command with MAHNWERK_DATABASE_URL pointing at it, and
stops and deletes everything afterwards, also when the command fails. Run as root, the server runs as
the 'postgres' (or 'nobody') user, since PostgreSQL refuses to run as root. Where no PostgreSQL
binaries exist, it prints a clear notice and exits 0 without running the command.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path


def find_bindir() -> Path | None:
    candidates = [os.environ.get("MAHNWERK_PG_BINDIR", "")]
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(str(Path(found).resolve().parent))
    candidates += sorted((str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")), reverse=True)
    for c in candidates:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        print("usage: with_postgres.py -- COMMAND ...", file=sys.stderr)
        return 2
    bindir = find_bindir()
    if bindir is None:
        print("NOTICE: no PostgreSQL binaries (initdb, pg_ctl) found: the PostgreSQL test pass is SKIPPED.")
        return 0
    run_as: list[str] = []
    owner = None
    if os.geteuid() == 0:
        for name in ("postgres", "nobody"):
            try:
                owner = pwd.getpwnam(name)
                break
            except KeyError:
                continue
        if owner is None:
            print("cannot run PostgreSQL as root and found no 'postgres' or 'nobody' user", file=sys.stderr)
            return 2
        run_as = ["runuser", "-u", owner.pw_name, "--"]
    base = Path(tempfile.mkdtemp(prefix="mahnwerk-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if owner is not None:
        for path in (base, sock):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    port = free_port()
    log = base / "server.log"
    env = os.environ | {"LC_ALL": "C.UTF-8"}
    started = False
    try:
        subprocess.run(
            [
                *run_as,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "mahnwerk",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            env=env,
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=50"
        )
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"],
            check=True,
            stdout=subprocess.DEVNULL,
            env=env,
        )
        started = True
        subprocess.run(
            [
                *run_as,
                str(bindir / "createdb") if (bindir / "createdb").exists() else "createdb",
                "-h",
                str(sock),
                "-p",
                str(port),
                "-U",
                "mahnwerk",
                "mahnwerk",
            ],
            check=True,
            env=env,
        )
        url = f"postgres://mahnwerk@127.0.0.1:{port}/mahnwerk"
        print(f"PostgreSQL test cluster on 127.0.0.1:{port} ({base})", flush=True)
        return subprocess.run(argv, env=os.environ | {"MAHNWERK_DATABASE_URL": url}).returncode
    finally:
        if started:
            subprocess.run(
                [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                stdout=subprocess.DEVNULL,
                env=env,
                check=False,
            )
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
