"""Status lists come only from registries the holder trusts, within a deadline (no SSRF, no hang).

A credential names its status list URI; the holder fetches it only from its own registry (a
URI anywhere else is ``status_untrusted`` before any request is made), and a registry that
answers slowly is cut off at the client's overall deadline (``status_unavailable``), so one
slow or hostile address cannot tie the holder's workers up.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from common import RegistryClient
from protocol import ConsentCredential, LinkProof, StatusRef
from tests.support import samples
from tests.support.samples import KEYS
from tests.support.servers import SlowServer, ThreadServer
from tests.verifier.conftest import World, assert_refused
from verifier.app import create_app as verifier_app
from verifier.holder import Holder
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


def test_a_good_request_does_not_wait_behind_sixty_bad_ones(world: World, slow: SlowServer) -> None:
    cred = world.ready()
    bad = _credential_at(world, f"{slow.url}/v1/lists/{LIST}")
    codes: list[int] = []
    threads = [threading.Thread(target=lambda: codes.append(world.post("/v1/verify", world.present(bad)).status_code))
               for _ in range(60)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    good = world.post("/v1/verify", world.present(cred))
    took = time.monotonic() - started
    for thread in threads:
        thread.join(20)
    assert good.status_code == 200 and took < 3.0, (good.text, took)
    assert codes == [403] * 60 and slow.connections == 0


def test_a_slow_trusted_registry_is_cut_off_at_the_deadline(world: World, slow: SlowServer) -> None:
    holder = Holder(KEYS.holder, open_database(world.tmp / "slow.db"), RegistryClient(slow.url, timeout=1.0),
                    clock_fn=world.clock)
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
