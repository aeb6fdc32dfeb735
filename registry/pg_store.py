"""The registry on PostgreSQL (psycopg 3 and its pool): many workers, many machines, one log.

Same tables as the SQLite file (see :mod:`registry.store`).  What changes with many writers:

- every write takes one transaction-level advisory lock (:data:`WRITE_LOCK`) first, so writes
  are serialised cluster-wide; the event's ``seq`` is ``max + 1`` under that lock and commits in
  order, which keeps the feed gap-free for any reader;
- the write transaction ends with ``pg_notify`` on :data:`CHANNEL` carrying the seq; PostgreSQL
  delivers it only when (and if) the transaction commits, to every listening worker;
- :meth:`PostgresStore.listen` keeps one dedicated connection per process on ``LISTEN``, and
  reconnects (reporting the newest seq, so nothing committed meanwhile is missed) if it drops.

psycopg errors become :class:`~protocol.errors.Unavailable` (HTTP 503) in one place.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import astuple
from typing import Any

from protocol import Organisation
from storage import describe, migrate_postgres, open_pool, pg_errors

from .migrations import MIGRATIONS
from .store import Event, ListRow, Signer

__all__ = ["CHANNEL", "WRITE_LOCK", "PostgresStore"]

log = logging.getLogger("copyme.registry")

#: The NOTIFY channel every accepted write is announced on (payload: its seq).
CHANNEL = "copyme_registry_events"
#: The advisory lock key that serialises the registry's writers.
WRITE_LOCK = 0x636F70_7972_6567  # "copyregistry"-ish; any fixed 64-bit number
_MIGRATE_LOCK = WRITE_LOCK + 1
_COLUMNS = "list_id, kid, size, iat, exp, ttl, etag, uri, token, seq"
_ERR = "registry database error"
#: Events with the token of the version each wrote while it is still the list's newest (one
#: statement, one snapshot: a superseded event carries none, its successor carries the newer one).
_EVENTS = ("SELECT e.seq, e.list_id, e.iat, e.etag, e.uri, CASE WHEN l.seq = e.seq THEN l.token END "
           "FROM events e LEFT JOIN lists l ON l.list_id = e.list_id ")


class PostgresStore:
    """:class:`~registry.store.RegistryStore` over a PostgreSQL database named by a DSN."""

    #: Reads cross a network (so the app runs them off the event loop).
    remote = True

    def __init__(self, dsn: str, *, max_size: int = 8) -> None:
        self.dsn = dsn
        self.where = describe(dsn)
        self._pool = open_pool(dsn, name="copyme-registry", max_size=max_size)
        with pg_errors(f"cannot prepare the registry database at {self.where}"):
            migrate_postgres(self._pool, MIGRATIONS, int(time.time()), _MIGRATE_LOCK)

    def close(self) -> None:
        """Close the pool."""
        self._pool.close(timeout=2)

    # -- lists ------------------------------------------------------------------------------

    def get_list(self, list_id: str) -> ListRow | None:
        """The stored row of ``list_id``, if any."""
        with pg_errors(_ERR), self._pool.connection() as conn:
            return _get(conn, list_id)

    def put_list(self, row: ListRow, now: int, check: Callable[[ListRow | None], None]) -> int:
        """Check and write under :data:`WRITE_LOCK`; NOTIFY the seq on commit."""
        with pg_errors(_ERR), self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
            stored = _get(conn, row.list_id)
            check(stored)
            seq = int(_one(conn, "SELECT COALESCE(max(seq), 0) + 1 FROM events"))
            conn.execute("INSERT INTO events (seq, list_id, iat, etag, uri, at) VALUES (%s, %s, %s, %s, %s, %s)",
                         [seq, row.list_id, row.iat, row.etag, row.uri, now])
            values = [*astuple(row)[1:9], seq, now]
            if stored is None:
                conn.execute(
                    "INSERT INTO lists (kid, size, iat, exp, ttl, etag, uri, token, seq, updated, created, list_id) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", [*values, now, row.list_id])
            else:
                conn.execute(
                    "UPDATE lists SET kid = %s, size = %s, iat = %s, exp = %s, ttl = %s, etag = %s, uri = %s, "
                    "token = %s, seq = %s, updated = %s WHERE list_id = %s", [*values, row.list_id])
            conn.execute("SELECT pg_notify(%s, %s)", [CHANNEL, str(seq)])
        return seq

    # -- events -----------------------------------------------------------------------------

    def last_seq(self) -> int:
        """The sequence number of the newest event (0 when there is none)."""
        with pg_errors(_ERR), self._pool.connection() as conn:
            return int(_one(conn, "SELECT COALESCE(max(seq), 0) FROM events"))

    def events_after(self, seq: int, list_id: str | None = None, limit: int = 500) -> list[Event]:
        """Events with a sequence number above ``seq``, oldest first (one list's only, if given)."""
        with pg_errors(_ERR), self._pool.connection() as conn:
            if list_id is None:
                rows = conn.execute(_EVENTS + "WHERE e.seq > %s ORDER BY e.seq LIMIT %s", [seq, limit]).fetchall()
            else:
                rows = conn.execute(_EVENTS + "WHERE e.list_id = %s AND e.seq > %s ORDER BY e.seq LIMIT %s",
                                    [list_id, seq, limit]).fetchall()
        return [Event(int(r[0]), r[1], int(r[2]), r[3], r[4], bytes(r[5]) if r[5] is not None else None)
                for r in rows]

    def listen(self, on_event: Callable[[int], None]) -> Callable[[], None]:
        """LISTEN on :data:`CHANNEL` in a daemon thread; returns the function that stops it."""
        stop = threading.Event()
        thread = threading.Thread(target=self._listen_loop, args=(on_event, stop), daemon=True,
                                  name="copyme-registry-listen")
        thread.start()

        def stop_listening() -> None:
            stop.set()
            thread.join(timeout=3)

        return stop_listening

    def _listen_loop(self, on_event: Callable[[int], None], stop: threading.Event) -> None:
        import psycopg

        while not stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    # anything committed while not listening: wake the streams to read the log
                    on_event(int(_one(conn, "SELECT COALESCE(max(seq), 0) FROM events")))
                    while not stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            on_event(int(note.payload))
            except psycopg.Error as err:
                log.warning("registry change listener lost %s (%s); reconnecting", self.where, type(err).__name__)
                stop.wait(0.5)

    # -- trust list -------------------------------------------------------------------------

    def setting(self, name: str) -> bytes | None:
        """A stored setting (e.g. the signed trust list)."""
        with pg_errors(_ERR), self._pool.connection() as conn:
            row = conn.execute("SELECT value FROM settings WHERE name = %s", [name]).fetchone()
        return bytes(row[0]) if row else None

    def change_trust(self, now: int, sign: Signer, *, add: Organisation | None = None,
                     remove: str | None = None, add_registry: str | None = None,
                     remove_registry: str | None = None) -> bytes | None:
        """Change the organisations or registries, re-sign and store the trust list in one transaction."""
        with pg_errors(_ERR), self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
            if add_registry is not None:
                conn.execute("INSERT INTO registries (url, added) VALUES (%s, %s) ON CONFLICT (url) DO NOTHING",
                             [add_registry, now])
            if remove_registry is not None and conn.execute("DELETE FROM registries WHERE url = %s",
                                                            [remove_registry]).rowcount == 0:
                return None
            if add is not None:
                conn.execute(
                    "INSERT INTO organisations (did, name_ja, name_en, role, added) VALUES (%s, %s, %s, %s, %s) "
                    "ON CONFLICT (did) DO UPDATE SET name_ja = excluded.name_ja, "
                    "name_en = excluded.name_en, role = excluded.role",
                    [add.did, add.name_ja, add.name_en, add.role, now])
            if remove is not None and conn.execute("DELETE FROM organisations WHERE did = %s",
                                                   [remove]).rowcount == 0:
                return None
            rows = conn.execute("SELECT did, name_ja, name_en, role FROM organisations ORDER BY did").fetchall()
            urls = conn.execute("SELECT url FROM registries ORDER BY url").fetchall()
            raw = sign(tuple(Organisation(*r) for r in rows), tuple(u[0] for u in urls))
            conn.execute("INSERT INTO settings (name, value) VALUES (%s, %s) "
                         "ON CONFLICT (name) DO UPDATE SET value = excluded.value", ["trust_list", raw])
        return raw


def _get(conn: Any, list_id: str) -> ListRow | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM lists WHERE list_id = %s", [list_id]).fetchone()
    if row is None:
        return None
    return ListRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], bytes(row[8]), row[9])


def _one(conn: Any, sql: str) -> Any:
    row = conn.execute(sql).fetchone()
    return row[0]
