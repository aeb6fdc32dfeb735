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
def book(tmp_path: Path) -> Iterator[ReceiptStore]:
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


def test_an_empty_wallet_holds_no_receipts_and_no_pulls(book: ReceiptStore) -> None:
    assert book.holders() == []
    assert book.position(HOLDER) == (0, None)
    assert book.all() == [] and book.of_consent("bafy-none") == []
    assert book.states() == [] and book.warnings() == []
    assert book.last_uses() == {} and book.mark() == 0 and book.taken_after(0) == []


def test_linked_holders_come_first_linked_first(book: ReceiptStore) -> None:
    with book.store.transaction() as db:
        db.table("links").insert_all([{"holder": "did:key:zB", "holder_url": "https://b.example", "linked_at": NOW},
                                      {"holder": "did:key:zA", "holder_url": "https://a.example", "linked_at": NOW + 1},
                                      {"holder": "did:key:zC", "holder_url": "https://c.example", "linked_at": NOW}])
    assert book.holders() == [("did:key:zB", "https://b.example"), ("did:key:zC", "https://c.example"),
                              ("did:key:zA", "https://a.example")]


def test_stored_receipts_read_back_typed_and_move_the_position(book: ReceiptStore) -> None:
    chain = _chain(2, refused=(2,))
    book.add(HOLDER, URL, chain, NOW + 500)
    assert book.position(HOLDER) == (2, chain[1].raw)
    assert book.position("did:key:zSomeoneElse") == (0, None)
    first = HeldReceipt(holder=HOLDER, seq=1, cid=chain[0].cid, consent_id=chain[0].consent_id, at=NOW + 60,
                        presenter=samples.KEYS.requester.did, items=("transactions",), purpose="dpv:ServiceProvision",
                        outcome="released", reason=None, received_at=NOW + 500)
    assert book.all()[0] == first
    assert [(r.seq, r.refused, r.reason) for r in book.all()] == [(1, False, None), (2, True, "suspended")]
    assert book.of_consent(chain[0].consent_id) == book.all() and book.of_consent("bafy-other") == []
    assert book.states() == [PullState(HOLDER, URL, 2, None, None, None, None)]


def test_storing_an_empty_batch_changes_nothing(book: ReceiptStore) -> None:
    book.add(HOLDER, URL, [], NOW)
    assert book.all() == [] and book.states() == []


def test_a_receipt_held_already_is_skipped_and_a_different_one_breaks_the_chain(book: ReceiptStore) -> None:
    chain = _chain(3)
    book.add(HOLDER, URL, chain[:2], NOW)
    book.add(HOLDER, URL, chain[1:], NOW + 1)  # 2 again (a concurrent pull stored it), then 3
    assert [(r.seq, r.received_at) for r in book.all()] == [(1, NOW), (2, NOW), (3, NOW + 1)]
    other = UsageReceipt.decode(samples.receipt(seq=3, prev=chain[1].raw, outcome="refused", reason="suspended")
                                .sign(samples.KEYS.holder))
    with pytest.raises(ChainBroken) as err:
        book.add(HOLDER, URL, [other], NOW + 2)
    assert err.value.code == "chain_broken"
    assert [r.cid for r in book.all()] == [r.cid for r in chain] and book.states()[0].last_seq == 3


def test_a_failed_pull_is_a_warning_until_one_goes_through(book: ReceiptStore) -> None:
    book.failed(HOLDER, URL, "chain_gap", "x" * 600, NOW)  # never pulled before: the state is made
    [warning] = book.warnings()
    assert (warning.last_seq, warning.pulled_at, warning.error, len(warning.detail or ""), warning.failed_at) == (
        0, None, "chain_gap", 500, NOW)
    book.add(HOLDER, URL, _chain(1), NOW + 1)
    book.succeeded(HOLDER, "https://bank.example/moved", NOW + 2)
    assert book.warnings() == []
    assert book.states() == [PullState(HOLDER, "https://bank.example/moved", 1, NOW + 2, None, None, None)]


def test_last_uses_count_releases_only_and_new_receipts_start_after_the_mark(book: ReceiptStore) -> None:
    chain = _chain(3, refused=(3,))
    book.add(HOLDER, URL, chain[:1], NOW)
    mark = book.mark()
    assert mark == 1 and book.taken_after(mark) == []
    book.add(HOLDER, URL, chain[1:], NOW + 1)
    assert book.last_uses() == {chain[0].consent_id: chain[1].issued_at}  # receipt 3 was refused
    assert [r.seq for r in book.taken_after(mark)] == [3, 2]  # newest first
    assert [r.seq for r in book.taken_after(mark, limit=1)] == [3]
    assert [r.seq for r in book.taken_after(0)] == [3, 2, 1] and book.taken_after(book.mark()) == []
