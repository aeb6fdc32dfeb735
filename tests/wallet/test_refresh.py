"""Status lists kept fresh in the background while ``copyme wallet serve`` runs, and what
``serve`` prints on start (the dashboard's address and a one-time sign-in link)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import pytest

from common.registry_client import RegistryClient
from protocol import StatusListToken
from tests.support.servers import serve_cli
from tests.wallet.conftest import PASSPHRASE, Env
from wallet import Home, Wallet
from wallet.refresh import ListRefresher
from wallet.status import LIFETIME

DAY = 86400


def _old_consent(env: Env, age: int = 4 * DAY) -> tuple[str, int]:
    """A wallet whose only list was signed and published ``age`` seconds ago; (list id, its iat)."""
    then = int(time.time()) - age
    with Wallet.init(env.home, PASSPHRASE, registry=env.registry_url) as wallet:
        consent = wallet.accept(wallet.review_bytes(env.request_bytes(now=then), now=then), now=then, deliver=False)
        assert consent.pending is False
        return consent.list_id, int(wallet.lists.list_row(consent.list_id)["iat"])


def _registry_iat(env: Env, list_id: str) -> int:
    with RegistryClient(env.registry_url) as client:
        fetched = client.fetch(list_id)
    assert fetched is not None
    return StatusListToken.decode(fetched.token).issued_at


def _until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_run_re_signs_lists_past_half_their_lifetime_and_then_rests(env: Env) -> None:
    list_id, old_iat = _old_consent(env)
    with Wallet.open(env.home, PASSPHRASE) as wallet:
        refresher = ListRefresher(wallet, interval=3600)
        results = refresher.run_once()
        assert [(r.list_id, r.accepted) for r in results] == [(list_id, True)]
        assert results[0].iat >= int(time.time()) - 5 > old_iat
        assert refresher.run_once() == []  # fresh now: nothing to sign or send
    assert _registry_iat(env, list_id) == results[0].iat


def test_a_young_list_is_left_alone(env: Env) -> None:
    list_id, iat = _old_consent(env, age=LIFETIME // 2 - 600)
    with Wallet.open(env.home, PASSPHRASE) as wallet:
        assert ListRefresher(wallet).run_once() == []
    assert _registry_iat(env, list_id) == iat


def test_a_pending_list_that_grew_old_is_re_signed_when_the_registry_returns(env: Env) -> None:
    then = int(time.time()) - 4 * DAY
    with Wallet.init(env.home, PASSPHRASE, registry=env.registry_url) as wallet:
        env.stop_registry()
        consent = wallet.accept(wallet.review_bytes(env.request_bytes(now=then), now=then), now=then, deliver=False)
        assert consent.pending and wallet.pending() == [consent.list_id]
        refresher = ListRefresher(wallet, interval=3600)
        (down,) = refresher.run_once()
        assert not down.accepted and down.error == "unavailable" and down.iat > then + 3 * DAY
        env.start_registry()
        (up,) = refresher.run_once()
        assert up.accepted and up.iat == down.iat and wallet.pending() == []
        assert not wallet.consent(consent.id).pending
    assert _registry_iat(env, consent.list_id) == up.iat


def test_the_thread_runs_at_once_then_every_interval_and_survives_failures(
        env: Env, caplog: pytest.LogCaptureFixture) -> None:
    list_id, _ = _old_consent(env)
    env.stop_registry()
    with Wallet.open(env.home, PASSPHRASE) as wallet:
        refresher = ListRefresher(wallet, interval=0.1).start()
        try:
            _until(lambda: refresher.runs >= 2)
            assert wallet.pending() == [list_id]
            env.start_registry()
            _until(lambda: not wallet.pending())
        finally:
            refresher.stop()
        assert not refresher._thread
    assert "still pending (unavailable" in caplog.text
    with pytest.raises(ValueError):
        ListRefresher(wallet, interval=0)


def test_serve_prints_the_sign_in_link_and_refreshes_in_the_background(env: Env) -> None:
    list_id, old_iat = _old_consent(env)
    with serve_cli(["wallet", "serve", "--home", str(env.home), "--refresh-every", "0.2"],
                   env={"COPYME_PASSPHRASE": PASSPHRASE}) as (url, proc):
        assert proc.stdout is not None
        printed = [proc.stdout.readline() for _ in range(5)]
        token = Home.at(env.home).api_token.read_text()
        # one canonical origin: the printed address and link say localhost, whatever --host bound
        canonical, url = url.replace("127.0.0.1", "localhost"), url.replace("127.0.0.1", "localhost")
        assert printed[0].strip() == f"wallet dashboard: {url}/"
        assert printed[1].strip().startswith("sign in with this one-time link (works once, for 10 minutes): ")
        assert printed[2].strip() == f"a fresh sign-in link: copyme wallet login-link --home {env.home}"
        assert "every 0.2 s" in printed[4]
        assert token not in "".join(printed)  # the bearer token is never printed
        link = printed[1].split("minutes): ", 1)[1].strip().removeprefix(url)
        assert link.startswith("/login?key=")
        elsewhere = httpx.get(url.replace("localhost", "127.0.0.1") + "/?lang=ja")
        assert elsewhere.status_code == 307 and elsewhere.headers["location"] == f"{canonical}/?lang=ja"
        with httpx.Client(base_url=url) as browser:
            assert browser.get("/").headers["location"].startswith("/login")
            signed_in = browser.get(link)
            assert signed_in.status_code == 303 and browser.cookies
            assert browser.get("/").status_code == 200
        with httpx.Client(base_url=url) as again:
            assert again.get(link).status_code == 403 and not again.cookies  # once only
        _until(lambda: _registry_iat(env, list_id) > old_iat)


def test_serve_json_on_a_free_port_without_refresh(env: Env) -> None:
    Wallet.init(env.home, PASSPHRASE, registry=env.registry_url).close()
    proc = subprocess.Popen([sys.executable, "-m", "copyme", "wallet", "serve", "--home", str(env.home), "--port", "0",
                             "--refresh-every", "0", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "COPYME_PASSPHRASE": PASSPHRASE})
    try:
        assert proc.stdout is not None
        shown = json.loads(proc.stdout.readline())
        assert shown["refresh_every"] is None and shown["login"].startswith(shown["dashboard"] + "login?key=")
        assert shown["login_expires_at"] > time.time() + 500
        assert not shown["dashboard"].endswith(":0/")
        assert httpx.get(shown["dashboard"] + "health").json() == {"status": "ok"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_refuses_a_negative_interval(env: Env) -> None:
    Wallet.init(env.home, PASSPHRASE, registry=env.registry_url).close()
    result = env.wallet("serve", "--refresh-every", "-1", ok=False)
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_login_link_asks_the_running_serve_for_a_fresh_one_time_link(env: Env) -> None:
    Wallet.init(env.home, PASSPHRASE, registry=env.registry_url).close()
    assert "no running 'copyme wallet serve'" in env.wallet("login-link", ok=False).output
    with serve_cli(["wallet", "serve", "--home", str(env.home), "--refresh-every", "0", "--no-login-link"],
                   env={"COPYME_PASSPHRASE": PASSPHRASE}) as (url, proc):
        assert proc.stdout is not None
        printed = [proc.stdout.readline() for _ in range(4)]
        assert "login?key=" not in "".join(printed) and "copyme wallet login-link" in printed[1]
        url = url.replace("127.0.0.1", "localhost")  # the one origin, recorded for login-link
        assert json.loads((env.home / "serve.json").read_text())["url"] == url
        first, second = env.json("login-link"), env.json("login-link", "--url", url + "/")
        assert first["url"].startswith(f"{url}/login?key=") and first["url"] != second["url"]
        assert first["expires_in"] == 600 and first["expires_at"] > time.time() + 500
        text = env.wallet("login-link").output
        assert text.startswith(f"{url}/login?key=") and "works once, for 10 minutes" in text
        for link in (first["url"], second["url"]):
            with httpx.Client() as browser:
                assert browser.get(link).status_code == 303 and browser.get(url + "/").status_code == 200
                assert browser.get(link).status_code == 403
        Home.at(env.home).api_token.write_text("not-the-token")
        assert "error: unauthorised" in env.wallet("login-link", ok=False).output
    assert not (env.home / "serve.json").exists()  # removed when serve stops


@pytest.mark.parametrize("url", ["http://example.com:8700", "https://127.0.0.1:8700",
                                 "http://127.0.0.1:8700@example.com", "http://user@127.0.0.1:8700",
                                 "http://127.0.0.1:8700/elsewhere", "http://127.0.0.1:8700/?x=1", "ftp://localhost:1"])
def test_login_link_sends_the_token_only_to_a_loopback_wallet(env: Env, url: str) -> None:
    Wallet.init(env.home, PASSPHRASE, registry=env.registry_url).close()
    result = env.wallet("login-link", "--url", url, ok=False)
    assert result.exit_code != 0 and "error: invalid" in result.output and "Traceback" not in result.output


def test_login_link_without_a_server_is_unavailable(env: Env) -> None:
    from tests.support.servers import free_port

    Wallet.init(env.home, PASSPHRASE, registry=env.registry_url).close()
    Home.at(env.home).api_token.write_text("some-token")
    result = env.wallet("login-link", "--url", f"http://127.0.0.1:{free_port()}", ok=False)
    assert result.exit_code != 0 and "error: unavailable" in result.output
    assert "some-token" not in result.output
