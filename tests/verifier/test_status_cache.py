"""The status cache against the real registry: push refresh, resume after a drop, fail closed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from common.registry_client import RegistryClient
from protocol import Status
from protocol.errors import Revoked
from registry.service import Registry
from tests.support import samples
from tests.support.servers import free_port
from tests.verifier.conftest import KEYS, TTL, Clock, World, assert_refused
from verifier.holder import Holder
from verifier.sources import demo_source
from verifier.store import open_database

LIST = "list-aaaaaaaaaaaaaaaa"


def _wait(predicate: object, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def test_feed_resumes_after_a_dropped_connection_without_missing_an_update(world: World) -> None:
    cred = world.ready()
    assert world.post("/v1/data", world.present(cred)).status_code == 200
    holder = world.holder
    assert holder is not None
    _wait(lambda: holder.status._stream is not None)
    world.stop_registry()  # the feed connection drops
    # While the verifier is disconnected, the list is revoked straight in the registry's database.
    world.clock.advance(1)
    token = world.token(LIST, {1234: Status.REVOKED})
    offline = Registry.open(world.tmp / "registry", council_key=KEYS.council, clock_fn=world.clock)
    offline.publish(LIST, token)
    offline.close()
    world.start_registry()  # same home, same port: the verifier reconnects with Last-Event-ID
    _wait(lambda: any(e["iat"] == world.clock() for e in holder.status.cached().values()))
    assert_refused(world.post("/v1/data", world.present(cred)), "revoked")  # well within ttl


def test_cache_is_not_used_past_the_token_exp(world: World) -> None:
    world.publish(LIST, ttl=TTL)
    world.link_user()
    cred = world.credential(LIST)
    assert world.post("/v1/data", world.present(cred)).status_code == 200
    world.stop_registry()
    world.clock.advance(86400)  # past exp (and ttl): nothing may be used
    assert_refused(world.post("/v1/data", world.present(cred)), "status_unavailable", 503)


def test_max_staleness_caps_a_long_ttl(tmp_path: object) -> None:
    from pathlib import Path

    from tests.support.servers import free_port
    from tests.verifier.conftest import Clock

    w = World(tmp=Path(str(tmp_path)), clock=Clock(), registry_port=free_port())
    w.start_registry()
    w.start_verifier(max_staleness=30)
    try:
        w.publish(LIST, ttl=3600)
        w.link_user()
        cred = w.credential(LIST)
        assert w.post("/v1/data", w.present(cred)).status_code == 200
        w.stop_registry()
        w.clock.advance(31)
        assert_refused(w.post("/v1/data", w.present(cred)), "status_unavailable", 503)
    finally:
        w.stop()


def test_newest_iat_survives_a_restart(world: World) -> None:
    cred = world.ready()
    assert world.post("/v1/data", world.present(cred)).status_code == 200
    assert world.holder is not None
    newest = world.holder.status._newest[world.list_uri(LIST)]
    from verifier.status_cache import StatusCache

    again = StatusCache(world.holder.status._client, world.holder.db)
    assert again._newest[world.list_uri(LIST)] == newest


class _Counting(RegistryClient):
    """The real client, counting list fetches."""

    fetches = 0

    def fetch(self, uri_or_list_id: str, etag: str | None = None, version: str | None = None) -> Any:
        self.fetches += 1
        return super().fetch(uri_or_list_id, etag)


def _holder(w: World) -> Holder:
    """A holder on the world's registry whose change feed is *not* started yet."""
    holder = Holder(KEYS.holder, open_database(w.tmp / "verifier.db"), _Counting(w.registry_url, timeout=2.0),
                    clock_fn=w.clock, source=demo_source())
    w.holder = holder
    return holder


