"""Follow the status of the consents we hold, so a revocation shows the moment it happens.

The registry pushes an event for every accepted status list update (``GET /v1/events``,
Server-Sent Events).  For each event about a list one of our consents points to, the watcher
fetches the list, verifies it (signature, signed by the per-list key the *credential* names,
for the list URI the credential names, not older than what we saw) and records each consent's
state: ``valid``, ``revoked``, ``suspended``, ``invalid`` (an application-specific value) or
``unknown`` with the reason code when the list cannot be had or trusted.  The data holder
re-checks status itself before releasing anything; this view is for the company's own
bookkeeping (stop using data under a revoked consent, don't present a suspended one).

Only the registries the company configured are asked (``registries``), and, with a pinned
council (``council``), those its current signed trust list names (spec 3.5; see
:mod:`issuer.council`): a consent whose list is anywhere else stays ``unknown`` with
``status_untrusted`` and nothing is fetched, so a user cannot make the company's server send
requests to an address of the user's choosing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from common import RegistryClient, check_trusted_list_uri
from protocol import CopyMeError, Status, StatusInvalid, StatusListToken, StatusRollback, clock

from .council import TRUST_REFRESH, CouncilRegistries
from .store import IssuerStorage, StoredConsent

__all__ = ["RegistryLike", "StatusWatcher", "registry_base"]

log = logging.getLogger("copyme.issuer.status")

STATES = {Status.VALID: "valid", Status.REVOKED: "revoked", Status.SUSPENDED: "suspended",
          Status.APPLICATION: "invalid"}


class RegistryLike(Protocol):
    """What the watcher needs of :class:`common.registry_client.RegistryClient`."""

    def fetch(self, uri_or_list_id: str, etag: str | None = None) -> Any: ...

    def events(self, last_event_id: str | None = None, list_id: str | None = None) -> Iterator[Any]: ...

    def trust_list(self) -> bytes: ...


def _close(stream: Any) -> None:
    close = getattr(stream, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # closing from another thread may race the reader
            pass


def registry_base(list_uri: str) -> str:
    """The registry's base URL from a status list URI (``<base>/v1/lists/<id>``)."""
    base, sep, _ = list_uri.rpartition("/v1/lists/")
    return base if sep else list_uri


def _default_client(base_url: str) -> RegistryLike:
    return RegistryClient(base_url)


