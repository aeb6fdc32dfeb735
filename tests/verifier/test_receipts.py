"""Usage receipts at the holder: signed per attempt, chained per customer, served only to signed queries."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlite_utils

from protocol import KeyPair, ReceiptQuery, Status, UsageReceipt, cid_bytes, cid_of, cid_text, cose
from tests.support.samples import KEYS
from tests.verifier.conftest import World, assert_refused
from verifier import Attempt
from verifier.errors import RecordsTampered
from verifier.holder import Holder
from verifier.receipts import MIGRATIONS, ReceiptLog
from verifier.store import open_database, open_store

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


_ATTEMPT = Attempt("C-1", KEYS.user.did, b"\x01\x51\x12\x20" + bytes(32), KEYS.requester.did,
                   ("balance", "transactions"), "dpv:ServiceProvision")
_NOW = 1_795_000_000


def _holder(path: Path) -> Holder:
    holder = Holder(KEYS.holder, open_database(path), None, clock_fn=lambda: _NOW)
    holder.links.new_code("C-1", code="AAAA-BBBB-CCCC", now=_NOW)
    return holder


def _append(holder: Holder, outcome: str = "released", reason: str | None = None, n: int = 1) -> None:
    with holder.db.lock, holder.db.transaction():
        for i in range(n):
            holder.receipts.append(_ATTEMPT, outcome, reason, _NOW + i)


def _expected(n: int) -> list[bytes]:
    """The receipts as signing each one at once would have made them."""
    raws: list[bytes] = []
    for i in range(n):
        receipt = UsageReceipt(holder=KEYS.holder.did, user=KEYS.user.did, consent=_ATTEMPT.consent,
                               presenter=_ATTEMPT.presenter, items=_ATTEMPT.items, purpose=_ATTEMPT.purpose,
                               outcome="released", issued_at=_NOW + i, seq=i + 1,
                               prev=cid_bytes(raws[-1]) if raws else None)
        raws.append(receipt.sign(KEYS.holder))
    return raws


def test_receipts_are_append_only_and_survive_a_restart(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "v.db")
    _append(holder)
    with pytest.raises(Exception, match="append-only"), holder.db.lock:
        holder.db.execute("DELETE FROM receipts")
    holder.close()
    again = Holder(KEYS.holder, open_database(tmp_path / "v.db"), None)
    assert again.receipts.count() == 1
    assert [m.name for m in MIGRATIONS.applied(again.db)] == ["create_receipts", "sign_when_served"]
    assert [r.raw for r in again.receipts.of_customer("C-1").receipts] == _expected(1)
    again.close()


def test_receipts_are_signed_when_first_served_with_the_bytes_signing_at_once_gives(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "v.db")
    _append(holder, n=5)
    with holder.db.lock:
        assert holder.db.execute("SELECT COUNT(*) FROM receipts WHERE raw IS NULL").fetchone()[0] == 5
    page = holder.receipts.of_customer("C-1", after=0, limit=2)  # signs 1-2 only
    assert [r.seq for r in page.receipts] == [1, 2] and page.more
    with holder.db.lock:
        assert holder.db.execute("SELECT COUNT(*) FROM receipts WHERE raw IS NULL").fetchone()[0] == 3
    rest = holder.receipts.of_customer("C-1", after=2)  # signs 3-5, chaining on to 2
    assert [r.raw for r in page.receipts + rest.receipts] == _expected(5)
    receipts = [UsageReceipt.decode(r.raw) for r in page.receipts + rest.receipts]
    for before, receipt in zip([None, *receipts], receipts, strict=False):
        receipt.check_follows(0 if before is None else before.seq, None if before is None else before.raw)
    # later appends chain on to the signed ones; asking again serves the same bytes
    _append(holder, n=1)
    assert [r.raw for r in holder.receipts.of_customer("C-1").receipts][:5] == _expected(5)
    assert holder.receipts.sign_pending("C-1") == 0
    holder.close()


def test_a_query_past_receipts_nobody_asked_for_signs_them_first(tmp_path: Path) -> None:
    """``after`` beyond unsigned receipts: their signatures are needed for the page's ``prev``."""
    holder = _holder(tmp_path / "v.db")
    _append(holder, n=5)
    page = holder.receipts.of_customer("C-1", after=3)
    assert [r.raw for r in page.receipts] == _expected(5)[3:]
    assert [r.raw for r in holder.receipts.of_customer("C-1").receipts] == _expected(5)
    _append(holder, n=2)  # and pages that start at the first unsigned one still chain on
    assert [r.seq for r in holder.receipts.of_customer("C-1", after=5).receipts] == [6, 7]
    holder.close()


