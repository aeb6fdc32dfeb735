"""GroupCommit: writes of concurrent callers share one transaction; each gets its own outcome,
and nobody hears of a write before its commit returned."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from verifier.commits import GroupCommit
from verifier.store import Database, open_database


def _db(tmp_path: Path) -> Database:
    db = open_database(tmp_path / "c.db")
    db.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
    return db


def _insert(db: Database, key: str) -> Callable[[], str]:
    def write() -> str:
        db.conn.execute("INSERT INTO t (k) VALUES (?)", [key])
        return key
    return write


def _keys(db: Database) -> list[str]:
    return sorted(r[0] for r in db.execute("SELECT k FROM t").fetchall())


def _queued_behind(commits: GroupCommit, db: Database, calls: list[Callable[[], object]]) -> list[object]:
    """Run ``calls`` on threads while the writer is held in a first batch, so they share the next one."""
    gate, started = threading.Event(), threading.Event()
    outcomes: list[object] = [None] * len(calls)

    def held() -> None:
        started.set()
        gate.wait(10)

    holder = threading.Thread(target=commits.run, args=(held,))
    holder.start()
    assert started.wait(10)  # the writer is inside the first batch

    def call(i: int) -> None:
        try:
            outcomes[i] = calls[i]()
        except Exception as err:  # noqa: BLE001 - the outcome under test
            outcomes[i] = err

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for _ in range(1000):  # bounded: until all are queued behind the held batch
        if commits._queue.qsize() >= len(calls):
            break
        threading.Event().wait(0.005)
    gate.set()
    for t in [holder, *threads]:
        t.join(timeout=30)
    return outcomes


def test_writes_waiting_together_commit_once_and_a_failing_one_is_undone_alone(tmp_path: Path) -> None:
    db = _db(tmp_path)
    commits = GroupCommit(db)
    commits.run(_insert(db, "taken"))
    before = commits.batches
    calls: list[Callable[[], object]] = [lambda k=k: commits.run(_insert(db, k)) for k in ("a", "b", "taken", "c")]
    outcomes = _queued_behind(commits, db, calls)
    assert outcomes[:2] == ["a", "b"] and outcomes[3] == "c"
    assert isinstance(outcomes[2], sqlite3.IntegrityError)  # only its own write is rolled back
    assert commits.batches - before == 2  # the held batch, then one commit for all four
    assert _keys(db) == ["a", "b", "c", "taken"]
    commits.close()


def test_a_commit_that_fails_fails_every_write_of_its_batch(tmp_path: Path) -> None:
    db = _db(tmp_path)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    db.execute("CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
    commits = GroupCommit(db)

    def orphan() -> None:  # accepted by the statement, refused by COMMIT (a deferred foreign key)
        db.conn.execute("INSERT INTO child (p) VALUES (42)")

    calls: list[Callable[[], object]] = [lambda: commits.run(_insert(db, "x")), lambda: commits.run(orphan),
                                         lambda: commits.run(_insert(db, "y"))]
    outcomes = _queued_behind(commits, db, calls)
    assert all(isinstance(o, sqlite3.IntegrityError) for o in outcomes), outcomes
    assert _keys(db) == [] and db.execute("SELECT count(*) FROM child").fetchone()[0] == 0
    assert not db.conn.in_transaction
    assert commits.run(_insert(db, "z")) == "z"  # the writer goes on
    commits.close()


def test_a_caller_on_an_event_loop_is_woken_after_the_commit(tmp_path: Path) -> None:
    db = _db(tmp_path)
    commits = GroupCommit(db)
    seen: list[list[str]] = []

    async def main() -> list[str]:
        keys = await asyncio.gather(*(commits.run_async(_insert(db, f"k{i}")) for i in range(20)))
        other = sqlite3.connect(tmp_path / "c.db")  # another connection sees them: committed
        seen.append(sorted(r[0] for r in other.execute("SELECT k FROM t")))
        other.close()
        return list(keys)

    assert asyncio.run(main()) == [f"k{i}" for i in range(20)]
    assert seen == [sorted(f"k{i}" for i in range(20))]
    with pytest.raises(sqlite3.IntegrityError):
        asyncio.run(commits.run_async(_insert(db, "k1")))
    commits.close()
    with pytest.raises(RuntimeError):
        commits.run(_insert(db, "late"))


def test_inline_commits_on_the_loop_once_per_iteration_and_undoes_a_failing_write_alone(tmp_path: Path) -> None:
    db = _db(tmp_path)
    commits = GroupCommit(db, inline=True)

    async def main() -> list[object]:
        calls = [commits.run_async(_insert(db, k)) for k in ("a", "b", "a", "c")]
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        other = sqlite3.connect(tmp_path / "c.db")  # answered only once committed
        assert sorted(r[0] for r in other.execute("SELECT k FROM t")) == ["a", "b", "c"]
        other.close()
        return list(outcomes)

    outcomes = asyncio.run(main())
    assert outcomes[0] == "a" and outcomes[1] == "b" and outcomes[3] == "c"
    assert isinstance(outcomes[2], sqlite3.IntegrityError)
    assert commits.batches == 1 and commits._thread is None  # one commit, and no thread was needed
    assert asyncio.run(commits.run_async(_insert(db, "d"))) == "d"  # another loop later: its own flush
    commits.close()
