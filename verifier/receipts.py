"""Usage receipts at the holder: one signed :class:`~protocol.UsageReceipt` per attributable attempt.

Every presentation the holder can attribute to a customer (both signatures verified, the
consent's signer linked) gets a receipt, released or refused, numbered and hash-chained per
customer.  A receipt is signed and stored inside the transaction that writes the provision or
refusal record (:meth:`ReceiptLog.append` runs on the caller's connection), so no release
happens without its receipt and the chain has no holes.

:meth:`ReceiptLog.answer` serves a wallet's signed :class:`~protocol.ReceiptQuery` (spec 7.7):
audience, time, link and single use are checked, in that order, before anything is read.

SQL lives here and nowhere else; the table is created by a ``sqlite_utils`` migration set
(:data:`MIGRATIONS`) on SQLite and by :data:`POSTGRES_SCHEMA` on PostgreSQL, and rows leave as
:class:`StoredReceipt`.  With many workers the per-customer chain stays one chain because
:meth:`ReceiptLog.append` runs inside the records transaction, which holds the cluster-wide
records lock (:data:`verifier.records.RECORDS_LOCK`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from protocol import KeyPair, ReceiptQuery, UsageReceipt, cid_bytes, cid_text, clock
from protocol.errors import NotLinked, TooLarge, WrongAudience
from protocol.receipt_query import QUERY_LEEWAY

from .replay import ReplayCache
from .store import HolderDatabase

__all__ = ["MAX_QUERY_SIZE", "MIGRATIONS", "PAGE_SIZE", "POSTGRES_SCHEMA", "Attempt", "ReceiptLog", "ReceiptPage",
           "StoredReceipt"]

#: Largest receipt query body accepted (bytes).
MAX_QUERY_SIZE = 4096
#: Most receipts in one answer; the wallet asks again while ``more`` is true.
PAGE_SIZE = 100
#: Most customers whose chain head is kept in memory (SQLite) between writes.
_HEADS_KEPT = 65536

MIGRATIONS = sqlite_utils.Migrations("copyme-verifier-receipts")


@MIGRATIONS()
def create_receipts(db: sqlite_utils.Database) -> None:
    """The per-customer receipt chain: ``(customer_id, seq)`` is the key, ``raw`` the signed bytes."""
    db.execute("""CREATE TABLE receipts (
        customer_id TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, user TEXT NOT NULL,
        consent_id TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT, raw BLOB NOT NULL,
        PRIMARY KEY (customer_id, seq))""")
    db.execute("""CREATE TRIGGER receipts_no_update BEFORE UPDATE ON receipts
        BEGIN SELECT RAISE(ABORT, 'usage receipts are append-only'); END""")
    db.execute("""CREATE TRIGGER receipts_no_delete BEFORE DELETE ON receipts
        BEGIN SELECT RAISE(ABORT, 'usage receipts are append-only'); END""")


#: The receipts table on PostgreSQL: the columns of :func:`create_receipts`, append-only by trigger.
POSTGRES_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS receipts (
        customer_id TEXT NOT NULL, seq BIGINT NOT NULL, at BIGINT NOT NULL, "user" TEXT NOT NULL,
        consent_id TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT, raw BYTEA NOT NULL,
        PRIMARY KEY (customer_id, seq))""",
    """CREATE OR REPLACE FUNCTION copyme_receipts_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'usage receipts are append-only'; END $$""",
    """CREATE OR REPLACE TRIGGER receipts_append_only BEFORE UPDATE OR DELETE ON receipts
        FOR EACH ROW EXECUTE FUNCTION copyme_receipts_append_only()""",
)


@dataclass(frozen=True)
class Attempt:
    """A presentation attributed to a customer: what its receipt will say, apart from the outcome."""

    customer_id: str
    user: str
    consent: bytes
    presenter: str
    items: tuple[str, ...]
    purpose: str


@dataclass(frozen=True)
class StoredReceipt:
    """One stored receipt: its customer, position, and signed bytes."""

    customer_id: str
    seq: int
    at: int
    consent_id: str
    outcome: str
    reason: str | None
    raw: bytes


@dataclass(frozen=True)
class ReceiptPage:
    """The answer to a receipt query: receipts after ``after``, oldest first, and whether more remain."""

    receipts: tuple[StoredReceipt, ...]
    more: bool


