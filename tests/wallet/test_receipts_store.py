"""The receipts store (wallet.receipts_store): receipts and pull states read back typed; an empty
wallet, a holder never pulled, the chain checks on storing, and the filters of the readers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol import ChainBroken, UsageReceipt
from tests.support import samples
from wallet.receipts import HeldReceipt, PullState
from wallet.receipts_store import ReceiptStore
from wallet.store import Store

NOW = samples.NOW
HOLDER = samples.KEYS.holder.did
URL = "https://bank.example"


@pytest.fixture
def receipts(tmp_path: Path) -> Iterator[ReceiptStore]:
    store = Store.create(tmp_path / "wallet.db")
    yield ReceiptStore(store)
    store.close()


def _chain(n: int, *, refused: tuple[int, ...] = ()) -> list[UsageReceipt]:
    """Receipts 1..n of one holder's chain (those numbered in ``refused`` are refusals)."""
    out: list[UsageReceipt] = []
    prev: bytes | None = None
    for seq in range(1, n + 1):
        outcome, reason = ("refused", "suspended") if seq in refused else ("released", None)
        raw = samples.receipt(seq=seq, prev=prev, outcome=outcome, reason=reason).sign(samples.KEYS.holder)
        out.append(UsageReceipt.decode(raw))
        prev = raw
    return out


def test_an_empty_wallet_holds_no_receipts_and_no_pulls(receipts: ReceiptStore) -> None:
    assert receipts.holders() == []
    assert receipts.position(HOLDER) == (0, None)
    assert receipts.all() == [] and receipts.of_consent("bafy-none") == []
    assert receipts.states() == [] and receipts.warnings() == []
    assert receipts.last_uses() == {} and receipts.mark() == 0 and receipts.taken_after(0) == []


def test_linked_holders_come_first_linked_first(receipts: ReceiptStore) -> None:
    with receipts.store.transaction() as db:
        db.table("links").insert_all([{"holder": "did:key:zB", "holder_url": "https://b.example", "linked_at": NOW},
                                      {"holder": "did:key:zA", "holder_url": "https://a.example", "linked_at": NOW + 1},
                                      {"holder": "did:key:zC", "holder_url": "https://c.example", "linked_at": NOW}])
    assert receipts.holders() == [("did:key:zB", "https://b.example"), ("did:key:zC", "https://c.example"),
                                  ("did:key:zA", "https://a.example")]


def test_stored_receipts_read_back_typed_and_move_the_position(receipts: ReceiptStore) -> None:
    chain = _chain(2, refused=(2,))
    receipts.add(HOLDER, URL, chain, NOW + 500)
    assert receipts.position(HOLDER) == (2, chain[1].raw)
    assert receipts.position("did:key:zSomeoneElse") == (0, None)
    first = HeldReceipt(holder=HOLDER, seq=1, cid=chain[0].cid, consent_id=chain[0].consent_id, at=NOW + 60,
                        presenter=samples.KEYS.requester.did, items=("transactions",), purpose="dpv:ServiceProvision",
                        outcome="released", reason=None, received_at=NOW + 500)
    assert receipts.all()[0] == first
    assert [(r.seq, r.refused, r.reason) for r in receipts.all()] == [(1, False, None), (2, True, "suspended")]
    assert receipts.of_consent(chain[0].consent_id) == receipts.all() and receipts.of_consent("bafy-other") == []
    assert receipts.states() == [PullState(HOLDER, URL, 2, None, None, None, None)]


def test_storing_an_empty_batch_changes_nothing(receipts: ReceiptStore) -> None:
    receipts.add(HOLDER, URL, [], NOW)
    assert receipts.all() == [] and receipts.states() == []


def test_a_receipt_held_already_is_skipped_and_a_different_one_breaks_the_chain(receipts: ReceiptStore) -> None:
    chain = _chain(3)
    receipts.add(HOLDER, URL, chain[:2], NOW)
    receipts.add(HOLDER, URL, chain[1:], NOW + 1)  # 2 again (a concurrent pull stored it), then 3
    assert [(r.seq, r.received_at) for r in receipts.all()] == [(1, NOW), (2, NOW), (3, NOW + 1)]
    other = UsageReceipt.decode(samples.receipt(seq=3, prev=chain[1].raw, outcome="refused", reason="suspended")
                                .sign(samples.KEYS.holder))
    with pytest.raises(ChainBroken) as err:
        receipts.add(HOLDER, URL, [other], NOW + 2)
    assert err.value.code == "chain_broken"
    assert [r.cid for r in receipts.all()] == [r.cid for r in chain] and receipts.states()[0].last_seq == 3


def test_a_failed_pull_is_a_warning_until_one_goes_through(receipts: ReceiptStore) -> None:
    receipts.failed(HOLDER, URL, "chain_gap", "x" * 600, NOW)  # never pulled before: the state is made
    [warning] = receipts.warnings()
    assert (warning.last_seq, warning.pulled_at, warning.error, len(warning.detail or ""), warning.failed_at) == (
        0, None, "chain_gap", 500, NOW)
    receipts.add(HOLDER, URL, _chain(1), NOW + 1)
    receipts.succeeded(HOLDER, "https://bank.example/moved", NOW + 2)
    assert receipts.warnings() == []
    assert receipts.states() == [PullState(HOLDER, "https://bank.example/moved", 1, NOW + 2, None, None, None)]


def test_last_uses_count_releases_only_and_new_receipts_start_after_the_mark(receipts: ReceiptStore) -> None:
    chain = _chain(3, refused=(3,))
    receipts.add(HOLDER, URL, chain[:1], NOW)
    mark = receipts.mark()
    assert mark == 1 and receipts.taken_after(mark) == []
    receipts.add(HOLDER, URL, chain[1:], NOW + 1)
    assert receipts.last_uses() == {chain[0].consent_id: chain[1].issued_at}  # receipt 3 was refused
    assert [r.seq for r in receipts.taken_after(mark)] == [3, 2]  # newest first
    assert [r.seq for r in receipts.taken_after(mark, limit=1)] == [3]
    assert [r.seq for r in receipts.taken_after(0)] == [3, 2, 1] and receipts.taken_after(receipts.mark()) == []
