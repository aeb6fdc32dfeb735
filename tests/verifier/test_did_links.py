"""Linking a customer's relationship DIDs (DidLink) through the real service: good, replayed, at
another holder, not vouched for by a linked DID, forged, and key replacement."""

from __future__ import annotations

import secrets

import pytest

from protocol import DidLink, DidPossession, KeyPair, KeyReplaced
from tests.verifier.conftest import KEYS, World, assert_refused
from verifier.links import LinkStore

NEW = KeyPair.from_seed(bytes([21]) * 32)
OTHER = KeyPair.from_seed(bytes([22]) * 32)


def _link(world: World, *, linked: KeyPair = KEYS.user, new: KeyPair = NEW, holder: str = KEYS.holder.did,
          replace: bool = False, issued: int | None = None) -> bytes:
    return DidLink.make(linked=linked, new=new, holder=holder, issued_at=world.clock() if issued is None else issued,
                        link_id=secrets.token_bytes(16), replace=replace)


def test_linked_did_vouches_for_a_new_one(world: World) -> None:
    assert world.holder is not None
    world.link_user()
    response = world.post("/v1/links/dids", _link(world))
    assert response.status_code == 200 and response.json() == {"linked": True, "did": NEW.did, "replaced": None}
    assert world.holder.links.customer_for(NEW.did) == "C-1001"
    assert world.holder.links.dids_of("C-1001") == sorted([KEYS.user.did, NEW.did])
    # a consent signed by the new DID releases the linked customer's data
    world.publish("list-aaaaaaaaaaaaaaaa")
    released = world.post("/v1/data", world.present(world.credential(user=NEW)))
    assert released.status_code == 200, released.text


def test_not_vouched_for_by_a_linked_did(world: World) -> None:
    world.link_user()
    # signed by two DIDs, neither linked here: the new DID is not the customer's
    assert_refused(world.post("/v1/links/dids", _link(world, linked=OTHER)), "not_linked")
    assert_refused(world.post("/v1/data", world.present(world.credential(user=NEW))), "not_linked")


def test_proof_replayed_here_or_at_another_holder(world: World) -> None:
    world.link_user()
    proof = _link(world)
    assert world.post("/v1/links/dids", proof).status_code == 200
    assert_refused(world.post("/v1/links/dids", proof), "replayed")
    # a proof made for another holder is refused here, even though the signer is linked
    assert_refused(world.post("/v1/links/dids", _link(world, new=OTHER, holder=KEYS.stranger.did)), "wrong_audience")


def test_new_did_must_sign_its_own_half(world: World) -> None:
    world.link_user()
    link_id = secrets.token_bytes(16)
    now = world.clock()
    # the inner proof is signed by another key than the DID being linked
    wrong_pop = DidPossession(did=OTHER.did, holder=KEYS.holder.did, linked=KEYS.user.did, issued_at=now,
                              link_id=link_id).sign(OTHER)
    outer = DidLink(linked=KEYS.user.did, holder=KEYS.holder.did, did=NEW.did, issued_at=now, link_id=link_id,
                    possession=wrong_pop).sign(KEYS.user)
    assert_refused(world.post("/v1/links/dids", outer), "bad_signature")
    # an inner proof for another link id (taken from an earlier link) is refused too
    old_pop = DidPossession(did=NEW.did, holder=KEYS.holder.did, linked=KEYS.user.did, issued_at=now,
                            link_id=secrets.token_bytes(16)).sign(NEW)
    outer = DidLink(linked=KEYS.user.did, holder=KEYS.holder.did, did=NEW.did, issued_at=now, link_id=link_id,
                    possession=old_pop).sign(KEYS.user)
    assert_refused(world.post("/v1/links/dids", outer), "bad_signature")
    garbage = DidLink(linked=KEYS.user.did, holder=KEYS.holder.did, did=NEW.did, issued_at=now, link_id=link_id,
                      possession=b"\xa0").sign(KEYS.user)
    assert_refused(world.post("/v1/links/dids", garbage), "malformed", 400)


@pytest.mark.parametrize(("mutate", "code", "status"), [
    (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "bad_signature", 403),
    (lambda b: b"\xff" * 10, "malformed", 400),
    (lambda b: b[:20], "malformed", 400),
    (lambda b: b"\x00" * 5000, "too_large", 413),
])
def test_bad_bytes(world: World, mutate, code: str, status: int) -> None:  # type: ignore[no-untyped-def]
    world.link_user()
    assert_refused(world.post("/v1/links/dids", mutate(_link(world))), code, status)


def test_old_proof_is_expired(world: World) -> None:
    world.link_user()
    assert_refused(world.post("/v1/links/dids", _link(world, issued=world.clock() - 1000)), "expired")
    assert_refused(world.post("/v1/links/dids", _link(world, issued=world.clock() + 1000)), "not_yet_valid")


def test_new_did_of_another_customer_is_a_conflict(world: World) -> None:
    world.link_user()
    world.link_user(user=OTHER, customer="C-1002")
    assert_refused(world.post("/v1/links/dids", _link(world, new=OTHER)), "conflict", 409)


def test_replacing_a_key_unlinks_the_old_one(world: World) -> None:
    assert world.holder is not None
    world.link_user()
    assert world.post("/v1/links/dids", _link(world)).status_code == 200
    world.publish("list-aaaaaaaaaaaaaaaa")
    old_credential = world.credential(user=NEW)
    replacement = KeyPair.from_seed(bytes([23]) * 32)
    response = world.post("/v1/links/dids", _link(world, linked=NEW, new=replacement, replace=True))
    assert response.json() == {"linked": True, "did": replacement.did, "replaced": NEW.did}
    # the replaced key still presenting is refused with its own code, and cannot vouch or come back
    assert_refused(world.post("/v1/data", world.present(old_credential)), "key_replaced")
    assert_refused(world.post("/v1/links/dids", _link(world, linked=NEW, new=OTHER)), "key_replaced")
    assert_refused(world.post("/v1/links/dids", _link(world, new=NEW)), "key_replaced")
    assert world.post("/v1/data", world.present(world.credential(user=replacement))).status_code == 200
    # the replacement survives a restart of the holder
    with pytest.raises(KeyReplaced):
        LinkStore(world.holder.db).customer_for(NEW.did)
