"""Holder.release_async: the event-loop path gives up before any write when it would block, and
concurrent releases share one commit (group commit) without sharing a presentation."""

from __future__ import annotations

import asyncio
import secrets
import threading
from pathlib import Path

import pytest

from protocol import ConsentCredential, LinkProof, Presentation, StatusRef
from protocol.errors import Replayed
from tests.support import samples
from tests.support.samples import KEYS
from tests.verifier.test_replay import NOW, URI, _holder, _OneList, _presentation
from verifier.holder import Holder
from verifier.sources import demo_source
from verifier.store import open_database


def _written(holder: Holder) -> tuple[int, int]:
    with holder.db.lock:
        replay = holder.db.execute("SELECT count(*) FROM replay").fetchone()[0]
    return replay, len(holder.records.all())


def test_a_cached_list_and_an_in_memory_source_release_without_a_thread(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "v.db")
    data = _presentation()
    assert asyncio.run(holder.release_async(data)) is None  # the list is not cached yet: would fetch
    assert _written(holder) == (0, 0)  # gave up before writing anything, refusal included
    holder.release(data)  # what the service then does on a worker thread
    again = asyncio.run(holder.release_async(_presentation()))
    assert again is not None and set(again.items) == {"balance"}
    assert _written(holder) == (2, 2)
    holder.close()


def test_blocking_sources_use_a_thread_and_fsync_per_commit_does_not(tmp_path: Path) -> None:
    slow = Holder(KEYS.holder, open_database(tmp_path / "a.db"), _OneList(), clock_fn=lambda: NOW,
                  source=lambda customer, items: {i: 1 for i in items})  # may do I/O: not marked
    assert not slow.nonblocking
    assert asyncio.run(slow.release_async(_presentation())) is None
    # synchronous=full fsyncs on the group-commit thread: the loop only awaits it
    durable = Holder(KEYS.holder, open_database(tmp_path / "b.db", synchronous="full"), _OneList(),
                     clock_fn=lambda: NOW, source=demo_source())
    assert durable.nonblocking and not durable.commits.inline  # its commits wait for the disk: on the writer
    fast = _holder(tmp_path / "c.db")
    assert fast.nonblocking and fast.commits.inline  # its commits only write the WAL: on the loop
    code = durable.new_link_code("C-1001", now=NOW)
    durable.link(LinkProof(user=KEYS.user.did, holder=KEYS.holder.did, code=code, issued_at=NOW).sign(KEYS.user))
    assert asyncio.run(durable.release_async(_presentation())) is None  # the list is not cached yet
    durable.release(_presentation())
    assert asyncio.run(durable.release_async(_presentation())) is not None
    fast.close()
    for holder in (slow, durable):
        holder.close()


def test_concurrent_releases_on_the_loop_share_commits_and_each_is_recorded(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "v.db")
    holder.release(_presentation())  # the list is cached from here on
    bodies = [_presentation() for _ in range(64)]

    async def all_at_once() -> list[object]:
        return await asyncio.gather(*(holder.release_async(b) for b in bodies))

    before = holder.commits.batches
    released = asyncio.run(all_at_once())
    assert all(r is not None for r in released)
    assert holder.commits.batches - before < len(bodies)  # some commits carried several releases
    rows = holder.records.all()
    assert [r["kind"] for r in rows] == ["provision"] * 65
    assert holder.records.verify_chain() == 65 and holder.receipts.count() == 65
    holder.close()


def test_the_same_presentation_twice_in_one_batch_is_released_once(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "v.db")
    holder.release(_presentation())
    data = _presentation()

    async def twice() -> list[object]:
        return await asyncio.gather(holder.release_async(data), holder.release_async(data),
                                    return_exceptions=True)

    outcomes = asyncio.run(twice())
    assert sum(1 for o in outcomes if isinstance(o, Replayed)) == 1
    assert sum(1 for o in outcomes if o is not None and not isinstance(o, BaseException)) == 1
    kinds = [(r["kind"], r["reason"]) for r in holder.records.all()[1:]]
    assert sorted(kinds, key=str) == sorted([("provision", None), ("refusal", "replayed")], key=str)
    with pytest.raises(Replayed):  # and for good: the winner's entry is committed
        holder.release(data)
    holder.close()


def test_threads_and_the_loop_commit_through_the_same_writer(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "v.db")
    holder.release(_presentation())
    errors: list[BaseException] = []

    def on_threads() -> None:
        try:
            for _ in range(10):
                holder.release(_presentation())
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=on_threads) for _ in range(4)]
    for t in threads:
        t.start()

    async def on_loop() -> None:
        for _ in range(10):
            assert await holder.release_async(_presentation()) is not None

    asyncio.run(on_loop())
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert holder.records.verify_chain() == 51 and holder.receipts.count() == 51
    holder.close()


def test_a_release_whose_record_cannot_be_written_leaves_nothing(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "v.db")
    holder.release(_presentation())
    with holder.db.lock:
        holder.db.execute("CREATE TRIGGER no_more BEFORE INSERT ON records "
                          "BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    data = _presentation()
    with pytest.raises(Exception, match="disk says no"):
        holder.release(data)
    assert _written(holder) == (1, 1)  # neither its replay entry nor a record
    holder.close()


def test_one_nonce_in_two_presentations_of_one_batch_is_used_once(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "v.db")
    holder.release(_presentation())
    nonce = holder.issue_nonce()
    first, second = (_with_nonce(nonce) for _ in range(2))  # two ids, one nonce

    async def together() -> list[object]:
        return await asyncio.gather(holder.release_async(first), holder.release_async(second),
                                    return_exceptions=True)

    before = holder.commits.batches
    outcomes = asyncio.run(together())
    assert holder.commits.batches - before == 2  # one batch for both, one for the loser's refusal
    assert sum(1 for o in outcomes if isinstance(o, Replayed)) == 1
    assert sum(1 for o in outcomes if o is not None and not isinstance(o, BaseException)) == 1
    with pytest.raises(Replayed):  # the nonce stays used up
        holder.release(_with_nonce(nonce))
    holder.close()


def _with_nonce(nonce: bytes) -> bytes:
    credential = ConsentCredential.grant(samples.signed_request(KEYS, NOW), user=KEYS.user.did,
                                         items=("transactions", "balance"),
                                         status=StatusRef(URI, 1234, KEYS.status.did), now=NOW).sign(KEYS.user)
    return Presentation(presenter=KEYS.requester.did, audience=KEYS.holder.did, credential=credential,
                        items=("balance",), purpose="dpv:ServiceProvision", issued_at=NOW,
                        presentation_id=secrets.token_bytes(16), nonce=nonce).sign(KEYS.requester)
