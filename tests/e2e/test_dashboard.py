"""The wallet dashboard over real HTTP, without a browser: one-time sign-in links, form tokens,
bad input, the pending state when the registry is down (then the sync button), and that no
secret reaches the services' logs."""

from __future__ import annotations

import html as html_module
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from copyme.demo import Demo
from wallet.dashboard import FORM_LIMIT, SESSION_COOKIE


@pytest.fixture(scope="module")
def signed_in(demo: Demo) -> Iterator[httpx.Client]:
    """A client holding the dashboard's session cookie (like a browser after the printed link)."""
    with httpx.Client(base_url=demo.wallet_url, timeout=30.0) as client:
        response = client.get(demo.login_url().removeprefix(demo.wallet_url) + "&next=/")
        assert response.status_code == 303 and response.headers["location"] == "/"
        yield client


def _key(link: str) -> str:
    return parse_qs(urlsplit(link).query)["key"][0]


def _unauthorised(response: httpx.Response) -> bool:
    return response.status_code == 403 and 'data-testid="error-code">unauthorised<' in response.text


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no form token on the page"
    return found.group(1)


def _source(html: str) -> str:
    """The review form's hidden ``u`` (the request's address; the request is stored on the POST)."""
    found = re.search(r'name="u" value="([^"]*)"', html)
    assert found, "no request address on the page"
    return html_module.unescape(found.group(1))


def _accept(demo: Demo, client: httpx.Client, account: str, items: list[str]) -> str:
    """Review and accept Kakeibo's request for ``account`` through the pages; the consent's path."""
    button = httpx.get(f"{demo.budget_url}/api/button", params={"account": account}).json()
    page = client.get("/review", params={"u": button["request_url"], "lang": "en"})
    assert page.status_code == 200 and "Kakeibo" in page.text and 'data-testid="unverified"' not in page.text
    action = re.search(r'action="(/review/[^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    done = client.post(action, data={"csrf": _csrf(page.text), "decision": "accept", "items": items,
                                     "back": demo.budget_url + "/", "u": _source(page.text)})
    assert done.status_code == 303, done.text
    return done.headers["location"].split("?")[0]


def test_pages_need_the_session_from_the_printed_link(demo: Demo) -> None:
    with httpx.Client(base_url=demo.wallet_url) as anonymous:
        page = anonymous.get("/consents/whatever")
        assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
        form = anonymous.get("/login")
        assert form.status_code == 200 and 'id="key"' in form.text
        assert _unauthorised(anonymous.get("/login?key=not-the-key"))
        assert _unauthorised(anonymous.post("/login", data={"key": "nope", "next": "/"}))
        assert _unauthorised(anonymous.post("/login", data={"key": "", "next": "/"}))
        ok = anonymous.post("/login", data={"key": _key(demo.login_url()), "next": "//evil.example/"})
        assert ok.status_code == 303 and ok.headers["location"] == "/"  # never an open redirect
        assert anonymous.get("/").status_code == 200


def test_the_api_token_no_longer_signs_a_browser_in(demo: Demo) -> None:
    with httpx.Client(base_url=demo.wallet_url) as anonymous:
        assert _unauthorised(anonymous.get(f"/login?key={demo.token}"))
        assert _unauthorised(anonymous.post("/login", data={"key": demo.token, "next": "/"}))
        assert not anonymous.cookies


def test_a_login_link_works_once_and_its_cookie_is_not_the_token(demo: Demo) -> None:
    link = demo.login_url().removeprefix(demo.wallet_url)
    assert demo.token not in link
    with httpx.Client(base_url=demo.wallet_url) as browser:
        first = browser.get(link)
        assert first.status_code == 303 and first.headers["referrer-policy"] == "no-referrer"
        cookie = first.headers["set-cookie"]
        value = browser.cookies[SESSION_COOKIE]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert value != demo.token and demo.token not in cookie and _key(link) not in cookie
        assert browser.get("/").status_code == 200
    with httpx.Client(base_url=demo.wallet_url) as other:
        assert _unauthorised(other.get(link))  # used: gone
        assert not other.cookies
        assert other.get("/").status_code == 303
        other.get(demo.login_url().removeprefix(demo.wallet_url))
        assert other.cookies[SESSION_COOKIE] != value  # two links, two sessions (each its own form token)


