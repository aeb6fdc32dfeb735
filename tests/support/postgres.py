"""A throwaway PostgreSQL cluster for tests: Debian's initdb/pg_ctl on a free loopback port.

PostgreSQL refuses to run as root, so when the tests run as root the cluster runs as the
``postgres`` system user, with its data directory in a fresh temporary folder that user owns.
It listens on 127.0.0.1 only (and on a Unix socket inside that folder), trusts local
connections, and is stopped and deleted at the end.  If it cannot start, :func:`start` raises:
the tests that need PostgreSQL fail, they are never skipped.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.servers import free_port

SUPERUSER = "copyme"


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/pg_ctl")
    return Path(found[-1]).parent


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class Cluster:
    """A running cluster: its port, data folder, and how to reach a database in it."""

    port: int
    root: Path
    bindir: Path
    databases: list[str] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq URL for ``dbname`` on this cluster (loopback TCP)."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def _ctl(self, *args: str, timeout: float = 60) -> None:
        cmd = _as_owner([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30",
                         "-l", str(self.root / "server.log"), *args])
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"pg_ctl {args[0]} failed: {result.stderr.strip()}\n{log}")

    def start(self) -> None:
        """Start (or start again) the server and wait until it accepts connections."""
        self._ctl("start", "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back open transactions; ``immediate``: like a crash)."""
        self._ctl("stop", "-m", mode)

    def restart(self, mode: str = "fast") -> None:
        """Stop and start again on the same port, keeping the data."""
        self.stop(mode)
        self.start()

    def create_database(self) -> str:
        """A fresh, empty database; returns its DSN."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return self.dsn(name)

    def destroy(self) -> None:
        """Stop the server and delete its folder."""
        try:
            self.stop("immediate")
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.root, ignore_errors=True)


def start() -> Cluster:
    """initdb a new cluster in a temporary folder and start it on a free loopback port."""
    bindir = _bindir()
    root = Path(tempfile.mkdtemp(prefix="copyme-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = Cluster(free_port(), root, bindir)
    init = _as_owner([str(bindir / "initdb"), "-D", str(cluster.data), "-U", SUPERUSER, "--auth=trust",
                      "-E", "UTF8", "--no-locale", "--no-sync"])
    result = subprocess.run(init, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {result.stderr.strip()}")
    with open(cluster.data / "postgresql.conf", "a", encoding="utf-8") as conf:
        # a test cluster: durability against power cuts is not what is tested, and the
        # machine is shared; max_connections covers several multi-worker services at once
        conf.write("fsync = off\nfull_page_writes = off\nmax_connections = 300\nshared_buffers = 32MB\n")
    deadline = time.monotonic() + 3
    while True:
        try:
            cluster.start()
            return cluster
        except RuntimeError:
            if time.monotonic() > deadline:
                cluster.destroy()
                raise
            cluster.port = free_port()  # someone took the port between the probe and the start
