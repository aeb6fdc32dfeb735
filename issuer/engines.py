"""The two engines under the issuer's one SQL store: a SQLite file and a PostgreSQL pool.

:class:`~issuer.store.SqlIssuerStore` writes each statement once, with ``?`` placeholders and
SQL both engines speak (``ON CONFLICT``, ``RETURNING``); an engine runs it.  What differs lives
here and only here: connecting, the placeholder spelling, the column that orders rows by
insertion, bytes coming back as ``memoryview``, and turning the driver's errors into
:class:`~protocol.errors.Unavailable` (HTTP 503) in one place.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from common import private_file
from protocol import Unavailable
from storage import describe, migrate_postgres, migrate_sqlite, open_pool, pg_errors

from .migrations import MIGRATIONS

__all__ = ["Engine", "PostgresEngine", "SqliteEngine", "Statements"]

#: Advisory lock key serialising the issuer's migrations across PostgreSQL workers.
_MIGRATE_LOCK = 0x636F70_7969_7373


class Statements(Protocol):
    """Runs statements: on its own (autocommit) or inside one transaction."""

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """The rows ``sql`` returns, as dicts (bytes columns as ``bytes``)."""

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run ``sql``; returns how many rows it changed."""


class Engine(Statements, Protocol):
    """A database the issuer's store runs on."""

    #: A column that orders a table's rows by insertion (``rowid`` or a sequence).
    insertion_order: str

    def transaction(self) -> contextlib.AbstractContextManager[Statements]:
        """One transaction: every statement run through what it yields commits together."""

    def close(self) -> None:
        """Release the database."""


class _SqliteStatements:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.conn.execute(sql, list(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return int(self.conn.execute(sql, list(params)).rowcount)


class SqliteEngine:
    """One SQLite file (WAL), one connection guarded by one lock: one instance's file."""

    insertion_order = "rowid"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            private_file(self.path)  # missing folders 0700, the database 0600
            conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30.0)
            conn.execute("PRAGMA journal_mode=WAL")
            _adopt_unrecorded_file(conn)
            migrate_sqlite(conn, MIGRATIONS, int(time.time()))
        except (sqlite3.Error, OSError) as err:
            raise Unavailable(f"cannot open the issuer database {self.path}: {err}") from err
        self._statements = _SqliteStatements(conn)
        self._lock = threading.RLock()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._statements.conn.close()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """The rows of one statement."""
        with self._lock, _sqlite_errors():
            return self._statements.rows(sql, params)

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement."""
        with self._lock, _sqlite_errors():
            return self._statements.run(sql, params)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Statements]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled back if the block raises)."""
        with self._lock, _sqlite_errors():
            conn = self._statements.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._statements
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")


@contextlib.contextmanager
def _sqlite_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as err:
        raise Unavailable(f"issuer database error: {type(err).__name__}: {err}") from err


def _adopt_unrecorded_file(conn: sqlite3.Connection) -> None:
    """A file made before the steps were recorded gets the columns step 1 has and it lacks.

    Step 1 only creates what is missing (``IF NOT EXISTS``), so a table made by an older
    version keeps its columns; the ones added since (the provider's address, representative and
    how it acquired the data, APPI Art. 30(1)) are added here, empty for old rows.
    """
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "schema_migrations" in tables or not tables:
        return
    model = sqlite3.connect(":memory:")
    try:
        model.executescript(MIGRATIONS[0].sqlite)
        for table in sorted(tables & {r[0] for r in model.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}):
            present = {r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')}
            for _, column, kind, _, _, _ in model.execute(f'PRAGMA table_info("{table}")').fetchall():
                if column not in present:
                    empty = "''" if kind == "TEXT" else "x''" if kind == "BLOB" else "0"
                    conn.execute(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {kind} NOT NULL DEFAULT {empty}')
    finally:
        model.close()


class _PostgresStatements:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.conn.execute(_pg(sql), list(params))
        names = [d.name for d in cursor.description]
        return [{k: bytes(v) if isinstance(v, memoryview) else v for k, v in zip(names, row, strict=True)}
                for row in cursor.fetchall()]

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return int(self.conn.execute(_pg(sql), list(params)).rowcount)


def _pg(sql: str) -> str:
    """``?`` placeholders in psycopg's spelling (the store's SQL has no ``?`` or ``%`` literals)."""
    return sql.replace("?", "%s")


_ERR = "issuer database error"


class PostgresEngine:
    """A PostgreSQL database named by a DSN, shared by several instances of one issuer."""

    insertion_order = "stored"

    def __init__(self, dsn: str, *, max_size: int = 6) -> None:
        self.where = describe(dsn)
        self._pool = open_pool(dsn, name="copyme-issuer", max_size=max_size)
        with pg_errors(f"cannot prepare the issuer database at {self.where}"):
            migrate_postgres(self._pool, MIGRATIONS, int(time.time()), _MIGRATE_LOCK)

    def close(self) -> None:
        """Close the pool."""
        self._pool.close(timeout=2)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """The rows of one statement."""
        with pg_errors(_ERR), self._pool.connection() as conn:
            return _PostgresStatements(conn).rows(sql, params)

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement."""
        with pg_errors(_ERR), self._pool.connection() as conn:
            return _PostgresStatements(conn).run(sql, params)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Statements]:
        """One pooled connection, one transaction."""
        with pg_errors(_ERR), self._pool.connection() as conn, conn.transaction():
            yield _PostgresStatements(conn)
