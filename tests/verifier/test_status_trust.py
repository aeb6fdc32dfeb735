"""Status lists come only from registries the holder trusts, within a deadline (no SSRF, no hang).

A credential names its status list URI; the holder fetches it only from its own registry or one
its council's trust list names (a URI anywhere else is ``status_untrusted`` before any request is
made), and a registry that
answers slowly is cut off at the client's overall deadline (``status_unavailable``), so one
slow or hostile address cannot tie the holder's workers up.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from common import RegistryClient
from protocol import ConsentCredential, LinkProof, StatusList, StatusListToken, StatusRef, TrustList, UnknownKey
from registry.app import create_app as registry_app
from tests.support import samples
from tests.support.samples import KEYS
from tests.support.servers import SlowServer, ThreadServer
from tests.verifier.conftest import World, assert_refused
from verifier.app import create_app as verifier_app
from verifier.holder import Holder
from verifier.sources import demo_source
from verifier.store import open_database

LIST = "list-aaaaaaaaaaaaaaaa"


def _credential_at(world: World, uri: str) -> bytes:
    request = samples.signed_request(KEYS, world.clock())
    cred = ConsentCredential.grant(request, user=KEYS.user.did, items=("transactions", "balance"),
                                   status=StatusRef(uri, 1234, KEYS.status.did), now=world.clock())
    return cred.sign(KEYS.user)


@pytest.fixture
def slow() -> SlowServer:
    with SlowServer(gap=0.5) as server:
        yield server


@pytest.mark.parametrize("shape", [
    "{slow}/v1/lists/" + LIST,                 # another port on this machine
    "{slow_localhost}/v1/lists/" + LIST,       # the same, by name
    "{registry}/v1/other/" + LIST,             # the registry's host, not a list path
    "{registry}/v1/lists/" + LIST + "/x",      # below a list
    "{registry}/v1/lists/" + LIST + "?u=1",    # with a query
    "{registry_user}/v1/lists/" + LIST,        # with user info
    "{registry_https}/v1/lists/" + LIST,       # another scheme
])
def test_status_uri_off_the_trusted_registry_is_refused_without_a_request(world: World, slow: SlowServer,
                                                                           shape: str) -> None:
    world.ready()
    port = world.registry_url.rsplit(":", 1)[1]
    uri = shape.format(slow=slow.url, slow_localhost=f"http://localhost:{slow.port}", registry=world.registry_url,
                       registry_user=f"http://user@127.0.0.1:{port}", registry_https=f"https://127.0.0.1:{port}")
    started = time.monotonic()
    response = world.post("/v1/data", world.present(_credential_at(world, uri)))
    assert_refused(response, "status_untrusted")
    assert time.monotonic() - started < 2.0
    assert slow.connections == 0
    assert slow.url not in response.text and str(slow.port) not in response.json()["detail"]
    assert world.provisions() == []


def _good_amid(world: World, crowd: bytes, good: bytes) -> tuple[float, list[int], int]:
    """Send 60 presentations of ``crowd`` at once and, while they are in flight, one of ``good``:
    the seconds the good one took, the crowd's status codes and the good one's."""
    codes: list[int] = []
    threads = [threading.Thread(target=lambda: codes.append(world.post("/v1/verify", world.present(crowd)).status_code))
               for _ in range(60)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    answer = world.post("/v1/verify", world.present(good))
    took = time.monotonic() - started
    for thread in threads:
        thread.join(30)
    return took, codes, answer.status_code


def test_a_good_request_does_not_wait_behind_sixty_bad_ones(world: World, slow: SlowServer) -> None:
    """Sixty requests naming a list on an untrusted (and slow) address cost a good request no more
    than sixty good requests do: they are refused on the URI's text, and never hold a worker.

    Measured against a baseline in the same run rather than against a fixed time, so that a
    loaded machine slows both alike: were the bad ones waiting on the slow address (its fetches
    end at the client's 2 s deadline, 8 at a time), the good one would wait for seconds."""
    cred = world.ready()
    bad = _credential_at(world, f"{slow.url}/v1/lists/{LIST}")
    baseline, amid_bad = [], []
    for _ in range(2):  # interleaved, so that a load peak falls on both kinds
        took, codes, good = _good_amid(world, cred, cred)
        assert good == 200 and codes == [200] * 60
        baseline.append(took)
        took, codes, good = _good_amid(world, bad, cred)
        assert good == 200 and codes == [403] * 60
        amid_bad.append(took)
    assert slow.connections == 0
    assert min(amid_bad) <= 3 * max(baseline) + 0.5, (amid_bad, baseline)


def test_a_slow_trusted_registry_is_cut_off_at_the_deadline(world: World, slow: SlowServer) -> None:
    holder = Holder(KEYS.holder, open_database(world.tmp / "slow.db"), RegistryClient(slow.url, timeout=1.0),
                    clock_fn=world.clock, source=demo_source())
    server = ThreadServer(verifier_app(holder)).start()
    try:
        code = holder.new_link_code("C-1001")
        holder.link(LinkProof(user=KEYS.user.did, holder=KEYS.holder.did, code=code,
                              issued_at=world.clock()).sign(KEYS.user))
        cred = _credential_at(world, f"{slow.url}/v1/lists/{LIST}")
        started = time.monotonic()
        response = httpx.post(server.url + "/v1/data", content=world.present(cred), timeout=30)
        took = time.monotonic() - started
        assert_refused(response, "status_unavailable", 503)
        assert 0.9 < took < 3.0, took  # one overall deadline, not a per-read timeout per dripped byte
    finally:
        server.stop()
        holder.close()


class _Counting:
    """An ASGI app that counts the HTTP requests it passes on to ``app``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


def test_a_registry_the_trust_list_names_is_trusted_and_only_while_named(world: World) -> None:
    world.ready()
    other = _Counting(registry_app(world.tmp / "other-registry", council_key=KEYS.stranger, clock_fn=world.clock))
    server = ThreadServer(other).start()
    try:
        uri = f"{server.url}/v1/lists/{LIST}"
        token = StatusListToken.create(uri=uri, status_list=StatusList(), signer=KEYS.status.did, ttl=60,
                                       now=world.clock()).sign(KEYS.status)
        RegistryClient(server.url).publish(LIST, token)
        before = other.requests
        cred = _credential_at(world, uri)
        assert_refused(world.post("/v1/data", world.present(cred)), "status_untrusted")
        assert other.requests == before  # refused on the text alone

        assert world.registry_server is not None and world.holder is not None
        council = world.registry_server.server.config.app.state.registry
        council.trust_add_registry(server.url)
        assert world.holder.trust.refresh()
        released = world.post("/v1/data", world.present(cred))
        assert released.status_code == 200, released.text
        assert other.requests > before and len(world.provisions()) == 1

        council.trust_remove_registry(server.url)
        assert world.holder.trust.refresh()
        assert_refused(world.post("/v1/data", world.present(cred)), "status_untrusted")
    finally:
        server.stop()


def test_a_list_signed_by_another_council_names_nothing(world: World) -> None:
    world.ready()
    assert world.holder is not None and world.holder.trust.refresh()  # the council is pinned now
    forged = TrustList(issuer=KEYS.stranger.did, organisations=(), issued_at=world.clock(),
                       expires_at=world.clock() + 3600, registries=("http://127.0.0.1:9",)).sign(KEYS.stranger)
    with pytest.raises(UnknownKey):
        world.holder.trust._use(forged, world.clock())
    assert world.holder.status.allowed_registries() == (world.registry_url,)


def test_an_older_trust_list_served_again_is_not_used(world: World) -> None:
    """A registry serving the council's older list again (which still named a registry the council
    has dropped since) changes nothing: the holder keeps the newer list (spec 3.5, ``replayed``)."""
    world.ready()
    assert world.registry_server is not None and world.holder is not None
    council = world.registry_server.server.config.app.state.registry
    dropped = "http://127.0.0.1:9"
    council.trust_add_registry(dropped)
    assert world.holder.trust.refresh() and dropped in world.holder.status.allowed_registries()
    old = RegistryClient(world.registry_url).trust_list()
    world.clock.advance(5)
    council.trust_remove_registry(dropped)
    assert world.holder.trust.refresh() and dropped not in world.holder.status.allowed_registries()

    class Replaying:
        def trust_list(self) -> bytes:
            return old

    world.holder.trust._client = Replaying()
    assert not world.holder.trust.refresh()
    assert dropped not in world.holder.status.allowed_registries()
