"""Status lists from the registry, cached only while they may be trusted, refreshed on change.

A cached list is used until the earliest of: its ``ttl`` (or the registry's ``max-age``) after it
was fetched, the maximum staleness this holder allows, and the token's ``exp``.  Past that it is
fetched again; if that fails the answer is ``status_unavailable`` - never a release on old news.

One background subscription to the registry's ``/v1/events`` change feed replaces a cached
list the moment the registry accepts a new version, so a revocation takes effect at the next
request rather than after ``ttl``.  An event carries the new signed token itself (spec 8.1.1);
it is applied only if it passes every check a fetched token passes, and is signed by the key
of the cached copy and newer than it; otherwise (no token, or one refused) the list is
re-fetched as it would be without push.  The subscription resumes after a dropped connection
with ``Last-Event-ID``, so updates published meanwhile are not missed; if a push-triggered
re-fetch fails, the cached copy is dropped (fail closed), and so is every cached copy when the
feed sends an event that cannot be read (the change it announced is unknown).

The feed never starts "from now": a list fetched before the subscription connected (or while
it was down before its first event) could change in between and nobody would say so until
``ttl``.  So the position is always known *before* any fetch: it is the one saved in SQLite
for this registry (written at most every second while following, and on close - an older
position only means replaying a few more events), or ``0`` - the registry's whole log - the
first time.  Replaying is cheap: an event is skipped unless its list is cached and its ``iat``
is newer than the cached token's (the registry only accepts strictly newer ones), so old
events cost a dictionary lookup and only an update the cache has not seen triggers a fetch.

A status URI is used only if it names a list on a registry this holder trusts (its configured
registry, plus any ``trusted_registries`` given): any other is ``status_untrusted`` before any
network request, so a credential cannot make the holder fetch from an address of its choosing.

Every token is checked before use, fetched or pushed, in one order (spec 7.3 step 8, 8.1.1): its
signature (``StatusListToken.decode``), its ``sub`` against the credential's status URI, its
signer against the per-list key the credential names (all ``status_invalid``), its ``exp``, and
its ``iat`` against the newest one already seen for that URI (``status_rollback``).  Only a
token that passed every check is remembered: it becomes the newest ``iat`` (kept in SQLite
across restarts) and the cached copy.  So a trusted registry serving a token under another key,
or an expired one, cannot raise the bar for the real list.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from common import check_trusted_list_uri
from common.registry_client import MAX_PUSHED_TOKEN
from protocol import Status, StatusListToken, StatusRef, cid_of, clock
from protocol.errors import (
    CopyMeError,
    DecodeError,
    Expired,
    Revoked,
    StatusInvalid,
    StatusRollback,
    StatusUnavailable,
    Suspended,
    TooLarge,
)

from .store import HolderDatabase

__all__ = ["DEFAULT_MAX_STALENESS", "RegistryLike", "StatusCache", "WouldBlock"]

log = logging.getLogger(__name__)

#: The longest a status list is used without asking the registry again, whatever its ttl says.
DEFAULT_MAX_STALENESS = 300
#: Seconds between saves of the change feed position while events arrive.
_SAVE_POSITION_EVERY = 1.0
_WRONG_KEY = "the status list is not signed by the key the consent names"
_EXPIRED = "the registry only has an expired status list"


class WouldBlock(Exception):  # noqa: N818 - not an error: "do this on a thread instead"
    """Raised in :meth:`StatusCache.cache_only` mode where a check would have to ask the registry."""


class RegistryLike(Protocol):
    """What the cache needs of ``common.registry_client.RegistryClient``."""

    def fetch(self, uri_or_list_id: str, etag: str | None = None, version: str | None = None) -> Any: ...

    def events(self, last_event_id: str | None = None, list_id: str | None = None) -> Iterator[Any]: ...


@dataclass
class _Entry:
    token: StatusListToken
    etag: str
    fetched_at: int
    fresh_until: int


class StatusCache:
    """Answers "what is the status of this credential right now?" from fresh, verified lists."""

    def __init__(self, client: RegistryLike, db: HolderDatabase, *, max_staleness: int = DEFAULT_MAX_STALENESS,
                 clock_fn: Callable[[], int] | None = None, trusted_registries: Sequence[str] = (),
                 named: Callable[[], Sequence[str]] | None = None) -> None:
        if max_staleness < 1:
            raise ValueError("max_staleness must be at least one second")
        self._client = client
        self._db = db
        self.max_staleness = max_staleness
        self._clock = clock_fn or clock.now
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stream: Any = None
        self._by_list: dict[str, set[str]] = {}
        self.events_seen = 0
        #: Pushed tokens used in place of a re-fetch, and pushed tokens refused (then fetched).
        self.pushes_applied = 0
        self.pushes_refused = 0
        self._registry_key = str(getattr(client, "base_url", "") or "")
        #: Base URLs of the registries whose lists may be fetched (fail closed: none without one).
        self.trusted_registries = tuple(r for r in (self._registry_key, *trusted_registries) if r)
        self._named = named or tuple
        self._saved_position: str | None = None
        self._saved_at = 0.0
        with db.lock:
            db.execute("CREATE TABLE IF NOT EXISTS status_seen (uri TEXT PRIMARY KEY, iat INTEGER NOT NULL)")
            db.execute("CREATE TABLE IF NOT EXISTS feed_position (registry TEXT PRIMARY KEY, last_event_id TEXT NOT NULL)")
            self._newest: dict[str, int] = dict(db.execute("SELECT uri, iat FROM status_seen").fetchall())
            row = db.execute("SELECT last_event_id FROM feed_position WHERE registry = ?",
                             [self._registry_key]).fetchone()
        # Known before the first fetch: the saved position, else the start of the registry's log.
        self.last_event_id: str = str(row[0]) if row else "0"
        self._saved_position = self.last_event_id if row else None
        self._cache_only = threading.local()

    # ------------------------------------------------------------------ checking a credential

    def check(self, ref: StatusRef, now: int | None = None) -> None:
        """Return if the entry is valid now; else raise its refusal (``revoked``, ``suspended`` ...)."""
        status = self.status_of(ref, now)
        if status is Status.VALID:
            return
        if status is Status.REVOKED:
            raise Revoked("the user revoked this consent")
        if status is Status.SUSPENDED:
            raise Suspended("the user paused this consent")
        raise StatusInvalid(f"status value {int(status)} is not one CopyMe writes")

    def allowed_registries(self) -> tuple[str, ...]:
        """The registries whose lists may be fetched now: the configured ones, then those the
        pinned council's current trust list names (``named``)."""
        return self.trusted_registries + tuple(self._named())

    def status_of(self, ref: StatusRef, now: int | None = None) -> Status:
        """The entry's status in a fresh list that is signed by ``ref.key`` and is about ``ref.uri``."""
        check_trusted_list_uri(ref.uri, self.allowed_registries())  # before any fetch: no request to elsewhere
        current = self._clock() if now is None else now
        entry = self._entries.get(ref.uri)
        if entry is None or current >= entry.fresh_until:
            if getattr(self._cache_only, "on", False):
                raise WouldBlock(ref.uri)
            entry = self._refresh(ref.uri, current, entry, ref.key)
        token = entry.token
        if token.signer != ref.key:  # a copy fetched for another credential naming another key
            raise StatusInvalid(_WRONG_KEY)
        return token.status_list.get(ref.index)

    # ------------------------------------------------------------------ fetching

    def _lock_for(self, uri: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(uri, threading.Lock())

    def _refresh(self, uri: str, current: int, seen: _Entry | None, key: str) -> _Entry:
        with self._lock_for(uri):
            entry = self._entries.get(uri)
            if entry is not None and entry is not seen and current < entry.fresh_until:
                return entry  # another thread refreshed it while we waited
            return self._fetch(uri, current, entry, key)

    def _fetch(self, uri: str, current: int, entry: _Entry | None, key: str,
               version: str | None = None) -> _Entry:
        """Fetch ``uri`` and cache it if it passes every check, the signer being ``key``."""
        try:
            if version is None:
                result = self._client.fetch(uri, entry.etag if entry is not None else None)
            else:  # pushed: ask for that version by URL, past any HTTP cache in front of the registry
                result = self._client.fetch(uri, entry.etag if entry is not None else None, version=version)
        except CopyMeError as err:
            self._drop_if_stale(uri, current)
            raise StatusUnavailable(f"the status list could not be fetched ({err.code}): {err.detail}") from None
        except Exception as err:  # a client bug must not become a release or a 500
            self._drop_if_stale(uri, current)
            raise StatusUnavailable(f"the status list could not be fetched ({type(err).__name__})") from None
        if result is None:  # 304: the copy we hold is still the registry's current one
            if entry is None:
                raise StatusUnavailable("the registry answered 'not modified' to a first fetch")
            token, etag, max_age = entry.token, entry.etag, None
            if token.expires_at is not None and current >= token.expires_at:
                self._entries.pop(uri, None)
                raise StatusUnavailable(_EXPIRED)
        else:
            try:
                token = self._verify(uri, result.token, key, current)
            except CopyMeError:
                self._drop_if_stale(uri, current)  # no fresh copy obtainable; nothing of this one kept
                raise
            etag, max_age = str(result.etag), result.max_age
        fresh = _fresh_until(token, current, max_age, self.max_staleness)
        new = _Entry(token=token, etag=etag, fetched_at=current, fresh_until=fresh)
        self._entries[uri] = new
        self._by_list.setdefault(_list_id(uri), set()).add(uri)
        return new

    def _drop_if_stale(self, uri: str, current: int) -> None:
        entry = self._entries.get(uri)
        if entry is not None and current >= entry.fresh_until:
            self._entries.pop(uri, None)

    def _verify(self, uri: str, data: bytes, key: str, now: int,
                cached: StatusListToken | None = None) -> StatusListToken:
        """``data`` decoded and checked, in the order of spec 8.1.1 for fetched and pushed tokens
        alike: signature, ``sub``, signed by ``key``, (pushed, given the ``cached`` copy: strictly
        newer than it), not expired at ``now``, not older than the newest ``iat`` seen.  Only then
        is its ``iat`` recorded as the newest: a token that is refused never raises the bar."""
        try:
            token = StatusListToken.decode(data)
        except CopyMeError as err:
            raise StatusInvalid(f"the status list does not verify ({err.code}): {err.detail}") from None
        if token.uri != uri:
            raise StatusInvalid("the status list is about another URI than the consent names")
        if token.signer != key:
            raise StatusInvalid(_WRONG_KEY if cached is None else
                                "the pushed status list is not signed by the key of the cached one")
        if cached is not None and token.issued_at <= cached.issued_at:
            raise StatusRollback(f"pushed status list issued at {token.issued_at} is not newer than "
                                 f"the cached {cached.issued_at}")
        if token.expires_at is not None and now >= token.expires_at:
            # fetched: an expired list is no list; pushed: refused, and the registry is asked instead
            raise StatusUnavailable(_EXPIRED) if cached is None else Expired("the pushed status list has expired")
        with self._db.lock:
            newest = self._newest.get(uri)
            if self._db.dialect != "sqlite":  # other workers record what they saw in the shared database
                row = self._db.execute("SELECT iat FROM status_seen WHERE uri = ?", [uri]).fetchone()
                if row is not None and (newest is None or int(row[0]) > newest):
                    newest = self._newest[uri] = int(row[0])
            if newest is not None and token.issued_at < newest:
                raise StatusRollback(f"status list issued at {token.issued_at} is older than {newest} already seen")
            if newest is None or token.issued_at > newest:
                self._newest[uri] = token.issued_at
                self._db.execute("INSERT INTO status_seen (uri, iat) VALUES (?, ?) ON CONFLICT (uri) DO UPDATE "
                                 "SET iat = excluded.iat WHERE excluded.iat > status_seen.iat",
                                 [uri, token.issued_at])
        return token

    @contextlib.contextmanager
    def cache_only(self) -> Iterator[None]:
        """In this thread, answer from fresh cached lists only; raise :class:`WouldBlock` instead of fetching.

        Lets the service run a check on its event loop when no network wait is needed.
        """
        self._cache_only.on = True
        try:
            yield
        finally:
            self._cache_only.on = False

    def invalidate(self, uri: str) -> None:
        """Forget the cached copy of ``uri`` (the next check fetches it again)."""
        self._entries.pop(uri, None)

    def cached(self) -> dict[str, dict[str, Any]]:
        """What is cached, for ``/health`` and the CLI."""
        return {uri: {"iat": e.token.issued_at, "etag": e.etag, "fetched_at": e.fetched_at,
                      "fresh_until": e.fresh_until} for uri, e in list(self._entries.items())}

    # ------------------------------------------------------------------ the change feed

    def on_event(self, uri: str, etag: str | None = None, iat: int | None = None,
                 token: bytes | None = None) -> None:
        """A list changed at the registry: if cached, apply the pushed ``token`` (when it passes
        every check) or re-fetch it now (drop the cached copy if that fails).

        Nothing to do when the cached copy is that version (``etag``) or a newer one (``iat``).
        """
        entry = self._entries.get(uri)
        if entry is None or (etag is not None and etag == entry.etag):
            return
        if iat is not None and iat <= entry.token.issued_at:
            return
        try:
            with self._lock_for(uri):
                entry = self._entries.get(uri)
                if entry is None:
                    return  # dropped meanwhile: the next check fetches it
                current = self._clock()
                if token is not None:
                    try:
                        self._apply_pushed(uri, entry, etag, token, current)
                        return
                    except CopyMeError as err:  # refused: never used; ask the registry itself
                        self.pushes_refused += 1
                        log.warning("pushed status list refused (%s); fetching it instead", err.code)
                self._fetch(uri, current, entry, entry.token.signer, version=etag)  # a list's key never changes
        except CopyMeError as err:
            log.warning("dropping cached status list after a failed push refresh: %s", err.code)
            self.invalidate(uri)

    def _apply_pushed(self, uri: str, entry: _Entry, etag: str | None, data: bytes, current: int) -> _Entry:
        """Use a token the change feed pushed in place of ``entry``, checked as a fetched one is
        (spec 8.1.1): size, the event's ``etag`` is its CID, signature, ``sub``, the cached copy's
        key, newer than the cached copy and than any seen, not expired.  Raises the refusal."""
        if len(data) > MAX_PUSHED_TOKEN:
            raise TooLarge(f"a pushed status list is at most {MAX_PUSHED_TOKEN} bytes")
        cid = cid_of(data)
        if etag is not None and etag != cid:
            raise StatusInvalid("the pushed status list is not the version the event names")
        token = self._verify(uri, data, entry.token.signer, current, entry.token)
        new = _Entry(token=token, etag=cid, fetched_at=current,
                     fresh_until=_fresh_until(token, current, None, self.max_staleness))
        self._entries[uri] = new
        self.pushes_applied += 1
        return new

    def subscribe(self) -> None:
        """Start the one background subscription to the registry's change feed."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._follow, name="copyme-status-events", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop following the change feed, drop its connection and save its position."""
        self._stop.set()
        stream, self._stream = self._stream, None
        if stream is not None and hasattr(stream, "close"):
            stream.close()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)
        self._save_position(force=True)

    def _save_position(self, force: bool = False) -> None:
        """Keep the feed position for the next start (throttled: an older one only replays more)."""
        position = self.last_event_id
        if position == self._saved_position:
            return
        if not force and time.monotonic() - self._saved_at < _SAVE_POSITION_EVERY:
            return
        try:
            with self._db.lock:
                self._db.execute("INSERT INTO feed_position (registry, last_event_id) VALUES (?, ?) "
                                 "ON CONFLICT (registry) DO UPDATE SET last_event_id = excluded.last_event_id",
                                 [self._registry_key, position])
        except Exception as err:  # noqa: BLE001 - e.g. closed database at shutdown: replaying more is safe
            log.info("feed position not saved (%s)", type(err).__name__)
            return
        self._saved_position, self._saved_at = position, time.monotonic()

    def _follow(self) -> None:
        delay = 0.2
        while not self._stop.is_set():
            try:
                self._stream = self._client.events(last_event_id=self.last_event_id)
                if self._stop.is_set():
                    break
                for event in self._stream:
                    if self._stop.is_set():
                        return
                    delay = 0.2
                    self._on_feed_event(str(event.uri), str(event.list_id), getattr(event, "etag", None),
                                        getattr(event, "iat", None), getattr(event, "token", None))
                    self.last_event_id = str(event.id)  # only once handled: a crash replays it
                    self.events_seen += 1
                    self._save_position()
            except DecodeError:
                # an event that cannot be read announced a change we cannot place: fail closed
                log.warning("unreadable change event after %s; dropping every cached status list",
                            self.last_event_id)
                self._entries.clear()
            except Exception as err:  # noqa: BLE001 - the feed must survive anything and resume
                log.info("status change feed dropped (%s); resuming after %s", type(err).__name__, self.last_event_id)
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, 5.0)

    def _on_feed_event(self, uri: str, list_id: str, etag: str | None, iat: int | None = None,
                       token: bytes | None = None) -> None:
        # By list id, not only by URI: the registry may name itself by another host than the
        # credential does (127.0.0.1 / localhost).  A dict lookup, so replaying the log is cheap.
        cached = set(self._by_list.get(list_id, ()))
        if uri in self._entries:
            cached.add(uri)
        for each in cached:
            self.on_event(each, etag, iat, token)


def _list_id(uri: str) -> str:
    """The list id at the end of a status list URI (``<registry>/v1/lists/<id>``)."""
    return uri.rpartition("/v1/lists/")[2] or uri


def _fresh_until(token: StatusListToken, fetched_at: int, max_age: int | None, max_staleness: int) -> int:
    """When a copy fetched at ``fetched_at`` stops being usable."""
    limits = [fetched_at + max_staleness]
    if token.ttl is not None:
        limits.append(fetched_at + token.ttl)
    if max_age is not None and max_age >= 0:
        limits.append(fetched_at + max_age)
    if token.expires_at is not None:
        limits.append(token.expires_at)
    return min(limits)
