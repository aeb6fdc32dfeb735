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

The checks that make a list usable (signer, validity, not older than the one in use) are
:class:`common.trust_list.CouncilTrustList`, shared with the wallet and the data holder.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from common.trust_list import CouncilTrustList
from protocol import CopyMeError, check_did

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
        self._list = CouncilTrustList(council)  # no trust on first use: without a council, no list
        self.loaded = threading.Event()
        stored = store.get_meta(_META) if council is not None else None
        if stored:
            try:
                self._list.use(bytes.fromhex(stored), now())  # may have expired since: then it names nothing
            except (CopyMeError, ValueError) as err:
                log.info("stored trust list not used: %s", getattr(err, "code", type(err).__name__))

    @property
    def registries(self) -> tuple[str, ...]:
        """Base URLs the current list names; none when there is no valid list of the pinned council."""
        return self._list.registries(self._now())

    def refresh(self) -> bool:
        """Fetch and use the council's list from the configured registries (the first whose list
        is the pinned council's, valid now and not older than the one in use); ``False`` (the last
        good list kept) if none has one, or no council is pinned."""
        if self.council is None:
            return False
        sources = [(source, lambda source=source: self._client(source).trust_list()) for source in self.sources]
        try:
            self._list.fetch(sources, self._now())
        except CopyMeError:
            return False  # each source's refusal was logged
        assert self._list.raw is not None
        self.store.set_meta(_META, self._list.raw.hex())
        self.loaded.set()
        return True
