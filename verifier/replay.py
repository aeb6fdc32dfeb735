"""The replay cache: every presentation id (and holder nonce) is good exactly once.

An id only has to be remembered while its presentation could still pass the time window, so
each entry carries an expiry and is forgotten after it.  Entries live in SQLite so that a
restart does not reopen the window for replays; a small in-memory set in front answers the
common repeat without touching the disk.  The SQLite ``PRIMARY KEY`` is the real arbiter: two
threads racing with the same id cannot both win.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections import OrderedDict

from protocol import clock
from protocol.errors import Replayed

from .store import Database

__all__ = ["NONCE_TTL", "NonceStore", "ReplayCache"]

#: How long a holder nonce from ``GET /v1/nonce`` may be used (seconds).
NONCE_TTL = 120
_FRONT_MAX = 65536
_PURGE_EVERY = 1024


class ReplayCache:
    """Single-use keys with expiry, durable in SQLite with an in-memory front."""

    def __init__(self, db: Database, table: str = "replay") -> None:
        self._db = db
        self._table = table
        self._front: OrderedDict[bytes, int] = OrderedDict()
        self._since_purge = 0
        with db.lock:
            db.execute(f"CREATE TABLE IF NOT EXISTS [{table}] (key BLOB PRIMARY KEY, expires_at INTEGER NOT NULL)")
            db.execute(f"CREATE INDEX IF NOT EXISTS [{table}_expiry] ON [{table}] (expires_at)")

    def use(self, key: bytes, expires_at: int, now: int | None = None) -> None:
        """Record ``key`` as used until ``expires_at``; raise ``replayed`` if it already was."""
        current = clock.now(now)
        seen = self._front.get(key)
        if seen is not None and seen > current:
            raise Replayed("this presentation was already used")
        with self._db.lock:
            try:
                self._db.execute(f"INSERT INTO [{self._table}] (key, expires_at) VALUES (?, ?)", [key, expires_at])
            except sqlite3.IntegrityError:
                row = self._db.execute(f"SELECT expires_at FROM [{self._table}] WHERE key = ?", [key]).fetchone()
                if row is not None and row[0] > current:
                    raise Replayed("this presentation was already used") from None
                self._db.execute(f"UPDATE [{self._table}] SET expires_at = ? WHERE key = ?", [expires_at, key])
            self._since_purge += 1
            if self._since_purge >= _PURGE_EVERY:
                self.purge(current)
        self._front[key] = expires_at
        if len(self._front) > _FRONT_MAX:
            self._front.popitem(last=False)

    def purge(self, now: int | None = None) -> int:
        """Forget expired entries; returns how many rows went."""
        current = clock.now(now)
        with self._db.lock:
            cursor = self._db.execute(f"DELETE FROM [{self._table}] WHERE expires_at <= ?", [current])
            self._since_purge = 0
        for key in [k for k, exp in self._front.items() if exp <= current]:
            del self._front[key]
        return int(cursor.rowcount)


class NonceStore:
    """Holder nonces: issued by ``GET /v1/nonce``, each accepted in one presentation before it expires."""

    def __init__(self, db: Database, ttl: int = NONCE_TTL) -> None:
        self._db = db
        self.ttl = ttl
        with db.lock:
            db.execute("CREATE TABLE IF NOT EXISTS nonces (nonce BLOB PRIMARY KEY, expires_at INTEGER NOT NULL)")

    def issue(self, now: int | None = None, nonce: bytes | None = None) -> bytes:
        """A fresh random nonce, remembered until it expires."""
        current = clock.now(now)
        value = nonce if nonce is not None else secrets.token_bytes(16)
        with self._db.lock:
            self._db.execute("DELETE FROM nonces WHERE expires_at <= ?", [current])
            self._db.execute("INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)", [value, current + self.ttl])
        return value

    def consume(self, nonce: bytes, now: int | None = None) -> None:
        """Use ``nonce`` up; raise ``replayed`` if it was never issued, is used, or has expired."""
        current = clock.now(now)
        with self._db.lock:
            cursor = self._db.execute("DELETE FROM nonces WHERE nonce = ? AND expires_at > ?", [nonce, current])
        if cursor.rowcount != 1:
            raise Replayed("the nonce was not issued by this holder, was already used, or has expired")
