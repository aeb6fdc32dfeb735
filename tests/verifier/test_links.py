"""Link codes through the real service: good, reused, wrong, expired, and for another holder."""

from __future__ import annotations

from protocol import LinkProof
from tests.verifier.conftest import KEYS, World, assert_refused


def _proof(world: World, code: str, holder: str = KEYS.holder.did) -> bytes:
    return LinkProof(user=KEYS.user.did, holder=holder, code=code, issued_at=world.clock()).sign(KEYS.user)


def test_good_code_links_the_did(world: World) -> None:
    assert world.holder is not None
    code = world.holder.new_link_code("C-1002")
    response = world.post("/v1/links", _proof(world, code.lower().replace("-", " ")))  # typed sloppily
    assert response.status_code == 200 and response.json() == {"linked": True, "did": KEYS.user.did}
    assert world.holder.links.customer_for(KEYS.user.did) == "C-1002"


def test_reused_code(world: World) -> None:
    assert world.holder is not None
    code = world.holder.new_link_code("C-1001")
    assert world.post("/v1/links", _proof(world, code)).status_code == 200
    assert_refused(world.post("/v1/links", _proof(world, code)), "replayed")


def test_wrong_code(world: World) -> None:
    assert world.holder is not None
    world.holder.new_link_code("C-1001")
    assert_refused(world.post("/v1/links", _proof(world, "ZZZZ-ZZZZ-ZZZZ")), "link_code_invalid")
    assert world.holder.links.customer_for(KEYS.user.did) is None


def test_expired_code(world: World) -> None:
    assert world.holder is not None
    code = world.holder.new_link_code("C-1001", ttl=60)
    world.clock.advance(61)
    assert_refused(world.post("/v1/links", _proof(world, code)), "expired")
    assert world.holder.links.customer_for(KEYS.user.did) is None


def test_proof_for_another_holder(world: World) -> None:
    assert world.holder is not None
    code = world.holder.new_link_code("C-1001")
    assert_refused(world.post("/v1/links", _proof(world, code, holder=KEYS.stranger.did)), "wrong_audience")


def test_forged_proof(world: World) -> None:
    assert world.holder is not None
    code = world.holder.new_link_code("C-1001")
    data = bytearray(_proof(world, code))
    data[-1] ^= 0x80
    assert_refused(world.post("/v1/links", bytes(data)), "bad_signature")
    assert_refused(world.post("/v1/links", b"\xff" * 10), "malformed", 400)
    assert_refused(world.post("/v1/links", b"\x00" * 5000), "too_large", 413)


def test_codes_are_stored_hashed(world: World) -> None:
    assert world.holder is not None
    code = world.holder.new_link_code("C-1001")
    rows = world.holder.db.execute("SELECT code_hash, customer_id FROM link_codes").fetchall()
    dump = repr(rows)
    if world.dsn is None:
        dump += "\n".join(world.holder.db.conn.iterdump())
    assert rows and code not in dump and code.replace("-", "") not in dump
