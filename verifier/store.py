"""The holder's one SQLite file: opened once, WAL mode, shared by the stores behind one lock.

FastAPI runs sync work in a thread pool, so the connection is shared across threads
(``check_same_thread=False``) and every store serialises its statements on :data:`Database.lock`.
Releases, refusals and decisions are written by one thread (:class:`verifier.commits.GroupCommit`):
the writes of concurrent requests share one transaction, so the lock is taken, and the WAL
written (and with ``synchronous=full`` fsynced), once per batch instead of once per request.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Protocol

import sqlite_utils

from common import Periodic, private_file

__all__ = ["SYNCHRONOUS", "Checkpoints", "Database", "HolderDatabase", "open_database", "open_store"]


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

    @property
    def generation(self) -> int | None:
        """What a store read inside a transaction may be kept in memory for (see :class:`Database`).

        ``None``: the database is shared with other processes (PostgreSQL), nothing is kept.
        """

    def forget(self) -> None:
        """The open transaction rolled back to a savepoint: values kept in memory may be gone."""

    def start_background(self) -> None:
        """Start the database's own upkeep while a service runs on it (SQLite: WAL checkpoints)."""

    def stop_background(self) -> None:
        """Stop what :meth:`start_background` started (waits for a run in progress)."""

#: ``PRAGMA synchronous`` values a holder may choose (see :func:`open_database`).
SYNCHRONOUS = ("normal", "full")
#: SQLite's own WAL size (pages) at which a commit checkpoints, when no :class:`Checkpoints` runs.
AUTOCHECKPOINT = 1000
#: Seconds between background checkpoints while something is being committed.
CHECKPOINT_EVERY = 0.2


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
    #: Bumped whenever the file may hold other than what this connection last wrote or read: a
    #: rollback (of a transaction or to a savepoint), or a commit by another connection (another
    #: process's, seen through ``PRAGMA data_version`` at the start of each transaction).  A store
    #: may keep a value it read or wrote inside a transaction (the head of a hash chain) for as
    #: long as the generation is unchanged, instead of reading it again on every write.
    generation: int = 0
    _data_version: int | None = None

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
                version = conn.execute("PRAGMA data_version").fetchone()[0]
                if version != self._data_version:  # another connection committed since our last look
                    self._data_version = version
                    self.generation += 1
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                self.generation += 1
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def serialise(self, key: int) -> None:
        """Inside :meth:`transaction`: nothing to do, ``BEGIN IMMEDIATE`` already excludes other writers."""

    def forget(self) -> None:
        """A rollback to a savepoint: what was kept in memory may be undone (see :attr:`generation`)."""
        self.generation += 1

    _checkpoints: Checkpoints | None = None

    def start_background(self) -> None:
        """Checkpoint the WAL on a thread and connection of its own from now on (see :class:`Checkpoints`)."""
        if self._checkpoints is not None or self.path is None:
            return
        with self.lock:
            self.conn.execute("PRAGMA wal_autocheckpoint=0")  # commits no longer checkpoint inline
        self._checkpoints = Checkpoints(self.path).start()

    def stop_background(self) -> None:
        """Stop the checkpoint thread; commits checkpoint inline again (SQLite's default)."""
        if self._checkpoints is None:
            return
        self._checkpoints.stop()
        self._checkpoints.close()
        self._checkpoints = None
        with self.lock:
            self.conn.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT}")

    @property
    def path(self) -> str | None:
        """The database file, ``None`` in memory."""
        row = self.conn.execute("PRAGMA database_list").fetchone()
        return str(row[2]) if row and row[2] else None


class Checkpoints(Periodic[bool]):
    """Copies the WAL back into the database file on a thread and connection of its own.

    By default SQLite checkpoints inside the commit that takes the WAL past 1,000 pages, and in
    WAL mode a checkpoint fsyncs the WAL and then the database file even with
    ``synchronous=normal``: the gate's event loop, which commits releases (:mod:`verifier.commits`),
    then stood still for the two fsyncs - a tenth of the wall time of a release under load, and
    most of its p99.  While a holder serves, its commits only append to the WAL and this thread
    runs a ``PASSIVE`` checkpoint (which never blocks writers) every ``interval`` seconds in which
    something was committed.  Durability is unchanged: a commit is in the WAL when it returns.
    """

    name = "copyme-checkpoint"
    what = "WAL checkpoint"

    def __init__(self, path: str, *, interval: float = CHECKPOINT_EVERY) -> None:
        super().__init__(interval=interval, log=logging.getLogger("copyme.verifier"))
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._seen: int | None = None

    def work(self) -> bool:
        """Checkpoint if another connection committed since the last run; whether it did."""
        version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        if version == self._seen:
            return False
        self._seen = version
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return True

    def close(self) -> None:
        """Close this thread's connection (after :meth:`stop`)."""
        self._conn.close()


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
