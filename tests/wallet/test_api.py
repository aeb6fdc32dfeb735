"""The local JSON API in-process (httpx ASGITransport) over a real wallet, registry and callback."""

from __future__ import annotations

import httpx
import pytest

from tests.wallet.conftest import PASSPHRASE, Env
from wallet import Home, Wallet
from wallet.api import create_app


@pytest.fixture
def api(env: Env) -> httpx.Client:
    Wallet.init(env.home, PASSPHRASE, registry=env.registry_url).close()
    app = create_app(env.home, PASSPHRASE)
    token = Home.at(env.home).api_token.read_text()
    return httpx.Client(transport=httpx.ASGITransport(app=app), base_url="http://wallet",  # type: ignore[arg-type]
                        headers={"Authorization": f"Bearer {token}"})


def _call(client: httpx.Client, method: str, url: str, **kwargs: object) -> httpx.Response:
    import anyio

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=client._transport, base_url=client.base_url,  # type: ignore[arg-type]
                                     headers=client.headers) as http:
            return await http.request(method, url, **kwargs)  # type: ignore[arg-type]

    return anyio.run(go)


def test_receive_decide_change_and_receipts(env: Env, api: httpx.Client) -> None:
    env.callback.requests["one"] = env.request_bytes()
    review = _call(api, "POST", "/api/requests", json={"url": f"{env.callback_server.url}/r/one", "lang": "ja"})
    assert review.status_code == 200, review.text
    body = review.json()
    assert body["verified"] and body["requester_name"] == "かけいぼ株式会社"
    decided = _call(api, "POST", f"/api/requests/{body['request_cid']}/decision",
                    json={"decision": "accept", "items": ["transactions"], "lang": "ja"})
    assert decided.status_code == 200, decided.text
    consent = decided.json()["consent"]
    assert consent["items"] == ["transactions"] and consent["delivered"]
    again = _call(api, "POST", f"/api/requests/{body['request_cid']}/decision", json={"decision": "decline"})
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    listed = _call(api, "GET", "/api/consents", params={"state": "active"}).json()
    assert [c["id"] for c in listed] == [consent["id"]]
    assert _call(api, "POST", f"/api/consents/{consent['id']}/suspend").json()["published"]
    assert _call(api, "POST", f"/api/consents/{consent['id']}/resume").json()["state"] == "active"
    assert _call(api, "POST", f"/api/consents/{consent['id']}/revoke").json()["published"]
    refused = _call(api, "POST", f"/api/consents/{consent['id']}/resume")
    assert refused.status_code == 409 and refused.json()["error"] == "conflict"
    assert _call(api, "GET", "/api/receipts").json() == {"receipts": [], "warnings": []}
    assert _call(api, "POST", "/api/receipts/pull").json() == []  # no data holder linked
    shown = _call(api, "GET", f"/api/consents/{consent['id']}").json()
    assert shown["receipts"] == []
    assert [e["status"] for e in shown["events"]] == ["active", "suspended", "active", "revoked"]
    raw = _call(api, "GET", f"/api/consents/{consent['id']}/credential")
    assert raw.headers["content-type"] == "application/vnd.copyme.consent+cwt"
    assert _call(api, "POST", "/api/sync").json() == []


@pytest.mark.parametrize("method,url,kwargs,status,code", [
    ("GET", "/api/consents/nosuchconsent", {}, 404, "not_found"),
    ("POST", "/api/requests", {"content": b"not json"}, 400, "malformed"),
    ("POST", "/api/requests", {"content": b"[" * 30_000 + b"]" * 30_000}, 400, "malformed"),  # nested past the parser
    ("POST", "/api/requests", {"json": ["a"]}, 422, "invalid"),
    ("POST", "/api/requests", {"json": {"url": "/etc/passwd"}}, 422, "invalid"),
    ("POST", "/api/requests", {"content": b"{" + b" " * 70_000 + b"}"}, 413, "too_large"),
    ("POST", "/api/requests/bafy/decision", {"json": {"decision": "maybe"}}, 422, "invalid"),
    ("POST", "/api/requests/bafy/decision", {"json": {"decision": "accept"}}, 404, "not_found"),
    ("GET", "/api/receipts", {"params": {"consent_id": "nosuchconsent"}}, 404, "not_found"),
    ("GET", "/api/consents", {"params": {"state": "odd"}}, 422, "invalid"),
])
def test_bad_input_gets_clear_errors(api: httpx.Client, method: str, url: str, kwargs: dict[str, object],
                                     status: int, code: str) -> None:
    response = _call(api, method, url, **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["error"] == code


def test_bearer_token_is_required(api: httpx.Client) -> None:
    api.headers.pop("Authorization")
    response = _call(api, "GET", "/api/consents")
    assert response.status_code == 401 and response.json()["error"] == "unauthorised"
    api.headers["Authorization"] = "Bearer wrong"
    assert _call(api, "GET", "/api/wallet").status_code == 401
    assert _call(api, "GET", "/health").status_code == 200


def test_serve_runs_the_api_on_loopback(env: Env) -> None:
    from tests.support.servers import serve_cli

    Wallet.init(env.home, PASSPHRASE, registry=env.registry_url).close()
    with serve_cli(["wallet", "serve", "--home", str(env.home)],
                   env={"COPYME_PASSPHRASE": PASSPHRASE}) as (url, _):
        token = Home.at(env.home).api_token.read_text()
        info = httpx.get(f"{url}/api/wallet", headers={"Authorization": f"Bearer {token}"}).json()
        assert info["did"].startswith("did:key:") and info["consents"] == 0
        assert httpx.get(f"{url}/openapi.json").json()["info"]["title"].startswith("CopyMe wallet")
