"""The holder's one SQLite file: opened once, WAL mode, shared by the stores behind one lock.

FastAPI runs sync work in a thread pool, so the connection is shared across threads
(``check_same_thread=False``) and every store serialises its statements on :data:`Database.lock`.
Releases, refusals and decisions are written by one thread (:class:`verifier.commits.GroupCommit`):
the writes of concurrent requests share one transaction, so the lock is taken, and the WAL
written (and with ``synchronous=full`` fsynced), once per batch instead of once per request.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Protocol

import sqlite_utils

from common import private_file

__all__ = ["SYNCHRONOUS", "Database", "HolderDatabase", "open_database", "open_store"]


class HolderDatabase(Protocol):
    """What the holder's stores need of a database: the storage interface both engines implement.

    :class:`Database` (SQLite, the default) and :class:`verifier.pg_store.PostgresDatabase`.
    """

    #: Held around statements that must see each other's in-memory effects (one process).
    lock: Any

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgres"``: for the few DDL statements that differ."""

    @property
    def conn(self) -> Any:
        """Runs statements (``conn.execute``), inside the thread's transaction when one is open."""

    def execute(self, sql: str, params: Any = None, /) -> Any:
        """One statement with ``?`` placeholders; returns a cursor (``fetchone``, ``fetchall``, ``rowcount``)."""

    def transaction(self) -> contextlib.AbstractContextManager[Any]:
        """One transaction: everything in the block commits, or nothing does."""

    def serialise(self, key: int) -> None:
        """Inside :meth:`transaction`: exclude every other writer holding ``key`` until commit."""

#: ``PRAGMA synchronous`` values a holder may choose (see :func:`open_database`).
SYNCHRONOUS = ("normal", "full")


class Database(sqlite_utils.Database):
    """A ``sqlite_utils.Database`` with a re-entrant lock that its users hold around statements.

    The stores also run on :class:`verifier.pg_store.PostgresDatabase`, which offers the same
    ``lock``, ``execute``, ``conn.execute`` and :meth:`transaction`; they write SQL both engines
    accept and branch on :attr:`dialect` only for DDL that differs.
    """

    #: Which engine: ``"sqlite"`` here, ``"postgres"`` for :class:`~verifier.pg_store.PostgresDatabase`.
    dialect = "sqlite"
    lock: threading.RLock
    #: ``"normal"`` or ``"full"``: whether a commit waits for an fsync.
    synchronous: str

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` ... ``COMMIT`` under :attr:`lock`; any exception rolls it back.

        ``in_transaction`` is checked before the rollback because SQLite may already have rolled
        back on its own (e.g. disk full), and a second ``ROLLBACK`` would hide the real error.
        """
        conn = self.conn
        with self.lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def serialise(self, key: int) -> None:
        """Inside :meth:`transaction`: nothing to do, ``BEGIN IMMEDIATE`` already excludes other writers."""


def open_store(location: str | Path, *, synchronous: Literal["normal", "full"] = "normal") -> HolderDatabase:
    """The PostgreSQL database named by a ``postgresql://`` URL, else the SQLite file at ``location``."""
    from storage import is_postgres

    if is_postgres(location):
        from .pg_store import PostgresDatabase

        return PostgresDatabase(str(location))
    return open_database(location, synchronous=synchronous)


def open_database(path: str | Path | None, *, synchronous: Literal["normal", "full"] = "normal") -> Database:
    """Open (creating) the SQLite file at ``path``, or an in-memory database for ``None``.

    Durability, and why ``normal`` is the default: in WAL mode a commit with
    ``synchronous=NORMAL`` has been written to the WAL file (the OS page cache) when ``COMMIT``
    returns, so it survives any crash *of the process* (kill -9, OOM, a bug) - which is the
    failure a restart recovers from (``tests/verifier/test_crash.py`` kills a serving verifier
    20 times under 8 clients and finds every answered release committed).  Only an OS crash or
    power cut can lose the last commits (never half of one: a replay entry, the provision record
    and the usage receipt of a release share one transaction and go, or stay, together) - and
    with them releases whose data already left.  Such a loss could also reopen the replay window
    for presentations issued within :data:`verifier.verify.WINDOW` seconds before the cut, if the
    host is back inside that window.  ``full`` fsyncs the WAL on every commit and closes that too.
    Commits are grouped (:class:`verifier.commits.GroupCommit`), so that is one fsync per batch
    of concurrent releases, on the writer thread, never on the event loop; choose it
    (``copyme verifier serve --synchronous full``) where a power cut must not lose a provision
    record.
    """
    if synchronous not in SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS)}")
    if path is not None:
        private_file(path)  # missing folders 0700, the database 0600
    conn = sqlite3.connect(":memory:" if path is None else str(path), check_same_thread=False,
                           isolation_level=None)
    db = Database(conn)
    db.lock = threading.RLock()
    db.synchronous = synchronous
    if path is not None:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    conn.execute("PRAGMA busy_timeout=5000")
    return db