def test_login_links_need_the_bearer_token(demo: Demo) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {demo.token}"}):
        response = httpx.post(f"{demo.wallet_url}/api/login-link", headers=headers)
        assert response.status_code == 401 and response.json()["error"] == "unauthorised"
    with httpx.Client(base_url=demo.wallet_url, cookies={SESSION_COOKIE: demo.token}) as forged:
        assert forged.get("/").status_code == 303  # the token is not a session either


def test_a_cross_site_visit_reloads_from_the_wallet_itself(demo: Demo) -> None:
    """SameSite=Strict: the CopyMe button's cross-site link arrives without the cookie, so the
    wallet answers with a same-origin reload (the browser test shows the cookie then goes along)."""
    with httpx.Client(base_url=demo.wallet_url) as browser:
        bounce = browser.get("/review", params={"u": "http://127.0.0.1:9/r/00"},
                             headers={"Sec-Fetch-Site": "cross-site", "Referer": demo.budget_url + "/"})
        assert bounce.status_code == 200 and 'http-equiv="refresh"' in bounce.text
        assert "/review?u=http%3A%2F%2F127.0.0.1%3A9%2Fr%2F00&amp;back=" in bounce.text
        assert bounce.headers["cache-control"] == "no-store"
        same = browser.get("/review", params={"u": "x"}, headers={"Sec-Fetch-Site": "same-origin"})
        assert same.status_code == 303 and same.headers["location"].startswith("/login?next=")


def test_forms_without_the_page_token_are_refused(demo: Demo, signed_in: httpx.Client) -> None:
    for path in ("/sync", "/consents/abcdef/revoke", "/review/abc"):
        response = signed_in.post(path, data={"csrf": "0" * 64, "decision": "accept"})
        assert response.status_code == 403
        assert 'data-testid="error-code">unauthorised<' in response.text


def test_a_foreign_host_header_is_refused(demo: Demo, signed_in: httpx.Client) -> None:
    response = signed_in.get("/", headers={"Host": "evil.example"})
    assert response.status_code == 403 and "unauthorised" in response.text


@pytest.mark.parametrize(("query", "status", "code"), [
    ({}, 422, "invalid"),
    ({"u": "javascript:alert(1)"}, 422, "invalid"),
    ({"u": "http://127.0.0.1:9/r/00"}, 503, "unavailable"),
    ({"u": "copyme://request?u=nothing"}, None, None),
])
def test_bad_review_links_get_a_clear_page(signed_in: httpx.Client, query: dict[str, str], status: int,
                                           code: str | None) -> None:
    response = signed_in.get("/review", params=query)
    assert response.status_code == status if status else 400 <= response.status_code < 500
    assert 'data-testid="error"' in response.text and "Traceback" not in response.text
    if code:
        assert f'data-testid="error-code">{code}<' in response.text


def test_unknown_consent_and_oversized_form(demo: Demo, signed_in: httpx.Client) -> None:
    page = signed_in.get("/consents/no-such-consent")
    assert page.status_code == 404 and "not_found" in page.text
    home = signed_in.get("/")
    big = signed_in.post("/sync", data={"csrf": _csrf(home.text) if "csrf" in home.text else "x",
                                        "pad": "x" * (FORM_LIMIT + 10)})
    assert big.status_code in (403, 413)


