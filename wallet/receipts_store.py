"""The ``usage_receipts`` and ``receipt_pulls`` tables: the receipts the wallet pulled, and how each pull went.

The SQL of :mod:`wallet.pull` (and of the receipts :mod:`wallet.overview` reads) lives here, next
to :mod:`wallet.store` (which creates the tables and migrates them): the receipts themselves (one
chain per holder, ``(holder, seq)``), and the outcome of the last pull from each holder, so that a
gap or a rewritten receipt stays in front of the user as a warning until a later pull goes through.
Rows come back as :class:`~wallet.receipts.HeldReceipt` and :class:`~wallet.receipts.PullState`.
The writes open their own transaction; reads open none.
"""

from __future__ import annotations

import json
from typing import Any

from protocol import ChainBroken, UsageReceipt

from .receipts import HeldReceipt, PullState
from .store import Store, dumps

__all__ = ["ReceiptStore"]

_RECEIPT_COLUMNS = "holder, seq, cid, consent_id, at, presenter, items, purpose, outcome, reason, received_at"
_PULL_COLUMNS = "holder, holder_url, last_seq, pulled_at, error, detail, failed_at"


def _maybe_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _maybe_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _receipt(row: dict[str, Any]) -> HeldReceipt:
    """A ``usage_receipts`` row (its items are stored as JSON text)."""
    return HeldReceipt(
        holder=str(row["holder"]), seq=int(row["seq"]), cid=str(row["cid"]), consent_id=str(row["consent_id"]),
        at=int(row["at"]), presenter=str(row["presenter"]), items=tuple(json.loads(row["items"])),
        purpose=str(row["purpose"]), outcome=str(row["outcome"]), reason=_maybe_str(row["reason"]),
        received_at=int(row["received_at"]))


def _pull(row: dict[str, Any]) -> PullState:
    """A ``receipt_pulls`` row."""
    return PullState(
        holder=str(row["holder"]), holder_url=str(row["holder_url"]), last_seq=int(row["last_seq"]),
        pulled_at=_maybe_int(row["pulled_at"]), error=_maybe_str(row["error"]), detail=_maybe_str(row["detail"]),
        failed_at=_maybe_int(row["failed_at"]))


