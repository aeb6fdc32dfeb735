"""The registry's schema steps, oldest first, for both backends (see :mod:`storage.migrations`)."""

from __future__ import annotations

from storage import Migration

__all__ = ["MIGRATIONS"]

_SQLITE_1 = """
CREATE TABLE IF NOT EXISTS lists (
    list_id TEXT PRIMARY KEY, kid TEXT NOT NULL, size INTEGER NOT NULL, iat INTEGER NOT NULL,
    exp INTEGER, ttl INTEGER, etag TEXT NOT NULL, uri TEXT NOT NULL, token BLOB NOT NULL,
    seq INTEGER NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, list_id TEXT NOT NULL, iat INTEGER NOT NULL,
    etag TEXT NOT NULL, uri TEXT NOT NULL, at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_list ON events (list_id, seq);
CREATE TABLE IF NOT EXISTS organisations (
    did TEXT PRIMARY KEY, name_ja TEXT NOT NULL, name_en TEXT NOT NULL, role TEXT NOT NULL,
    added INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value BLOB NOT NULL)
"""

# seq is assigned by the writer under the registry's write lock (max + 1), not by a sequence:
# a PostgreSQL sequence hands out numbers in call order, not commit order, and a feed reader
# could then see seq 6 committed before 5 and step over 5.
_POSTGRES_1 = """
CREATE TABLE IF NOT EXISTS lists (
    list_id TEXT PRIMARY KEY, kid TEXT NOT NULL, size INTEGER NOT NULL, iat BIGINT NOT NULL,
    exp BIGINT, ttl BIGINT, etag TEXT NOT NULL, uri TEXT NOT NULL, token BYTEA NOT NULL,
    seq BIGINT NOT NULL, created BIGINT NOT NULL, updated BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq BIGINT PRIMARY KEY, list_id TEXT NOT NULL, iat BIGINT NOT NULL,
    etag TEXT NOT NULL, uri TEXT NOT NULL, at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_list ON events (list_id, seq);
CREATE TABLE IF NOT EXISTS organisations (
    did TEXT PRIMARY KEY, name_ja TEXT NOT NULL, name_en TEXT NOT NULL, role TEXT NOT NULL,
    added BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value BYTEA NOT NULL)
"""

# the registries the council's trust list names, besides the organisations
_SQLITE_2 = "CREATE TABLE IF NOT EXISTS registries (url TEXT PRIMARY KEY, added INTEGER NOT NULL)"
_POSTGRES_2 = "CREATE TABLE IF NOT EXISTS registries (url TEXT PRIMARY KEY, added BIGINT NOT NULL)"

#: Every schema step of the registry, oldest first.
MIGRATIONS = (
    Migration("0001_lists_events_trust", _SQLITE_1, _POSTGRES_1),
    Migration("0002_trusted_registries", _SQLITE_2, _POSTGRES_2),
)