def test_a_receipt_is_signed_once_and_never_changed(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "v.db")
    _append(holder, n=2)
    with holder.db.lock:  # what it says cannot change before it is signed
        for change in ("outcome = 'refused'", "items = 'balance'", "presenter = 'did:key:zX'", "at = 1",
                       "raw = NULL", "seq = 7"):
            with pytest.raises(Exception, match="append-only"):
                holder.db.execute(f"UPDATE receipts SET {change} WHERE seq = 1")
    holder.receipts.of_customer("C-1")
    with holder.db.lock:  # nor after: not even its signature
        for change in ("raw = x'00'", "raw = NULL", "reason = 'x'"):
            with pytest.raises(Exception, match="append-only"):
                holder.db.execute(f"UPDATE receipts SET {change} WHERE seq = 1")
    assert [r.raw for r in holder.receipts.of_customer("C-1").receipts] == _expected(2)
    holder.close()


def test_a_hole_in_the_signed_chain_is_reported_not_papered_over(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "v.db")
    _append(holder, n=2)
    with holder.db.lock:  # an edited file: receipt 1 gone (triggers dropped to make the edit)
        holder.db.execute("DROP TRIGGER receipts_no_delete")
        holder.db.execute("DELETE FROM receipts WHERE seq = 1")
    with pytest.raises(RecordsTampered):
        holder.receipts.of_customer("C-1")
    holder.close()


def test_a_store_signed_before_the_migration_keeps_its_receipts_and_chains_on(tmp_path: Path) -> None:
    """A holder database from before receipts were signed when served: rows move, bytes stay."""
    path = tmp_path / "old.db"
    raws = _expected(3)
    old = sqlite_utils.Database(path)
    MIGRATIONS.apply(old, stop_before="sign_when_served")
    for i, raw in enumerate(raws[:2]):
        old.execute("INSERT INTO receipts VALUES (?, ?, ?, ?, ?, 'released', NULL, ?)",
                    ["C-1", i + 1, _NOW + i, KEYS.user.did, cid_text(_ATTEMPT.consent), raw])
    old.conn.commit()
    old.close()
    holder = Holder(KEYS.holder, open_database(path), None, clock_fn=lambda: _NOW)
    with holder.db.lock, holder.db.transaction():
        holder.receipts.append(_ATTEMPT, "released", None, _NOW + 2)
    assert [r.raw for r in holder.receipts.of_customer("C-1").receipts] == raws
    with pytest.raises(Exception, match="append-only"), holder.db.lock:
        holder.db.execute("DELETE FROM receipts")
    holder.close()




@dataclass(frozen=True, repr=False)
class _HookedKey(KeyPair):
    """The holder's key, signing as usual, that first runs ``hook`` (from inside a receipt's signing)."""

    hook: Callable[[], object] = lambda: None

    def sign(self, message: bytes) -> bytes:
        self.hook()
        return super().sign(message)


def _lock_is_free(holder: Holder) -> bool:
    """Whether another thread can take the holder's database lock right now (within 5 s)."""
    got: list[bool] = []

    def take() -> None:
        got.append(holder.db.lock.acquire(timeout=5))
        if got[0]:
            holder.db.lock.release()

    thread = threading.Thread(target=take)
    thread.start()
    thread.join()
    return got[0]


