"""One error contract on every service: a walk over the registry, verifier, issuer and wallet API.

Each service runs for real (uvicorn on a loopback port) and is asked for an unknown route, a
route under the wrong method, a body above its cap (declared and chunked), a body that is not
JSON (or nested too deeply to parse), and parameters of the wrong shape; every answer must be
``{"error": code, "detail": ...}`` with the code's status.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from common import install_error_contract
from issuer.app import create_app as issuer_app
from registry import create_app as registry_app
from tests.support.samples import KEYS
from tests.support.servers import serve
from verifier.app import create_app as verifier_app
from verifier.sources import demo_source
from wallet import Home, Wallet
from wallet.api import create_app as wallet_app

PASSPHRASE = "correct horse battery staple"


@dataclass
class Service:
    name: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    not_allowed: tuple[str, str] = ("DELETE", "/health")
    capped: tuple[str, str, int] = ("POST", "/", 0)  # method, path, cap
    json_route: str | None = None  # a POST route that parses a JSON body
    bad_params: tuple[str, str] | None = None  # a GET whose query parameters are of the wrong shape


ALL = ["registry", "verifier", "issuer", "wallet"]
WITH_JSON_BODIES = ["issuer", "wallet"]  # the registry and verifier take only signed objects
WITH_TYPED_PARAMETERS = ["issuer", "wallet"]


@pytest.fixture
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    name = request.param
    if name == "registry":
        with serve(registry_app(tmp_path / "registry", council_key=KEYS.council)) as url:
            yield Service(name, url, not_allowed=("DELETE", "/v1/lists/list-aaaaaaaaaaaaaaaa"),
                          capped=("PUT", "/v1/lists/list-aaaaaaaaaaaaaaaa", 1024 * 1024))
    elif name == "verifier":
        app = verifier_app(home=tmp_path / "bank", registry_url="http://127.0.0.1:9", follow_feed=False,
                           source=demo_source())
        with serve(app) as url:
            yield Service(name, url, not_allowed=("GET", "/v1/data"), capped=("POST", "/v1/data", 32 * 1024))
    elif name == "issuer":
        app = issuer_app(tmp_path / "kakeibo", "http://127.0.0.1:9/", holder_did=KEYS.holder.did,
                         watch_status=False, demo=True)
        with serve(app) as url:
            yield Service(name, url, not_allowed=("GET", "/callback"), capped=("POST", "/api/fetch", 16 * 1024),
                          json_route="/api/fetch", bad_params=("GET", "/api/button"))
    else:
        Wallet.init(tmp_path / "wallet", PASSPHRASE, registry="http://127.0.0.1:9", kdf="interactive").close()
        app = wallet_app(tmp_path / "wallet", PASSPHRASE, refresh_interval=None)
        token = Home.at(tmp_path / "wallet").api_token.read_text()
        with serve(app) as url:
            yield Service(name, url, headers={"Authorization": f"Bearer {token}"},
                          not_allowed=("PUT", "/api/sync"), capped=("POST", "/api/requests", 64 * 1024),
                          json_route="/api/requests", bad_params=("POST", "/api/requests/abc/decision"))


def _call(service: Service, method: str, path: str, *, headers: dict[str, str] | None = None,
          **kwargs: object) -> httpx.Response:
    return httpx.request(method, service.url + path, headers={**service.headers, **(headers or {})},  # type: ignore[arg-type]
                         timeout=20.0, **kwargs)


def _error(response: httpx.Response, status: int, code: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code and isinstance(body["detail"], str) and body["detail"], body
    assert set(body) <= {"error", "detail", "field"}
    return body


@pytest.mark.parametrize("service", ALL, indirect=True)
def test_unknown_route_is_not_found(service: Service) -> None:
    body = _error(_call(service, "GET", "/no/such/route"), 404, "not_found")
    assert "/no/such/route" in body["detail"]


@pytest.mark.parametrize("service", ALL, indirect=True)
def test_wrong_method_is_method_not_allowed(service: Service) -> None:
    method, path = service.not_allowed
    response = _call(service, method, path)
    _error(response, 405, "method_not_allowed")
    assert response.headers.get("allow")


@pytest.mark.parametrize("service", ALL, indirect=True)
def test_declared_body_above_the_cap_is_too_large(service: Service) -> None:
    method, path, cap = service.capped
    _error(_call(service, method, path, content=b"\0" * (cap + 1)), 413, "too_large")


@pytest.mark.parametrize("service", ALL, indirect=True)
def test_chunked_body_above_the_cap_is_too_large(service: Service) -> None:
    method, path, cap = service.capped

    def chunks() -> Iterator[bytes]:
        for _ in range(cap // 4096 + 2):
            yield b"\0" * 4096

    _error(_call(service, method, path, content=chunks()), 413, "too_large")


@pytest.mark.parametrize("service", WITH_JSON_BODIES, indirect=True)
@pytest.mark.parametrize("body", [b"{", b"\xff\xfe", b"{{}", b'{"a": }'])
def test_body_that_is_not_json_is_malformed(service: Service, body: bytes) -> None:
    assert service.json_route is not None
    _error(_call(service, "POST", service.json_route, content=body,
                 headers={"Content-Type": "application/json"}), 400, "malformed")


@pytest.mark.parametrize("service", WITH_JSON_BODIES, indirect=True)
def test_json_nested_past_the_parser_is_malformed_not_internal(service: Service) -> None:
    assert service.json_route is not None
    _, _, cap = service.capped
    deep = b"[" * (cap // 2 - 1) + b"]" * (cap // 2 - 1)
    _error(_call(service, "POST", service.json_route, content=deep), 400, "malformed")


@pytest.mark.parametrize("service", WITH_TYPED_PARAMETERS, indirect=True)
def test_parameters_of_the_wrong_shape_are_invalid(service: Service) -> None:
    assert service.bad_params is not None
    method, path = service.bad_params
    _error(_call(service, method, path, json={"decision": 7}), 422, "invalid")


def test_unexpected_error_is_internal_one_line_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    log = logging.getLogger("copyme.test")
    install_error_contract(app, log=log)

    @app.get("/boom")
    def boom() -> None:
        raise KeyError("secret-value")

    with caplog.at_level(logging.INFO), serve(app) as url:
        response = httpx.get(url + "/boom")
    body = _error(response, 500, "internal")
    assert body["detail"] == "internal error"
    logged = [r for r in caplog.records if r.name != "httpx"]  # the client's own request line
    assert [r.getMessage() for r in logged] == ["internal error on GET /boom: KeyError"]
    assert not any(r.exc_info for r in caplog.records)
    assert "secret-value" not in caplog.text
