"""BinaryLane: one hot POST route as plain ASGI, answering exactly as the FastAPI route would.

A real uvicorn serves the same handler twice: once through the lane and once through an
ordinary FastAPI route under the same error contract.  Every answer - a 200 with non-ASCII
JSON, a refusal, a refusal with ``Retry-After``, an unexpected error, bodies above the cap
(declared and chunked), a bad ``Content-Length`` - must be the same status, the same JSON bytes
and the same headers that matter; a hang-up mid-body is one INFO line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from common import BinaryLane, install_error_contract, read_capped
from protocol.errors import Replayed
from storage.pg import DatabaseBusy
from tests.support.servers import serve

LIMIT = 64
log = logging.getLogger("copyme.test.lane")


async def handler(body: bytes) -> dict[str, Any]:
    if body == b"busy":
        raise DatabaseBusy("every connection stayed busy")
    if body == b"used":
        raise Replayed("this presentation was already used")
    if body == b"boom":
        raise KeyError("secret-value")
    return {"items": {"名前": "山田", "n": len(body)}, "echo": body.decode("latin-1")}


def make_app(lane: bool) -> FastAPI:
    app = FastAPI()
    if lane:
        app.add_middleware(BinaryLane, path="/v1/data", handler=handler, limit=LIMIT, log=log)
    install_error_contract(app, body_limit=LIMIT * 4, log=log)

    @app.post("/v1/data")
    async def data(request: Request) -> JSONResponse:
        body = await read_capped(request.stream(), LIMIT, request.headers.get("content-length"))
        return JSONResponse(await handler(body))

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


@pytest.fixture(scope="module")
def urls() -> Iterator[dict[bool, str]]:
    with serve(make_app(True)) as laned, serve(make_app(False)) as routed:
        yield {True: laned, False: routed}


def _chunks(total: int) -> Iterator[bytes]:
    for _ in range(total // 16):
        yield b"x" * 16


CASES: dict[str, dict[str, Any]] = {
    "released": {"content": b"hello"},
    "empty": {"content": b""},
    "at the cap": {"content": b"y" * LIMIT},
    "refused": {"content": b"used"},
    "busy": {"content": b"busy"},
    "declared above the cap": {"content": b"z" * (LIMIT + 1)},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_lane_answers_as_the_route_does(urls: dict[bool, str], case: str) -> None:
    laned, routed = (httpx.post(urls[lane] + "/v1/data", timeout=10, **CASES[case]) for lane in (True, False))
    assert (laned.status_code, laned.content) == (routed.status_code, routed.content)
    for header in ("content-type", "content-length", "retry-after"):
        assert laned.headers.get(header) == routed.headers.get(header), header
    if case == "busy":
        assert laned.status_code == 503 and laned.headers["retry-after"] == "1"
    if case == "released":
        assert laned.json()["items"]["名前"] == "山田"


def test_a_content_length_that_is_no_number_is_malformed() -> None:
    """uvicorn refuses one itself; another ASGI server might pass it on, so the lane checks too."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"hello", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def never(*_: Any) -> None:
        raise AssertionError("passed through")

    lane = BinaryLane(never, path="/v1/data", handler=handler, limit=LIMIT)
    scope = {"type": "http", "method": "POST", "path": "/v1/data", "headers": [(b"content-length", b"five")]}
    asyncio.run(lane(scope, receive, send))
    assert sent[0]["status"] == 400 and json.loads(sent[1]["body"])["error"] == "malformed"


def test_a_chunked_body_above_the_cap_is_too_large(urls: dict[bool, str]) -> None:
    for url in urls.values():
        response = httpx.post(url + "/v1/data", content=_chunks(LIMIT * 2), timeout=10)
        assert response.status_code == 413 and response.json()["error"] == "too_large"
    chunked = httpx.post(urls[True] + "/v1/data", content=_chunks(LIMIT), timeout=10)
    assert chunked.status_code == 200 and chunked.json()["items"]["n"] == LIMIT


def test_other_methods_and_paths_pass_through(urls: dict[bool, str]) -> None:
    url = urls[True]
    assert httpx.get(url + "/health").json() == {"status": "ok"}
    wrong = httpx.get(url + "/v1/data")
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"
    assert httpx.post(url + "/v1/data/", content=b"x").status_code in (307, 404)


def test_an_unexpected_error_is_one_line_and_internal(urls: dict[bool, str],
                                                      caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=log.name):
        response = httpx.post(urls[True] + "/v1/data", content=b"boom", timeout=10)
    assert response.status_code == 500
    assert response.json() == {"error": "internal", "detail": "internal error"}
    lines = [r.getMessage() for r in caplog.records if r.name == log.name]
    assert lines == ["internal error on POST /v1/data: KeyError"]
    assert not any(r.exc_info for r in caplog.records) and "secret-value" not in caplog.text


def test_a_hang_up_mid_body_is_one_quiet_line(urls: dict[bool, str], caplog: pytest.LogCaptureFixture) -> None:
    host, port = urls[True].removeprefix("http://").split(":")
    with caplog.at_level(logging.DEBUG, logger=log.name):
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(f"POST /v1/data HTTP/1.1\r\nHost: {host}\r\nContent-Length: 60\r\n\r\n".encode() + b"x" * 10)
            time.sleep(0.2)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not caplog.records:
            time.sleep(0.05)
    assert [r.getMessage() for r in caplog.records if r.name == log.name] == ["client went away during POST /v1/data"]
    assert caplog.records[0].levelno == logging.INFO
    assert httpx.get(urls[True] + "/health").status_code == 200
