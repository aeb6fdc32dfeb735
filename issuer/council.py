"""The registries a pinned council vouches for, so the status watcher may fetch from them too.

A council's signed trust list may name further **registries** (spec 3.5): registries whose
status lists a party following that council may fetch, besides the ones it was configured with.
The data holder's status cache takes them (:mod:`verifier.trust`); the data user's status watcher
does the same through :class:`CouncilRegistries`:

* only with a pinned council (``council=``, ``copyme issuer serve --council``): there is no trust
  on first use here, so without one no trust list is read and only the configured registries are
  trusted;
* the list is fetched from the configured registries (the first whose list verifies: signed by
  the pinned council, valid now), never from a registry the list itself names;
* the last good list is kept in the store's meta, so the named registries survive a restart with
  the registry down, and they count only while that list is valid (an expired list names none);
* a fetch failure keeps the last good list; it never widens what is trusted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from protocol import CopyMeError, TrustList, UnknownKey
from protocol._model import check_did

from .store import IssuerStorage

__all__ = ["TRUST_REFRESH", "CouncilRegistries"]

log = logging.getLogger("copyme.issuer.council")

#: Seconds between fetches of the council's trust list.
TRUST_REFRESH = 300
_META = "council_trust_list"


class CouncilRegistries:
    """The registries named by the pinned council's current trust list (none without a council)."""

    def __init__(self, store: IssuerStorage, council: str | None, sources: Sequence[str], *,
                 client: Callable[[str], Any], now: Callable[[], int]) -> None:
        if council is not None:
            check_did(council, "council")
        self.store = store
        self.council = council
        self.sources = tuple(sources)
        self._client = client
        self._now = now
        self._list: TrustList | None = None
        self.loaded = threading.Event()
        stored = store.get_meta(_META) if council is not None else None
        if stored:
            try:
                self._use(bytes.fromhex(stored))  # may have expired since: then it names nothing
            except (CopyMeError, ValueError) as err:
                log.info("stored trust list not used: %s", getattr(err, "code", type(err).__name__))

    @property
    def registries(self) -> tuple[str, ...]:
        """Base URLs the current list names; none when there is no valid list of the pinned council."""
        found = self._list
        if found is None or self._now() >= found.expires_at:
            return ()
        return found.registries

    def refresh(self) -> bool:
        """Fetch and use the council's list from the configured registries; ``False`` (the last
        good list kept) if none has one that verifies, or no council is pinned."""
        if self.council is None:
            return False
        for source in self.sources:
            try:
                raw = self._client(source).trust_list()
                if not self._use(raw):
                    continue
            except CopyMeError as err:
                log.info("trust list from %s not used: %s", source, err.code)
                continue
            except Exception as err:  # noqa: BLE001 - a registry's nonsense never stops the watcher
                log.info("trust list from %s not used: %s", source, type(err).__name__)
                continue
            self.store.set_meta(_META, raw.hex())
            self.loaded.set()
            return True
        return False

    def _use(self, raw: bytes) -> bool:
        """Use ``raw`` if it is the pinned council's list, valid now and not older than the one in
        use (a replayed old list could name a registry the council has since dropped)."""
        trust = TrustList.decode(raw)
        if trust.issuer != self.council:
            raise UnknownKey("the trust list is not signed by the pinned council")
        trust.check_validity(self._now())
        if self._list is not None and trust.issued_at < self._list.issued_at:
            log.info("trust list older than the one in use: not used")
            return False
        self._list = trust
        return True
