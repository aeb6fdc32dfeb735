"""A status list pushed in a change event (spec 8.1.1): applied only when it passes every check a
fetched one passes; otherwise refused, the cached copy kept, and the registry asked instead."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.registry_client import MAX_PUSHED_TOKEN, RegistryClient
from protocol import KeyPair, Status, StatusList, StatusListToken, cid_of
from protocol.errors import Revoked
from tests.support import samples
from tests.support.servers import free_port
from tests.verifier.conftest import KEYS, TTL, Clock, World
from verifier.holder import Holder
from verifier.sources import demo_source
from verifier.store import open_database

LIST = "list-aaaaaaaaaaaaaaaa"
OTHER = "list-bbbbbbbbbbbbbbbb"


class _Counting(RegistryClient):
    """The real client, counting list fetches."""

    fetches = 0

    def fetch(self, uri_or_list_id: str, etag: str | None = None, version: str | None = None) -> Any:
        self.fetches += 1
        return super().fetch(uri_or_list_id, etag, version)


@pytest.fixture
def pushed(tmp_path: Path) -> Iterator[tuple[World, Holder, bytes]]:
    """A real registry; a holder (feed not started: events are handed in by the test) that has
    released once, so it holds the list in its cache; and the credential."""
    w = World(tmp=tmp_path, clock=Clock(), registry_port=free_port())
    w.start_registry()
    holder = Holder(KEYS.holder, open_database(w.tmp / "verifier.db"), _Counting(w.registry_url, timeout=2.0),
                    clock_fn=w.clock, source=demo_source())
    w.holder = holder
    try:
        cred = w.ready()
        assert holder.release(w.present(cred)).items
        yield w, holder, cred
    finally:
        w.stop()


def _fetches(holder: Holder) -> int:
    return int(holder.status._client.fetches)  # type: ignore[attr-defined]


def test_a_pushed_list_that_verifies_is_applied_without_a_fetch(pushed: tuple[World, Holder, bytes]) -> None:
    w, holder, cred = pushed
    uri = w.list_uri(LIST)
    w.clock.advance(1)
    token = w.token(LIST, {1234: Status.REVOKED})
    w.list_iat[LIST] = StatusListToken.decode(token).issued_at
    RegistryClient(w.registry_url).publish(LIST, token)
    before = _fetches(holder)
    holder.status.on_event(uri, cid_of(token), w.list_iat[LIST], token)
    assert _fetches(holder) == before  # no second round trip
    assert holder.status.pushes_applied == 1
    assert (holder.status.cached()[uri]["iat"], holder.status.cached()[uri]["etag"]) == (w.list_iat[LIST],
                                                                                         cid_of(token))
    assert holder.status._newest[uri] == w.list_iat[LIST]  # a pushed version raises the bar like a fetched one
    with pytest.raises(Revoked):
        holder.release(w.present(cred))


def _forged(w: World) -> bytes:
    """Right URI, newer iat, a revocation - signed by a key that is not the list's."""
    return w.token(LIST, {1234: Status.REVOKED}, signer=KeyPair.from_seed(b"\x77" * 32), iat=w.clock() + 5)


def _stale(w: World) -> bytes:
    """The list's key, the same iat as the cached copy (the event lies that it is newer)."""
    return w.token(LIST, {1234: Status.REVOKED}, iat=w.list_iat[LIST])


def _older(w: World) -> bytes:
    return w.token(LIST, {1234: Status.REVOKED}, iat=w.list_iat[LIST] - 1)


def _other_list(w: World) -> bytes:
    """The list's key and a newer iat, but about another list (its sub names OTHER)."""
    return w.token(OTHER, {1234: Status.REVOKED}, iat=w.clock() + 5)


def _truncated(w: World) -> bytes:
    return w.token(LIST, {1234: Status.REVOKED}, iat=w.clock() + 5)[:-9]


def _bad_signature(w: World) -> bytes:
    token = bytearray(w.token(LIST, {1234: Status.REVOKED}, iat=w.clock() + 5))
    token[-1] ^= 1
    return bytes(token)


def _oversized(w: World) -> bytes:
    return b"\x00" * (MAX_PUSHED_TOKEN + 1)


def _expired(w: World) -> bytes:
    lst = StatusList()
    lst.set(1234, Status.REVOKED)
    issued = w.clock() + 5
    token = StatusListToken.create(uri=w.list_uri(LIST), status_list=lst, signer=KEYS.status.did, ttl=TTL,
                                   now=issued, lifetime=1)
    w.clock.advance(10)
    return token.sign(KEYS.status)


@pytest.mark.parametrize("make", [_forged, _stale, _older, _other_list, _truncated, _bad_signature, _oversized,
                                  _expired], ids=lambda f: f.__name__.strip("_"))
def test_a_pushed_list_that_fails_a_check_is_refused_and_the_cached_one_kept(
        pushed: tuple[World, Holder, bytes], make: Any) -> None:
    w, holder, cred = pushed
    uri = w.list_uri(LIST)
    cached = holder.status.cached()[uri]
    newest = holder.status._newest[uri]
    bad = make(w)
    before = _fetches(holder)
    holder.status.on_event(uri, None, w.clock() + 100, bad)  # an event that claims a newer version
    assert holder.status.pushes_refused == 1 and holder.status.pushes_applied == 0
    assert _fetches(holder) == before + 1  # asked the registry instead, which still has the cached version
    assert holder.status.cached()[uri]["etag"] == cached["etag"]
    assert holder.status.cached()[uri]["iat"] == cached["iat"]
    assert holder.status._newest[uri] == newest  # a refused token never raises the bar
    if make is not _expired:
        assert holder.release(w.present(cred)).items  # still serving from the verified list


def test_a_pushed_list_that_is_not_the_version_the_event_names_is_refused(
        pushed: tuple[World, Holder, bytes]) -> None:
    w, holder, cred = pushed
    uri = w.list_uri(LIST)
    genuine = w.token(LIST, {1234: Status.REVOKED}, iat=w.clock() + 5)
    holder.status.on_event(uri, cid_of(b"another version"), w.clock() + 5, genuine)
    assert holder.status.pushes_refused == 1
    assert holder.status.cached()[uri]["iat"] == w.list_iat[LIST]
    assert holder.release(w.present(cred)).items


def test_a_refused_push_then_a_failed_fetch_drops_the_cached_list(pushed: tuple[World, Holder, bytes]) -> None:
    """Fail closed: when neither the pushed token nor the registry gives a usable list, nothing stays."""
    w, holder, _ = pushed
    uri = w.list_uri(LIST)
    w.stop_registry()
    holder.status.on_event(uri, None, w.clock() + 100, _truncated(w))
    assert uri not in holder.status.cached()


def test_feed_events_from_the_real_registry_carry_the_token(pushed: tuple[World, Holder, bytes]) -> None:
    """End to end through the real SSE feed: the holder follows it and never fetches the revocation."""
    w, holder, cred = pushed
    holder.start()
    try:
        before = _fetches(holder)
        w.publish(LIST, {1234: Status.REVOKED})
        w.wait_pushed(LIST)
        with pytest.raises(Revoked):
            holder.release(w.present(cred))
        assert _fetches(holder) == before
        assert holder.status.pushes_applied >= 1
        assert w.clock() - samples.NOW < TTL
    finally:
        holder.close()
