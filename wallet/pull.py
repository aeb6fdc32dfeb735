"""Pulling usage receipts from every data holder the wallet is linked to (spec 7.8).

For each linked holder the wallet signs a fresh :class:`~protocol.ReceiptQuery` (audience = the
holder, 2 minutes, single use, ``after`` = the last receipt it holds) and posts it to the holder's
``/v1/receipts``.  Every receipt in the answer is verified with the holder's key (the signer must
be the holder asked) and must extend the chain held so far; the first one that does not stops
the pull from that holder: what came before it is stored, nothing after it is merged, and the
reason (``chain_gap``, ``chain_broken``, ``wrong_audience``, ``bad_signature``, ...) is kept
as a warning for the user (:meth:`wallet.receipts_store.ReceiptStore.failed`).

Network work happens outside the wallet's lock: ``lock`` is taken only around the short database
reads and writes, so a revoke or suspend never waits for a slow holder.  Every pull is bounded:
at most :data:`MAX_PAGES` answers per holder, and one overall ``deadline`` for all holders.
Each holder is asked through :class:`common.HolderClient` (a size cap, the holder's own error
codes).  :class:`ReceiptPuller` runs it in the background while ``copyme wallet serve`` runs.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from common import MAX_RECEIPTS_ANSWER, HolderClient, Periodic
from protocol import (
    CopyMeError,
    DecodeError,
    KeyPair,
    ReceiptQuery,
    Unavailable,
    UsageReceipt,
    WrongAudience,
    clock,
)

from .receipts_store import ReceiptStore

__all__ = ["DEFAULT_DEADLINE", "DEFAULT_PULL_INTERVAL", "MAX_ANSWER", "MAX_PAGES", "PullResult", "ReceiptPuller",
           "parse_answer", "pull_all"]

#: Seconds one pull (all holders together) may take.
DEFAULT_DEADLINE = 20.0
#: Seconds between two background pulls of ``serve``.
DEFAULT_PULL_INTERVAL = 300.0
#: Answers read from one holder in one pull (100 receipts each).
MAX_PAGES = 20
#: Largest answer body read (bytes): 100 receipts of at most ~2 KiB, base64url, with room to spare.
MAX_ANSWER = MAX_RECEIPTS_ANSWER

log = logging.getLogger("wallet.pull")


@dataclass(frozen=True)
class PullResult:
    """What one pull from one holder brought: new receipts, the last ``seq`` held, and the error if any."""

    holder: str
    holder_url: str
    new: int
    last_seq: int
    error: str | None = None
    detail: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the pull went through without a problem."""
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        """The JSON answer of ``sync`` (``receipts``) and ``POST /api/receipts/pull``."""
        return asdict(self)


def _no_lock() -> AbstractContextManager[Any]:
    return contextlib.nullcontext()


