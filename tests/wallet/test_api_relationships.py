"""The relationships routes of the local API (``GET /api/relationships``,
``POST /api/relationships/replace-key``) in-process over a wallet linked at a real data holder."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anyio
import httpx
import pytest
from typer.testing import CliRunner

from copyme.cli import app as copyme_app
from protocol import KeyPair
from tests.support.servers import ThreadServer, free_port
from verifier.app import create_app as verifier_app
from wallet import Home, Wallet
from wallet.api import create_app

from .conftest import PASSPHRASE, Env, Parties
from .conftest import parties_http as http


def _client(wallet: Wallet) -> httpx.AsyncClient:
    app = create_app(wallet.home, PASSPHRASE, wallet=wallet, refresh_interval=None, pull_interval=None)
    token = wallet.home.api_token.read_text()
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wallet",  # type: ignore[arg-type]
                             headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _call(wallet: Wallet, method: str, url: str, **kwargs: object) -> httpx.Response:
    async def go() -> httpx.Response:
        async with _client(wallet) as api:
            return await api.request(method, url, **kwargs)  # type: ignore[arg-type]
    return anyio.run(go)


def _cli_relationships(home: Home) -> object:
    out = CliRunner().invoke(copyme_app, ["wallet", "relationships", "--home", str(home.path), "--json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


@pytest.fixture
def linked(parties: Parties) -> Iterator[Wallet]:
    wallet = parties.wallet()
    try:
        wallet.link(parties.bank, parties.holder.new_link_code("C-1002"))
        yield wallet
    finally:
        wallet.close()


def test_list_and_replace_a_key(parties: Parties, linked: Wallet) -> None:
    assert _call(linked, "GET", "/api/relationships").json() == []
    old = parties.consent(linked, parties.kakeibo, "ken")
    other = parties.consent(linked, parties.hoken, "ken")
    listed = _call(linked, "GET", "/api/relationships")
    assert listed.status_code == 200 and listed.json() == _cli_relationships(linked.home)
    assert [(r["did"], r["linked"], r["replaced_at"]) for r in listed.json()] == [
        (old.issuer, True, None), (other.issuer, True, None)]

    replaced = _call(linked, "POST", "/api/relationships/replace-key", json={"ref": old.issuer})
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert set(body) == {"old_did", "new_did", "holder_told", "consents"}
    assert body["old_did"] == old.issuer and body["holder_told"] is True
    assert [(c["replaced"], c["delivered"], c["error"]) for c in body["consents"]] == [(old.cid, True, None)]
    # the holder refuses the old DID from now on, and serves the re-signed consent
    refused = http.post(f"{parties.kakeibo}/api/fetch", json={"account": "ken", "consent_id": old.cid})
    assert (refused.status_code, refused.json()["error"]) == (403, "key_replaced")
    assert http.post(f"{parties.kakeibo}/api/fetch", json={"account": "ken"}).status_code == 200

    # the same request again (a replay, or a second click): refused, nothing changes
    before = _call(linked, "GET", "/api/relationships").json()
    again = _call(linked, "POST", "/api/relationships/replace-key", json={"ref": old.issuer})
    assert (again.status_code, again.json()["error"]) == (409, "conflict")
    after = _call(linked, "GET", "/api/relationships").json()
    assert after == before == _cli_relationships(linked.home)
    assert [(r["did"], r["generation"], r["replaced_at"] is not None) for r in after] == [
        (old.issuer, 0, True), (other.issuer, 0, False), (body["new_did"], 1, False)]

    # by a consent id (a unique suffix works as in the CLI); the other relationship only
    by_id = _call(linked, "POST", "/api/relationships/replace-key", json={"ref": other.cid[-12:]})
    assert by_id.status_code == 200 and by_id.json()["old_did"] == other.issuer


def test_two_replacements_at_once_replace_once(parties: Parties, linked: Wallet) -> None:
    old = parties.consent(linked, parties.kakeibo, "ken")
    answers: list[httpx.Response] = []

    async def both() -> None:
        async with _client(linked) as api:
            async def one() -> None:
                answers.append(await api.post("/api/relationships/replace-key", json={"ref": old.issuer}))
            async with anyio.create_task_group() as tg:
                tg.start_soon(one)
                tg.start_soon(one)

    anyio.run(both)
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    done = next(a.json() for a in answers if a.status_code == 200)
    generations = [(r.generation, r.replaced_at is not None) for r in linked.relationships.all()]
    assert generations == [(0, True), (1, False)]
    assert parties.holder.links.customer_for(done["new_did"]) == "C-1002"
    consents = {c.state for c in linked.consents()}
    assert consents == {"active", "revoked"} and len(linked.consents()) == 2


def test_holder_down_is_unavailable_and_changes_nothing(parties: Parties) -> None:
    front = ThreadServer(verifier_app(parties.holder), free_port()).start()
    wallet = parties.wallet()
    try:
        wallet.link(front.url, parties.holder.new_link_code("C-1001"))
        old = parties.consent(wallet, parties.kakeibo, "hanako")
        front.stop()
        before = _call(wallet, "GET", "/api/relationships").json()
        answer = _call(wallet, "POST", "/api/relationships/replace-key", json={"ref": old.cid})
        assert (answer.status_code, answer.json()["error"]) == (503, "unavailable")
        assert "Traceback" not in answer.text
        assert _call(wallet, "GET", "/api/relationships").json() == before
        assert [c.state for c in wallet.consents()] == ["active"]
    finally:
        wallet.close()


@pytest.fixture
def api(env: Env) -> Iterator[Wallet]:
    wallet = Wallet.init(env.home, PASSPHRASE, registry=env.registry_url)
    try:
        yield wallet
    finally:
        wallet.close()


@pytest.mark.parametrize("kwargs,status,code", [
    ({"content": b"not json"}, 400, "malformed"),
    ({"content": b'{"ref": "did:key:z6'}, 400, "malformed"),  # truncated
    ({"content": b"{" + b" " * 70_000 + b"}"}, 413, "too_large"),
    ({"json": ["did:key:z6Mk"]}, 422, "invalid"),
    ({"json": {}}, 422, "invalid"),
    ({"json": {"ref": ""}}, 422, "invalid"),
    ({"json": {"ref": 7}}, 422, "invalid"),
    ({"json": {"ref": "did:key:z" + "x" * 300}}, 422, "invalid"),
    ({"json": {"ref": "nosuchconsent"}}, 404, "not_found"),
    ({"json": {"ref": KeyPair.generate().did}}, 404, "not_found"),
])
def test_bad_input_gets_clear_errors(api: Wallet, kwargs: dict[str, object], status: int, code: str) -> None:
    answer = _call(api, "POST", "/api/relationships/replace-key", **kwargs)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == code and "Traceback" not in answer.text


def test_the_bearer_token_is_required(api: Wallet) -> None:
    async def go() -> list[int]:
        async with _client(api) as client:
            client.headers.pop("Authorization")
            codes = [(await client.get("/api/relationships")).status_code]
            client.headers["Authorization"] = "Bearer wrong"
            codes.append((await client.post("/api/relationships/replace-key", json={"ref": "x"})).status_code)
            return codes
    assert anyio.run(go) == [401, 401]


def test_a_locked_wallet_lists_but_does_not_replace(env: Env, api: Wallet) -> None:
    cid = env.json("receive", str(env.request_file()), "--accept")["consent"]["id"]
    locked = Wallet.open(env.home)  # no passphrase: no keys
    try:
        assert [r["did"] for r in _call(locked, "GET", "/api/relationships").json()] == [
            r.did for r in api.relationships.all()]
        answer = _call(locked, "POST", "/api/relationships/replace-key", json={"ref": cid})
        assert (answer.status_code, answer.json()["error"]) == (401, "locked")
    finally:
        locked.close()
