"""Group commit: the records of concurrent requests share one transaction and one commit.

A release must be durably recorded before its response leaves (its replay entry, provision
record and usage receipt in one transaction).  Committing each request on its own made the
commit - and with ``synchronous=full`` its fsync - the largest cost of a release.  Here one
writer thread per holder collects every write that is waiting, runs them in **one**
transaction, commits once, and only then wakes each caller with its own outcome:

- one write that raises (a presentation id another write of the same batch already used:
  ``replayed``) is undone alone and its caller gets the error; the others still commit (the
  batch runs bare first, and again with a ``SAVEPOINT`` around each write only when one fails);
- a caller is woken only after ``COMMIT`` returned, so no response is sent for a record that
  is not committed; if the commit fails, every caller of that batch gets the error and nothing
  of the batch is written;
- ``committed`` hooks (the replay cache's in-memory front) run after the commit, before callers
  wake, so a repeat of a committed id is refused from memory at once.

What "committed" means is the database's durability: on SQLite in WAL mode ``synchronous=normal``
survives a kill of the process (the commit is in the WAL file when ``COMMIT`` returns) but not a
power cut; ``full`` fsyncs the WAL before ``COMMIT`` returns (one fsync per batch here, not per
request); PostgreSQL commits with its own ``synchronous_commit``.

Callers on an event loop ``await`` :meth:`GroupCommit.run_async`; threads call
:meth:`GroupCommit.run`.  Where a commit never waits for the disk (SQLite with
``synchronous=normal``: it only writes to the WAL file) the holder makes the group commit
``inline``: the writes queued by a loop's requests are committed on that loop, once per loop
iteration, after every request that was ready in it - no thread at all, which measured about a
quarter less CPU per release than handing each batch to the writer thread and back (the two
threads took turns at the GIL).  Where it waits (an fsync, a PostgreSQL round trip) the writer
thread commits and wakes each loop once per batch, so the loop keeps serving meanwhile.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from .store import HolderDatabase

__all__ = ["MAX_BATCH", "GroupCommit"]

T = TypeVar("T")

#: Most writes in one transaction (a bound on how long one commit holds the database lock).
MAX_BATCH = 256
_STOP = object()


class _Undo(Exception):
    """A write of a batch run without savepoints failed: roll the whole transaction back."""

    def __init__(self, job: _Job[Any], error: BaseException) -> None:
        super().__init__()
        self.job = job
        self.error = error


class _Job(Generic[T]):
    """One caller's write, its outcome, and how to wake the caller."""

    __slots__ = ("committed", "error", "event", "future", "loop", "result", "write")

    def __init__(self, write: Callable[[], T], committed: Callable[[], object] | None) -> None:
        self.write = write
        self.committed = committed
        self.result: T | None = None
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.future: asyncio.Future[T] | None = None
        self.event: threading.Event | None = None


