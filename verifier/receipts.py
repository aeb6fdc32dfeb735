"""Usage receipts at the holder: one signed :class:`~protocol.UsageReceipt` per attributable attempt.

Every presentation the holder can attribute to a customer (both signatures verified, the
consent's signer linked) gets a receipt, released or refused, numbered and hash-chained per
customer.  What a receipt says is fixed in the transaction that writes the provision or refusal
record (:meth:`ReceiptLog.append` runs on the caller's connection), so no release happens
without its receipt and the chain has no holes.

**Signed when first served.**  The receipt's signature and its ``prev`` (the CID of the
previous receipt's signed bytes) are made when a wallet first asks for it
(:meth:`ReceiptLog.of_customer`), in ``seq`` order, not on the release path: signing a receipt
(its deterministic CBOR, the COSE envelope and an Ed25519 signature) cost about a fifth of a
release's CPU, and nobody reads a receipt before the wallet pulls it.  Both the CBOR and
Ed25519 are deterministic, so the bytes are the same as if they had been signed at once.  A
stored receipt is signed once: the table's trigger allows exactly one change of a row,
``raw`` from NULL to the signed bytes, and no delete.

:meth:`ReceiptLog.answer` serves a wallet's signed :class:`~protocol.ReceiptQuery` (spec 7.7):
audience, time, link and single use are checked, in that order, before anything is read.

SQL lives here and nowhere else; the table is created by a ``sqlite_utils`` migration set
(:data:`MIGRATIONS`) on SQLite and by :data:`POSTGRES_SCHEMA` on PostgreSQL, and rows leave as
:class:`StoredReceipt`.  With many workers the per-customer chain stays one chain because
:meth:`ReceiptLog.append` runs inside the records transaction, which holds the cluster-wide
records lock (:data:`verifier.records.RECORDS_LOCK`); signing stores its bytes under the same lock.

**Signed without holding the database.**  Releases commit through the database lock, on the
event loop; a page of 100 receipts takes ~10 ms to sign.  So :meth:`ReceiptLog.sign_pending`
takes the lock to read what to sign, signs with no lock held, and takes it again to store the
bytes (``bench/receipts.py``: the longest wait of a commit during a pull went from ~9 ms to
~1 ms).  Two signers of the same receipts (two wallets' queries, two workers) make the same
bytes, since the signature and the encoding are deterministic; a row another signer stored
first is kept as it is, and the chain goes on from its bytes.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from protocol import KeyPair, ReceiptQuery, UsageReceipt, cid_binary, cid_bytes, cid_text, clock
from protocol.errors import NotLinked, TooLarge, WrongAudience
from protocol.receipt import MAX_SEQ
from protocol.receipt_query import QUERY_LEEWAY

from .errors import RecordsTampered
from .records import RECORDS_LOCK
from .replay import ReplayCache
from .store import HolderDatabase

__all__ = ["MAX_QUERY_SIZE", "MIGRATIONS", "PAGE_SIZE", "POSTGRES_SCHEMA", "Attempt", "ReceiptLog", "ReceiptPage",
           "StoredReceipt", "consent_binary"]

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


#: The columns of a receipt row besides its signature: they never change once written.
_CLAIM_COLUMNS = ("customer_id", "seq", "at", "user", "consent_id", "outcome", "reason", "presenter", "items",
                  "purpose")
#: When an update of a row is refused (SQLite): anything but ``raw`` from NULL to the signed bytes.
_SIGN_ONCE = " OR ".join(["OLD.raw IS NOT NULL", "NEW.raw IS NULL",
                          *(f"NEW.{c} IS NOT OLD.{c}" for c in _CLAIM_COLUMNS)])


@MIGRATIONS()
def sign_when_served(db: sqlite_utils.Database) -> None:
    """Receipts are signed when first served: ``raw`` may be NULL until then, and the claims it is
    signed from (presenter, items, purpose) are kept.  The table is rebuilt because SQLite cannot
    drop a NOT NULL; receipts already signed keep their bytes."""
    db.execute("DROP TRIGGER receipts_no_update")
    db.execute("DROP TRIGGER receipts_no_delete")
    db.execute("""CREATE TABLE receipts_signed_when_served (
        customer_id TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, user TEXT NOT NULL,
        consent_id TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT, raw BLOB,
        presenter TEXT, items TEXT, purpose TEXT,
        PRIMARY KEY (customer_id, seq))""")
    db.execute("INSERT INTO receipts_signed_when_served (customer_id, seq, at, user, consent_id, outcome, reason, raw)"
               " SELECT customer_id, seq, at, user, consent_id, outcome, reason, raw FROM receipts")
    db.execute("DROP TABLE receipts")
    db.execute("ALTER TABLE receipts_signed_when_served RENAME TO receipts")
    db.execute(f"""CREATE TRIGGER receipts_sign_once BEFORE UPDATE ON receipts WHEN {_SIGN_ONCE}
        BEGIN SELECT RAISE(ABORT, 'usage receipts are append-only: a receipt is signed once, then never changed');
        END""")
    db.execute("""CREATE TRIGGER receipts_no_delete BEFORE DELETE ON receipts
        BEGIN SELECT RAISE(ABORT, 'usage receipts are append-only'); END""")


#: The receipts table on PostgreSQL: the columns of :func:`create_receipts` and :func:`sign_when_served`,
#: append-only by trigger (one change of a row: ``raw`` from NULL to the signed bytes).
POSTGRES_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS receipts (
        customer_id TEXT NOT NULL, seq BIGINT NOT NULL, at BIGINT NOT NULL, "user" TEXT NOT NULL,
        consent_id TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT, raw BYTEA NOT NULL,
        PRIMARY KEY (customer_id, seq))""",
    "ALTER TABLE receipts ALTER COLUMN raw DROP NOT NULL",
    "ALTER TABLE receipts ADD COLUMN IF NOT EXISTS presenter TEXT",
    "ALTER TABLE receipts ADD COLUMN IF NOT EXISTS items TEXT",
    "ALTER TABLE receipts ADD COLUMN IF NOT EXISTS purpose TEXT",
    f"""CREATE OR REPLACE FUNCTION copyme_receipts_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN
          IF TG_OP = 'UPDATE' AND OLD.raw IS NULL AND NEW.raw IS NOT NULL
             AND ({", ".join(f'NEW."{c}"' for c in _CLAIM_COLUMNS)})
             IS NOT DISTINCT FROM ({", ".join(f'OLD."{c}"' for c in _CLAIM_COLUMNS)}) THEN
            RETURN NEW;
          END IF;
          RAISE EXCEPTION 'usage receipts are append-only';
        END $$""",
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
        # each customer's newest seq as last written, with the database generation it is good for
        # (see verifier.store.Database.generation)
        self._heads: dict[str, tuple[int | None, int]] = {}
        with db.lock:
            if isinstance(db, sqlite_utils.Database):
                MIGRATIONS.apply(db)
            else:
                for statement in POSTGRES_SCHEMA:
                    db.execute(statement)
        self.queries = ReplayCache(db, table="receipt_queries")

    def append(self, attempt: Attempt, outcome: str, reason: str | None, now: int) -> int:
        """Insert the customer's next receipt, unsigned, on the holder's connection; its ``seq``.

        Call with the database lock held, inside the transaction that writes the attempt's record.
        What the receipt says is fixed here; :meth:`of_customer` signs it when it is first served.
        Every field comes from a presentation that passed the same checks the receipt's own
        constructor makes (did:key, item ids, DPV purpose) and from the holder's reason codes.
        """
        conn = self._db.conn
        last = self._last_seq(conn, attempt.customer_id)
        seq = last + 1
        conn.execute("INSERT INTO receipts (customer_id, seq, at, user, consent_id, outcome, reason, presenter, items,"
                     " purpose) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [attempt.customer_id, seq, now, attempt.user, _consent_text(attempt.consent), outcome, reason,
                      attempt.presenter, " ".join(attempt.items), attempt.purpose])
        if len(self._heads) >= _HEADS_KEPT:  # a bound, not a policy: a head not kept is read again
            self._heads.clear()
        self._heads[attempt.customer_id] = (self._db.generation, seq)
        return seq

    def _last_seq(self, conn: Any, customer_id: str) -> int:
        """The ``seq`` of the customer's newest receipt (0: none): kept from the last write while
        the database generation holds, else read."""
        generation, head = self._heads.get(customer_id, (None, 0))
        if generation is not None and generation == self._db.generation:
            return head
        last = conn.execute("SELECT MAX(seq) FROM receipts WHERE customer_id = ?", [customer_id]).fetchone()
        head = 0 if last is None or last[0] is None else int(last[0])
        if len(self._heads) >= _HEADS_KEPT:
            self._heads.clear()
        self._heads[customer_id] = (self._db.generation, head)
        return head

    def of_customer(self, customer_id: str, after: int = 0, limit: int = PAGE_SIZE) -> ReceiptPage:
        """Receipts of ``customer_id`` with ``seq`` > ``after``, oldest first, at most ``limit``, signed.

        Receipts not yet signed up to the last one of the page are signed first, in ``seq`` order.
        """
        with self._db.lock:
            rows = self._page(customer_id, after, limit)
            first = next((int(r[1]) for r in rows[:limit] if r[6] is None), None)
            if first is None:
                return ReceiptPage(tuple(_stored(r) for r in rows[:limit]), len(rows) > limit)
            # the unsigned receipts are the newest: all before ``first`` are signed, unless it is
            # the page's first and the one before it is not (a query with a far ``after``)
            start = first - 1 if first > after + 1 or self._is_signed(customer_id, after) else 0
            upto = int(rows[min(limit, len(rows)) - 1][1])
        self.sign_pending(customer_id, start=start, upto=upto)  # takes the lock only to read and to write
        with self._db.lock:
            rows = self._page(customer_id, after, limit)
        # receipts appended meanwhile follow the signed ones unsigned: the page stops before them
        signed = tuple(_stored(r) for r in itertools.takewhile(lambda r: r[6] is not None, rows[:limit]))
        return ReceiptPage(signed, len(rows) > len(signed))

    def _page(self, customer_id: str, after: int, limit: int) -> list[Any]:
        return list(self._db.conn.execute(
            "SELECT customer_id, seq, at, consent_id, outcome, reason, raw FROM receipts "
            "WHERE customer_id = ? AND seq > ? ORDER BY seq LIMIT ?", [customer_id, after, limit + 1]).fetchall())

    def sign_pending(self, customer_id: str, *, start: int = 0, upto: int | None = None) -> int:
        """Sign the customer's unsigned receipts after ``start`` (all, or those with ``seq`` <= ``upto``)
        in ``seq`` order, :data:`PAGE_SIZE` per transaction; how many were signed.

        Each one's ``prev`` is the CID of the signed bytes before it, so they are signed oldest
        first; the unsigned receipts of a customer are always its newest.  ``start`` is a ``seq``
        up to which every receipt is known to be signed: the search for unsigned ones begins
        after it instead of at the customer's first receipt.
        """
        signed = 0
        while True:
            with self._db.lock:  # what to sign, and the signed bytes it chains on to
                pending = self._db.conn.execute(
                    "SELECT seq, at, user, consent_id, outcome, reason, presenter, items, purpose FROM receipts "
                    "WHERE customer_id = ? AND seq > ? AND seq <= ? AND raw IS NULL ORDER BY seq LIMIT ?",
                    [customer_id, start, MAX_SEQ if upto is None else upto, PAGE_SIZE]).fetchall()
                if not pending:
                    return signed
                base = self._signed(self._db.conn, customer_id, int(pending[0][0]) - 1)
            made = self._sign(pending, base)  # without the lock: releases keep committing meanwhile
            with self._db.lock, self._db.transaction() as conn:
                self._db.serialise(RECORDS_LOCK)  # one writer of a chain at a time, across workers too
                written = self._store_signed(conn, customer_id, base, made)
            signed += written
            if written:
                start = int(pending[written - 1][0])

    def _sign(self, pending: list[Any], prev: bytes | None) -> list[tuple[int, bytes]]:
        """``(seq, signed bytes)`` of each pending row, oldest first, each chained on to the one before."""
        made = []
        for seq, at, user, consent_id, outcome, reason, presenter, items, purpose in pending:
            receipt = UsageReceipt(holder=self._key.did, user=user, consent=consent_binary(consent_id),
                                   presenter=presenter, items=tuple(items.split(" ")), purpose=purpose,
                                   outcome=outcome, issued_at=int(at), seq=int(seq),
                                   prev=None if prev is None else cid_bytes(prev), reason=reason)
            prev = receipt.sign(self._key)
            made.append((int(seq), prev))
        return made

    def _store_signed(self, conn: Any, customer_id: str, base: bytes | None, made: list[tuple[int, bytes]]) -> int:
        """Store what :meth:`_sign` made, inside the caller's transaction; how many leading receipts
        of ``made`` now hold exactly those bytes (the chain is extended only where it still holds).

        Another signer (a second worker, another wallet's query) may have signed some of them
        meanwhile.  Signing is deterministic, so it stored the same bytes and they are counted;
        bytes that differ (another key) end the run, and the caller reads again from there.  The
        receipt they chain on to was signed before and a signed row never changes (the trigger),
        so a different one there means an edited file.
        """
        if self._signed(conn, customer_id, made[0][0] - 1) != base:
            raise RecordsTampered(f"receipt {made[0][0] - 1} of a customer changed while those after it were signed")
        written = 0
        for seq, raw in made:
            stored = conn.execute("UPDATE receipts SET raw = ? WHERE customer_id = ? AND seq = ? AND raw IS NULL",
                                  [raw, customer_id, seq]).rowcount
            if stored != 1 and self._signed(conn, customer_id, seq) != raw:
                break
            written += 1
        return written

    def _is_signed(self, customer_id: str, seq: int) -> bool:
        """Whether receipt ``seq`` of the customer is signed (``seq`` 0: there is none, so yes)."""
        if seq == 0:
            return True
        row = self._db.conn.execute("SELECT raw IS NOT NULL FROM receipts WHERE customer_id = ? AND seq = ?",
                                    [customer_id, seq]).fetchone()
        return row is not None and bool(row[0])

    @staticmethod
    def _signed(conn: Any, customer_id: str, seq: int) -> bytes | None:
        """The signed bytes of receipt ``seq`` (``None`` for 0), which must exist and be signed."""
        if seq == 0:
            return None
        row = conn.execute("SELECT raw FROM receipts WHERE customer_id = ? AND seq = ?", [customer_id, seq]).fetchone()
        if row is None or row[0] is None:  # receipts are signed oldest first: only an edited table gets here
            raise RecordsTampered(f"receipt {seq} of a customer is missing or unsigned before a later one")
        return bytes(row[0])

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


#: The binary CID of a consent id, remembered: a consent is presented again and again, and its
#: base32 is decoded in pure Python (the holder's releases and the receipts signed later share it).
consent_binary = functools.lru_cache(maxsize=4096)(cid_binary)


@functools.lru_cache(maxsize=4096)
def _consent_text(consent: bytes) -> str:
    """The text CID of a consent (remembered: a consent is presented again and again)."""
    return cid_text(consent)


def _stored(row: Any) -> StoredReceipt:
    return StoredReceipt(customer_id=row[0], seq=int(row[1]), at=int(row[2]), consent_id=row[3],
                         outcome=row[4], reason=row[5], raw=bytes(row[6]))
