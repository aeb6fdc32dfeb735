"""Pairwise identities: one key and DID per relationship (data holder x data user).

A consent is signed with the DID of its relationship, never with the wallet's own DID, so two
data users hold no common identifier of the user.  The holder still has to know the DID is its
customer's: the user links one DID per holder with the holder's one-time code (``link``), and
the wallet then links each relationship DID of that holder by itself, directly with the holder
(:class:`protocol.DidLink`, signed by the holder-linked DID and by the new one), when the first
consent of that relationship is given — or, for relationships begun before the holder was
linked, right after ``link``.  A link that fails (holder down) stays *unlinked* and is retried
by ``sync`` and the next ``link``/consent.

Keys are not stored: each is derived from the wallet's seed (:mod:`wallet.derive`) from
``(holder, data user, generation)``; the table keeps which generation is current, its DID (to
check the derivation), and the link state.  Replacing a key (:mod:`wallet.replacement`) starts
the next generation.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from protocol import DidLink, KeyPair, NotFound, clock

from .errors import CorruptStore, WalletLocked
from .keystore import KeyStore
from .store import Store

__all__ = ["HolderLink", "Relationship", "Relationships"]


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

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Relationship:
        """A ``relationships`` row."""
        return cls(int(row["id"]), row["holder"], row["requester"], int(row["generation"]), row["did"],
                   int(row["created_at"]), row["linked_at"], row["link_error"], row["replaced_at"],
                   row.get("link_proof"))

    def to_json(self) -> dict[str, Any]:
        """One entry of ``copyme wallet relationships --json``."""
        return {"holder": self.holder, "requester": self.requester, "generation": self.generation,
                "did": self.did, "linked": self.linked_at is not None, "linked_at": self.linked_at,
                "link_error": self.link_error, "replaced_at": self.replaced_at}


@dataclass(frozen=True)
class HolderLink:
    """A data holder the user linked with a code: where it answers and which DID it knows."""

    holder: str
    holder_url: str
    did: str | None
    linked_at: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> HolderLink:
        """A ``links`` row (``did`` is null for links made before pairwise DIDs: the wallet's own DID)."""
        return cls(row["holder"], row["holder_url"], row.get("did"), int(row["linked_at"]))


class Relationships:
    """The relationships table and the keys derived for it."""

    def __init__(self, store: Store, keys: KeyStore | None) -> None:
        self.store = store
        self.keys = keys

    def _keys(self) -> KeyStore:
        if self.keys is None:
            raise WalletLocked("this needs the wallet's passphrase")
        return self.keys

    # -- reading ----------------------------------------------------------------------------

    def all(self) -> list[Relationship]:
        """Every relationship identity, current and replaced, oldest first."""
        return [Relationship.from_row(r) for r in self.store.rows("SELECT * FROM relationships ORDER BY id")]

    def current_of(self, holder: str, requester: str) -> Relationship | None:
        """The relationship's identity in use, if it has one."""
        row = self.store.row("SELECT * FROM relationships WHERE holder = ? AND requester = ? AND replaced_at IS NULL",
                             (holder, requester))
        return Relationship.from_row(row) if row else None

    def by_did(self, did: str) -> Relationship:
        """The relationship a DID belongs to (``not_found``)."""
        row = self.store.row("SELECT * FROM relationships WHERE did = ?", (did,))
        if row is None:
            raise NotFound(f"no relationship with DID {did}")
        return Relationship.from_row(row)

    def holder_link(self, holder: str) -> HolderLink | None:
        """The link made with ``holder``'s code, if any."""
        row = self.store.row("SELECT * FROM links WHERE holder = ?", (holder,))
        return HolderLink.from_row(row) if row else None

    def key(self, relationship: Relationship) -> KeyPair:
        """The relationship's private key, derived again from the seed and checked against its DID."""
        key = self._keys().relationship_key(relationship.holder, relationship.requester, relationship.generation)
        if key.did != relationship.did:
            raise CorruptStore("a relationship's DID does not match the key derived for it")
        return key

    def anchor_key(self, link: HolderLink) -> KeyPair:
        """The key of the DID linked at a holder with its code."""
        keys = self._keys()
        key = keys.holder_key(link.holder) if link.did is not None else keys.identity
        if link.did is not None and key.did != link.did:
            raise CorruptStore("the DID linked at a holder does not match the key derived for it")
        return key

    # -- inside a transaction -----------------------------------------------------------------

    def ensure(self, holder: str, requester: str, now: int | None = None) -> Relationship:
        """The relationship's identity in use, made (generation 0) on the first consent."""
        found = self.current_of(holder, requester)
        if found is not None:
            return found
        generation = self.next_generation(holder, requester)
        return self._insert(holder, requester, generation, clock.now(now))

    def next_generation(self, holder: str, requester: str) -> int:
        """The generation a new key of this relationship gets (0 for the first)."""
        row = self.store.row("SELECT MAX(generation) AS g FROM relationships WHERE holder = ? AND requester = ?",
                             (holder, requester))
        return 0 if row is None or row["g"] is None else int(row["g"]) + 1

    def _insert(self, holder: str, requester: str, generation: int, now: int) -> Relationship:
        did = self._keys().relationship_key(holder, requester, generation).did
        cursor = self.store.db.conn.execute(
            "INSERT INTO relationships (holder, requester, generation, did, created_at) VALUES (?, ?, ?, ?, ?)",
            (holder, requester, generation, did, now))
        row = self.store.row("SELECT * FROM relationships WHERE id = ?", (cursor.lastrowid,))
        assert row is not None
        return Relationship.from_row(row)

    def replace(self, old: Relationship, generation: int, did: str, *, proof: bytes, linked_at: int | None,
                now: int) -> Relationship:
        """Record generation ``generation`` (DID ``did``, linked by ``proof``) and retire ``old``;
        the relationship's status lists move to the new generation."""
        cursor = self.store.db.conn.execute(
            "INSERT INTO relationships (holder, requester, generation, did, created_at, linked_at, link_proof) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", (old.holder, old.requester, generation, did, now, linked_at, proof))
        self.store.db.conn.execute("UPDATE relationships SET replaced_at = ? WHERE id = ?", (now, old.id))
        self.store.db.conn.execute("UPDATE lists SET relationship = ? WHERE relationship = ?", (cursor.lastrowid, old.id))
        row = self.store.row("SELECT * FROM relationships WHERE id = ?", (cursor.lastrowid,))
        assert row is not None
        return Relationship.from_row(row)

    # -- link state -------------------------------------------------------------------------

    def unlinked(self, holder: str | None = None) -> list[Relationship]:
        """Current identities not linked yet at a holder the user has linked (optionally one holder)."""
        sql = ("SELECT r.* FROM relationships r JOIN links l ON l.holder = r.holder "
               "WHERE r.linked_at IS NULL AND r.replaced_at IS NULL AND r.generation = "
               "(SELECT MIN(generation) FROM relationships x WHERE x.holder = r.holder AND x.requester = r.requester "
               "AND x.replaced_at IS NULL)")
        params: tuple[Any, ...] = ()
        if holder is not None:
            sql += " AND r.holder = ?"
            params = (holder,)
        return [Relationship.from_row(r) for r in self.store.rows(sql + " ORDER BY r.id", params)]

    def link_proof(self, relationship: Relationship, now: int | None = None) -> tuple[HolderLink, bytes]:
        """The signed DidLink for ``relationship``, vouched for by the DID linked with the holder's code."""
        link = self.holder_link(relationship.holder)
        if link is None:
            raise NotFound("this data holder is not linked yet (copyme wallet link)")
        raw = DidLink.make(linked=self.anchor_key(link), new=self.key(relationship), holder=relationship.holder,
                           issued_at=clock.now(now), link_id=secrets.token_bytes(16))
        return link, raw

    def mark(self, relationship: Relationship, *, linked_at: int | None, error: str | None) -> None:
        """Record a link attempt's outcome (its own transaction)."""
        with self.store.transaction() as db:
            db.conn.execute("UPDATE relationships SET linked_at = COALESCE(?, linked_at), link_error = ? WHERE id = ?",
                            (linked_at, error, relationship.id))