class StatusWatcher:
    """Keeps each stored consent's last known state up to date from its registry."""

    def __init__(self, store: IssuerStorage, *, registries: Sequence[str] = (), council: str | None = None,
                 client_factory: Callable[[str], RegistryLike] = _default_client,
                 now: Callable[[], int] | None = None, trust_refresh: float = TRUST_REFRESH) -> None:
        self.store = store
        #: Base URLs of the configured registries whose lists and feeds may be fetched (none: nothing is).
        self.registries = tuple(r.rstrip("/") for r in registries)
        self._client_factory = client_factory
        self._now = now or (lambda: clock.now())
        #: The registries the pinned ``council``'s trust list names (read from the configured ones).
        self.council = CouncilRegistries(store, council, self.registries, client=self.client, now=self._now)
        self.trust_refresh = trust_refresh
        self._council_thread: threading.Thread | None = None
        self._threads: dict[str, threading.Thread] = {}
        self._streams: dict[str, Any] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def client(self, base_url: str) -> RegistryLike:
        """A registry client for ``base_url``."""
        return self._client_factory(base_url)

    def allowed_registries(self) -> tuple[str, ...]:
        """The registries whose lists and feeds may be fetched now: the configured ones, then
        those the pinned council's current trust list names."""
        return self.registries + tuple(r for r in self.council.registries if r not in self.registries)

    # ---------------------------------------------------------------- one refresh

    def refresh_list(self, uri: str) -> dict[str, str]:
        """Fetch and verify the list at ``uri`` and update every consent on it.

        Returns ``{consent id: state}``.  A list that cannot be fetched or trusted leaves each
        consent ``unknown`` with the reason code as detail: we never guess ``valid``.
        """
        consents = self.store.consents_on_list(uri)
        if not consents:
            return {}
        now = self._now()
        try:
            token = self._fetch_token(uri, {c.status_key for c in consents})
        except CopyMeError as err:
            for consent in consents:
                self.store.set_state(consent.id, "unknown", err.code, now)
            return {c.id: "unknown" for c in consents}
        out: dict[str, str] = {}
        for consent in consents:
            state, detail = self._state_of(consent, token, now)
            self.store.set_state(consent.id, state, detail, now)
            out[consent.id] = state
        return out

    def refresh(self, consent_id: str) -> str:
        """Refresh one consent (and its list's neighbours); returns its state."""
        consent = self.store.consent(consent_id)
        return self.refresh_list(consent.status_uri).get(consent.id, "unknown")

    def _fetch_token(self, uri: str, keys: set[str]) -> StatusListToken:
        check_trusted_list_uri(uri, self.allowed_registries())  # before any request
        result = self.client(registry_base(uri)).fetch(uri)
        if result is None:  # 304 cannot happen without an etag; treat as unavailable
            raise StatusInvalid("the registry answered 304 to an unconditional fetch")
        token = StatusListToken.decode(result.token)
        if token.uri != uri:
            raise StatusInvalid(f"the registry served the list of {token.uri!r} for {uri!r}")
        if token.signer not in keys:
            raise StatusInvalid("the list is not signed by the key our consents name")
        key = f"iat:{uri}"
        seen = self.store.get_meta(key)
        if seen is not None and token.issued_at < int(seen):
            raise StatusRollback(f"list issued at {token.issued_at}, older than {seen}")
        self.store.set_meta(key, str(token.issued_at))
        return token

    @staticmethod
    def _state_of(consent: StoredConsent, token: StatusListToken, now: int) -> tuple[str, str]:
        if token.signer != consent.status_key:
            return "unknown", "status_invalid"
        if token.expires_at is not None and now >= token.expires_at:
            return "unknown", "status_unavailable"
        try:
            status = token.status_list.get(consent.status_index)
        except CopyMeError as err:
            return "unknown", err.code
        if status == Status.VALID and now >= consent.expires_at:
            return "expired", "expired"
        return STATES[status], ""

    # ---------------------------------------------------------------- following the feed

    def follow(self, base_url: str) -> None:
        """Start (once per registry) a background thread that follows its change feed.

        Only a trusted registry is followed; consents on any other stay ``status_untrusted``.
        """
        base_url = base_url.rstrip("/")
        if base_url not in self.allowed_registries():
            log.info("not following the change feed of an untrusted registry")
            return
        with self._lock:
            if base_url in self._threads or self._stop.is_set():
                return
            thread = threading.Thread(target=self._run, args=(base_url,), daemon=True,
                                      name=f"status-watch {base_url}")
            self._threads[base_url] = thread
        thread.start()

    def follow_all(self) -> None:
        """Follow the registry of every list our consents point to; with a pinned council, also
        keep its trust list fresh in the background (and follow the registries it names)."""
        for uri in self.store.status_uris():
            self.follow(registry_base(uri))
        if self.council.council is not None and self.registries:
            with self._lock:
                if self._council_thread is not None or self._stop.is_set():
                    return
                self._council_thread = threading.Thread(target=self._follow_council, daemon=True,
                                                        name="status-watch council")
            self._council_thread.start()

    def _follow_council(self) -> None:
        while not self._stop.is_set():
            ok = self.council.refresh()
            named = self.council.registries
            for uri in self.store.status_uris():
                if registry_base(uri) in named:
                    self.follow(registry_base(uri))
            # after a failure (registry not up yet) try again sooner
            self._stop.wait(self.trust_refresh if ok else min(self.trust_refresh, 5.0))

    def stop(self) -> None:
        """Stop following: close every change feed (their threads end with the next heartbeat)."""
        self._stop.set()
        with self._lock:
            streams = list(self._streams.values())
        for stream in streams:
            _close(stream)

    def _run(self, base_url: str) -> None:
        meta_key = f"last_event:{base_url}"
        delay = 0.2
        while not self._stop.is_set():
            if base_url not in self.allowed_registries():  # the council no longer names it
                log.info("stopped following a registry no longer trusted")
                with self._lock:
                    self._threads.pop(base_url, None)
                return
            try:
                # Catch up first: events missed while we were not listening.
                for uri in self.store.status_uris():
                    if registry_base(uri) == base_url:
                        self.refresh_list(uri)
                # With no stored position, replay the feed from its start (once per registry):
                # "from now" would miss an update made between the catch-up and the connect.
                events = self.client(base_url).events(last_event_id=self.store.get_meta(meta_key) or "0")
                with self._lock:
                    self._streams[base_url] = events
                if self._stop.is_set():
                    _close(events)
                    break
                for event in events:
                    if self._stop.is_set():
                        break
                    if self.store.consents_on_list(event.uri):
                        self.refresh_list(event.uri)
                    self.store.set_meta(meta_key, str(event.id))
                    delay = 0.2
            except CopyMeError as err:
                log.info("status feed of %s: %s", base_url, err.code)
            except Exception:  # never let the watcher die on a registry's nonsense
                log.exception("status feed of %s failed", base_url)
            self._stop.wait(delay)
            delay = min(delay * 2, 10.0)
