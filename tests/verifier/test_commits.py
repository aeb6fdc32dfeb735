"""GroupCommit: writes of concurrent callers share one transaction; each gets its own outcome,
and nobody hears of a write before its commit returned."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from protocol import UsageReceipt, cid_bytes
from tests.support.samples import KEYS
from verifier.commits import GroupCommit
from verifier.receipts import Attempt, ReceiptLog
from verifier.records import Records
from verifier.store import Database, open_database, open_store


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


def _entry(code: str) -> dict[str, object]:
    return Records.refusal_entry(code, "test", now=1_700_000_000)


def test_a_write_undone_in_a_batch_leaves_no_trace_in_the_chain_heads(tmp_path: Path, backend: str | None) -> None:
    """The records and receipt chain heads kept in memory (SQLite) follow a rollback to a savepoint;
    on PostgreSQL the records lock is taken again after one."""
    db = open_store(backend) if backend is not None else open_database(tmp_path / "h.db")
    records = Records(db)
    receipts = ReceiptLog(db, KEYS.holder, lambda did: "C-1")
    attempt = Attempt(customer_id="C-1", user=KEYS.user.did, consent=cid_bytes(b"consent"),
                      presenter=KEYS.requester.did, items=("balance",), purpose="dpv:ServiceProvision")
    commits = GroupCommit(db)
    commits.run(lambda: records.write(_entry("first"), None, lambda at: receipts.append(attempt, "refused", "a", at)))

    def written_then_failed() -> None:
        records.write(_entry("undone"), None, lambda at: receipts.append(attempt, "refused", "b", at))
        raise ValueError("after writing")

    calls: list[Callable[[], object]] = [
        lambda: commits.run(lambda: records.write(_entry("second"), None,
                                                  lambda at: receipts.append(attempt, "refused", "c", at))),
        lambda: commits.run(written_then_failed),
        lambda: commits.run(lambda: records.write(_entry("third"), None,
                                                  lambda at: receipts.append(attempt, "refused", "d", at)))]
    outcomes = _queued_behind(commits, db, calls)
    assert isinstance(outcomes[1], ValueError) and not isinstance(outcomes[0], Exception)
    commits.run(lambda: records.write(_entry("fourth"), None, lambda at: receipts.append(attempt, "refused", "e", at)))
    commits.close()
    assert [r["reason"] for r in records.all()] == ["first", "second", "third", "fourth"]
    assert records.verify_chain() == 4
    _assert_receipt_chain(receipts, ["a", "c", "d", "e"])


def test_on_postgres_a_batch_takes_the_records_lock_once(pg_dsn: str) -> None:
    db = open_store(pg_dsn)
    records = Records(db)
    commits = GroupCommit(db)
    locks: list[str] = []
    execute = db.execute

    def counting(sql: str, params: object = None) -> object:
        if "pg_advisory_xact_lock" in sql:
            locks.append(sql)
        return execute(sql, params)

    db.execute = counting  # type: ignore[method-assign]
    calls: list[Callable[[], object]] = [lambda c=c: commits.run(lambda: records.write(_entry(c))) for c in "abcd"]
    outcomes = _queued_behind(commits, db, calls)  # type: ignore[arg-type]
    commits.close()
    assert not any(isinstance(o, Exception) for o in outcomes)
    assert len(locks) == 1 and records.verify_chain() == 4
    db.close()  # type: ignore[attr-defined]


def test_writes_of_another_connection_are_chained_onto(tmp_path: Path) -> None:
    """A second process on the same SQLite file (e.g. the CLI) appends between two of ours."""
    mine, theirs = open_database(tmp_path / "h.db"), open_database(tmp_path / "h.db")
    records = {db: Records(db) for db in (mine, theirs)}
    receipts = {db: ReceiptLog(db, KEYS.holder, lambda did: "C-1") for db in (mine, theirs)}
    attempt = Attempt(customer_id="C-1", user=KEYS.user.did, consent=cid_bytes(b"consent"),
                      presenter=KEYS.requester.did, items=("balance",), purpose="dpv:ServiceProvision")
    for i, db in enumerate([mine, mine, theirs, mine, theirs, theirs, mine]):
        code = "r" + "abcdefg"[i]
        with db.transaction():
            records[db].write(_entry(code), None, lambda at, db=db, code=code: receipts[db].append(
                attempt, "refused", code, at))
    assert records[mine].verify_chain() == 7
    _assert_receipt_chain(receipts[mine], ["r" + c for c in "abcdefg"])


def _assert_receipt_chain(receipts: ReceiptLog, reasons: list[str]) -> None:
    stored = receipts.of_customer("C-1").receipts
    decoded = [UsageReceipt.decode(r.raw) for r in stored]
    assert [r.reason for r in decoded] == reasons
    previous: tuple[int, bytes | None] = (0, None)
    for receipt, row in zip(decoded, stored, strict=True):
        receipt.check_follows(*previous)
        previous = (receipt.seq, row.raw)


def test_while_serving_the_wal_is_checkpointed_on_its_own_thread_not_inside_a_commit(tmp_path: Path) -> None:
    db = _db(tmp_path)
    db.start_background()
    try:
        assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0  # no checkpoint (and fsyncs) in a commit
        checkpoints = db._checkpoints
        assert checkpoints is not None
        runs = checkpoints.runs
        commits = GroupCommit(db, inline=True)

        async def main() -> None:
            for i in range(50):
                await asyncio.gather(*(commits.run_async(_insert(db, f"k{i}-{j}")) for j in range(4)))

        asyncio.run(main())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (checkpoints.runs > runs and checkpoints.last):
            time.sleep(0.05)
        assert checkpoints.last, "the background thread checkpointed what was committed"
        commits.close()
    finally:
        db.stop_background()
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000  # SQLite's default again
    db.conn.close()
    reopened = open_database(tmp_path / "c.db")
    assert reopened.execute("SELECT count(*) FROM t").fetchone()[0] == 200
