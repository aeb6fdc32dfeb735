"""``POST /api/link``: linking the wallet at a data holder over the local API, in-process, against a
real data holder (the verifier service under uvicorn on 127.0.0.1) that hands out real one-time codes."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from protocol import KeyPair, WrongAudience
from tests.support.servers import free_port
from wallet import NotInitialised, Wallet
from wallet.api import create_app

from .conftest import PASSPHRASE, Parties
from .test_linking import REFUSED


def _client(wallet: Wallet) -> httpx.AsyncClient:
    app = create_app(wallet.home, PASSPHRASE, wallet=wallet, refresh_interval=None, pull_interval=None)
    token = wallet.home.api_token.read_text()
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wallet",  # type: ignore[arg-type]
                             headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _link(wallet: Wallet, **kwargs: object) -> httpx.Response:
    async def go() -> httpx.Response:
        async with _client(wallet) as api:
            return await api.post("/api/link", **kwargs)  # type: ignore[arg-type]
    return anyio.run(go)


def _kept(wallet: Wallet) -> tuple[object, ...]:
    """What the wallet stores about links: every relationship and every holder link."""
    rels = wallet.relationships.all()
    return (tuple(rels), tuple(wallet.relationships.holder_link(r.holder) for r in rels))


@pytest.fixture
def wallet(parties: Parties) -> Iterator[Wallet]:
    opened = parties.wallet()
    try:
        yield opened
    finally:
        opened.close()


def test_link_with_a_code_links_the_wallet_and_its_relationships(parties: Parties, wallet: Wallet) -> None:
    credential = parties.consent(wallet, parties.kakeibo, "ken")
    assert parties.fetch(parties.kakeibo, "ken").json()["error"] == "not_linked"
    answer = _link(wallet, json={"holder_url": parties.bank, "code": parties.holder.new_link_code("C-1002")})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"linked", "did", "holder", "holder_url", "relationships", "response"}
    assert body["linked"] is True and body["holder"] == parties.holder.did and body["holder_url"] == parties.bank
    link = wallet.relationships.holder_link(parties.holder.did)
    assert link is not None and link.did == body["did"]
    assert [r["did"] for r in body["relationships"]] == [credential.issuer]
    assert parties.holder.links.customer_for(body["did"]) == "C-1002"
    assert parties.holder.links.customer_for(credential.issuer) == "C-1002"
    assert parties.fetch(parties.kakeibo, "ken").status_code == 200

    # the same code again (a second click, a replay): the holder's own refusal, nothing changes
    before = _kept(wallet)
    code = parties.holder.new_link_code("C-1002")
    assert _link(wallet, json={"holder_url": parties.bank, "code": code}).status_code == 200
    assert _kept(wallet)[0] == before[0]
    again = _link(wallet, json={"holder_url": parties.bank, "code": code})
    assert (again.status_code, again.json()["error"]) == (403, "replayed")
    assert [r.linked_at is not None for r in wallet.relationships.all()] == [True]


def test_a_pasted_code_with_whitespace_around_it_links(parties: Parties, wallet: Wallet) -> None:
    """People paste codes with a space or a line break along: the same rule as the dashboard's form
    leaves those out before the code is signed and sent."""
    code = parties.holder.new_link_code("C-1001")
    answer = _link(wallet, json={"holder_url": parties.bank, "code": f"  {code}\r\n"})
    assert answer.status_code == 200, answer.text
    assert parties.holder.links.customer_for(answer.json()["did"]) == "C-1001"


@pytest.mark.parametrize("typed", REFUSED)
def test_a_blank_or_too_long_code_is_refused_before_the_holder_is_asked(
        parties: Parties, wallet: Wallet, typed: str) -> None:
    before = _kept(wallet)
    nobody = f"http://127.0.0.1:{free_port()}"  # asked, it would be unavailable
    for holder_url in (parties.bank, nobody):
        answer = _link(wallet, json={"holder_url": holder_url, "code": typed})
        assert (answer.status_code, answer.json()["error"], answer.json().get("field")) == (422, "invalid", "code")
    assert _kept(wallet) == before


def test_a_fresh_code_when_already_linked_links_the_same_did(parties: Parties, wallet: Wallet) -> None:
    first = _link(wallet, json={"holder_url": parties.bank, "code": parties.holder.new_link_code("C-1001")})
    second = _link(wallet, json={"holder_url": parties.bank + "/", "code": parties.holder.new_link_code("C-1001")})
    assert first.status_code == second.status_code == 200, second.text
    assert first.json()["did"] == second.json()["did"] and second.json()["relationships"] == []
    assert parties.holder.links.dids_of("C-1001") == [first.json()["did"]]


@pytest.mark.parametrize("case,status,code", [
    ("unknown", 403, "link_code_invalid"),
    ("expired", 403, "expired"),
    ("used", 403, "replayed"),
])
def test_the_holders_refusal_passes_through_and_nothing_is_stored(
        parties: Parties, wallet: Wallet, caplog: pytest.LogCaptureFixture, case: str, status: int, code: str) -> None:
    parties.consent(wallet, parties.kakeibo, "ken")
    if case == "unknown":
        typed = "ZZZZ-ZZZZ-ZZZZ"
    elif case == "expired":
        typed = parties.holder.new_link_code("C-1001", ttl=60, now=int(time.time()) - 3600)
    else:
        typed = parties.holder.new_link_code("C-1001")
        with parties.wallet("other") as other:
            other.link(parties.bank, typed)
    before = _kept(wallet)
    with caplog.at_level(logging.DEBUG):
        answer = _link(wallet, json={"holder_url": parties.bank, "code": typed})
    assert (answer.status_code, answer.json()["error"]) == (status, code), answer.text
    assert "Traceback" not in answer.text and typed not in answer.text and typed not in caplog.text
    assert _kept(wallet) == before
    assert wallet.relationships.holder_link(parties.holder.did) is None


def test_a_holder_that_does_not_answer_is_unavailable(parties: Parties, wallet: Wallet) -> None:
    before = _kept(wallet)
    answer = _link(wallet, json={"holder_url": f"http://127.0.0.1:{free_port()}", "code": "ABCD-EFGH"})
    assert (answer.status_code, answer.json()["error"]) == (503, "unavailable"), answer.text
    assert _kept(wallet) == before


@pytest.mark.parametrize("kwargs,status,code", [
    ({"content": b"not json"}, 400, "malformed"),
    ({"content": b'{"holder_url": "http://127.0.0.1'}, 400, "malformed"),  # truncated
    ({"content": b"{" + b" " * 70_000 + b"}"}, 413, "too_large"),
    ({"json": ["http://127.0.0.1:1", "ABCD"]}, 422, "invalid"),
    ({"json": {}}, 422, "invalid"),
    ({"json": {"code": "ABCD-EFGH"}}, 422, "invalid"),
    ({"json": {"holder_url": "", "code": "ABCD-EFGH"}}, 422, "invalid"),
    ({"json": {"holder_url": 7, "code": "ABCD-EFGH"}}, 422, "invalid"),
    ({"json": {"holder_url": "ftp://127.0.0.1/", "code": "ABCD-EFGH"}}, 422, "invalid"),
    ({"json": {"holder_url": "javascript:alert(1)", "code": "ABCD-EFGH"}}, 422, "invalid"),
    ({"json": {"holder_url": "file:///etc/passwd", "code": "ABCD-EFGH"}}, 422, "invalid"),
    ({"json": {"holder_url": "http://127.0.0.1/" + "x" * 2100, "code": "ABCD-EFGH"}}, 422, "invalid"),
    ({"json": {"holder_url": "http://127.0.0.1:1"}}, 422, "invalid"),
    ({"json": {"holder_url": "http://127.0.0.1:1", "code": ""}}, 422, "invalid"),
    ({"json": {"holder_url": "http://127.0.0.1:1", "code": "   "}}, 422, "invalid"),
    ({"json": {"holder_url": "http://127.0.0.1:1", "code": 1234}}, 422, "invalid"),
    ({"json": {"holder_url": "http://127.0.0.1:1", "code": "A" * 65}}, 422, "invalid"),
])
def test_bad_input_gets_clear_errors(wallet: Wallet, kwargs: dict[str, object], status: int, code: str) -> None:
    before = _kept(wallet)
    answer = _link(wallet, **kwargs)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == code and "Traceback" not in answer.text
    assert _kept(wallet) == before


def test_the_bearer_token_is_required(parties: Parties, wallet: Wallet) -> None:
    code = parties.holder.new_link_code("C-1001")

    async def go() -> list[int]:
        async with _client(wallet) as client:
            client.headers.pop("Authorization")
            codes = [(await client.post("/api/link", json={"holder_url": parties.bank, "code": code})).status_code]
            client.headers["Authorization"] = "Bearer wrong"
            codes.append((await client.post("/api/link", json={"holder_url": parties.bank, "code": code})).status_code)
            return codes
    assert anyio.run(go) == [401, 401]
    assert wallet.relationships.holder_link(parties.holder.did) is None
    assert _link(wallet, json={"holder_url": parties.bank, "code": code}).status_code == 200  # the code is unused


def test_a_wallet_without_its_keys_does_not_link(parties: Parties, wallet: Wallet) -> None:
    locked = Wallet.open(wallet.home)  # no passphrase: no keys to sign the code with
    try:
        code = parties.holder.new_link_code("C-1001")
        answer = _link(locked, json={"holder_url": parties.bank, "code": code})
        assert (answer.status_code, answer.json()["error"]) == (401, "locked")
        assert wallet.relationships.holder_link(parties.holder.did) is None
    finally:
        locked.close()


def test_no_api_without_a_wallet(tmp_path: Path) -> None:
    with pytest.raises(NotInitialised) as raised:
        create_app(tmp_path / "empty", PASSPHRASE, refresh_interval=None, pull_interval=None)
    assert raised.value.code == "not_initialised"


def test_another_holder_at_the_address_gets_no_code(parties: Parties, wallet: Wallet) -> None:
    """The dashboard passes the holder DID its records name: another DID answering there is
    ``wrong_audience``, nothing is signed or sent, and the code stays usable."""
    code = parties.holder.new_link_code("C-1001")
    with pytest.raises(WrongAudience):
        wallet.link(parties.bank, code, holder=KeyPair.generate().did)
    assert wallet.relationships.holder_link(parties.holder.did) is None
    assert wallet.link(parties.bank, code, holder=parties.holder.did)["holder"] == parties.holder.did
