"""The replay cache: every presentation id (and holder nonce) is good exactly once.

An id only has to be remembered while its presentation could still pass the time window, so
each entry carries an expiry and is forgotten after it.  Entries live in SQLite so that a
restart does not reopen the window for replays; a small in-memory set in front answers the
common repeat without touching the disk.  The SQLite ``PRIMARY KEY`` is the real arbiter: two
threads racing with the same id cannot both win.

The front holds every id written through the cache (and, after a restart, those still in
SQLite), so checking an id costs no disk read; only when the front had to drop live entries
(more than 65,536 in one window) is a miss confirmed in SQLite until those have expired.

The holder does not commit an id on its own: :class:`Claims` checks it during verification and
the id is written in the *same transaction* as the request's provision (or refusal) record
(:meth:`verifier.records.Records.provision`), so a release costs one commit, and no data leaves
before its replay entry is committed.  :meth:`ReplayCache.use` is the stand-alone form (one
commit of its own) for callers of :func:`verifier.verify_presentation` without a holder.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict

from protocol import clock
from protocol.errors import Replayed

from .store import HolderDatabase

__all__ = ["NONCE_TTL", "Claims", "NonceStore", "ReplayCache"]

#: How long a holder nonce from ``GET /v1/nonce`` may be used (seconds).
NONCE_TTL = 120
_FRONT_MAX = 65536
_PURGE_EVERY = 1024


class ReplayCache:
    """Single-use keys with expiry, durable in SQLite with an in-memory front."""

    def __init__(self, db: HolderDatabase, table: str = "replay") -> None:
        self._db = db
        self._table = table
        self._front: OrderedDict[bytes, int] = OrderedDict()
        self._since_purge = 0
        # The front holds every key written through this cache, so a miss there means "unused"
        # - except for keys it had to drop while still live; until the last of those expires
        # (``_incomplete_until``) a miss is confirmed in SQLite.
        self._incomplete_until = 0
        # On a database other processes write too (PostgreSQL, many workers), the front only
        # knows this process's keys: every miss is confirmed in the database.
        self._shared = db.dialect != "sqlite"
        with db.lock:
            db.execute(f"CREATE TABLE IF NOT EXISTS [{table}] (key BLOB PRIMARY KEY, expires_at INTEGER NOT NULL)")
            db.execute(f"CREATE INDEX IF NOT EXISTS [{table}_expiry] ON [{table}] (expires_at)")
            rows = db.execute(f"SELECT key, expires_at FROM [{table}] ORDER BY expires_at").fetchall()
        for key, expires_at in rows:  # entries from before a restart
            self.remember(bytes(key), int(expires_at))

    def use(self, key: bytes, expires_at: int, now: int | None = None) -> None:
        """Record ``key`` as used until ``expires_at`` (its own commit); raise ``replayed`` if it already was."""
        current = clock.now(now)
        self._check_front(key, current)
        with self._db.lock:
            self.insert(key, expires_at, current)
            self.remember(key, expires_at)

    def check(self, key: bytes, now: int | None = None) -> None:
        """Raise ``replayed`` if ``key`` is in use now; writes nothing (see :class:`Claims`)."""
        current = clock.now(now)
        self._check_front(key, current)
        if current >= self._incomplete_until and not self._shared:
            return  # the front is complete: a miss is an unused key, no disk read needed
        with self._db.lock:
            row = self._db.conn.execute(f"SELECT expires_at FROM [{self._table}] WHERE key = ?", [key]).fetchone()
        if row is not None and row[0] > current:
            raise Replayed("this presentation was already used")

    def _check_front(self, key: bytes, current: int) -> None:
        seen = self._front.get(key)
        if seen is not None and seen > current:
            raise Replayed("this presentation was already used")

    def insert(self, key: bytes, expires_at: int, now: int) -> None:
        """Write ``key`` on the caller's connection; the caller holds the lock and commits.

        Raises ``replayed`` when a live entry exists (the ``PRIMARY KEY`` decides races: on
        PostgreSQL a racing insert of the same key waits for the first one's commit).
        """
        conn = self._db.conn
        inserted = conn.execute(f"INSERT INTO [{self._table}] (key, expires_at) VALUES (?, ?) "
                                "ON CONFLICT (key) DO NOTHING", [key, expires_at]).rowcount
        if inserted != 1:
            row = conn.execute(f"SELECT expires_at FROM [{self._table}] WHERE key = ?", [key]).fetchone()
            if row is not None and row[0] > now:
                raise Replayed("this presentation was already used") from None
            conn.execute(f"UPDATE [{self._table}] SET expires_at = ? WHERE key = ?", [expires_at, key])
        self._since_purge += 1
        if self._since_purge >= _PURGE_EVERY:
            conn.execute(f"DELETE FROM [{self._table}] WHERE expires_at <= ?", [now])
            self._since_purge = 0

    def remember(self, key: bytes, expires_at: int) -> None:
        """Put a committed ``key`` in the in-memory front (call with the lock held)."""
        self._front[key] = expires_at
        if len(self._front) > _FRONT_MAX:
            _, dropped = self._front.popitem(last=False)
            self._incomplete_until = max(self._incomplete_until, dropped)


class NonceStore:
    """Holder nonces: issued by ``GET /v1/nonce``, each accepted in one presentation before it expires.

    Issuing costs the same however many nonces are outstanding: expired ones are purged through
    an index on ``expires_at`` and at most once per second (each issue used to scan the whole
    table: 1,200 issues/s fell to 476/s as unused nonces piled up).
    """

    def __init__(self, db: HolderDatabase, ttl: int = NONCE_TTL) -> None:
        self._db = db
        self.ttl = ttl
        self._purged_at: int | None = None
        with db.lock:
            db.execute("CREATE TABLE IF NOT EXISTS nonces (nonce BLOB PRIMARY KEY, expires_at INTEGER NOT NULL)")
            db.execute("CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces (expires_at)")

    def issue(self, now: int | None = None, nonce: bytes | None = None) -> bytes:
        """A fresh random nonce, remembered until it expires."""
        current = clock.now(now)
        value = nonce if nonce is not None else secrets.token_bytes(16)
        with self._db.lock:
            if self._purged_at != current:  # once per second: expired nonces only take space
                self._db.execute("DELETE FROM nonces WHERE expires_at <= ?", [current])
                self._purged_at = current
            self._db.execute("INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)", [value, current + self.ttl])
        return value

    def consume(self, nonce: bytes, now: int | None = None) -> None:
        """Use ``nonce`` up (its own commit); raise ``replayed`` if never issued, used, or expired."""
        current = clock.now(now)
        with self._db.lock:
            self.take(nonce, current)

    def check(self, nonce: bytes, now: int | None = None) -> None:
        """Raise ``replayed`` unless ``nonce`` is usable now; writes nothing (see :class:`Claims`)."""
        current = clock.now(now)
        with self._db.lock:
            row = self._db.conn.execute("SELECT 1 FROM nonces WHERE nonce = ? AND expires_at > ?",
                                        [nonce, current]).fetchone()
        if row is None:
            raise Replayed("the nonce was not issued by this holder, was already used, or has expired")

    def take(self, nonce: bytes, now: int) -> None:
        """Delete ``nonce`` on the caller's connection (lock held, caller commits); ``replayed`` if gone."""
        cursor = self._db.conn.execute("DELETE FROM nonces WHERE nonce = ? AND expires_at > ?", [nonce, now])
        if cursor.rowcount != 1:
            raise Replayed("the nonce was not issued by this holder, was already used, or has expired")


class Claims:
    """The single-use values one request uses up, checked now and written with its record.

    :func:`~verifier.verify.verify_presentation` calls :meth:`use` and :meth:`consume` at the
    point of the replay check, as it would on a :class:`ReplayCache` and a :class:`NonceStore`;
    here they only *check* (so the reason order of refusals is kept) and remember.  The holder
    then calls :meth:`write` inside the transaction that appends the request's record; if another
    request won the race meanwhile, that raises ``replayed`` and the transaction rolls back.
    """

    def __init__(self, db: HolderDatabase, replay: ReplayCache, nonces: NonceStore | None) -> None:
        self._db = db
        self.replay = replay
        self.nonces = nonces
        self._keys: list[tuple[bytes, int]] = []
        self._nonces: list[bytes] = []

    def use(self, key: bytes, expires_at: int, now: int | None = None) -> None:
        """Check ``key`` is unused; it is written by :meth:`write`."""
        self.replay.check(key, now)
        self._keys.append((key, expires_at))

    def consume(self, nonce: bytes, now: int | None = None) -> None:
        """Check ``nonce`` is usable; it is used up by :meth:`write`."""
        if self.nonces is None:
            raise Replayed("this holder issued no nonce")
        self.nonces.check(nonce, now)
        self._nonces.append(nonce)

    def __bool__(self) -> bool:
        return bool(self._keys or self._nonces)

    def write(self, now: int) -> None:
        """Write every claim on the holder's connection (lock held, inside the caller's transaction)."""
        for nonce in self._nonces:
            assert self.nonces is not None
            self.nonces.take(nonce, now)
        for key, expires_at in self._keys:
            self.replay.insert(key, expires_at, now)

    def committed(self) -> None:
        """After the commit: let the in-memory front answer the next repeat (lock held)."""
        for key, expires_at in self._keys:
            self.replay.remember(key, expires_at)

    def commit(self, now: int) -> None:
        """Write the claims in a transaction of their own (a decision that writes no record)."""
        if not self:
            return
        with self._db.lock:
            with self._db.transaction():
                self.write(now)
            self.committed()