class ReceiptLog:
    """A holder's usage receipts: signed in the record's transaction, served to signed queries."""

    def __init__(self, db: HolderDatabase, key: KeyPair, customer_for: Callable[[str], str | None]) -> None:
        self._db = db
        self._key = key
        self._customer_for = customer_for
        # each customer's chain head (seq, binary CID of its raw receipt) as last written, with
        # the database generation it is good for (see verifier.store.Database.generation)
        self._heads: dict[str, tuple[int | None, tuple[int, bytes] | None]] = {}
        with db.lock:
            if isinstance(db, sqlite_utils.Database):
                MIGRATIONS.apply(db)
            else:
                for statement in POSTGRES_SCHEMA:
                    db.execute(statement)
        self.queries = ReplayCache(db, table="receipt_queries")

    def append(self, attempt: Attempt, outcome: str, reason: str | None, now: int) -> UsageReceipt:
        """Sign and insert the customer's next receipt on the holder's connection.

        Call with the database lock held, inside the transaction that writes the attempt's record.
        """
        conn = self._db.conn
        last = self._last(conn, attempt.customer_id)
        seq = 1 if last is None else last[0] + 1
        receipt = UsageReceipt(holder=self._key.did, user=attempt.user, consent=attempt.consent,
                               presenter=attempt.presenter, items=attempt.items, purpose=attempt.purpose,
                               outcome=outcome, issued_at=now, seq=seq,
                               prev=None if last is None else last[1], reason=reason)
        raw = receipt.sign(self._key)
        conn.execute("INSERT INTO receipts (customer_id, seq, at, user, consent_id, outcome, reason, raw) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     [attempt.customer_id, seq, now, attempt.user, _consent_text(attempt.consent), outcome, reason,
                      raw])
        if len(self._heads) >= _HEADS_KEPT:  # a bound, not a policy: a head not kept is read again
            self._heads.clear()
        self._heads[attempt.customer_id] = (self._db.generation, (seq, cid_bytes(raw)))
        return receipt

    def _last(self, conn: Any, customer_id: str) -> tuple[int, bytes] | None:
        """``(seq, binary CID)`` of the customer's newest receipt: kept from the last write while
        the database generation holds, else read."""
        generation, head = self._heads.get(customer_id, (None, None))
        if generation is not None and generation == self._db.generation:
            return head
        last = conn.execute("SELECT seq, raw FROM receipts WHERE customer_id = ? ORDER BY seq DESC LIMIT 1",
                            [customer_id]).fetchone()
        head = None if last is None else (int(last[0]), cid_bytes(bytes(last[1])))
        if len(self._heads) >= _HEADS_KEPT:
            self._heads.clear()
        self._heads[customer_id] = (self._db.generation, head)
        return head

    def of_customer(self, customer_id: str, after: int = 0, limit: int = PAGE_SIZE) -> ReceiptPage:
        """Receipts of ``customer_id`` with ``seq`` > ``after``, oldest first, at most ``limit``."""
        with self._db.lock:
            rows = self._db.conn.execute(
                "SELECT customer_id, seq, at, consent_id, outcome, reason, raw FROM receipts "
                "WHERE customer_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                [customer_id, after, limit + 1]).fetchall()
        found = tuple(_stored(r) for r in rows[:limit])
        return ReceiptPage(found, len(rows) > limit)

    def answer(self, data: bytes, *, now: int | None = None) -> ReceiptPage:
        """Check a wallet's receipt query (spec 7.7) and return its customer's receipts after ``after``.

        Raises ``too_large``, the decode and signature codes, ``wrong_audience``, ``expired`` /
        ``not_yet_valid``, ``not_linked`` or ``replayed``, and then reveals nothing.
        """
        current = clock.now(now)
        if len(data) > MAX_QUERY_SIZE:
            raise TooLarge(f"a receipt query is at most {MAX_QUERY_SIZE} bytes")
        query = ReceiptQuery.decode(data)
        if query.holder != self._key.did:
            raise WrongAudience("this receipt query is meant for another data holder")
        query.check_validity(current)
        customer_id = self._customer_for(query.user)
        if customer_id is None:
            raise NotLinked("the query's signer is not linked to a customer of this holder")
        self.queries.use(query.user.encode() + b"\x00" + query.query_id,
                         query.expires_at + QUERY_LEEWAY + 1, current)
        return self.of_customer(customer_id, query.after)

    def count(self) -> int:
        """How many receipts the holder has signed (all customers)."""
        with self._db.lock:
            row = self._db.conn.execute("SELECT COUNT(*) FROM receipts").fetchone()
        return int(row[0])


@functools.lru_cache(maxsize=4096)
def _consent_text(consent: bytes) -> str:
    """The text CID of a consent (remembered: a consent is presented again and again)."""
    return cid_text(consent)


def _stored(row: Any) -> StoredReceipt:
    return StoredReceipt(customer_id=row[0], seq=int(row[1]), at=int(row[2]), consent_id=row[3],
                         outcome=row[4], reason=row[5], raw=bytes(row[6]))
