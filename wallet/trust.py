"""Whose request is this?  The requester's name, verified against the registry's trust list.

The wallet pins the council DID that signs the trust list (given at ``init`` with ``--council``,
else trusted on first use from the registry).  Any failure to get a list that verifies under the
pinned key — registry down, bad signature, another signer, expired — makes the name UNVERIFIED
with the reason; it never aborts the review.  The last good list is cached for offline use.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from common.registry_client import RegistryClient
from common.trust_list import CouncilTrustList
from protocol import CopyMeError, Organisation, TrustList, Unavailable, clock

from .glossary import NOTES
from .store import Store

__all__ = ["NOTES", "TrustCheck", "TrustLists"]


@dataclass(frozen=True)
class TrustCheck:
    """The outcome of looking a DID up: the listed organisation, or why there is none.

    ``why`` is a key of :data:`NOTES` (so the note can be shown in the user's language, see
    :meth:`note`), ``reason`` the same in English with any error detail (for logs and JSON).
    """

    organisation: Organisation | None
    reason: str = ""
    why: str = ""
    error_code: str = ""

    @property
    def verified(self) -> bool:
        """Whether the DID is on a trust list verified under the pinned council key."""
        return self.organisation is not None

    def note(self, lang: str) -> str:
        """Why the DID is not verified, in ``lang`` (``ja`` or ``en``); empty when it is."""
        if self.verified:
            return ""
        template = NOTES.get(lang, NOTES["en"]).get(self.why)
        return template.format(code=self.error_code or "?") if template else self.reason


class TrustLists:
    """Fetches, verifies and caches the trust list for one wallet (the checks: :mod:`common.trust_list`)."""

    def __init__(self, store: Store, registry: RegistryClient, *, guard: threading.RLock | None = None) -> None:
        self.store = store
        self.guard = guard or threading.RLock()
        self.registry = registry
        self._current: TrustList | None = None
        self._error = ""
        self._error_code = ""

    @property
    def council(self) -> str | None:
        """The pinned council DID, if any."""
        return self.store.get_meta("council")

    def load(self, now: int | None = None, *, refresh: bool = True) -> TrustList | None:
        """The verified trust list (fetched once per wallet object), or ``None`` with :attr:`error` set.

        With ``refresh=False`` nothing is fetched: the list already loaded, else the last good
        one kept in the database.  The fetch runs without :attr:`guard` (it is held around the
        database only), so call this before taking the guard.
        """
        current = clock.now(now)
        if self._current is not None or (not refresh and self._error):
            return self._current
        with self.guard:
            pinned = CouncilTrustList(self.council, first_use=True)
        try:
            if not refresh:
                raise Unavailable("the trust list was not fetched yet")
            trust = pinned.fetch([("the registry", self.registry.trust_list)], current)
        except CopyMeError as err:
            with self.guard:
                if refresh:
                    self._error = f"trust list unavailable or unverifiable ({err.code}: {err.detail})"
                    self._error_code = err.code
                cached = self.store.get_meta("trust_list")
                if cached:
                    try:
                        self._current = pinned.verify(bytes.fromhex(cached), current)
                    except CopyMeError:
                        return None
                return self._current
        assert pinned.raw is not None and pinned.council is not None
        with self.guard:
            with self.store.transaction():
                if self.council is None:
                    self.store.set_meta("council", pinned.council)  # trust on first use
                self.store.set_meta("trust_list", pinned.raw.hex())
            self._current = trust
        return trust

    @property
    def error(self) -> str:
        """Why the last :meth:`load` found no verified list."""
        return self._error

    def check(self, did: str, now: int | None = None, *, refresh: bool = True) -> TrustCheck:
        """Look ``did`` up (``refresh=False``: without fetching, see :meth:`load`)."""
        trust = self.load(now, refresh=refresh)
        if trust is None:
            if self._error:
                return TrustCheck(None, self._error, "unavailable", self._error_code)
            return TrustCheck(None, "no trust list", "no_trust_list")
        org = trust.find(did)
        if org is None:
            return TrustCheck(None, "not on the council's trust list", "not_listed")
        return TrustCheck(org)
