"""A client that hangs up mid-upload is one quiet log line, never a traceback or a 500.

With an unread stderr pipe, a ~4 KB traceback per hang-up once stopped a verifier.  Each
service runs for real; a raw socket declares a large body, sends part of it and closes.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from issuer.app import create_app as issuer_app
from registry import create_app as registry_app
from tests.support.samples import KEYS
from tests.support.servers import serve
from verifier.app import create_app as verifier_app
from verifier.sources import demo_source

ROUTES = {"registry": "PUT /v1/lists/list-aaaaaaaaaaaaaaaa", "verifier": "POST /v1/data", "issuer": "POST /callback"}


@pytest.fixture(params=sorted(ROUTES))
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    name = request.param
    if name == "registry":
        app = registry_app(tmp_path / "registry", council_key=KEYS.council)
    elif name == "verifier":
        app = verifier_app(home=tmp_path / "bank", registry_url="http://127.0.0.1:9", follow_feed=False,
                           source=demo_source())
    else:
        app = issuer_app(tmp_path / "kakeibo", "http://127.0.0.1:9/", holder_did=KEYS.holder.did, watch_status=False,
                         demo=True)
    with serve(app) as url:
        yield url, ROUTES[name]


def _hang_up(url: str, route: str) -> None:
    method, path = route.split(" ")
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: 5000\r\n"
                     "Content-Type: application/octet-stream\r\n\r\n".encode() + b"\0" * 1000)
        time.sleep(0.2)  # the route is reading the body now


def test_hang_up_mid_upload_is_one_quiet_line(service: tuple[str, str], caplog: pytest.LogCaptureFixture) -> None:
    url, route = service
    server_log = logging.getLogger("uvicorn.error")  # where uvicorn writes tracebacks (it does not propagate)
    server_log.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.DEBUG):
            _hang_up(url, route)
            time.sleep(0.5)
            assert httpx.get(url + "/health", timeout=5).status_code == 200  # still serving
    finally:
        server_log.removeHandler(caplog.handler)
    method, path = route.split(" ")
    went_away = [r for r in caplog.records if "client went away" in r.getMessage()]
    assert [r.getMessage() for r in went_away] == [f"client went away during {method} {path}"]
    assert went_away[0].levelno == logging.INFO
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], caplog.text
    assert "Traceback" not in caplog.text
