"""Usage receipts in the wallet: each data holder's signed word about every use or refused attempt.

Receipts arrive only through :mod:`wallet.pull` (a signed query to a holder the user is linked
to), each verified with the holder's key and checked against the holder's chain before it is
stored; nothing is taken on anyone's unsigned word.  This module is the SQL for them: the
receipts themselves (one chain per holder, ``(holder, seq)``), and the outcome of the last pull
from each holder, so that a gap or a rewritten receipt stays in front of the user as a warning
until a later pull goes through.  Rows leave as :class:`HeldReceipt` and :class:`PullState`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from protocol import ChainBroken, UsageReceipt

from .store import Store, dumps

__all__ = ["HeldReceipt", "PullState", "ReceiptBook"]


@dataclass(frozen=True)
class HeldReceipt:
    """One verified receipt: who signed it, where it is in that holder's chain, and what it says."""

    holder: str
    seq: int
    cid: str
    consent_id: str
    at: int
    presenter: str
    items: tuple[str, ...]
    purpose: str
    outcome: str
    reason: str | None
    received_at: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> HeldReceipt:
        """Build from a ``usage_receipts`` row (items are stored as JSON text)."""
        return cls(row["holder"], row["seq"], row["cid"], row["consent_id"], row["at"], row["presenter"],
                   tuple(json.loads(row["items"])), row["purpose"], row["outcome"], row["reason"],
                   row["received_at"])

    @property
    def refused(self) -> bool:
        """Whether the holder refused this attempt."""
        return self.outcome == "refused"

    def to_json(self) -> dict[str, Any]:
        """Every field, as ``receipts --json`` and ``GET /api/receipts`` show it."""
        out = asdict(self)
        out["items"] = list(self.items)
        return out


@dataclass(frozen=True)
class PullState:
    """Where the wallet stands with one holder: last receipt held, last pull, and its failure if any."""

    holder: str
    holder_url: str
    last_seq: int
    pulled_at: int | None
    error: str | None
    detail: str | None
    failed_at: int | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> PullState:
        """Build from a ``receipt_pulls`` row."""
        return cls(row["holder"], row["holder_url"], row["last_seq"], row["pulled_at"], row["error"],
                   row["detail"], row["failed_at"])

    def to_json(self) -> dict[str, Any]:
        """Every field (the API's ``warnings`` entries)."""
        return asdict(self)


class ReceiptBook:
    """The wallet's receipts and pull states, over its :class:`~wallet.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def holders(self) -> list[tuple[str, str]]:
        """``(holder DID, holder URL)`` of every holder the wallet is linked to."""
        return [(r["holder"], r["holder_url"]) for r in self.store.rows("SELECT holder, holder_url FROM links "
                                                                          "ORDER BY linked_at, holder")]

    def position(self, holder: str) -> tuple[int, bytes | None]:
        """``(seq, signed bytes)`` of the newest receipt held from ``holder`` (``(0, None)``: none yet)."""
        row = self.store.row("SELECT seq, raw FROM usage_receipts WHERE holder = ? ORDER BY seq DESC LIMIT 1",
                             (holder,))
        return (0, None) if row is None else (int(row["seq"]), bytes(row["raw"]))

    def add(self, holder: str, holder_url: str, receipts: list[UsageReceipt], now: int) -> None:
        """Store receipts already verified and chain-checked (in order), in one transaction."""
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
        """A pull from ``holder`` stopped at a problem: keep it to show the user."""
        last, _ = self.position(holder)
        with self.store.transaction() as db:
            self._state(holder, holder_url, last)
            db.conn.execute("UPDATE receipt_pulls SET error = ?, detail = ?, failed_at = ? WHERE holder = ?",
                            (code, detail[:500], now, holder))

    def of_consent(self, consent_id: str) -> list[HeldReceipt]:
        """Receipts about one consent, oldest first."""
        rows = self.store.rows("SELECT * FROM usage_receipts WHERE consent_id = ? ORDER BY at, holder, seq",
                               (consent_id,))
        return [HeldReceipt.from_row(r) for r in rows]

    def all(self) -> list[HeldReceipt]:
        """Every receipt held, oldest first."""
        return [HeldReceipt.from_row(r) for r in self.store.rows("SELECT * FROM usage_receipts "
                                                                  "ORDER BY at, holder, seq")]

    def states(self) -> list[PullState]:
        """The pull state of every holder pulled from at least once."""
        return [PullState.from_row(r) for r in self.store.rows("SELECT * FROM receipt_pulls ORDER BY holder")]

    def warnings(self) -> list[PullState]:
        """Holders whose last pull stopped at a problem."""
        return [s for s in self.states() if s.error is not None]
