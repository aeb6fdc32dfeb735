"""The wallet's own status lists: allocation, bit flips, signing and publishing to the registry.

Each list belongs to one relationship (data holder x data user, :mod:`wallet.relationships`) and
has a fixed size (:data:`LIST_SIZE`) so its size tells the registry nothing about how many
consents it covers, its own signing key (sealed under the wallet's data
key) so the registry cannot link it to the user's DID, and indexes picked at random.  Every new
version is signed with an ``iat`` strictly greater than the last one, even within one second,
because the registry refuses anything not newer (``status_rollback``).

Signing happens inside the caller's transaction; publishing happens after it, over the network,
without the wallet's guard (held only around the reads and writes either side), and one
publisher at a time so that versions reach the registry in order.  A user's change (revoke,
suspend, resume) is published first, before any other pending list (:meth:`StatusLists.publish_change`).
A version the registry has not accepted yet is *pending*: ``lists.iat > lists.published_iat``.
Status events (the history shown by ``show``) carry the ``iat`` of the version that holds them
and are marked published when a version at least that new is accepted.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from common.registry_client import RegistryClient
from protocol import (
    CopyMeError,
    KeyPair,
    NotFound,
    Status,
    StatusList,
    StatusListToken,
    StatusRef,
    StatusRollback,
    clock,
)

from .errors import WalletLocked
from .keystore import open_box, seal_box
from .status_store import ListRow, StatusStore
from .store import Store

__all__ = ["FILL_LIMIT", "LIST_SIZE", "PublishResult", "StatusLists"]

#: Entries in every new list: 1,024 (256 bytes unpacked).  A list serves one relationship, whose
#: consents number a handful, rarely dozens; 1,024 entries hide any count up to the fill limit
#: (768) behind one size, and keep what a holder keeps unpacked per cached list (and a registry
#: per list at worst, were every entry set at random) at 256 bytes, not the 4 KiB of the
#: protocol's default 16,384 entries.  A signed token of it is ~280 bytes, almost all URI, key
#: and signature (spec section 4).
LIST_SIZE = 1024

#: A list takes new consents until this share of it is used; random probing stays cheap.
FILL_LIMIT = 0.75
#: How long a published list version may be trusted by a data holder (seconds); ``sync`` (run
#: by ``copyme wallet sync`` and in the background by ``copyme wallet serve``, see
#: :mod:`wallet.refresh`) re-signs a list once less than half of this is left.
LIFETIME = 7 * 86400
TTL = 300


@dataclass(frozen=True)
class PublishResult:
    """What happened when a list version was offered to the registry."""

    list_id: str
    iat: int
    accepted: bool
    error: str | None = None
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        """One entry of ``copyme wallet sync --json``."""
        return {"list_id": self.list_id, "iat": self.iat, "accepted": self.accepted,
                "error": self.error, "detail": self.detail}


class StatusLists:
    """The wallet's status lists in ``store``, published to ``registry``."""

    def __init__(self, store: Store, registry: RegistryClient, data_key: bytes | None, *,
                 size: int = LIST_SIZE, randbelow: Callable[[int], int] = secrets.randbelow,
                 guard: threading.RLock | None = None) -> None:
        self.store = store
        self.status_store = StatusStore(store)
        self.guard = guard or threading.RLock()
        self._publishing = threading.Lock()
        self.registry = registry
        self.data_key = data_key
        self.size = size
        self._randbelow = randbelow

    # -- inside a transaction ---------------------------------------------------------------

    def record_event(self, consent_id: str, status: str, list_id: str, now: int) -> None:
        """Log a consent's change of ``status`` with the list version that carries it (published
        at ``now`` if that version is already at the registry)."""
        lst = self.status_store.get(list_id)
        published = now if lst.published_iat >= lst.iat else None
        self.status_store.add_event(consent_id, status, at=now, list_id=list_id, iat=lst.iat, published_at=published)

    def _key(self, row: ListRow) -> KeyPair:
        if self.data_key is None:
            raise WalletLocked("signing a status list needs the wallet's passphrase")
        return KeyPair.from_seed(open_box(self.data_key, row.key_box))

    def _new_list(self, now: int, relationship: int | None = None) -> ListRow:
        if self.data_key is None:
            raise WalletLocked("creating a status list needs the wallet's passphrase")
        key = KeyPair.generate()
        list_id = secrets.token_hex(16)
        row = ListRow(id=list_id, uri=self.registry.list_uri(list_id), key_did=key.did,
                      key_box=seal_box(self.data_key, key.seed), size=self.size,
                      bits=StatusList(self.size).to_bytes(), iat=0, token=None,
                      published_iat=0, last_error=None, created_at=now, relationship=relationship)
        self.status_store.add(row)
        return row

    def allocate(self, now: int | None = None, *, relationship: int | None = None) -> tuple[str, StatusRef]:
        """A fresh random index in a list of ``relationship`` with room (a new list when none has);
        returns (list id, ref).  Lists are never shared between relationships, so a list URI or
        key identifies nothing beyond the relationship both parties already know.

        A new list is signed right away so that it can be published with the consent.
        """
        current = clock.now(now)
        row = None
        for candidate in self.status_store.of_relationship(relationship):
            if self.status_store.used(candidate.id) < candidate.size * FILL_LIMIT:
                row = candidate
                break
        if row is None:
            row = self._new_list(current, relationship)
            self.sign(row.id, current)
        while True:
            index = int(self._randbelow(row.size))
            if not self.status_store.taken(row.id, index):
                return row.id, StatusRef(row.uri, index, row.key_did)

    def list_row(self, list_id: str) -> dict[str, Any]:
        """One list's row, as a mapping of its columns (``not_found`` if there is none)."""
        return self.status_store.get(list_id).to_dict()

    def set(self, list_id: str, index: int, status: Status, now: int | None = None) -> int:
        """Flip one entry and sign the new version; returns its ``iat``."""
        row = self.status_store.get(list_id)
        bits = StatusList(row.size, row.bits)
        bits.set(index, status)
        self.status_store.set_bits(list_id, bits.to_bytes())
        return self.sign(list_id, now)

    def sign(self, list_id: str, now: int | None = None, *, after: int = 0) -> int:
        """Sign the list's current bits as a new version with a strictly newer ``iat``."""
        row = self.status_store.get(list_id)
        iat = max(clock.now(now), row.iat + 1, after + 1)
        token = StatusListToken.create(uri=row.uri, status_list=StatusList(row.size, row.bits),
                                       signer=row.key_did, ttl=TTL, lifetime=LIFETIME, now=iat)
        raw = token.sign(self._key(row))
        self.status_store.signed(list_id, iat, raw)
        return int(iat)

    # -- after the transaction: the network -------------------------------------------------

    def publish(self, list_id: str, now: int | None = None) -> PublishResult:
        """Offer the list's latest signed version to the registry; record the outcome.

        A ``status_rollback`` (the registry already holds a newer version, e.g. after a restore
        from an older backup) is answered once by re-signing above the registry's ``iat``.
        """
        with self._publishing:
            return self._publish(list_id, now)

    def publish_change(self, list_id: str, now: int | None = None) -> PublishResult:
        """Publish the version that carries the user's change, before anything else; then the rest.

        Between the user's action and this PUT the wallet has done only the transaction that
        signed the version (durable first, so the registry never holds a version the wallet could
        lose).  Other lists' pending versions and the re-signing of lists near expiry
        (:meth:`sync`) wait until the registry answered; if it refused or could not be reached,
        they wait for the next sync rather than make the user wait for each in turn.
        """
        with self._publishing:
            with self.guard:
                row = self.status_store.get(list_id)
            if row.published_iat >= row.iat:  # published meanwhile (by a sync on another thread)
                mine = PublishResult(list_id, row.iat, True)
            else:
                mine = self._publish(list_id, now)
        if mine.accepted:
            self.sync(now)
        return mine

    def _publish(self, list_id: str, now: int | None) -> PublishResult:
        with self.guard:
            row = self.status_store.get(list_id)
        try:
            try:
                self.registry.publish(list_id, _token(row))
            except StatusRollback:
                theirs = self._registry_iat(row)
                with self.guard:
                    with self.store.transaction():
                        self.sign(list_id, now, after=theirs)
                    row = self.status_store.get(list_id)
                self.registry.publish(list_id, _token(row))
        except CopyMeError as err:
            with self.guard, self.store.transaction():
                self.status_store.refused(list_id, f"{err.code}: {err.detail}")
            return PublishResult(list_id, row.iat, False, err.code, err.detail)
        published_at = clock.now(now)
        with self.guard, self.store.transaction():
            self.status_store.published(list_id, row.iat, published_at)
        return PublishResult(list_id, row.iat, True)

    def _registry_iat(self, row: ListRow) -> int:
        fetched = self.registry.fetch(row.id)
        if fetched is None:
            return row.iat
        token = StatusListToken.decode(fetched.token)
        return int(token.issued_at if token.signer == row.key_did else row.iat)

    def pending(self) -> list[str]:
        """Ids of lists with a version the registry has not accepted yet."""
        with self.guard:
            return self.status_store.pending()

    def sync(self, now: int | None = None) -> list[PublishResult]:
        """Publish every pending list, and re-sign lists whose published version expires soon."""
        current = clock.now(now)
        with self._publishing:
            with self.guard:
                # past half its lifetime: a newer version gives holders the full lifetime again (a
                # pending version that old is re-signed too, rather than published about to expire)
                stale = self.status_store.older_than(LIFETIME // 2, current)
                if stale:
                    with self.store.transaction():
                        for list_id in stale:
                            self.sign(list_id, current)
                pending = self.pending()
            return [self._publish(list_id, current) for list_id in pending]


def _token(row: ListRow) -> bytes:
    """The list's latest signed version (every list is signed as it is made)."""
    if row.token is None:
        raise NotFound(f"status list {row.id} was never signed")
    return row.token
