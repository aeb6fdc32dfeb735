"""Usage receipts at the holder: signed per attempt, chained per customer, served only to signed queries."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from protocol import KeyPair, ReceiptQuery, Status, UsageReceipt, cid_of, cose
from tests.support.samples import KEYS
from tests.verifier.conftest import World, assert_refused
from verifier import Attempt
from verifier.holder import Holder
from verifier.receipts import MIGRATIONS
from verifier.store import open_database

LIST = "list-aaaaaaaaaaaaaaaa"


def _query(world: World, *, user: KeyPair = KEYS.user, holder: str | None = None, after: int = 0,
           issued: int | None = None) -> bytes:
    q = ReceiptQuery.create(user=user.did, holder=holder or KEYS.holder.did, after=after,
                            now=world.clock() if issued is None else issued)
    return q.sign(user)


def _receipts(world: World, query: bytes) -> tuple[list[UsageReceipt], bool]:
    response = world.post("/v1/receipts", query, headers={"Content-Type": str(ReceiptQuery.TYP)})
    assert response.status_code == 200, response.text
    body = response.json()
    raws = [base64.urlsafe_b64decode(r + "=" * (-len(r) % 4)) for r in body["receipts"]]
    return [UsageReceipt.decode(r) for r in raws], body["more"]


def _use_and_refuse(world: World) -> bytes:
    """A release, then a refused attempt after the user suspended the consent."""
    credential = world.ready(LIST)
    assert world.post("/v1/data", world.present(credential)).status_code == 200
    world.publish(LIST, {1234: Status.SUSPENDED})
    world.wait_pushed(LIST)
    world.clock.advance(1)
    assert_refused(world.post("/v1/data", world.present(credential)), "suspended")
    return credential


def test_a_release_and_a_refusal_each_get_a_chained_receipt(world: World) -> None:
    credential = _use_and_refuse(world)
    receipts, more = _receipts(world, _query(world))
    assert not more
    assert [(r.seq, r.outcome, r.reason) for r in receipts] == [(1, "released", None), (2, "refused", "suspended")]
    first, second = receipts
    assert first.consent_id == second.consent_id == cid_of(credential)
    assert first.holder == KEYS.holder.did and first.user == KEYS.user.did and first.presenter == KEYS.requester.did
    assert first.items == ("transactions",) and first.purpose == "dpv:ServiceProvision"
    first.check_follows(0, None)
    second.check_follows(1, first.raw)
    # the refusal record now names the customer and the consent, as the receipt does
    refusal = [r for r in world.holder.records.all() if r["kind"] == "refusal"][-1]  # type: ignore[union-attr]
    assert refusal["person"] == "C-1001" and refusal["consent_id"] == cid_of(credential)


def test_after_and_paging(world: World) -> None:
    _use_and_refuse(world)
    receipts, _ = _receipts(world, _query(world, after=1))
    assert [r.seq for r in receipts] == [2]
    assert _receipts(world, _query(world, after=2))[0] == []
    assert world.holder is not None
    page = world.holder.receipts.of_customer("C-1001", 0, limit=1)
    assert [r.seq for r in page.receipts] == [1] and page.more


def test_unattributable_presentations_get_no_receipt(world: World) -> None:
    credential = world.ready(LIST)
    stranger = world.credential(LIST, user=KEYS.stranger)  # signed by a DID linked to nobody
    assert_refused(world.post("/v1/data", world.present(stranger)), "not_linked")
    assert_refused(world.post("/v1/data", b"\xa0"), "malformed", 400)
    forged = cose.sign1(b"\xa0", KEYS.stranger, "application/vnd.copyme.presentation+cwt")
    assert world.post("/v1/data", forged).status_code in (400, 403)
    assert world.holder is not None and world.holder.receipts.count() == 0
    # a refusal of the user's own consent by the wrong presenter is attributable: the user sees it
    assert_refused(world.post("/v1/data", world.present(credential, presenter=KEYS.stranger)), "not_subject")
    receipts, _ = _receipts(world, _query(world))
    assert [(r.outcome, r.reason, r.presenter) for r in receipts] == [("refused", "not_subject", KEYS.stranger.did)]


def test_a_second_linked_did_of_the_same_customer_sees_the_same_chain(world: World) -> None:
    _use_and_refuse(world)
    world.link_user(KEYS.status, "C-1001")  # another DID of the same wallet (a pairwise one, say)
    receipts, _ = _receipts(world, _query(world, user=KEYS.status))
    assert [r.seq for r in receipts] == [1, 2]


def test_replayed_query_gets_nothing(world: World) -> None:
    _use_and_refuse(world)
    query = _query(world)
    _receipts(world, query)
    assert_refused(world.post("/v1/receipts", query), "replayed")


def test_wrong_audience_expired_future_unlinked_and_forged_queries(world: World) -> None:
    _use_and_refuse(world)
    assert_refused(world.post("/v1/receipts", _query(world, holder=KEYS.requester.did)), "wrong_audience")
    assert_refused(world.post("/v1/receipts", _query(world, issued=world.clock() - 400)), "expired")
    assert_refused(world.post("/v1/receipts", _query(world, issued=world.clock() + 400)), "not_yet_valid")
    assert_refused(world.post("/v1/receipts", _query(world, user=KEYS.stranger)), "not_linked")
    claims = ReceiptQuery.create(user=KEYS.user.did, holder=KEYS.holder.did, now=world.clock())
    forged = cose.sign1(claims.to_payload(), KEYS.stranger, ReceiptQuery.TYP)
    assert_refused(world.post("/v1/receipts", forged), "bad_signature")
    assert_refused(world.post("/v1/receipts", b"\x00" * 5000), "too_large", 413)
    assert_refused(world.post("/v1/receipts", b"nonsense"), "malformed", 400)
    receipt = world.holder.receipts.of_customer("C-1001").receipts[0].raw  # type: ignore[union-attr]
    assert_refused(world.post("/v1/receipts", receipt), "wrong_type", 400)


def test_receipts_are_append_only_and_survive_a_restart(tmp_path: Path) -> None:
    db = open_database(tmp_path / "v.db")
    holder = Holder(KEYS.holder, db, None, clock_fn=lambda: 1_795_000_000)
    holder.links.new_code("C-1", code="AAAA-BBBB-CCCC", now=1_795_000_000)
    attempt = Attempt("C-1", KEYS.user.did, b"\x01\x51\x12\x20" + bytes(32), KEYS.requester.did,
                          ("balance",), "dpv:ServiceProvision")
    with db.lock, db.transaction():
        holder.receipts.append(attempt, "released", None, 1_795_000_000)
    with pytest.raises(Exception, match="append-only"), db.lock:
        db.execute("DELETE FROM receipts")
    holder.close()
    again = Holder(KEYS.holder, open_database(tmp_path / "v.db"), None)
    assert again.receipts.count() == 1
    assert [m.name for m in MIGRATIONS.applied(again.db)] == ["create_receipts"]
    again.close()
