"""PeerClient: an overall deadline against slow servers, a size cap, and one error mapping."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from common import PeerClient
from protocol import Conflict, InvalidArgument, TooLarge, Unavailable
from tests.support.servers import SlowServer


@pytest.fixture
def drip() -> Iterator[SlowServer]:
    with SlowServer(gap=0.3) as server:
        yield server


def test_a_drip_feed_is_cut_at_the_overall_deadline(drip: SlowServer) -> None:
    client = PeerClient(name="the slow peer", deadline=1.0)
    started = time.monotonic()
    with pytest.raises(Unavailable) as caught:
        client.get(drip.url)
    took = time.monotonic() - started
    assert 0.9 < took < 1.6, took  # per-read timeouts alone would wait 1000 * 0.3 s
    assert caught.value.detail == "the slow peer did not answer within 1 s"
    client.close()


def test_slow_requests_run_side_by_side(drip: SlowServer) -> None:
    client = PeerClient(deadline=1.0, max_concurrent=16)
    errors: list[BaseException] = []

    def one() -> None:
        try:
            client.get(drip.url)
        except Unavailable as err:
            errors.append(err)

    threads = [threading.Thread(target=one) for _ in range(10)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(errors) == 10 and time.monotonic() - started < 3.0


def test_refused_connection_is_unavailable_without_the_peers_text() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(Unavailable) as caught:
        PeerClient(name="the registry").get(f"http://127.0.0.1:{port}/")
    assert caught.value.detail == "the registry did not answer: ConnectError"


@pytest.mark.parametrize("url", ["http://[::1", "ftp://127.0.0.1/x", "not a url", "http://", "/relative",
                                 "http://127.0.0.1:99999/", "http://[::1]:0/"])
def test_unusable_urls_are_invalid_and_send_nothing(url: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        PeerClient().get(url)
    assert caught.value.field == "url"


def test_body_above_the_cap_is_too_large() -> None:
    big = httpx.MockTransport(lambda request: httpx.Response(200, content=b"x" * 2000))
    with pytest.raises(TooLarge):
        PeerClient(max_bytes=1000, transport=big).get("http://127.0.0.1/big")

    async def parts() -> AsyncIterator[bytes]:
        for _ in range(2):
            yield b"x" * 600

    def chunked(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=parts())

    with pytest.raises(TooLarge):
        PeerClient(max_bytes=1000, transport=httpx.MockTransport(chunked)).get("http://127.0.0.1/big")


def test_error_bodies_come_back_as_our_errors() -> None:
    def conflict(request: httpx.Request) -> httpx.Response:
        return httpx.Response(409, json={"error": "conflict", "detail": "other size"})

    response = PeerClient(transport=httpx.MockTransport(conflict)).put("http://127.0.0.1/x", content=b"1")
    with pytest.raises(Conflict):
        response.raise_for_error()
    garbage = PeerClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=b"<html>")))
    with pytest.raises(Unavailable):
        garbage.get("http://127.0.0.1/x").json()


@pytest.mark.parametrize("bad", [{"deadline": 0}, {"max_bytes": -1}, {"max_concurrent": 0}])
def test_limits_must_be_positive(bad: dict[str, float]) -> None:
    with pytest.raises(InvalidArgument):
        PeerClient(**bad)  # type: ignore[arg-type]


def test_requests_to_one_host_are_bounded_and_another_host_does_not_wait(drip: SlowServer) -> None:
    """At most ``max_concurrent`` requests to one host are on the wire; the rest wait for a slot
    (within their deadline), and a request to another host never waits behind them."""
    client = PeerClient(deadline=2.0, max_concurrent=2)
    errors: list[BaseException] = []

    def one() -> None:
        try:
            client.get(drip.url)
        except Unavailable as err:
            errors.append(err)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    drip.wait_for(2)
    time.sleep(0.5)
    assert drip.connections == 2  # four are waiting for a slot, none on the wire
    with SlowServer(gap=0.1, head=b"HTTP/1.1 204 No Content\r\n\r\n", rounds=0) as other:
        started = time.monotonic()
        assert client.get(other.url).status_code == 204
        assert time.monotonic() - started < 1.0
    for t in threads:
        t.join(10)
    assert len(errors) == 6
    client.close()