class ReceiptStore:
    """The wallet's receipts and pull states, over its :class:`~wallet.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- pulling ----------------------------------------------------------------------------

    def holders(self) -> list[tuple[str, str]]:
        """``(holder DID, holder URL)`` of every holder the wallet is linked to, first linked first."""
        return [(str(r["holder"]), str(r["holder_url"]))
                for r in self.store.rows("SELECT holder, holder_url FROM links ORDER BY linked_at, holder")]

    def position(self, holder: str) -> tuple[int, bytes | None]:
        """``(seq, signed bytes)`` of the newest receipt held from ``holder`` (``(0, None)``: none yet)."""
        row = self.store.row("SELECT seq, raw FROM usage_receipts WHERE holder = ? ORDER BY seq DESC LIMIT 1",
                             (holder,))
        return (0, None) if row is None else (int(row["seq"]), bytes(row["raw"]))

    def add(self, holder: str, holder_url: str, receipts: list[UsageReceipt], now: int) -> None:
        """Store receipts already verified and chain-checked (in order), in one transaction.

        A receipt already held (a concurrent pull stored it first) is skipped; one held with the
        same number but another CID is ``chain_broken`` and nothing of the batch is stored.
        """
        with self.store.transaction() as db:
            for r in receipts:
                held = db.conn.execute("SELECT cid FROM usage_receipts WHERE holder = ? AND seq = ?",
                                       (holder, r.seq)).fetchone()
                if held is not None:  # a concurrent pull (``sync`` while ``serve`` runs) stored it first
                    if held[0] != r.cid:
                        raise ChainBroken(f"receipt {r.seq} differs from the one already held")
                    continue
                db.conn.execute(
                    "INSERT INTO usage_receipts (holder, seq, cid, consent_id, at, presenter, items, purpose, "
                    "outcome, reason, raw, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (holder, r.seq, r.cid, r.consent_id, r.issued_at, r.presenter, dumps(list(r.items)),
                     r.purpose, r.outcome, r.reason, r.raw, now))
            if receipts:
                self._state(holder, holder_url, receipts[-1].seq)

    def _state(self, holder: str, holder_url: str, last_seq: int) -> None:
        self.store.db.conn.execute(
            "INSERT INTO receipt_pulls (holder, holder_url, last_seq) VALUES (?, ?, ?) "
            "ON CONFLICT (holder) DO UPDATE SET holder_url = excluded.holder_url, last_seq = excluded.last_seq",
            (holder, holder_url, last_seq))

    def succeeded(self, holder: str, holder_url: str, now: int) -> None:
        """A pull from ``holder`` went through: clear any warning."""
        last, _ = self.position(holder)
        with self.store.transaction() as db:
            self._state(holder, holder_url, last)
            db.conn.execute("UPDATE receipt_pulls SET pulled_at = ?, error = NULL, detail = NULL, failed_at = NULL "
                            "WHERE holder = ?", (now, holder))

    def failed(self, holder: str, holder_url: str, code: str, detail: str, now: int) -> None:
        """A pull from ``holder`` stopped at a problem: keep it (``detail`` cut to 500 characters) to show the user."""
        last, _ = self.position(holder)
        with self.store.transaction() as db:
            self._state(holder, holder_url, last)
            db.conn.execute("UPDATE receipt_pulls SET error = ?, detail = ?, failed_at = ? WHERE holder = ?",
                            (code, detail[:500], now, holder))

    # -- reading ----------------------------------------------------------------------------

    def of_consent(self, consent_id: str) -> list[HeldReceipt]:
        """Receipts about one consent, oldest first."""
        return [_receipt(r) for r in self.store.rows(f"SELECT {_RECEIPT_COLUMNS} FROM usage_receipts "
                                                     "WHERE consent_id = ? ORDER BY at, holder, seq", (consent_id,))]

    def all(self) -> list[HeldReceipt]:
        """Every receipt held, oldest first."""
        return [_receipt(r) for r in self.store.rows(f"SELECT {_RECEIPT_COLUMNS} FROM usage_receipts "
                                                     "ORDER BY at, holder, seq")]

    def states(self) -> list[PullState]:
        """The pull state of every holder pulled from at least once."""
        return [_pull(r) for r in self.store.rows(f"SELECT {_PULL_COLUMNS} FROM receipt_pulls ORDER BY holder")]

    def warnings(self) -> list[PullState]:
        """Holders whose last pull stopped at a problem."""
        return [s for s in self.states() if s.error is not None]

    # -- what is new (:mod:`wallet.overview`) -------------------------------------------------

    def last_uses(self) -> dict[str, int]:
        """When each consent was last used: the time of its newest ``released`` receipt (consents
        never used, or only refused, are absent)."""
        rows = self.store.rows("SELECT consent_id, MAX(at) AS at FROM usage_receipts WHERE outcome = 'released' "
                               "GROUP BY consent_id")
        return {str(r["consent_id"]): int(r["at"]) for r in rows}

    def mark(self) -> int:
        """Where the receipts taken in so far end (0: none yet); :meth:`taken_after` starts after it."""
        row = self.store.row("SELECT MAX(rowid) AS mark FROM usage_receipts")
        return int((row or {}).get("mark") or 0)

    def taken_after(self, mark: int, *, limit: int = 200) -> list[HeldReceipt]:
        """Up to ``limit`` receipts taken in after :meth:`mark` gave ``mark`` (by the order they were
        stored, not by time: a receipt stored in the same second is still after), newest first."""
        return [_receipt(r) for r in self.store.rows(f"SELECT {_RECEIPT_COLUMNS} FROM usage_receipts WHERE rowid > ? "
                                                     "ORDER BY at DESC, seq DESC LIMIT ?", (mark, limit))]
