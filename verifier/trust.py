"""Recipient names from the registry's signed trust list, for the provision records.

APPI asks a provider's record to name the recipient by "a matter sufficient to identify" it; a
``did:key`` alone means nothing to an auditor.  The registry operator (an industry council)
signs a trust list of organisations with their Japanese and English names; the holder keeps the
latest valid one in memory and in SQLite (so names survive a restart with the registry down),
looks a recipient's DID up there when it writes a record, and stores the DID *and* the name.

The council DID that must sign the list is pinned: given by the deployer (``council=``), or
else taken from the first list fetched (trust on first use, as the wallet does); a list signed
by anyone else, expired, or older than the one in use is ignored (the checks are
:mod:`common.trust_list`, shared with the wallet and the issuer).  A name is only a label for the record - it decides nothing - so a
registry that is down, or a recipient that is not listed, just means a record with the DID only.
The list is refreshed in the background every :data:`TRUST_REFRESH` seconds, never on the
request path.

The same list may name further **registries** (:attr:`TrustNames.registries`): the status cache
fetches lists from those too, besides the holder's own registry (see :mod:`verifier.status_cache`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from common.trust_list import CouncilTrustList
from protocol import clock
from protocol.errors import CopyMeError

from .store import HolderDatabase

__all__ = ["TRUST_REFRESH", "TrustNames"]

log = logging.getLogger(__name__)

#: Seconds between fetches of the registry's trust list.
TRUST_REFRESH = 300


class TrustNames:
    """DID -> ``{"ja", "en"}`` of the organisations on the pinned council's current trust list."""

    def __init__(self, client: Any, db: HolderDatabase, *, council: str | None = None,
                 refresh: float = TRUST_REFRESH, clock_fn: Callable[[], int] | None = None) -> None:
        self._client = client
        self._db = db
        self._clock = clock_fn or clock.now
        self.refresh_every = refresh
        self._names: dict[str, dict[str, str]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.loaded = threading.Event()
        with db.lock:
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            stored = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('council', 'trust_list')").fetchall())
        self._list = CouncilTrustList(council or stored.get("council"), first_use=True)
        if council is not None and stored.get("council") != council:
            self._save("council", council)
        if "trust_list" in stored:
            try:
                self._use(bytes.fromhex(stored["trust_list"]), self._clock())
            except (CopyMeError, ValueError) as err:
                log.info("stored trust list not used: %s", getattr(err, "code", type(err).__name__))

    @property
    def council(self) -> str | None:
        """The council DID a list must be signed by: given, or the first list's signer, or ``None`` yet."""
        return self._list.council

    @council.setter
    def council(self, did: str | None) -> None:
        self._list.council = did

    @property
    def registries(self) -> tuple[str, ...]:
        """Base URLs of the registries the pinned council's current list names (besides the
        holder's own); none once that list has expired."""
        return self._list.registries(self._clock())

    def name_of(self, did: str | None) -> dict[str, str] | None:
        """The listed name of ``did`` (a copy), or ``None`` when it is not on the list."""
        found = self._names.get(did) if did is not None else None
        return dict(found) if found is not None else None

    def refresh(self, now: int | None = None) -> bool:
        """Fetch, verify and use the registry's trust list now; ``False`` (names kept) on any failure."""
        fetch = getattr(self._client, "trust_list", None)
        if fetch is None:
            return False
        try:
            self._use_fetched(fetch, clock.now(now) if now is not None else self._clock())
        except CopyMeError as err:  # a label must never take the gate down
            log.info("trust list not refreshed: %s", err.code)
            return False
        assert self._list.raw is not None
        self._save("trust_list", self._list.raw.hex())
        self.loaded.set()
        return True

    def _use_fetched(self, fetch: Callable[[], bytes], now: int) -> None:
        pinned_before = self._list.council
        self._list.fetch([("the registry", fetch)], now)
        self._took(pinned_before)

    def _use(self, raw: bytes, now: int) -> None:
        pinned_before = self._list.council
        self._list.use(raw, now)
        self._took(pinned_before)

    def _took(self, pinned_before: str | None) -> None:
        """A list passed every check (:mod:`common.trust_list`): pin its council, take its names."""
        trust = self._list.current
        assert trust is not None
        if pinned_before is None and self._list.council is not None:
            self._save("council", self._list.council)  # trust on first use
        self._names = {o.did: {"ja": o.name_ja, "en": o.name_en} for o in trust.organisations}

    def _save(self, key: str, value: str) -> None:
        with self._db.lock:
            self._db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                             "ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value])

    def follow(self) -> None:
        """Fetch the list now and then every ``refresh_every`` seconds, in a background thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="copyme-trust-list", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            ok = self.refresh()  # after a failure (registry not up yet) try again sooner
            if self._stop.wait(self.refresh_every if ok else min(self.refresh_every, 5.0)):
                return

    def close(self) -> None:
        """Stop the background refresh."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)
