"""Ordered, recorded schema steps that drive both backends.

A service lists its :class:`Migration` steps once, oldest first; each step carries its SQL in
both dialects (the types differ: ``BLOB``/``BYTEA``, ``INTEGER``/``BIGINT``).  Applied steps are
recorded by name in ``schema_migrations``, so a database is brought forward exactly once per
step, in order, each step in one transaction with its record.  The first step of every service
uses ``CREATE ... IF NOT EXISTS``, so SQLite files made before this table existed adopt it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Migration", "migrate_postgres", "migrate_sqlite"]

_TABLE = "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied BIGINT NOT NULL)"


@dataclass(frozen=True)
class Migration:
    """One schema step: its unique name and its SQL for SQLite and for PostgreSQL."""

    name: str
    sqlite: str
    postgres: str


def migrate_sqlite(conn: sqlite3.Connection, steps: Sequence[Migration], now: int) -> list[str]:
    """Apply the steps ``conn`` has not seen (autocommit connection); returns their names."""
    conn.execute(_TABLE)
    done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
    applied: list[str] = []
    for step in steps:
        if step.name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(step.sqlite):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (name, applied) VALUES (?, ?)", [step.name, now])
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        applied.append(step.name)
    return applied


def migrate_postgres(pool: Any, steps: Sequence[Migration], now: int, lock_key: int) -> list[str]:
    """Apply the steps the database has not seen; safe when many workers start at once.

    ``lock_key`` names a transaction-level advisory lock (one per service) that serialises
    concurrent starts, so two workers never run the same step.
    """
    applied: list[str] = []
    with pool.connection() as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key])
        conn.execute(_TABLE)
        done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations").fetchall()}
        for step in steps:
            if step.name in done:
                continue
            for statement in _statements(step.postgres):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (name, applied) VALUES (%s, %s)", [step.name, now])
            applied.append(step.name)
    return applied


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
