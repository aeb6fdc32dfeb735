"""Holder.release_without_io: the event-loop path gives up before any write when it would block."""

from __future__ import annotations

from pathlib import Path

from tests.support.samples import KEYS
from tests.verifier.test_replay import NOW, _holder, _OneList, _presentation
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
    assert holder.release_without_io(data) is None  # the list is not cached yet: would fetch
    assert _written(holder) == (0, 0)  # gave up before writing anything, refusal included
    holder.release(data)  # what the service then does on a worker thread
    again = holder.release_without_io(_presentation())
    assert again is not None and set(again.items) == {"balance"}
    assert _written(holder) == (2, 2)


def test_blocking_sources_and_fsync_per_commit_use_a_thread(tmp_path: Path) -> None:
    slow = Holder(KEYS.holder, open_database(tmp_path / "a.db"), _OneList(), clock_fn=lambda: NOW,
                  source=lambda customer, items: {i: 1 for i in items})  # may do I/O: not marked
    assert not slow.nonblocking
    durable = Holder(KEYS.holder, open_database(tmp_path / "b.db", synchronous="full"), _OneList(),
                     clock_fn=lambda: NOW, source=demo_source())
    assert not durable.nonblocking and durable.release_without_io(_presentation()) is None
    assert _holder(tmp_path / "c.db").nonblocking
