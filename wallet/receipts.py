"""Usage receipts in the wallet: each data holder's signed word about every use or refused attempt.

Receipts arrive only through :mod:`wallet.pull` (a signed query to a holder the user is linked
to), each verified with the holder's key and checked against the holder's chain before it is
stored; nothing is taken on anyone's unsigned word.  This module names what the wallet shows of
them: a :class:`HeldReceipt` per receipt, and a :class:`PullState` per holder (the outcome of the
last pull from it, so that a gap or a rewritten receipt stays in front of the user as a warning
until a later pull goes through).  They are kept by :class:`wallet.receipts_store.ReceiptStore`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["HeldReceipt", "PullState"]


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

    def to_json(self) -> dict[str, Any]:
        """Every field (the API's ``warnings`` entries)."""
        return asdict(self)
