"""The ``lists`` and ``events`` tables: the wallet's status lists and the status changes they carry.

The SQL of :mod:`wallet.status` lives here, next to :mod:`wallet.store` (which creates the tables
and migrates them); a list comes back as a :class:`ListRow`.  A list version the registry has not
accepted yet is *pending* (``iat > published_iat``); a status event carries the ``iat`` of the
version that holds it and is marked published once a version at least that new is accepted.
Writes are made inside the caller's :meth:`~wallet.store.Store.transaction`; reads open none.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from protocol import NotFound

from .store import Store

__all__ = ["ListRow", "StatusStore"]


@dataclass(frozen=True)
class ListRow:
    """One status list as stored: where the registry serves it (``uri``), its signing key (its DID,
    and its seed sealed under the wallet's data key), its bits, its latest signed version (``iat``,
    ``token``; ``None`` before the first signing), the newest version the registry accepted
    (``published_iat``) and why the last offer failed, and the relationship it serves (``None``:
    the wallet's own DID, before pairwise DIDs)."""

    id: str
    uri: str
    key_did: str
    key_box: bytes
    size: int
    bits: bytes
    iat: int
    token: bytes | None
    published_iat: int
    last_error: str | None
    created_at: int
    relationship: int | None

    def to_dict(self) -> dict[str, Any]:
        """The row as a mapping of its columns."""
        return asdict(self)


_COLUMNS = "id, uri, key_did, key_box, size, bits, iat, token, published_iat, last_error, created_at, relationship"


def _row(row: dict[str, Any]) -> ListRow:
    return ListRow(
        id=str(row["id"]), uri=str(row["uri"]), key_did=str(row["key_did"]), key_box=bytes(row["key_box"]),
        size=int(row["size"]), bits=bytes(row["bits"]), iat=int(row["iat"]),
        token=None if row["token"] is None else bytes(row["token"]), published_iat=int(row["published_iat"]),
        last_error=None if row["last_error"] is None else str(row["last_error"]), created_at=int(row["created_at"]),
        relationship=None if row["relationship"] is None else int(row["relationship"]))


class StatusStore:
    """The status lists and status events in one wallet database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- lists --------------------------------------------------------------------------------

    def get(self, list_id: str) -> ListRow:
        """One list (``not_found`` if there is none with that id)."""
        row = self.store.row(f"SELECT {_COLUMNS} FROM lists WHERE id = ?", (list_id,))
        if row is None:
            raise NotFound(f"no status list {list_id}")
        return _row(row)

    def of_relationship(self, relationship: int | None) -> list[ListRow]:
        """The lists of one relationship (``None``: those of no relationship), newest first."""
        mine, params = ("relationship = ?", (relationship,)) if relationship is not None else ("relationship IS NULL", ())
        return [_row(r) for r in self.store.rows(f"SELECT {_COLUMNS} FROM lists WHERE {mine} "
                                                 "ORDER BY created_at DESC, rowid DESC", params)]

    def used(self, list_id: str) -> int:
        """How many consents have an entry in the list."""
        found = self.store.row("SELECT COUNT(*) AS n FROM consents WHERE list_id = ?", (list_id,))
        return int(found["n"]) if found else 0

    def taken(self, list_id: str, index: int) -> bool:
        """Whether a consent has entry ``index`` of the list."""
        return self.store.row("SELECT 1 AS taken FROM consents WHERE list_id = ? AND idx = ?", (list_id, index)) is not None

    def pending(self) -> list[str]:
        """Ids of the lists with a version the registry has not accepted yet, oldest list first."""
        return [str(r["id"]) for r in self.store.rows("SELECT id FROM lists WHERE iat > published_iat ORDER BY rowid")]

    def older_than(self, age: int, now: int) -> list[str]:
        """Ids of the lists whose latest version was signed more than ``age`` seconds before ``now``."""
        return [str(r["id"]) for r in self.store.rows("SELECT id FROM lists WHERE iat + ? < ?", (age, now))]

    def add(self, row: ListRow) -> None:
        """Keep a new list (call inside a transaction)."""
        self.store.db.table("lists").insert(row.to_dict())

    def set_bits(self, list_id: str, bits: bytes) -> None:
        """Replace the list's bits; signed next (call inside a transaction)."""
        self.store.db.conn.execute("UPDATE lists SET bits = ? WHERE id = ?", (bits, list_id))

    def signed(self, list_id: str, iat: int, token: bytes) -> None:
        """Keep the list's newest signed version (call inside a transaction)."""
        self.store.db.conn.execute("UPDATE lists SET iat = ?, token = ? WHERE id = ?", (iat, token, list_id))

    def refused(self, list_id: str, error: str) -> None:
        """Record why the registry did not take the list's latest version (call inside a transaction)."""
        self.store.db.conn.execute("UPDATE lists SET last_error = ? WHERE id = ?", (error, list_id))

    def published(self, list_id: str, iat: int, at: int) -> None:
        """The registry took version ``iat`` of the list at ``at``: clear the last error and mark the
        status events that version carries published (call inside a transaction).  An older
        ``iat`` than one already taken changes no version."""
        self.store.db.conn.execute(
            "UPDATE lists SET published_iat = MAX(published_iat, ?), last_error = NULL WHERE id = ?", (iat, list_id))
        self.store.db.conn.execute(
            "UPDATE events SET published_at = ? WHERE list_id = ? AND iat <= ? AND published_at IS NULL",
            (at, list_id, iat))

    # -- events -------------------------------------------------------------------------------

    def add_event(self, consent_id: str, status: str, *, at: int, list_id: str, iat: int,
                  published_at: int | None) -> None:
        """Log a consent's change of ``status`` at ``at``, carried by version ``iat`` of ``list_id``
        (``published_at``: when the registry took it, ``None``: not yet) (call inside a transaction)."""
        self.store.db.conn.execute(
            "INSERT INTO events (consent_id, status, at, list_id, iat, published_at) VALUES (?, ?, ?, ?, ?, ?)",
            (consent_id, status, at, list_id, iat, published_at))
