"""Key compromise response: replace a relationship's key.

The user suspects that a relationship key leaked (a copied database, a stolen laptop before the
passphrase was changed, ...).  :func:`replace_key`:

1. derives the relationship's next generation key (:mod:`wallet.derive`);
2. if the old DID is linked at the holder, sends the holder a :class:`protocol.DidLink` with
   ``replace`` set, signed by the old DID and by the new one (the old DID is the one the holder
   knows for this relationship); the holder links the new DID and refuses the old one from then
   on (``key_replaced``).  If the holder refuses or does not answer, nothing changes here;
3. in one transaction: records the new generation (with that proof), retires the old one, and
   for every active or suspended consent of the relationship signs a new credential with the new
   key (same request, items, purposes, language and end of validity; a fresh entry in the same
   status list, in the same state) and revokes the old credential's entry;
4. publishes the list and delivers each re-signed consent to its callback with the proof in the
   ``CopyMe-Replaces`` header, so the data user can check that the user replaced the key.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from common import HolderClient
from protocol import ConsentCredential, CopyMeError, DidLink, NotFound, Status, clock

from .errors import AlreadyReplaced
from .keystore import KeyStore
from .relationships import Relationship, Relationships
from .status import StatusLists
from .store import Store

__all__ = ["Replacement", "replace_key", "replacement_proof"]


class WalletParts(Protocol):
    """What a key replacement needs of a wallet (:class:`wallet.Wallet` has it all)."""

    store: Store
    lists: StatusLists
    relationships: Relationships
    guard: threading.RLock
    #: One replacement at a time per wallet: a second click (or a replayed API call) waits for
    #: the first and is then refused as already replaced by the wallet itself, instead of racing
    #: it to the holder.  Not :attr:`guard`: revokes and the dashboard go on meanwhile.
    replacing: threading.Lock
    timeout: float
    transport: httpx.AsyncBaseTransport | None

    def resolve(self, consent_id: str) -> str: ...

    def deliver(self, consent_id: str) -> Any: ...

    def link_relationships(self, holder: str | None = None, *, now: int | None = None) -> Any: ...


@dataclass(frozen=True)
class Replacement:
    """What a key replacement did."""

    old_did: str
    new_did: str
    holder_told: bool
    consents: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        """The ``copyme wallet replace-key --json`` answer."""
        return dataclasses.asdict(self)


def _relationship(wallet: WalletParts, ref: str) -> Relationship:
    if ref.startswith("did:key:"):
        return wallet.relationships.by_did(ref)
    raw = wallet.store.credential(wallet.resolve(ref))
    return wallet.relationships.by_did(ConsentCredential.decode(raw).issuer)


def replace_key(wallet: WalletParts, keys: KeyStore, ref: str, *, now: int | None = None) -> Replacement:
    """Replace the key of the relationship of ``ref`` (its DID, or one of its consents' ids);
    ``keys`` is the unlocked wallet's key store."""
    with wallet.replacing:
        return _replace_key(wallet, keys, ref, now=now)


def _replace_key(wallet: WalletParts, keys: KeyStore, ref: str, *, now: int | None) -> Replacement:
    current = clock.now(now)
    with wallet.guard:
        old = _relationship(wallet, ref)
        if old.replaced_at is not None:
            raise AlreadyReplaced(f"the key {old.did} was already replaced")
        generation = wallet.relationships.next_generation(old.holder, old.requester)
        new_key = keys.relationship_key(old.holder, old.requester, generation)
        proof = DidLink.make(linked=wallet.relationships.key(old), new=new_key, holder=old.holder,
                             issued_at=current, link_id=secrets.token_bytes(16), replace=True)
        link = wallet.relationships.holder_link(old.holder)
    told = False
    if old.linked_at is not None and link is not None:
        # the holder first: if it does not take the replacement, nothing changes in the wallet;
        # over the network, so without the guard (a revoke meanwhile is not held up)
        with HolderClient(link.holder_url, deadline=wallet.timeout, transport=wallet.transport) as client:
            client.link_did(proof)
        told = True
    renewed: list[tuple[str, str]] = []
    with wallet.guard, wallet.store.transaction():
        if wallet.relationships.by_did(old.did).replaced_at is not None:
            # another wallet object on the same home replaced it while the holder answered this one
            raise AlreadyReplaced(f"the key {old.did} was already replaced")
        new = wallet.relationships.replace(old, generation, new_key.did, proof=proof,
                                           linked_at=current if told else None, now=current)
        for row in wallet.store.live_consents(new.id, until=current + 60):
            previous = ConsentCredential.decode(row.raw)
            if previous.issuer != old.did:
                continue
            list_id, ref_ = wallet.lists.allocate(current, relationship=new.id)
            credential = dataclasses.replace(previous, issuer=new_key.did, status=ref_, issued_at=current,
                                             not_before=current, credential_id=secrets.token_bytes(16), raw=b"")
            raw = credential.sign(new_key)
            consent_id = ConsentCredential.decode(raw).cid
            wallet.store.add_renewal(row.id, consent_id=consent_id, raw=raw, list_id=list_id, idx=ref_.index,
                                     issued_at=current)
            if row.state == "suspended":
                wallet.lists.set(list_id, ref_.index, Status.SUSPENDED, current)
            wallet.lists.record_event(consent_id, row.state, list_id, current)
            wallet.lists.set(row.list_id, row.idx, Status.REVOKED, current)
            wallet.store.set_state(row.id, "revoked")
            wallet.lists.record_event(row.id, "revoked", row.list_id, current)
            renewed.append((row.id, consent_id))
    wallet.lists.sync(current)
    if not told:
        wallet.link_relationships(old.holder, now=current)
    out: list[dict[str, Any]] = []
    for previous_id, consent_id in renewed:
        error = None
        try:
            wallet.deliver(consent_id)
        except CopyMeError as err:
            error = f"{err.code}: {err.detail}"
        out.append({"replaced": previous_id, "consent_id": consent_id, "delivered": error is None, "error": error})
    return Replacement(old.did, new.did, told, out)


def replacement_proof(wallet: WalletParts, credential: bytes) -> bytes | None:
    """The key replacement proof to send with a consent signed by a replacement key, else ``None``."""
    try:
        relationship = wallet.relationships.by_did(ConsentCredential.decode(credential).issuer)
    except NotFound:
        return None
    return relationship.link_proof if relationship.generation > 0 else None
