"""The ``rights`` table: stop-use and erasure requests the wallet sent, with their signed answers.

The SQL of :mod:`wallet.rights` lives here, next to :mod:`wallet.store` (which creates the table
and migrates it); rows come back as :class:`RightsRow`.  Writes are made inside the caller's
:meth:`~wallet.store.Store.transaction`; reads open none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from protocol import NotFound

from .store import Store

__all__ = ["RightsRow", "RightsStore"]


@dataclass(frozen=True)
class RightsRow:
    """One rights request as stored: our signed request (``raw``, ``cid``), where it went, how its
    delivery went, and the data user's signed acknowledgement (``ack``, with its due date) and
    completion (``done``), ``None`` until they arrive."""

    id: int
    consent_id: str
    kind: str
    endpoint: str
    raw: bytes
    cid: str
    created_at: int
    sent_at: int | None
    send_error: str | None
    attempts: int
    ack: bytes | None
    due_at: int | None
    done: bytes | None
    done_at: int | None
    checked_at: int | None


_COLUMNS = ("id, consent_id, kind, endpoint, raw, cid, created_at, sent_at, send_error, attempts, ack, due_at, "
            "done, done_at, checked_at")


def _row(row: dict[str, Any]) -> RightsRow:
    def maybe_int(value: Any) -> int | None:
        return None if value is None else int(value)

    def maybe_bytes(value: Any) -> bytes | None:
        return None if value is None else bytes(value)

    return RightsRow(
        id=int(row["id"]), consent_id=str(row["consent_id"]), kind=str(row["kind"]), endpoint=str(row["endpoint"]),
        raw=bytes(row["raw"]), cid=str(row["cid"]), created_at=int(row["created_at"]),
        sent_at=maybe_int(row["sent_at"]), send_error=None if row["send_error"] is None else str(row["send_error"]),
        attempts=int(row["attempts"]), ack=maybe_bytes(row["ack"]), due_at=maybe_int(row["due_at"]),
        done=maybe_bytes(row["done"]), done_at=maybe_int(row["done_at"]), checked_at=maybe_int(row["checked_at"]))


class RightsStore:
    """The rights requests in one wallet database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, *, consent_id: str, kind: str, endpoint: str, raw: bytes, cid: str, at: int) -> int:
        """Keep a signed request about to be sent (not sent yet); its row id (call inside a transaction)."""
        cursor = self.store.db.conn.execute(
            "INSERT INTO rights (consent_id, kind, endpoint, raw, cid, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (consent_id, kind, endpoint, raw, cid, at))
        return int(cursor.lastrowid or 0)

    def resigned(self, row_id: int, *, raw: bytes, cid: str) -> None:
        """Replace the request's bytes with a freshly signed one, sent next (call inside a transaction)."""
        self.store.db.conn.execute("UPDATE rights SET raw = ?, cid = ? WHERE id = ?", (raw, cid, row_id))

    def send_failed(self, row_id: int, error: str) -> None:
        """Record a delivery that failed with ``error`` (call inside a transaction)."""
        self.store.db.conn.execute("UPDATE rights SET send_error = ?, attempts = attempts + 1 WHERE id = ?",
                                   (error, row_id))

    def acknowledged(self, row_id: int, *, ack: bytes, due_at: int, at: int) -> None:
        """Record a delivery the data user acknowledged, with its signed answer and due date (call
        inside a transaction)."""
        self.store.db.conn.execute(
            "UPDATE rights SET sent_at = ?, send_error = NULL, attempts = attempts + 1, ack = ?, due_at = ?, "
            "checked_at = ? WHERE id = ?", (at, ack, due_at, at, row_id))

    def checked(self, row_id: int, at: int) -> None:
        """Record that the data user was asked for its completion and had none yet (call inside a transaction)."""
        self.store.db.conn.execute("UPDATE rights SET checked_at = ? WHERE id = ?", (at, row_id))

    def completed(self, row_id: int, *, done: bytes, done_at: int, at: int) -> None:
        """Keep the data user's signed completion (call inside a transaction)."""
        self.store.db.conn.execute("UPDATE rights SET done = ?, done_at = ?, checked_at = ? WHERE id = ?",
                                   (done, done_at, at, row_id))

    def get(self, row_id: int) -> RightsRow:
        """One rights request (``not_found`` if there is none with that id)."""
        row = self.store.row(f"SELECT {_COLUMNS} FROM rights WHERE id = ?", (row_id,))
        if row is None:
            raise NotFound(f"no rights request {row_id}")
        return _row(row)

    def every(self, consent_id: str | None = None) -> list[RightsRow]:
        """Every rights request (about ``consent_id``), oldest first."""
        where, params = ("WHERE consent_id = ?", (consent_id,)) if consent_id else ("", ())
        return [_row(r) for r in self.store.rows(f"SELECT {_COLUMNS} FROM rights {where} ORDER BY id", params)]

    def unfinished(self) -> list[RightsRow]:
        """The requests without a completion yet, oldest first."""
        return [_row(r) for r in self.store.rows(f"SELECT {_COLUMNS} FROM rights WHERE done IS NULL ORDER BY id")]
