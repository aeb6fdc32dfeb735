"""The registry's SQLite file: the latest token of each list, an append-only event log, the trust list.

Three tables, nothing else:

``lists``
    one row per list: the latest token bytes, the key pinned by its first write, its size,
    ``iat``, ETag and the sequence number of the event that wrote it.
``events``
    append-only; one row per accepted write (``seq`` is the global, gap-free-in-order sequence
    the change feed hands out as SSE ids).  No token bytes: subscribers fetch the list itself.
``organisations`` / ``settings``
    the operator's trust list entries and the signed TrustList bytes.

The file is opened in WAL mode with ``synchronous=FULL``: readers never block the writer, and a
write the registry has answered ``200``/``201`` to survives a killed process or a power cut.
Writers are serialised by a lock plus ``BEGIN IMMEDIATE`` so that the "strictly newer ``iat``"
check and the write it guards are one atomic step.  Each thread reads through its own connection.
sqlite3 errors are translated into :class:`~protocol.errors.Unavailable` here, in one place.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from protocol import Unavailable

__all__ = ["Event", "ListRow", "Store"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lists (
    list_id TEXT PRIMARY KEY,
    kid TEXT NOT NULL,
    size INTEGER NOT NULL,
    iat INTEGER NOT NULL,
    exp INTEGER,
    ttl INTEGER,
    etag TEXT NOT NULL,
    uri TEXT NOT NULL,
    token BLOB NOT NULL,
    seq INTEGER NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    list_id TEXT NOT NULL,
    iat INTEGER NOT NULL,
    etag TEXT NOT NULL,
    uri TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_list ON events (list_id, seq);
CREATE TABLE IF NOT EXISTS organisations (
    did TEXT PRIMARY KEY,
    name_ja TEXT NOT NULL,
    name_en TEXT NOT NULL,
    role TEXT NOT NULL,
    added INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
"""


@dataclass(frozen=True)
class ListRow:
    """The stored state of one list."""

    list_id: str
    kid: str
    size: int
    iat: int
    exp: int | None
    ttl: int | None
    etag: str
    uri: str
    token: bytes
    seq: int


@dataclass(frozen=True)
class Event:
    """One accepted write, as the change feed sends it."""

    seq: int
    list_id: str
    iat: int
    etag: str
    uri: str

    def to_json(self) -> dict[str, Any]:
        """The SSE ``data`` body."""
        return {"list_id": self.list_id, "iat": self.iat, "etag": self.etag, "uri": self.uri}


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class Store:
    """Transactional access to one registry database file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = sqlite_utils.Database(_connect(self.path))
            self._writer.conn.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as err:
            raise Unavailable(f"cannot open the registry database {self.path}: {err}") from err
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()

    def close(self) -> None:
        """Close every connection (readers of other threads included)."""
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        self._writer.conn.close()

    def _reader(self) -> sqlite_utils.Database:
        db: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if db is None:
            conn = _connect(self.path)
            with self._readers_lock:
                self._readers.append(conn)
            db = self._local.db = sqlite_utils.Database(conn)
        return db

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """One serialised write transaction: everything in the block commits, or nothing does."""
        with self._write_lock, _translated():
            conn = self._writer.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- lists ------------------------------------------------------------------------------

    def get_list(self, list_id: str, db: sqlite_utils.Database | None = None) -> ListRow | None:
        """The stored row of ``list_id`` (read inside ``db``'s transaction when given)."""
        with _translated():
            row = (db or self._reader()).execute(
                "SELECT list_id, kid, size, iat, exp, ttl, etag, uri, token, seq FROM lists WHERE list_id = ?",
                [list_id],
            ).fetchone()
        return ListRow(*row) if row else None

    def write_list(self, db: sqlite_utils.Database, row: dict[str, Any], now: int, created: bool) -> int:
        """Append the event and store the token (inside :meth:`transaction`); returns the event's seq."""
        cursor = db.execute(
            "INSERT INTO events (list_id, iat, etag, uri, at) VALUES (?, ?, ?, ?, ?)",
            [row["list_id"], row["iat"], row["etag"], row["uri"], now],
        )
        seq = int(cursor.lastrowid or 0)
        # plain SQL: sqlite-utils' table helpers open their own ``with conn:`` block, which
        # would commit the surrounding BEGIN IMMEDIATE transaction half-way.
        values = {**row, "seq": seq, "updated": now}
        if created:
            values["created"] = now
            names = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            db.execute(f"INSERT INTO lists ({names}) VALUES ({marks})", list(values.values()))
        else:
            sets = ", ".join(f"{name} = ?" for name in values if name != "list_id")
            params = [v for k, v in values.items() if k != "list_id"] + [row["list_id"]]
            db.execute(f"UPDATE lists SET {sets} WHERE list_id = ?", params)
        return seq

    # -- events -----------------------------------------------------------------------------

    def last_seq(self) -> int:
        """The sequence number of the newest event (0 when there is none)."""
        with _translated():
            row = self._reader().execute("SELECT max(seq) FROM events").fetchone()
        return int(row[0] or 0)

    def events_after(self, seq: int, list_id: str | None = None, limit: int = 500) -> list[Event]:
        """Events with a sequence number above ``seq``, oldest first (one list's only, if given)."""
        with _translated():
            if list_id is None:
                rows = self._reader().execute(
                    "SELECT seq, list_id, iat, etag, uri FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                    [seq, limit],
                ).fetchall()
            else:
                rows = self._reader().execute(
                    "SELECT seq, list_id, iat, etag, uri FROM events WHERE list_id = ? AND seq > ? "
                    "ORDER BY seq LIMIT ?",
                    [list_id, seq, limit],
                ).fetchall()
        return [Event(*r) for r in rows]

    # -- trust list -------------------------------------------------------------------------

    def setting(self, name: str) -> bytes | None:
        """A stored setting (e.g. the signed trust list)."""
        with _translated():
            row = self._reader().execute("SELECT value FROM settings WHERE name = ?", [name]).fetchone()
        return bytes(row[0]) if row else None


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as err:
        raise Unavailable(f"registry database error: {type(err).__name__}") from err
