"""One-time login keys and dashboard sessions (``wallet.signin``), with the clock injected."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.wallet.conftest import PASSPHRASE, Env
from wallet import Home, Wallet
from wallet.api import create_app
from wallet.signin import KEY_TTL, MAX_KEYS, MAX_SESSIONS, SESSION_TTL, SignIn

NOW = 1_800_000_000


def test_a_key_opens_one_session_once() -> None:
    signin = SignIn()
    issued = signin.issue(now=NOW)
    assert issued.expires_at == NOW + KEY_TTL and issued.path == f"/login?key={issued.key}"
    session = signin.redeem(issued.key, now=NOW + 1)
    assert session and session != issued.key
    assert signin.valid(session, now=NOW + 2)
    assert signin.redeem(issued.key, now=NOW + 2) is None  # used
    assert not signin.valid(session, now=NOW + 1 + SESSION_TTL)  # the session ends too


@pytest.mark.parametrize("offset", [KEY_TTL, KEY_TTL + 1, 10 * KEY_TTL])
def test_an_expired_key_opens_nothing(offset: int) -> None:
    signin = SignIn()
    issued = signin.issue(now=NOW)
    assert signin.redeem(issued.key, now=NOW + offset) is None
    assert signin.redeem(issued.key, now=NOW) is None  # and it was dropped, not kept for later


@pytest.mark.parametrize("key", ["", "x", "\udcff", "a" * 10_000, "/login?key="])
def test_wrong_keys_and_sessions(key: str) -> None:
    signin = SignIn()
    signin.issue(now=NOW)
    assert signin.redeem(key, now=NOW) is None
    assert not signin.valid(key, now=NOW) and not signin.check_form(key, key, now=NOW)


def test_only_hashes_are_kept() -> None:
    signin = SignIn()
    issued = signin.issue(now=NOW)
    session = signin.redeem(signin.issue(now=NOW).key, now=NOW)
    assert session is not None
    kept = repr(vars(signin))
    assert issued.key not in kept and session not in kept
    assert hashlib.sha256(issued.key.encode()).digest() in signin._keys


def test_form_tokens_belong_to_one_live_session() -> None:
    signin = SignIn()
    one = signin.redeem(signin.issue(now=NOW).key, now=NOW)
    two = signin.redeem(signin.issue(now=NOW).key, now=NOW)
    assert one and two
    assert signin.check_form(one, signin.form_token(one), now=NOW)
    assert not signin.check_form(two, signin.form_token(one), now=NOW)  # another session's token
    assert not signin.check_form(None, signin.form_token(one), now=NOW)
    assert SignIn().form_token(one) != signin.form_token(one)  # per process secret
    signin.end(one)
    assert not signin.valid(one) and not signin.check_form(one, signin.form_token(one))
    assert not signin.check_form(two, signin.form_token(two), now=NOW + SESSION_TTL)


def test_unused_keys_and_sessions_are_bounded() -> None:
    signin = SignIn()
    keys = [signin.issue(now=NOW) for _ in range(MAX_KEYS + 3)]
    assert len(signin._keys) == MAX_KEYS
    assert signin.redeem(keys[0].key, now=NOW) is None  # the oldest went first
    sessions = [signin.redeem(signin.issue(now=NOW).key, now=NOW) for _ in range(MAX_SESSIONS + 2)]
    assert len(signin._sessions) == MAX_SESSIONS
    assert not signin.valid(sessions[0], now=NOW) and signin.valid(sessions[-1], now=NOW)


def test_the_api_issues_login_links_for_the_bearer_only(env: Env) -> None:
    import anyio

    Wallet.init(env.home, PASSPHRASE, registry=env.registry_url).close()
    app = create_app(env.home, PASSPHRASE, refresh_interval=None)
    token = Home.at(env.home).api_token.read_text()

    async def go() -> tuple[httpx.Response, httpx.Response, httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
                                     base_url="http://127.0.0.1") as http:
            refused = await http.post("/api/login-link")
            issued = await http.post("/api/login-link", headers={"Authorization": f"Bearer {token}"})
            first = await http.get(issued.json()["path"])
            again = await http.get(issued.json()["path"])
            return refused, issued, first, again

    refused, issued, first, again = anyio.run(go)
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorised"
    body = issued.json()
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    assert body["path"].startswith("/login?key=") and token not in body["path"] and body["expires_in"] == KEY_TTL
    assert first.status_code == 303 and token not in first.headers["set-cookie"]
    assert again.status_code == 403 and "unauthorised" in again.text