class GroupCommit:
    """A writer thread that commits the writes of concurrent callers together (see the module docstring)."""

    def __init__(self, db: HolderDatabase, *, max_batch: int = MAX_BATCH, inline: bool = False) -> None:
        self._db = db
        self.max_batch = max_batch
        #: Commit event-loop callers' writes on the loop itself (once per loop iteration), not on
        #: the writer thread: right when a commit never waits for the disk (no fsync).
        self.inline = inline
        self._pending: dict[asyncio.AbstractEventLoop, list[_Job[Any]]] = {}
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        #: Transactions committed and writes in them (for tests and benchmarks).
        self.batches = 0
        self.writes = 0

    # ------------------------------------------------------------------ callers

    def run(self, write: Callable[[], T], committed: Callable[[], object] | None = None) -> T:
        """Run ``write()`` in the next shared transaction; return its result once that committed.

        ``write`` runs on the writer thread with the database lock held, inside the open
        transaction (use ``db.conn``); what it raises is raised here, and its writes are undone.
        """
        if threading.current_thread() is self._thread:
            raise RuntimeError("a group-commit write cannot wait for another one")
        job: _Job[T] = _Job(write, committed)
        job.event = threading.Event()
        self._submit(job)
        job.event.wait()
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    async def run_async(self, write: Callable[[], T], committed: Callable[[], object] | None = None) -> T:
        """:meth:`run` for a caller on an event loop: awaits the commit without blocking the loop."""
        job: _Job[T] = _Job(write, committed)
        job.loop = asyncio.get_running_loop()
        job.future = job.loop.create_future()
        if self.inline:
            if self._closed:
                raise RuntimeError("the holder's database is closed")
            waiting = self._pending.setdefault(job.loop, [])
            if not waiting:  # flushed after every request that is ready in this loop iteration
                job.loop.call_soon(self._flush, job.loop)
            waiting.append(job)
        else:
            self._submit(job)
        return await job.future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        """On ``loop``: commit the writes its requests queued in this iteration, then answer them."""
        waiting = self._pending.pop(loop, [])
        for start in range(0, len(waiting), self.max_batch):
            batch = waiting[start:start + self.max_batch]
            self._commit(batch)
            _settle(batch)

    def _submit(self, job: _Job[Any]) -> None:
        with self._start_lock:  # nothing is queued behind the stop marker: every job is answered
            if self._closed:
                raise RuntimeError("the holder's database is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._writer, name="copyme-group-commit", daemon=True)
                self._thread.start()
            self._queue.put(job)

    def close(self) -> None:
        """Commit what is queued, then stop the writer thread (waits for it)."""
        with self._start_lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(_STOP)
        if thread is not None:
            thread.join()

    # ------------------------------------------------------------------ the writer thread

    def _writer(self) -> None:
        stop = False
        while not stop:
            batch: list[_Job[Any]] = []
            item = self._queue.get()
            while True:
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
                if len(batch) >= self.max_batch:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._commit(batch)
                self._wake(batch)

    def _commit(self, batch: list[_Job[Any]]) -> None:
        """Commit ``batch``: first without savepoints; if a write fails, again with one per write.

        Almost every batch commits whole, and then a savepoint and its release per write are
        two statements of seven for nothing.  So the writes first run bare; the first one that
        raises rolls the whole transaction back, and - unless it was alone - the batch runs again
        with a savepoint around each write, which undoes the failing one alone.  A write must
        therefore be safe to run again after a rollback (every holder write is: it reads what it
        chains onto inside the transaction).
        """
        if self._run(batch, savepoints=False) and len(batch) > 1:
            for job in batch:
                job.error = None
            self._run(batch, savepoints=True)

    def _run(self, batch: list[_Job[Any]], *, savepoints: bool) -> bool:
        """One transaction over ``batch``; ``True``: a bare write failed and nothing was kept (run it again)."""
        db = self._db
        try:
            with db.lock:
                with db.transaction() as conn:
                    for job in batch:
                        if savepoints:
                            conn.execute("SAVEPOINT copyme_write")
                        try:
                            job.result = job.write()
                        except BaseException as err:  # noqa: BLE001 - handed to its caller, the batch goes on
                            if not savepoints:
                                raise _Undo(job, err) from err
                            job.error = err
                            conn.execute("ROLLBACK TO SAVEPOINT copyme_write")
                            db.forget()
                        if savepoints:
                            conn.execute("RELEASE SAVEPOINT copyme_write")
                for job in batch:
                    if job.error is None and job.committed is not None:
                        job.committed()
        except _Undo as undo:  # rolled back: nothing of the batch is written
            for job in batch:
                job.result = None
            undo.job.error = undo.error
            return True
        except BaseException as err:  # noqa: BLE001 - no commit: every caller of the batch gets the error
            for job in batch:
                if job.error is None:
                    job.error = err
                    job.result = None
            return False
        self.batches += 1
        self.writes += sum(1 for job in batch if job.error is None)
        return False

    def _wake(self, batch: list[_Job[Any]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Job[Any]]] = {}
        for job in batch:
            if job.loop is not None:
                by_loop.setdefault(job.loop, []).append(job)
            elif job.event is not None:
                job.event.set()
        for loop, jobs in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, jobs)  # one wake-up of the loop per batch
            except RuntimeError:  # the loop closed meanwhile: nobody is waiting any more
                pass


def _settle(jobs: list[_Job[Any]]) -> None:
    """On the caller's loop: hand each job's outcome to its awaiting request."""
    for job in jobs:
        future = job.future
        if future is None or future.done():
            continue
        if job.error is not None:
            future.set_exception(job.error)
        else:
            future.set_result(job.result)
