"""The wallet dashboard over real HTTP, without a browser: sign-in, form tokens, bad input, and
the pending state when the registry is down (then the sync button)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from copyme.demo import Demo
from wallet.dashboard import FORM_LIMIT


@pytest.fixture(scope="module")
def signed_in(demo: Demo) -> Iterator[httpx.Client]:
    """A client holding the dashboard's session cookie (like a browser after the printed link)."""
    with httpx.Client(base_url=demo.wallet_url, timeout=30.0) as client:
        response = client.get(f"/login?key={demo.token}&next=/")
        assert response.status_code == 303 and response.headers["location"] == "/"
        yield client


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no form token on the page"
    return found.group(1)


def _accept(demo: Demo, client: httpx.Client, account: str, items: list[str]) -> str:
    """Review and accept Kakeibo's request for ``account`` through the pages; the consent's path."""
    button = httpx.get(f"{demo.budget_url}/api/button", params={"account": account}).json()
    page = client.get("/review", params={"u": button["request_url"], "lang": "en"})
    assert page.status_code == 200 and "Kakeibo" in page.text and "UNVERIFIED" not in page.text
    action = re.search(r'action="(/review/[^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    done = client.post(action, data={"csrf": _csrf(page.text), "decision": "accept", "items": items,
                                     "back": demo.budget_url + "/"})
    assert done.status_code == 303, done.text
    return done.headers["location"].split("?")[0]


def test_pages_need_the_session_from_the_printed_link(demo: Demo) -> None:
    with httpx.Client(base_url=demo.wallet_url) as anonymous:
        page = anonymous.get("/consents/whatever")
        assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
        wrong = anonymous.get("/login?key=not-the-key")
        assert wrong.status_code == 403 and 'id="key"' in wrong.text
        assert anonymous.post("/login", data={"key": "nope", "next": "/"}).status_code == 403
        ok = anonymous.post("/login", data={"key": demo.token, "next": "//evil.example/"})
        assert ok.status_code == 303 and ok.headers["location"] == "/"  # never an open redirect
        assert demo.token not in (ok.headers.get("set-cookie") or "")  # the cookie is derived, not the key


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
    assert "<dt>Request</dt>" in page.text and "<dt>Status list</dt>" in page.text
    ja = signed_in.get(path, params={"lang": "ja"}).text
    assert "<dt>依頼のID</dt>" in ja and "<dt>状態リスト</dt>" in ja and "<dt>status list</dt>" not in ja
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
        declined = signed_in.post(action, data={"csrf": _csrf(page.text), "decision": "decline"})
        assert declined.status_code == 200 and 'data-testid="declined-request"' in declined.text
        assert title in declined.text and note in declined.text and other not in declined.text