def test_pending_when_the_registry_is_down_then_sync(demo: Demo, signed_in: httpx.Client) -> None:
    path = _accept(demo, signed_in, "dash-pending", ["transactions"])
    page = signed_in.get(path, params={"lang": "en"})
    assert "Balance" not in page.text.split('data-testid="granted"')[0]
    assert "<dt>Request id</dt>" in page.text and "<dt>Status list and index</dt>" in page.text
    ja = signed_in.get(path, params={"lang": "ja"}).text
    assert "<dt>依頼のID</dt>" in ja and "<dt>状態リストと番号</dt>" in ja and "<dt>Status list" not in ja
    signed_in.get(path, params={"lang": "en"})  # the cookie remembers the language; the rest reads English
    demo.service("registry").stop()
    try:
        changed = signed_in.post(path + "/suspend", data={"csrf": _csrf(page.text)})
        assert changed.status_code == 303 and "error=" in changed.headers["location"]
        shown = signed_in.get(changed.headers["location"])
        assert "the registry does not have it yet" in shown.text
        assert 'data-testid="pending"' in shown.text
        listing = signed_in.get("/")
        assert 'data-testid="sync"' in listing.text and 'data-testid="pending"' in listing.text
        failed = signed_in.post("/sync", data={"csrf": _csrf(listing.text)})
        assert failed.headers["location"] == "/?synced=failed"
    finally:
        demo.restart("registry")
    synced = signed_in.post("/sync", data={"csrf": _csrf(signed_in.get("/").text)})
    assert synced.headers["location"] == "/?synced=ok"
    after = signed_in.get(path)
    assert 'data-testid="pending"' not in after.text
    history = after.text.split('data-testid="history"')[1].split("</table>")[0]
    assert history.count("badge pending") == 0  # every change now says when it reached the registry


def _copycat_request(demo: Demo) -> bytes:
    """A request signed by a key that is on no trust list (claiming a trusted name)."""
    from issuer import build_request
    from protocol import KeyPair

    holder = httpx.get(demo.bank_url + "/v1/holder").json()["did"]
    return build_request(
        requester=KeyPair.generate(), requester_name={"ja": "かけいぼ", "en": "Kakeibo"}, holder=holder,
        holder_url=demo.bank_url + "/v1/data", required=("transactions",), purposes=("dpv:ServiceProvision",),
        notice={"ja": {"title": "明細を取り込みます", "points": ["ご安心ください"]},
                "en": {"title": "Import your transactions", "points": ["Trust us"]}},
        terms_url="https://copycat.example/terms", terms=b"terms", callback="http://127.0.0.1:9/callback").raw


@pytest.mark.parametrize(("lang", "note", "title"), [
    ("ja", "協議会のトラストリストに載っていません", "明細を取り込みます"),
    ("en", "not on the council&#39;s trust list", "Import your transactions"),
])
def test_review_and_decline_speak_the_page_language(demo: Demo, signed_in: httpx.Client, lang: str, note: str,
                                                     title: str) -> None:
    from fastapi import FastAPI
    from fastapi.responses import Response

    from protocol import Typ
    from tests.support.servers import serve

    raw = _copycat_request(demo)
    app = FastAPI()
    app.get("/r/1")(lambda: Response(raw, media_type=Typ.REQUEST.value))
    with serve(app) as url:
        page = signed_in.get("/review", params={"u": f"{url}/r/1", "lang": lang})
        assert page.status_code == 200 and 'data-testid="trust-note"' in page.text and note in page.text
        other = "not on the council" if lang == "ja" else "トラストリスト"
        assert other not in page.text
        action = re.search(r'action="(/review/[^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        declined = signed_in.post(action, data={"csrf": _csrf(page.text), "decision": "decline",
                                                "u": _source(page.text)})
        assert declined.status_code == 200 and 'data-testid="declined-request"' in declined.text
        assert title in declined.text and note in declined.text and other not in declined.text


def test_no_secret_reaches_the_logs(demo: Demo, signed_in: httpx.Client) -> None:
    """After sign-ins, pages and API calls: the services' logs hold no token, key or passphrase."""
    from copyme.demo import PASSPHRASE

    used = demo.login_url()
    assert signed_in.get(used.removeprefix(demo.wallet_url)).status_code == 303
    unused = demo.login_url()
    secrets_ = {"api token": demo.token, "used login key": _key(used), "unused login key": _key(unused),
                "passphrase": PASSPHRASE}
    logs = sorted((demo.home / "logs").glob("*.log"))
    assert {p.name for p in logs} >= {"registry.log", "bank.log", "budget.log", "wallet.log"}
    for log in logs:
        text = log.read_text(errors="replace")
        for name, value in secrets_.items():
            assert value not in text, f"the {name} is in {log.name}"
        assert "/login?key=" not in text
