"""The holder's stores on PostgreSQL: the same statements as on SQLite, shared by many workers.

:class:`PostgresDatabase` offers the part of :class:`verifier.store.Database` the stores use —
``lock``, ``execute``, ``conn.execute`` inside :meth:`~PostgresDatabase.transaction`, and
``dialect`` — over a psycopg 3 pool, so replay entries, nonces, link codes, links, "newest
seen" status and provision records live in one database every worker shares:

- a transaction holds one pooled connection for its thread; statements the stores issue in it
  (``db.conn.execute``) run on that connection, others in autocommit;
- the stores write ``?`` placeholders and SQL both engines accept; :func:`to_postgres`
  rewrites the placeholders and SQLite's ``[name]`` quoting, and the column types of
  ``CREATE TABLE`` (``BLOB`` is ``BYTEA``, ``INTEGER`` is ``BIGINT``);
- :meth:`~PostgresDatabase.serialise` takes a transaction-level advisory lock, which the
  provision records take so that concurrent writers on any worker extend one hash chain;
- psycopg errors become :class:`~protocol.errors.Unavailable` (HTTP 503) here: with the
  database down nothing is released, because no replay entry or record can be written.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from storage import describe, open_pool, pg_errors

__all__ = ["PostgresDatabase", "to_postgres"]

_ERR = "verifier database error"
_CREATE_TABLE = re.compile(r"^\s*CREATE TABLE", re.IGNORECASE)
_USER = re.compile(r'(?<![\w".])user(?![\w"])')


def to_postgres(sql: str) -> str:
    """``sql`` as written for SQLite, in PostgreSQL's spelling (placeholders, quoting, DDL types)."""
    text = sql.replace("?", "%s")
    text = re.sub(r"\[(\w+)\]", r'"\1"', text)
    text = _USER.sub('"user"', text)  # a reserved word in PostgreSQL, a plain column name in SQLite
    if _CREATE_TABLE.match(text):
        text = re.sub(r"\bBLOB\b", "BYTEA", text)
        text = re.sub(r"\bINTEGER\b", "BIGINT", text)
    return text


class _Cursor:
    """The rows of one statement, read eagerly (the connection goes back to the pool)."""

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self._rows)


def _run(conn: Any, sql: str, params: Sequence[Any] | None) -> _Cursor:
    cursor = conn.execute(to_postgres(sql), list(params) if params is not None else None)
    rows = cursor.fetchall() if cursor.description is not None else []
    return _Cursor([tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows], cursor.rowcount)


class _Connection:
    """``db.conn``: the thread's open transaction, else an autocommit statement."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> _Cursor:
        return self._db.execute(sql, params)

    @property
    def in_transaction(self) -> bool:
        return getattr(self._db._local, "conn", None) is not None

    def close(self) -> None:
        self._db.close()


class PostgresDatabase:
    """The verifier's shared database on PostgreSQL (a DSN); see the module docstring."""

    dialect = "postgres"
    #: Nothing read here is kept in memory: other workers write the same tables.
    generation = None

    def __init__(self, dsn: str, *, max_size: int = 10) -> None:
        self.where = describe(dsn)
        self._pool = open_pool(dsn, name="copyme-verifier", max_size=max_size)
        self._local = threading.local()
        self.lock = threading.RLock()
        self.conn = _Connection(self)

    def close(self) -> None:
        """Close the pool."""
        self._pool.close(timeout=2)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> _Cursor:
        """Run one statement: in this thread's transaction if one is open, else on its own."""
        current = getattr(self._local, "conn", None)
        with pg_errors(_ERR):
            if current is not None:
                return _run(current, sql, params)
            with self._pool.connection() as conn:
                return _run(conn, sql, params)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_Connection]:
        """One transaction on one pooled connection; any exception rolls it back."""
        if getattr(self._local, "conn", None) is not None:
            raise RuntimeError("transactions do not nest")
        with pg_errors(_ERR), self._pool.connection() as conn, conn.transaction():
            self._local.conn = conn
            self._local.held = set()
            try:
                yield self.conn
            finally:
                self._local.conn = None
                self._local.held = set()

    def serialise(self, key: int) -> None:
        """Inside :meth:`transaction`: wait for, then hold until commit, the cluster-wide lock ``key``.

        Taken once per transaction: the writes of a group commit share one, and each asked for it.
        """
        held: set[int] = getattr(self._local, "held", set())
        if key in held:
            return
        self.execute("SELECT pg_advisory_xact_lock(?)", [key])
        held.add(key)

    def forget(self) -> None:
        """A rollback to a savepoint, which also let go of the locks taken after it: take them again."""
        self._local.held = set()

    def start_background(self) -> None:
        """Nothing to do: the PostgreSQL server does its own upkeep."""

    def stop_background(self) -> None:
        """Nothing to do (see :meth:`start_background`)."""
