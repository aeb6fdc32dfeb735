"""The ``relationships`` and ``links`` tables: one identity per relationship, and the holders linked with a code.

The SQL of :mod:`wallet.relationships` (and of :mod:`wallet.linking`) lives here, next to
:mod:`wallet.store` (which creates the tables and migrates them); rows come back as
:class:`Relationship` and :class:`HolderLink`.  Writes are made inside the caller's
:meth:`~wallet.store.Store.transaction`; reads open none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from protocol import NotFound

from .store import Store

__all__ = ["HolderLink", "Relationship", "RelationshipStore"]


@dataclass(frozen=True)
class Relationship:
    """One relationship's current (or a replaced) identity."""

    id: int
    holder: str
    requester: str
    generation: int
    did: str
    created_at: int
    linked_at: int | None
    link_error: str | None
    replaced_at: int | None
    link_proof: bytes | None = None

    def to_json(self) -> dict[str, Any]:
        """One entry of ``copyme wallet relationships --json``."""
        return {"holder": self.holder, "requester": self.requester, "generation": self.generation,
                "did": self.did, "linked": self.linked_at is not None, "linked_at": self.linked_at,
                "link_error": self.link_error, "replaced_at": self.replaced_at}


@dataclass(frozen=True)
class HolderLink:
    """A data holder the user linked with a code: where it answers and which DID it knows (``None``
    for links made before pairwise DIDs: the wallet's own DID)."""

    holder: str
    holder_url: str
    did: str | None
    linked_at: int


_COLUMNS = "r.id, r.holder, r.requester, r.generation, r.did, r.created_at, r.linked_at, r.link_error, " \
           "r.replaced_at, r.link_proof"


def _maybe_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _relationship(row: dict[str, Any]) -> Relationship:
    return Relationship(
        id=int(row["id"]), holder=str(row["holder"]), requester=str(row["requester"]),
        generation=int(row["generation"]), did=str(row["did"]), created_at=int(row["created_at"]),
        linked_at=_maybe_int(row["linked_at"]),
        link_error=None if row["link_error"] is None else str(row["link_error"]),
        replaced_at=_maybe_int(row["replaced_at"]),
        link_proof=None if row["link_proof"] is None else bytes(row["link_proof"]))


class RelationshipStore:
    """The relationships and holder links in one wallet database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _one(self, where: str, params: tuple[Any, ...]) -> Relationship | None:
        row = self.store.row(f"SELECT {_COLUMNS} FROM relationships r WHERE {where}", params)
        return None if row is None else _relationship(row)

    # -- reading ----------------------------------------------------------------------------

    def all(self) -> list[Relationship]:
        """Every relationship identity, current and replaced, oldest first."""
        return [_relationship(r) for r in self.store.rows(f"SELECT {_COLUMNS} FROM relationships r ORDER BY r.id")]

    def current_of(self, holder: str, requester: str) -> Relationship | None:
        """The relationship's identity in use, if it has one."""
        return self._one("r.holder = ? AND r.requester = ? AND r.replaced_at IS NULL", (holder, requester))

    def by_did(self, did: str) -> Relationship:
        """The relationship a DID belongs to (``not_found``)."""
        found = self._one("r.did = ?", (did,))
        if found is None:
            raise NotFound(f"no relationship with DID {did}")
        return found

    def in_use(self) -> int:
        """How many relationships have an identity in use (replaced ones not counted)."""
        return self.store.count("relationships", "replaced_at IS NULL")

    def next_generation(self, holder: str, requester: str) -> int:
        """The generation a new key of this relationship gets (0 for the first)."""
        row = self.store.row("SELECT MAX(generation) AS g FROM relationships WHERE holder = ? AND requester = ?",
                             (holder, requester))
        return 0 if row is None or row["g"] is None else int(row["g"]) + 1

    def unlinked(self, holder: str | None = None) -> list[Relationship]:
        """Current identities not linked yet at a holder the user has linked (optionally one holder):
        of each relationship only its oldest identity in use, oldest relationship first."""
        sql = (f"SELECT {_COLUMNS} FROM relationships r JOIN links l ON l.holder = r.holder "
               "WHERE r.linked_at IS NULL AND r.replaced_at IS NULL AND r.generation = "
               "(SELECT MIN(generation) FROM relationships x WHERE x.holder = r.holder AND x.requester = r.requester "
               "AND x.replaced_at IS NULL)")
        params: tuple[Any, ...] = ()
        if holder is not None:
            sql += " AND r.holder = ?"
            params = (holder,)
        return [_relationship(r) for r in self.store.rows(sql + " ORDER BY r.id", params)]

    def holder_link(self, holder: str) -> HolderLink | None:
        """The link made with ``holder``'s code, if any."""
        row = self.store.row("SELECT holder, holder_url, did, linked_at FROM links WHERE holder = ?", (holder,))
        if row is None:
            return None
        return HolderLink(holder=str(row["holder"]), holder_url=str(row["holder_url"]),
                          did=None if row["did"] is None else str(row["did"]), linked_at=int(row["linked_at"]))

    # -- inside a transaction -----------------------------------------------------------------

    def add(self, holder: str, requester: str, generation: int, did: str, *, now: int,
            linked_at: int | None = None, link_proof: bytes | None = None) -> Relationship:
        """Keep a new identity of a relationship, not replaced (call inside a transaction)."""
        cursor = self.store.db.conn.execute(
            "INSERT INTO relationships (holder, requester, generation, did, created_at, linked_at, link_proof) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", (holder, requester, generation, did, now, linked_at, link_proof))
        found = self._one("r.id = ?", (cursor.lastrowid,))
        assert found is not None
        return found

    def retire(self, old: Relationship, new: Relationship, *, now: int) -> None:
        """Mark ``old`` replaced at ``now`` and move its status lists to ``new`` (call inside a transaction)."""
        self.store.db.conn.execute("UPDATE relationships SET replaced_at = ? WHERE id = ?", (now, old.id))
        self.store.db.conn.execute("UPDATE lists SET relationship = ? WHERE relationship = ?", (new.id, old.id))

    def mark(self, relationship_id: int, *, linked_at: int | None, error: str | None) -> None:
        """Record a link attempt's outcome: linked at ``linked_at`` (``None`` keeps an earlier one)
        and ``error`` (``None``: none) (call inside a transaction)."""
        self.store.db.conn.execute(
            "UPDATE relationships SET linked_at = COALESCE(?, linked_at), link_error = ? WHERE id = ?",
            (linked_at, error, relationship_id))

    def link_holder(self, holder: str, holder_url: str, did: str, *, at: int) -> None:
        """Keep (or renew) the link made with ``holder``'s code (call inside a transaction)."""
        self.store.db.table("links").upsert({"holder": holder, "holder_url": holder_url, "linked_at": at, "did": did},
                                            pk="holder")
