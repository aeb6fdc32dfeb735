"""A council's signed trust list (spec 3.5), fetched and verified in one place for every party.

Three parties read the trust list a registry serves: the wallet (a requester's verified name),
the data holder (a recipient's name for its records, and the further registries it may fetch
status lists from) and the data user's status watcher (those further registries).  What they
keep and where differs; what makes a list usable does not, and lives here in
:class:`CouncilTrustList`:

* it verifies as a TrustList (``typ``, signature) - the decode codes (``malformed``,
  ``bad_signature``, ``wrong_type`` ...);
* it is signed by the pinned council -> ``unknown_key``.  With ``first_use=True`` the first
  list used pins its signer (trust on first use: the wallet and the data holder when no council
  was given); without it, no council means no list is ever used;
* it is valid now (``iat`` .. ``exp``, 60 s leeway) -> ``expired`` / ``not_yet_valid``;
* it is not older than the list in use -> ``replayed`` (a replayed old list could name a
  registry the council has since dropped).

Only a list that passed every check becomes the one in use (and pins the council).
:meth:`CouncilTrustList.fetch` asks the registries given, in turn, and uses the first list that
passes; a failure (a registry down, a list refused) keeps the list in use and raises why the
last one failed, so a fetch never widens what is trusted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from protocol import CopyMeError, Organisation, TrustList, Unavailable
from protocol.errors import Replayed, UnknownKey

__all__ = ["CouncilTrustList"]

log = logging.getLogger("copyme.trust_list")


class CouncilTrustList:
    """The current trust list of one pinned council (or, with ``first_use``, of the first council seen)."""

    def __init__(self, council: str | None = None, *, first_use: bool = False) -> None:
        #: The council DID a list must be signed by (``None``: not pinned yet).
        self.council = council
        self.first_use = first_use
        #: The list in use and its bytes (to keep for a restart), once one passed every check.
        self.current: TrustList | None = None
        self.raw: bytes | None = None

    def verify(self, raw: bytes, now: int) -> TrustList:
        """``raw`` decoded and checked (signature, the pinned council, valid at ``now``) without
        using it; raises the refusal."""
        trust = TrustList.decode(raw)
        if self.council is None and not self.first_use:
            raise UnknownKey("no council is pinned, so no trust list is used")
        if self.council is not None and trust.issuer != self.council:
            raise UnknownKey(f"the trust list is signed by {trust.issuer}, not the pinned council {self.council}")
        trust.check_validity(now)
        return trust

    def use(self, raw: bytes, now: int) -> TrustList:
        """Verify ``raw`` and make it the list in use if it is not older than the current one
        (``replayed``); the first list used pins its council when none was."""
        trust = self.verify(raw, now)
        if self.current is not None and trust.issued_at < self.current.issued_at:
            raise Replayed(f"the trust list issued at {trust.issued_at} is older than the one in use "
                           f"({self.current.issued_at})")
        if self.council is None:
            self.council = trust.issuer  # trust on first use
        self.current, self.raw = trust, raw
        return trust

    def fetch(self, sources: Iterable[tuple[str, Callable[[], bytes]]], now: int) -> TrustList:
        """Fetch the list from each ``(name, fetch)`` source in turn and use the first that passes
        :meth:`use`.  When none does, the list in use is kept and the last refusal is raised
        (``unavailable`` when there was no source); an unexpected error of a source counts as
        ``unavailable``, so a registry's nonsense never escapes as anything but a CopyMe error."""
        failure: CopyMeError = Unavailable("no registry to fetch the trust list from")
        for name, fetch_one in sources:
            try:
                return self.use(fetch_one(), now)
            except CopyMeError as err:
                failure = err
            except Exception as err:  # noqa: BLE001 - a broken client or registry: try the next one
                failure = Unavailable(f"the trust list could not be fetched ({type(err).__name__})")
            log.info("trust list from %s not used: %s", name, failure.code)
        raise failure

    def find(self, did: str) -> Organisation | None:
        """The organisation with ``did`` on the list in use, if any (the list is not re-checked)."""
        return self.current.find(did) if self.current is not None else None

    def registries(self, now: int) -> tuple[str, ...]:
        """The further registries the list in use names, while it is valid at ``now`` (none after
        its ``exp``, or without a list)."""
        found = self.current
        if found is None or now >= found.expires_at:
            return ()
        return found.registries
