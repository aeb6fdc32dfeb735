"""Presentation signatures checked ahead, on a second core, while the event loop serves others.

A release makes two Ed25519 operations (the credential's verify is cached): the presentation's
verify and the usage receipt's signature.  The verify alone cost as much CPU as the whole of
``GET /health``, and the data gate serves from one event loop, so it bounded the gate's rate.
pynacl (cffi) releases the GIL while libsodium works, so a thread can verify while the loop
decodes, looks up and answers other requests: :class:`SignatureThread` does that.

- **Batched hand-offs.**  The requests that reach the gate in one loop iteration are handed to
  the thread together, and the loop is woken once per batch, not per request: a hand-off per
  request (``run_in_executor``) cost more CPU than the verify it moved.
- **Nothing skipped, nothing reordered.**  The release still verifies the presentation in the
  documented order (spec 6.2).  What the thread found valid - byte for byte this key, this
  ``Sig_structure`` and this signature (:func:`protocol.keys.verified_ahead`) - is not handed to
  libsodium a second time; everything the thread could not vouch for (a bad signature, another
  shape, a stopped thread) is checked again in order on the loop, so every refusal keeps its
  reason code.
- **Only with a second core.**  On a machine (or CPU set) with one core the thread could only
  take turns with the loop: there every signature is checked on the loop, as before.
- **Fail closed, never stuck.**  An error on the thread answers its batch "not checked"; after
  :meth:`SignatureThread.close` every check answers "not checked" at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
from typing import Any

from protocol.cose import signature_ahead
from protocol.keys import Verified

__all__ = ["SignatureThread", "usable_cores"]

_log = logging.getLogger("copyme.verifier")
_STOP = object()
_Batch = list[tuple[bytes, "asyncio.Future[Verified | None]"]]


class SignatureThread:
    """One thread that checks the signatures of COSE_Sign1 objects of type ``typ`` for event loops."""

    def __init__(self, typ: str, *, max_size: int, cores: int | None = None) -> None:
        self.typ = typ
        self.max_size = max_size
        #: Whether signatures are checked on the thread at all: only where a second core can run it
        #: (``cores``: how many this process may use; default: its CPU affinity).
        self.enabled = (usable_cores() if cores is None else cores) > 1
        self._pending: dict[asyncio.AbstractEventLoop, _Batch] = {}
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        #: Batches handed to the thread and signatures checked there (for tests and benchmarks).
        self.batches = 0
        self.checked = 0

    async def check(self, data: bytes) -> Verified | None:
        """``data``'s signature checked on the thread: the proof, or ``None`` (not valid, or not checked)."""
        if self._closed or not self.enabled:
            return None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Verified | None] = loop.create_future()
        waiting = self._pending.get(loop)
        if waiting is None:  # handed over after every request that is ready in this loop iteration
            waiting = self._pending[loop] = []
            loop.call_soon(self._hand_over, loop)
        waiting.append((data, future))
        return await future

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._pending.pop(loop, [])
        with self._lock:
            if not self._closed:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._work, name="copyme-signatures", daemon=True)
                    self._thread.start()
                self.batches += 1
                self._queue.put((loop, batch))
                return
        _settle(batch, [None] * len(batch))

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is _STOP:
                return
            loop, batch = job
            try:
                results = [signature_ahead(data, self.typ, self.max_size) for data, _ in batch]
                self.checked += len(batch)
            except Exception as err:  # noqa: BLE001 - a bug here must not hang the requests: check on the loop
                _log.error("signature thread: %s; checking on the event loop instead", type(err).__name__)
                results = [None] * len(batch)
            try:
                loop.call_soon_threadsafe(_settle, batch, results)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass

    def close(self) -> None:
        """Stop the thread after the batches already handed over (waits for it); later checks answer ``None``."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._queue.put(_STOP)
        if thread is not None:
            thread.join()


def usable_cores() -> int:
    """How many cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux: every core the system has
        return os.cpu_count() or 1


def _settle(batch: _Batch, results: list[Verified | None]) -> None:
    for (_data, future), result in zip(batch, results, strict=True):
        if not future.done():  # the request may have been cancelled meanwhile
            future.set_result(result)