def test_signing_receipts_leaves_the_database_to_releases(tmp_path: Path) -> None:
    """Signing a page takes ~10 ms per 100 receipts: meanwhile releases must be able to commit."""
    db = open_database(tmp_path / "v.db")
    seen: list[bool] = []
    holder = Holder(_HookedKey(KEYS.holder.signing_key, hook=lambda: seen.append(_lock_is_free(holder))), db, None,
                    clock_fn=lambda: _NOW)
    holder.links.new_code("C-1", code="AAAA-BBBB-CCCC", now=_NOW)
    _append(holder, n=5)
    assert [r.raw for r in holder.receipts.of_customer("C-1").receipts] == _expected(5)
    assert seen == [True] * 5
    holder.close()


def test_concurrent_signers_and_new_receipts_keep_one_chain(tmp_path: Path, backend: str | None) -> None:
    """Two wallets' queries sign the same receipts at once while releases append more: one chain, no hole."""
    db = open_database(tmp_path / "v.db") if backend is None else open_store(backend)
    holder = Holder(KEYS.holder, db, None, clock_fn=lambda: _NOW)
    _append(holder, n=230)
    pages: dict[str, list[bytes]] = {"a": [], "b": []}

    def pull(name: str) -> None:
        after, more = 0, True
        while more:
            page = holder.receipts.of_customer("C-1", after=after)
            pages.setdefault(name, []).extend(r.raw for r in page.receipts)
            after, more = after + len(page.receipts), page.more

    threads = [threading.Thread(target=pull, args=(name,)) for name in pages]
    for thread in threads:
        thread.start()
    for _ in range(20):
        _append(holder, n=1)
    for thread in threads:
        thread.join()
    pull("all")
    everything = pages.pop("all")
    assert len(everything) == 250 and everything[:230] == _expected(230)
    for raws in pages.values():  # each wallet saw a prefix of the one chain, byte for byte
        assert len(raws) >= 230 and raws == everything[:len(raws)]
    receipts = [UsageReceipt.decode(raw) for raw in everything]
    for before, receipt in zip([None, *receipts], receipts, strict=False):
        receipt.check_follows(0 if before is None else before.seq, None if before is None else before.raw)
    holder.close()


def test_receipts_another_signer_stored_first_are_served_as_stored(tmp_path: Path) -> None:
    """A signer that finds other bytes already stored keeps them and chains on from there."""
    other = KeyPair.from_seed(b"\x09" * 32)
    db = open_database(tmp_path / "v.db")
    holder = Holder(_HookedKey(KEYS.holder.signing_key, hook=lambda: rival.sign_pending("C-1")), db, None,
                    clock_fn=lambda: _NOW)
    rival = ReceiptLog(db, other, holder.links.customer_for)
    _append(holder, n=3)
    served = [r.raw for r in holder.receipts.of_customer("C-1").receipts]
    assert [UsageReceipt.decode(raw).holder for raw in served] == [other.did] * 3
    with holder.db.lock:
        assert holder.db.execute("SELECT COUNT(*) FROM receipts WHERE raw IS NULL").fetchone()[0] == 0
    holder.close()


def test_a_receipt_edited_while_later_ones_are_signed_is_reported(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "v.db")
    _append(holder, n=1)
    holder.receipts.of_customer("C-1")
    db = holder.db

    def edit() -> None:  # an edited file: the signed receipt 1 changed behind the signer's back
        with db.lock:
            db.execute("DROP TRIGGER IF EXISTS receipts_sign_once")
            db.execute("UPDATE receipts SET raw = x'00' WHERE seq = 1")

    edited = Holder(_HookedKey(KEYS.holder.signing_key, hook=edit), db, None, clock_fn=lambda: _NOW)
    _append(edited, n=2)
    with pytest.raises(RecordsTampered):
        edited.receipts.of_customer("C-1")
    holder.close()