class _Deadline:
    """One overall deadline, shared by the pulls from every holder."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise Unavailable("the pull's overall deadline passed")
        return remaining


def _fetch(client: HolderClient, query: bytes, timeout: float, deadline: _Deadline) -> tuple[list[bytes], bool]:
    """POST one query, within what is left of the deadline; the answer's receipts (raw bytes, in
    order) and its ``more`` flag."""
    return parse_answer(client.receipts(query, deadline=min(timeout, deadline.left())))


def parse_answer(body: bytes) -> tuple[list[bytes], bool]:
    """A holder's ``POST /v1/receipts`` answer: the receipts' bytes (in order) and ``more``.

    Anything but ``{"receipts": [base64url text, ...], "more": bool}`` is ``malformed``; the
    receipts themselves are checked by the caller.
    """
    try:
        data = json.loads(body)
        encoded, more = data["receipts"], data["more"]
        if not isinstance(encoded, list) or not isinstance(more, bool) or not all(isinstance(e, str) for e in encoded):
            raise TypeError
        raws = [base64.urlsafe_b64decode(e + "=" * (-len(e) % 4)) for e in encoded]
    except (ValueError, KeyError, TypeError, RecursionError) as err:
        raise DecodeError("the holder's answer is not a receipts list") from err
    return raws, more


def _pull_one(receipts: ReceiptStore, key: KeyPair, holder: str, url: str, http: HolderClient, *,
              lock: Callable[[], AbstractContextManager[Any]], timeout: float, deadline: _Deadline,
              now: int | None) -> PullResult:
    """Pull from one ``holder`` at ``url`` into the wallet's ``receipts``, a page at a time, each
    query signed with ``key``; the verified receipts that extend the chain are stored page by page
    (under ``lock``), and the first problem stops the pull and is kept as the holder's warning."""
    with lock():
        last_seq, last_raw = receipts.position(holder)
    new = 0
    try:
        for _ in range(MAX_PAGES):
            query = ReceiptQuery.create(user=key.did, holder=holder, after=last_seq, now=now).sign(key)
            raws, more = _fetch(http, query, timeout, deadline)
            accepted: list[UsageReceipt] = []
            problem: CopyMeError | None = None
            for raw in raws:
                try:
                    receipt = UsageReceipt.decode(raw)
                    if receipt.holder != holder:
                        raise WrongAudience(f"receipt {receipt.seq} is signed by {receipt.holder}, not by the holder asked")
                    receipt.check_follows(last_seq, last_raw)
                except CopyMeError as err:
                    problem = err
                    break
                accepted.append(receipt)
                last_seq, last_raw = receipt.seq, receipt.raw
            with lock():
                receipts.add(holder, url, accepted, clock.now(now))
            new += len(accepted)
            if problem is not None:
                raise problem
            if not more or not raws:
                break
        with lock():
            receipts.succeeded(holder, url, clock.now(now))
        return PullResult(holder, url, new, last_seq)
    except CopyMeError as err:
        with lock():
            receipts.failed(holder, url, err.code, err.detail, clock.now(now))
        return PullResult(holder, url, new, last_seq, err.code, err.detail)


def pull_all(receipts: ReceiptStore, key: KeyPair | Callable[[str], KeyPair], *,
             lock: Callable[[], AbstractContextManager[Any]] | None = None,
             transport: httpx.AsyncBaseTransport | None = None, timeout: float = 5.0,
             deadline: float = DEFAULT_DEADLINE, now: int | None = None) -> list[PullResult]:
    """Pull new receipts from every holder linked in ``receipts`` (the wallet's receipt store, which
    knows the holders, where each chain stands, and keeps what comes in and any warning), signing
    each query with ``key``.

    ``key`` may be a function of the holder's DID, for wallets that link a different DID at each
    holder: the query must be signed by a DID linked there.

    ``lock`` (a context manager factory) guards the wallet's database; it is never held while
    waiting for a holder.  A holder the deadline leaves no time for is reported ``unavailable``.
    """
    take = lock or _no_lock
    with take():
        holders = receipts.holders()
        signers = {holder: key if isinstance(key, KeyPair) else key(holder) for holder, _ in holders}
    limit = _Deadline(deadline)
    results = []
    for holder, url in holders:
        with HolderClient(url, deadline=timeout, transport=transport) as http:
            results.append(_pull_one(receipts, signers[holder], holder, url, http, lock=take, timeout=timeout,
                                     deadline=limit, now=now))
    return results


class ReceiptPuller(Periodic[list[PullResult]]):
    """Runs a pull now and every ``interval`` seconds until :meth:`stop` (``copyme wallet serve``)."""

    name = "wallet-receipt-pull"
    what = "receipt pull"

    def __init__(self, pull: Callable[[], list[PullResult]], *, interval: float = DEFAULT_PULL_INTERVAL) -> None:
        super().__init__(interval=interval, log=log)
        self._pull = pull

    def work(self) -> list[PullResult]:
        """One pull from every linked holder."""
        results = self._pull()
        for result in results:
            if result.ok:
                log.info("receipts from %s: %d new (last %d)", result.holder_url, result.new, result.last_seq)
            else:
                log.warning("receipts from %s stopped (%s: %s)", result.holder_url, result.error, result.detail)
        return results

    def stop(self, timeout: float = DEFAULT_DEADLINE + 5) -> None:
        """Stop the thread (waits for a pull in progress, which its deadline bounds)."""
        super().stop(timeout)