def test_an_update_before_the_feed_connects_is_not_missed(tmp_path: Path) -> None:
    """Fetch a list, revoke, only then subscribe: the revocation still arrives, well within ttl."""
    w = World(tmp=tmp_path, clock=Clock(), registry_port=free_port())
    w.start_registry()
    try:
        holder = _holder(w)
        for other in range(3):  # history: the replayed log also holds other lists' and older events
            w.publish(f"list-history-{other:08d}")
        cred = w.ready()
        w.publish(LIST)  # an older version of the list, replayed too: it must not cost a fetch
        assert holder.release(w.present(cred)).items  # first fetch; no subscription yet
        w.publish(LIST, {1234: Status.REVOKED})  # lands between the fetch and the subscription
        holder.start()
        _wait(lambda: holder.status.cached()[w.list_uri(LIST)]["iat"] == w.list_iat[LIST])
        with pytest.raises(Revoked):
            holder.release(w.present(cred))
        assert w.clock() - samples.NOW < TTL
        # the first fetch only: the revocation came with its token in the event (spec 8.1.1)
        assert holder.status._client.fetches == 1  # type: ignore[attr-defined]
        assert holder.status.pushes_applied == 1
    finally:
        w.stop()


def test_the_feed_position_is_kept_across_a_restart(tmp_path: Path) -> None:
    w = World(tmp=tmp_path, clock=Clock(), registry_port=free_port())
    w.start_registry()
    try:
        holder = _holder(w)
        assert holder.status.last_event_id == "0"  # never followed: from the start of the log
        holder.start()
        published = w.publish(LIST)
        _wait(lambda: holder.status.last_event_id == str(published["seq"]))
        holder.close()
        w.holder = None
        again = _holder(w)
        assert again.status.last_event_id == str(published["seq"])
    finally:
        w.stop()


class _Serving:
    """A trusted registry that answers every list fetch with ``token`` (it could be lying)."""

    def __init__(self, real: Any, token: bytes) -> None:
        self.real, self.token = real, token

    def fetch(self, uri: str, etag: str | None = None, version: str | None = None) -> Any:
        from common.registry_client import FetchResult

        return FetchResult(self.token, "bafy-served", 60)

    def events(self, last_event_id: str | None = None, list_id: str | None = None) -> Any:
        return self.real.events(last_event_id, list_id)


def _expired_token(w: World, iat: int) -> bytes:
    from protocol import StatusList, StatusListToken

    token = StatusListToken.create(uri=w.list_uri(LIST), status_list=StatusList(), signer=KEYS.status.did,
                                   ttl=TTL, now=iat, lifetime=1)
    return token.sign(KEYS.status)


@pytest.mark.parametrize("served", ["another key", "expired"])
def test_a_fetched_list_that_fails_a_check_never_raises_the_rollback_bar(world: World, served: str) -> None:
    """Nothing about a fetched list is remembered until every check passed (spec 7.3 step 8): a
    trusted registry serving a far newer token under another key, or an expired one, is refused,
    and the real list that follows, older than that token, is still accepted."""
    from protocol import KeyPair

    cred = world.ready()
    assert world.post("/v1/data", world.present(cred)).status_code == 200
    holder = world.holder
    assert holder is not None
    uri = world.list_uri(LIST)
    newest = holder.status._newest[uri]
    real = holder.status._client
    start = world.clock()
    if served == "another key":
        bad = world.token(LIST, {1234: Status.REVOKED}, signer=KeyPair.from_seed(b"\x66" * 32), iat=start + 500)
        code, status = "status_invalid", 403
    else:
        bad = _expired_token(world, start + 500)  # expired at start + 501
        code, status = "status_unavailable", 503
    world.clock.advance(1000)  # the refused token's iat is in the past, as the real next version's will be
    holder.status.invalidate(uri)
    holder.status._client = _Serving(real, bad)
    assert_refused(world.post("/v1/data", world.present(cred)), code, status)
    assert holder.status._newest[uri] == newest  # the bar was not raised ...
    with holder.db.lock:
        assert holder.db.execute("SELECT iat FROM status_seen WHERE uri = ?", [uri]).fetchone()[0] == newest
    assert uri not in holder.status.cached()  # ... and nothing of the refused token is cached
    holder.status._client = real
    world.publish(LIST, iat=start + 400)  # the real next version, older than the refused token
    holder.status.invalidate(uri)
    assert world.post("/v1/data", world.present(cred)).status_code == 200
    assert holder.status._newest[uri] == world.list_iat[LIST]
