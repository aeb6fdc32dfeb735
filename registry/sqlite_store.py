"""The registry's SQLite file (the default backend); see :mod:`registry.store` for the tables.

The file is opened in WAL mode with ``synchronous=FULL``: readers never block the writer, and a
write the registry has answered ``200``/``201`` to survives a killed process or a power cut.
Writers are serialised by a lock plus ``BEGIN IMMEDIATE`` so that the "strictly newer ``iat``"
check and the write it guards are one atomic step (across processes sharing the file too).
Each thread reads through its own connection.  sqlite3 errors are translated into
:class:`~protocol.errors.Unavailable` here, in one place.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import astuple
from pathlib import Path

import sqlite_utils

from common import private_file
from protocol import Organisation, Unavailable
from storage import migrate_sqlite

from .migrations import MIGRATIONS
from .store import Event, ListRow, Signer

__all__ = ["SQLiteStore"]


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class SQLiteStore:
    """:class:`~registry.store.RegistryStore` over one SQLite file."""

    #: Reads cross a network (so the app runs them off the event loop).
    remote = False

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            private_file(self.path)  # missing folders 0700, the database 0600
            self._writer = sqlite_utils.Database(_connect(self.path))
            migrate_sqlite(self._writer.conn, MIGRATIONS, int(time.time()))
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

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            with self._readers_lock:
                self._readers.append(conn)
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock, _translated():
            conn = self._writer.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- lists ------------------------------------------------------------------------------

    def get_list(self, list_id: str) -> ListRow | None:
        """The stored row of ``list_id``, if any."""
        with _translated():
            return _get(self._reader(), list_id)

    def put_list(self, row: ListRow, now: int, check: Callable[[ListRow | None], None]) -> int:
        """Check against the stored row and write, in one ``BEGIN IMMEDIATE`` transaction."""
        with self._transaction() as conn:
            stored = _get(conn, row.list_id)
            check(stored)
            cursor = conn.execute(
                "INSERT INTO events (list_id, iat, etag, uri, at) VALUES (?, ?, ?, ?, ?)",
                [row.list_id, row.iat, row.etag, row.uri, now],
            )
            seq = int(cursor.lastrowid or 0)
            values = [*astuple(row)[1:9], seq, now]
            if stored is None:
                conn.execute(
                    "INSERT INTO lists (kid, size, iat, exp, ttl, etag, uri, token, seq, updated, created, list_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [*values, now, row.list_id])
            else:
                conn.execute(
                    "UPDATE lists SET kid = ?, size = ?, iat = ?, exp = ?, ttl = ?, etag = ?, uri = ?, "
                    "token = ?, seq = ?, updated = ? WHERE list_id = ?", [*values, row.list_id])
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
                rows = self._reader().execute(_EVENTS + "WHERE e.seq > ? ORDER BY e.seq LIMIT ?",
                                              [seq, limit]).fetchall()
            else:
                rows = self._reader().execute(_EVENTS + "WHERE e.list_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?",
                                              [list_id, seq, limit]).fetchall()
        return [Event(int(r[0]), r[1], int(r[2]), r[3], r[4], bytes(r[5]) if r[5] is not None else None)
                for r in rows]

    def listen(self, on_event: Callable[[int], None]) -> Callable[[], None]:
        """SQLite cannot push: never calls ``on_event`` (the feed polls on its heartbeat)."""
        return lambda: None

    # -- trust list -------------------------------------------------------------------------

    def setting(self, name: str) -> bytes | None:
        """A stored setting (e.g. the signed trust list)."""
        with _translated():
            row = self._reader().execute("SELECT value FROM settings WHERE name = ?", [name]).fetchone()
        return bytes(row[0]) if row else None

    def change_trust(self, now: int, sign: Signer, *, add: Organisation | None = None,
                     remove: str | None = None, add_registry: str | None = None,
                     remove_registry: str | None = None) -> bytes | None:
        """Change the organisations or registries, re-sign and store the trust list in one transaction."""
        with self._transaction() as conn:
            if add_registry is not None:
                conn.execute("INSERT INTO registries (url, added) VALUES (?, ?) ON CONFLICT(url) DO NOTHING",
                             [add_registry, now])
            if remove_registry is not None and conn.execute("DELETE FROM registries WHERE url = ?",
                                                            [remove_registry]).rowcount == 0:
                return None
            if add is not None:
                conn.execute(
                    "INSERT INTO organisations (did, name_ja, name_en, role, added) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(did) DO UPDATE SET name_ja = excluded.name_ja, "
                    "name_en = excluded.name_en, role = excluded.role",
                    [add.did, add.name_ja, add.name_en, add.role, now],
                )
            if remove is not None and conn.execute("DELETE FROM organisations WHERE did = ?", [remove]).rowcount == 0:
                return None
            rows = conn.execute("SELECT did, name_ja, name_en, role FROM organisations ORDER BY did").fetchall()
            urls = conn.execute("SELECT url FROM registries ORDER BY url").fetchall()
            raw = sign(tuple(Organisation(*r) for r in rows), tuple(u[0] for u in urls))
            conn.execute("INSERT INTO settings (name, value) VALUES (?, ?) "
                         "ON CONFLICT(name) DO UPDATE SET value = excluded.value", ["trust_list", raw])
        return raw


#: Events with the token of the version each wrote while it is still the list's newest (one
#: statement, one snapshot: a superseded event carries none, its successor carries the newer one).
_EVENTS = ("SELECT e.seq, e.list_id, e.iat, e.etag, e.uri, CASE WHEN l.seq = e.seq THEN l.token END "
           "FROM events e LEFT JOIN lists l ON l.list_id = e.list_id ")


def _get(conn: sqlite3.Connection, list_id: str) -> ListRow | None:
    row = conn.execute(
        "SELECT list_id, kid, size, iat, exp, ttl, etag, uri, token, seq FROM lists WHERE list_id = ?",
        [list_id],
    ).fetchone()
    return ListRow(*row) if row else None


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as err:
        raise Unavailable(f"registry database error: {type(err).__name__}") from err
