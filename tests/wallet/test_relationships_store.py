"""The relationships store (wallet.relationships_store): identities and holder links read back
typed; an empty wallet, a DID never seen, generations, replacing and the unlinked filter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol import NotFound
from tests.support import samples
from wallet.relationships_store import HolderLink, Relationship, RelationshipStore
from wallet.store import Store

NOW = samples.NOW
BANK, SHOP = "did:key:zBank", "did:key:zShop"
APP, OTHER_APP = "did:key:zApp", "did:key:zOtherApp"


@pytest.fixture
def kept(tmp_path: Path) -> Iterator[RelationshipStore]:
    store = Store.create(tmp_path / "wallet.db")
    yield RelationshipStore(store)
    store.close()


def _add(kept: RelationshipStore, holder: str, requester: str, did: str, *, generation: int = 0) -> Relationship:
    with kept.store.transaction():
        return kept.add(holder, requester, generation, did, now=NOW)


def test_an_empty_wallet_has_no_relationships_and_no_links(kept: RelationshipStore) -> None:
    assert kept.all() == [] and kept.unlinked() == [] and kept.unlinked(BANK) == []
    assert kept.current_of(BANK, APP) is None and kept.holder_link(BANK) is None
    assert kept.next_generation(BANK, APP) == 0 and kept.in_use() == 0
    with pytest.raises(NotFound) as err:
        kept.by_did("did:key:zNobody")
    assert err.value.code == "not_found"


def test_a_kept_relationship_reads_back_typed(kept: RelationshipStore) -> None:
    first = _add(kept, BANK, APP, "did:key:z1")
    assert first == Relationship(id=first.id, holder=BANK, requester=APP, generation=0, did="did:key:z1",
                                 created_at=NOW, linked_at=None, link_error=None, replaced_at=None, link_proof=None)
    assert kept.by_did("did:key:z1") == kept.current_of(BANK, APP) == first and kept.all() == [first]
    assert kept.current_of(BANK, OTHER_APP) is None and kept.current_of(SHOP, APP) is None
    assert kept.next_generation(BANK, APP) == 1 and kept.next_generation(BANK, OTHER_APP) == 0


def test_replacing_retires_the_old_identity_and_moves_its_lists(kept: RelationshipStore) -> None:
    old = _add(kept, BANK, APP, "did:key:z1")
    with kept.store.transaction() as db:
        db.table("lists").insert({"id": "l-1", "uri": samples.LIST_URI, "key_did": samples.KEYS.user.did,
                                  "key_box": b"box", "size": 16, "bits": bytes(2), "created_at": NOW,
                                  "relationship": old.id})
        new = kept.add(BANK, APP, 1, "did:key:z2", now=NOW + 5, linked_at=NOW + 5, link_proof=b"proof")
        kept.retire(old, new, now=NOW + 5)
    assert (new.generation, new.linked_at, new.link_proof, new.replaced_at) == (1, NOW + 5, b"proof", None)
    assert kept.by_did("did:key:z1").replaced_at == NOW + 5
    assert kept.current_of(BANK, APP) == new and kept.in_use() == 1 and len(kept.all()) == 2
    assert kept.next_generation(BANK, APP) == 2
    assert kept.store.row("SELECT relationship FROM lists WHERE id = 'l-1'") == {"relationship": new.id}


def test_unlinked_lists_only_current_identities_at_linked_holders(kept: RelationshipStore) -> None:
    at_bank = _add(kept, BANK, APP, "did:key:z1")
    other = _add(kept, BANK, OTHER_APP, "did:key:z2")
    _add(kept, SHOP, APP, "did:key:z3")  # the shop is not linked: nothing of it is due
    assert kept.unlinked() == []
    with kept.store.transaction():
        kept.link_holder(BANK, "https://bank.example", "did:key:zAnchor", at=NOW)
    assert kept.holder_link(BANK) == HolderLink(BANK, "https://bank.example", "did:key:zAnchor", NOW)
    assert [r.did for r in kept.unlinked()] == [at_bank.did, other.did] == [r.did for r in kept.unlinked(BANK)]
    assert kept.unlinked(SHOP) == []
    with kept.store.transaction():
        kept.mark(other.id, linked_at=None, error="unavailable: no answer")
        kept.mark(at_bank.id, linked_at=NOW + 1, error=None)
    assert [r.did for r in kept.unlinked()] == [other.did]
    assert kept.by_did(other.did).link_error == "unavailable: no answer"
    with kept.store.transaction():  # a failure later keeps the time it was linked
        kept.mark(at_bank.id, linked_at=None, error="conflict: busy")
    assert (kept.by_did(at_bank.did).linked_at, kept.by_did(at_bank.did).link_error) == (NOW + 1, "conflict: busy")
    with kept.store.transaction():  # linked again (a new code): the link follows
        kept.link_holder(BANK, "https://bank.example/new", "did:key:zAnchor2", at=NOW + 9)
    assert kept.holder_link(BANK) == HolderLink(BANK, "https://bank.example/new", "did:key:zAnchor2", NOW + 9)
