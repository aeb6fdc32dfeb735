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

from protocol import DidLink, KeyPair, NotFound, clock

from .errors import CorruptStore, WalletLocked
from .keystore import KeyStore
from .relationships_store import HolderLink, Relationship, RelationshipStore
from .store import Store

__all__ = ["HolderLink", "Relationship", "Relationships"]


class Relationships:
    """The relationships (kept by :class:`~wallet.relationships_store.RelationshipStore`) and the keys derived for them."""

    def __init__(self, store: Store, keys: KeyStore | None) -> None:
        self.store = store
        self.kept = RelationshipStore(store)
        self.keys = keys

    def _keys(self) -> KeyStore:
        if self.keys is None:
            raise WalletLocked("this needs the wallet's passphrase")
        return self.keys

    # -- reading ----------------------------------------------------------------------------

    def all(self) -> list[Relationship]:
        """Every relationship identity, current and replaced, oldest first."""
        return self.kept.all()

    def current_of(self, holder: str, requester: str) -> Relationship | None:
        """The relationship's identity in use, if it has one."""
        return self.kept.current_of(holder, requester)

    def by_did(self, did: str) -> Relationship:
        """The relationship a DID belongs to (``not_found``)."""
        return self.kept.by_did(did)

    def in_use(self) -> int:
        """How many relationships have an identity in use."""
        return self.kept.in_use()

    def holder_link(self, holder: str) -> HolderLink | None:
        """The link made with ``holder``'s code, if any."""
        return self.kept.holder_link(holder)

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
        did = self._keys().relationship_key(holder, requester, generation).did
        return self.kept.add(holder, requester, generation, did, now=clock.now(now))

    def next_generation(self, holder: str, requester: str) -> int:
        """The generation a new key of this relationship gets (0 for the first)."""
        return self.kept.next_generation(holder, requester)

    def replace(self, old: Relationship, generation: int, did: str, *, proof: bytes, linked_at: int | None,
                now: int) -> Relationship:
        """Record generation ``generation`` (DID ``did``, linked by ``proof``) and retire ``old``;
        the relationship's status lists move to the new generation."""
        new = self.kept.add(old.holder, old.requester, generation, did, now=now, linked_at=linked_at, link_proof=proof)
        self.kept.retire(old, new, now=now)
        return new

    def linked_holder(self, holder: str, holder_url: str, did: str, *, at: int) -> None:
        """Keep the link made with ``holder``'s code: where it answers and the DID it now knows."""
        self.kept.link_holder(holder, holder_url, did, at=at)

    # -- link state -------------------------------------------------------------------------

    def unlinked(self, holder: str | None = None) -> list[Relationship]:
        """Current identities not linked yet at a holder the user has linked (optionally one holder)."""
        return self.kept.unlinked(holder)

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
        with self.store.transaction():
            self.kept.mark(relationship.id, linked_at=linked_at, error=error)
