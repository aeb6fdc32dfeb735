"""The dashboard against hostile links and headers: a Host that only starts like loopback, a
request address that is not a URL, a GET that must not store anything, and ``?back=`` links
that would send the user elsewhere.  The wallet app runs for real on loopback."""

from __future__ import annotations

import html
import re
import sqlite3
from collections.abc import Iterator

import httpx
import pytest

from tests.support.servers import serve
from tests.wallet.conftest import PASSPHRASE, Env
from wallet import Home, Wallet
from wallet.api import create_app

EVIL = "https://evil.example/phish"


@pytest.fixture
def browser(env: Env) -> Iterator[httpx.Client]:
    """A signed-in browser on the dashboard (cookies kept)."""
    Wallet.init(env.home, PASSPHRASE, registry=env.registry_url).close()
    app = create_app(env.home, PASSPHRASE, refresh_interval=None)
    token = Home.at(env.home).api_token.read_text()
    with serve(app) as url:
        api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0)
        client = httpx.Client(base_url=url, timeout=30.0)
        assert client.get(api.post("/api/login-link").json()["path"]).status_code == 303
        yield client


def _links_to_evil(page: str) -> bool:
    """Whether a link or a form field of the page leads to the other site (the language switch
    may repeat the query string, which only comes back here and is checked again)."""
    return 'href="https://evil.example' in page or 'value="https://evil.example' in page


def _requests_stored(env: Env) -> int:
    with sqlite3.connect(Home.at(env.home).db) as db:
        return int(db.execute("SELECT COUNT(*) FROM requests").fetchone()[0])


@pytest.mark.parametrize("host", ["[::1]evil.example", "[::1]evil.example:80", "localhost.evil.example",
                                  "127.0.0.1.nip.io", "evil.example"])
def test_host_headers_that_only_look_like_loopback_are_refused(browser: httpx.Client, host: str) -> None:
    response = browser.get("/", headers={"Host": host})
    assert response.status_code == 403 and 'data-testid="error-code">unauthorised<' in response.text


@pytest.mark.parametrize("u", ["http://[::1", "http://[::1]:99999/x", "http://exa mple/", "https://"])
def test_an_unusable_request_address_is_an_error_page_not_a_500(browser: httpx.Client, u: str) -> None:
    response = browser.get("/review", params={"u": u})
    code = re.search(r'data-testid="error-code">([a-z_]+)<', response.text)
    assert code is not None and code.group(1) in ("invalid", "malformed"), response.text
    assert response.status_code == {"invalid": 422, "malformed": 400}[code.group(1)]
    assert "Traceback" not in response.text


def test_showing_a_request_stores_nothing_until_the_user_decides(env: Env, browser: httpx.Client) -> None:
    env.callback.requests["one"] = env.request_bytes()
    u = f"{env.callback_server.url}/r/one"
    for _ in range(3):
        page = browser.get("/review", params={"u": u, "lang": "en"})
        assert page.status_code == 200
    assert _requests_stored(env) == 0  # GET changes nothing
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)  # type: ignore[union-attr]
    source = html.unescape(re.search(r'name="u" value="([^"]*)"', page.text).group(1))  # type: ignore[union-attr]
    action = re.search(r'action="(/review/[^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    items = re.findall(r'name="items" value="([^"]+)"', page.text)
    done = browser.post(action, data={"csrf": csrf, "decision": "accept", "u": source, "items": items})
    assert done.status_code == 303, done.text
    assert _requests_stored(env) == 1 and len(env.callback.received) == 1


def test_back_links_go_to_the_requester_only(env: Env, browser: httpx.Client) -> None:
    env.callback.requests["one"] = env.request_bytes()
    u = f"{env.callback_server.url}/r/one"
    requester_page = f"{env.callback_server.url}/account/settings"
    shown = browser.get("/review", params={"u": u, "back": EVIL})
    assert not _links_to_evil(shown.text)
    assert f'name="back" value="{env.callback_server.url}/"' in shown.text  # the requester's own origin instead
    assert not _links_to_evil(browser.get("/review", params={"u": u}, headers={"Referer": EVIL}).text)
    assert requester_page in browser.get("/review", params={"u": u, "back": requester_page}).text

    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', shown.text).group(1)  # type: ignore[union-attr]
    action = re.search(r'action="(/review/[^"]+)"', shown.text).group(1)  # type: ignore[union-attr]
    items = re.findall(r'name="items" value="([^"]+)"', shown.text)
    done = browser.post(action, data={"csrf": csrf, "decision": "accept", "u": u, "back": EVIL, "items": items})
    assert done.status_code == 303
    consent_page = browser.get(done.headers["location"])
    assert consent_page.status_code == 200 and not _links_to_evil(consent_page.text)
    path = done.headers["location"].split("?")[0]
    assert requester_page in browser.get(path, params={"accepted": "1", "back": requester_page}).text
