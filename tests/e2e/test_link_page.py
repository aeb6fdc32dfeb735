"""Linking the wallet at a data holder from the dashboard's identifiers page, in a real browser and
over HTTP: the demo runs with a wallet that is *not* linked at the bank yet; the user gives a
consent, sees the card "not linked yet" with a field for the bank's one-time code, types a wrong
code (told why, in plain words, and the code is not put back into the page), then the right one,
and sees the card linked.  The form names only the identifier: an address slipped into it is
never called, and another data holder answering at the bank's own address gets no code."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from common import Child
from copyme.demo import BANK_NAME, BUDGET_NAME, COUNCIL_NAME, CUSTOMER, PASSPHRASE, Demo
from protocol import KeyPair, LinkProof
from tests.e2e.pages import WIDTHS, check_consumer_page, shoot, signed_in, wallet_api
from tests.support.servers import ThreadServer
from tests.wallet.test_linking import REFUSED
from verifier import Holder
from wallet import Wallet

pytestmark = pytest.mark.browser

WRONG = "ZZZZ-ZZZZ-ZZZZ"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo services, with a wallet made beforehand and never linked at the bank."""
    running = Demo(tmp_path_factory.mktemp("demo-unlinked"))
    running.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    Wallet.init(running.wallet_home, PASSPHRASE, registry=running.registry_url, kdf="min",
                council_name=COUNCIL_NAME).close()
    fd = os.open(running.passphrase_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(PASSPHRASE)
    with running:
        yield running


def _code(demo: Demo, **kwargs: Any) -> str:
    """A fresh one-time code from the bank, as its staff would hand it over."""
    holder = Holder.open(demo.home / "bank")
    try:
        return holder.new_link_code(CUSTOMER, **kwargs)
    finally:
        holder.close()


@pytest.fixture(scope="module")
def given(demo: Demo, browser: Any) -> None:
    """One consent to the budget app, given through the pages before the wallet is linked."""
    context, page = signed_in(demo, browser, 390, "ja")
    button = httpx.get(f"{demo.budget_url}/api/button", params={"account": "acct-001"}, timeout=10).json()
    page.goto(f"{demo.wallet_url}/review?lang=ja&u={quote(button['request_url'], safe='')}")
    page.get_by_test_id("accept").click()
    page.get_by_test_id("accepted").wait_for()
    context.close()
    [relationship] = wallet_api(demo, "/api/relationships")
    assert relationship["linked"] is False


def _card(page: Any, lang: str) -> Any:
    return page.get_by_test_id("identity").filter(has=page.get_by_role("heading", name=BUDGET_NAME[lang], exact=True))


def _wallet_log(demo: Demo) -> str:
    return (demo.home / "logs" / "wallet.log").read_text(encoding="utf-8", errors="replace")


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("width", WIDTHS)
def test_a_card_not_linked_asks_for_the_holders_code(demo: Demo, browser: Any, given: None, screenshots: Path,
                                                     lang: str, width: int) -> None:
    from playwright.sync_api import expect

    context, page = signed_in(demo, browser, width, lang)
    page.goto(f"{demo.wallet_url}/identifiers?lang={lang}")
    card = _card(page, lang)
    expect(card.get_by_test_id("id-state")).to_have_text("未連携" if lang == "ja" else "Not linked yet")
    form = card.get_by_test_id("id-link-form")
    expect(form).to_contain_text(f"{BANK_NAME[lang]}から受け取った一回限りのコード" if lang == "ja"
                                 else f"The one-time code {BANK_NAME[lang]} gave you")
    expect(card.get_by_test_id("id-link-code")).to_be_visible()
    # the form carries the form token and the code, nothing else: no address to point elsewhere
    names = form.locator("input, select, textarea").evaluate_all("els => els.map(e => e.name)")
    assert sorted(names) == ["code", "csrf"]
    check_consumer_page(page, lang)
    card.get_by_test_id("id-tech").locator("summary").click()  # the CLI command stays in the details
    expect(card.get_by_test_id("id-tech")).to_contain_text(f"copyme wallet link {demo.bank_url}")
    card.get_by_test_id("id-tech").locator("summary").click()
    shoot(page, screenshots, f"ids-link-before-{lang}-{width}")
    context.close()


@pytest.mark.parametrize("lang,width", [("ja", 390), ("en", 1280), ("ja", 1280), ("en", 390)])
def test_a_wrong_code_says_why_and_is_not_echoed(demo: Demo, browser: Any, given: None, screenshots: Path,
                                                 lang: str, width: int) -> None:
    from playwright.sync_api import expect

    context, page = signed_in(demo, browser, width, lang)
    page.goto(f"{demo.wallet_url}/identifiers?lang={lang}")
    _card(page, lang).get_by_test_id("id-link-code").fill(WRONG)
    _card(page, lang).get_by_test_id("id-link-go").click()
    result = page.get_by_test_id("id-link-result")
    expect(result).to_have_text(
        f"{BANK_NAME[lang]}での連携はできませんでした。{BANK_NAME[lang]}はそのコードを知りません。"
        f"打ち間違いがないか確かめるか、{BANK_NAME[lang]}に新しいコードをもらってください。" if lang == "ja" else
        f"Linking at {BANK_NAME[lang]} did not work. {BANK_NAME[lang]} does not know that code. "
        f"Check it for typos, or ask {BANK_NAME[lang]} for a new one.")
    expect(_card(page, lang).get_by_test_id("id-state")).to_have_text("未連携" if lang == "ja" else "Not linked yet")
    expect(_card(page, lang).get_by_test_id("id-link-code")).to_have_value("")
    assert WRONG not in page.content() and WRONG not in page.url and WRONG not in _wallet_log(demo)
    check_consumer_page(page, lang)
    shoot(page, screenshots, f"ids-link-failed-{lang}-{width}")
    # the language switch keeps what happened
    page.get_by_test_id("switch-lang").click()
    expect(page.get_by_test_id("id-link-result")).to_be_visible()
    context.close()


# ---------------------------------------------------------------- over HTTP: what the form can and cannot do

def _form(session: httpx.Client) -> tuple[str, str]:
    """The link form's action and this session's form token."""
    listed = session.get("/identifiers", params={"lang": "en"}).text
    action = re.search(r'action="(/identifiers/\d+/link)\?', listed)
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', listed)
    assert action and token, "no link form on the page"
    return action.group(1), token.group(1)


def _result(page: httpx.Response) -> str:
    found = re.search(r'data-testid="id-link-result">([^<]*)<', page.text)
    return found.group(1) if found else ""


def test_the_form_cannot_be_pointed_at_another_address(demo: Demo, given: None, session: httpx.Client) -> None:
    calls: list[str] = []
    elsewhere = FastAPI()

    @elsewhere.api_route("/{path:path}", methods=["GET", "POST"])
    async def record(request: Request, path: str) -> JSONResponse:
        calls.append(f"{request.method} /{path}")
        return JSONResponse({"did": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", "name": {}})

    server = ThreadServer(elsewhere).start()
    try:
        action, token = _form(session)
        fields = {"csrf": token, "code": WRONG, "holder_url": server.url, "url": server.url,
                  "holder": server.url, "u": server.url}
        answer = session.post(action, params={"lang": "en", "holder_url": server.url, "u": server.url}, data=fields,
                              follow_redirects=True)
        assert answer.status_code == 200
        assert "does not know that code" in _result(answer)  # the bank's own answer, from its recorded address
        assert calls == []
        assert server.url not in answer.text
    finally:
        server.stop()


def test_the_holders_refusals_in_plain_words(demo: Demo, given: None, session: httpx.Client) -> None:
    used = _code(demo)  # someone else used it first
    other = Wallet.init(demo.home / "other-wallet", PASSPHRASE, registry=demo.registry_url, kdf="min")
    try:
        other.link(demo.bank_url, used)
    finally:
        other.close()
    cases = [(used, "That code was used already."),
             (_code(demo, ttl=60, now=int(time.time()) - 3600), "That code has expired."),
             *[(typed, "Type the code (at most 64 characters).") for typed in REFUSED]]
    before = wallet_api(demo, "/api/relationships")
    for typed, said in cases:
        action, token = _form(session)
        answer = session.post(action + "?lang=en", data={"csrf": token, "code": typed}, follow_redirects=True)
        assert said in _result(answer), (typed, _result(answer))
        assert not typed.strip() or typed.strip() not in answer.text
    assert wallet_api(demo, "/api/relationships") == before


def test_the_form_and_the_api_take_a_code_by_one_rule(demo: Demo, given: None, session: httpx.Client) -> None:
    """What the form refuses as "type the code", the local API refuses as ``invalid`` (field ``code``),
    and neither asks the holder: the rule lives in one place (``wallet.linking.link_code``)."""
    before = wallet_api(demo, "/api/relationships")
    for typed in REFUSED:
        action, token = _form(session)
        page = session.post(action + "?lang=ja", data={"csrf": token, "code": typed}, follow_redirects=True)
        assert _result(page) == f"{BANK_NAME['ja']}での連携はできませんでした。コードを入力してください（64文字まで）。"
        api = httpx.post(f"{demo.wallet_url}/api/link", json={"holder_url": demo.bank_url, "code": typed},
                         headers={"Authorization": f"Bearer {demo.token}"}, timeout=30)
        assert (api.status_code, api.json()["error"], api.json()["field"]) == (422, "invalid", "code"), api.text
    assert wallet_api(demo, "/api/relationships") == before


def test_a_holder_that_does_not_answer(demo: Demo, given: None, session: httpx.Client) -> None:
    code = _code(demo)
    action, token = _form(session)
    demo.service("bank").stop()
    try:
        answer = session.post(action + "?lang=ja", data={"csrf": token, "code": code}, follow_redirects=True)
        assert _result(answer) == (f"{BANK_NAME['ja']}での連携はできませんでした。"
                                   f"{BANK_NAME['ja']}につながりませんでした。しばらくしてからもう一度試してください。")
    finally:
        demo.restart("bank")
    assert [r["linked"] for r in wallet_api(demo, "/api/relationships")] == [False]


def test_another_holder_at_the_holders_address_gets_no_code(demo: Demo, browser: Any, given: None,
                                                           screenshots: Path) -> None:
    """The bank stops and another real verifier (its own home, so its own key and DID) starts on the
    bank's port: the page says the service there is not the bank and that the code was not sent,
    nothing is linked, and the other verifier never got the code, though it would have taken it."""
    from playwright.sync_api import expect

    code = _code(demo)
    other_home = demo.home / "other-holder"
    other = Holder.open(other_home)
    try:  # the same code for the same customer: had it been sent there, it would have linked
        other.links.new_code(CUSTOMER, code=code)
        other_did = other.did
    finally:
        other.close()
    assert other_did != httpx.get(f"{demo.bank_url}/v1/holder", timeout=10).json()["did"]
    before = wallet_api(demo, "/api/relationships")
    demo.service("bank").stop()
    impostor = Child.spawn("other verifier", ["copyme", "verifier", "serve", "--home", str(other_home), "--demo",
                                              "--registry", demo.registry_url, "--host", "127.0.0.1",
                                              "--port", str(demo.ports.bank)],
                           demo.bank_url, demo.home / "logs" / "other-holder.log")
    try:
        impostor.wait_up()
        assert httpx.get(f"{demo.bank_url}/v1/holder", timeout=10).json()["did"] == other_did
        for lang, width in (("ja", 390), ("en", 1280)):
            context, page = signed_in(demo, browser, width, lang)
            page.goto(f"{demo.wallet_url}/identifiers?lang={lang}")
            _card(page, lang).get_by_test_id("id-link-code").fill(code)
            _card(page, lang).get_by_test_id("id-link-go").click()
            bank = BANK_NAME[lang]
            expect(page.get_by_test_id("id-link-result")).to_have_text(
                f"{bank}での連携はできませんでした。同意に書かれた{bank}のアドレスで、{bank}ではない別のサービスが応答しました。"
                f"コードは送っていません。時間をおいて試すか、{bank}に問い合わせてください。" if lang == "ja" else
                f"Linking at {bank} did not work. At the address your consents give for {bank}, another service "
                f"answered, not {bank}. Your code was not sent. Try again later, or ask {bank}.")
            expect(_card(page, lang).get_by_test_id("id-state")).to_have_text("未連携" if lang == "ja" else "Not linked yet")
            assert code not in page.content() and code not in page.url
            check_consumer_page(page, lang)
            shoot(page, screenshots, f"ids-link-wrong-holder-{lang}-{width}")
            context.close()
    finally:
        impostor.stop()
        demo.restart("bank")
    assert wallet_api(demo, "/api/relationships") == before
    assert code not in _wallet_log(demo)
    other = Holder.open(other_home)
    try:
        assert other.links.dids_of(CUSTOMER) == []
        someone = KeyPair.generate()  # the code is still unused there: it links the first DID that brings it
        proof = LinkProof(user=someone.did, holder=other_did, code=code, issued_at=int(time.time())).sign(someone)
        assert other.link(proof) == (someone.did, CUSTOMER)
    finally:
        other.close()


def test_the_form_needs_the_session_and_its_token(demo: Demo, given: None, session: httpx.Client) -> None:
    action, _token = _form(session)
    code = _code(demo)
    with httpx.Client(base_url=demo.wallet_url, timeout=30.0) as stranger:
        refused = stranger.post(action, data={"csrf": "0" * 32, "code": code})
        assert refused.status_code == 403 and 'data-testid="error-code">unauthorised<' in refused.text
    wrong = session.post(action, data={"csrf": "0" * 32, "code": code})
    assert wrong.status_code == 403 and 'data-testid="error-code">unauthorised<' in wrong.text
    for key, status, reason in (("abc", 422, "invalid"), ("99999", 404, "not_found")):
        _, token = _form(session)
        bad = session.post(f"/identifiers/{key}/link", data={"csrf": token, "code": code})
        assert bad.status_code == status and f'data-testid="error-code">{reason}<' in bad.text
    assert [r["linked"] for r in wallet_api(demo, "/api/relationships")] == [False]


# ---------------------------------------------------------------- and then the right code

def test_linking_with_the_right_code_links_the_card(demo: Demo, browser: Any, given: None, screenshots: Path) -> None:
    from playwright.sync_api import expect

    refused = httpx.post(f"{demo.budget_url}/api/fetch", json={"account": "acct-001"}, timeout=30)
    assert refused.json().get("error") == "not_linked", refused.text
    code = _code(demo)
    context, page = signed_in(demo, browser, 1280, "en")
    page.goto(f"{demo.wallet_url}/identifiers?lang=en")
    # as pasted, spaces around it, in lower case: the wallet drops the spaces, the holder normalises the case
    _card(page, "en").get_by_test_id("id-link-code").fill(f"  {code.lower()} ")
    _card(page, "en").get_by_test_id("id-link-go").click()
    expect(page.get_by_test_id("id-link-result")).to_have_text(
        f"Your wallet is now linked at {BANK_NAME['en']}. From now on, each time {BANK_NAME['en']} gives out "
        "your data or refuses to, you can see it in your consents.")
    expect(_card(page, "en").get_by_test_id("id-state")).to_have_text("Linked")
    expect(_card(page, "en").get_by_test_id("id-link-form")).to_have_count(0)
    assert code not in page.content() and code.lower() not in page.content() and code not in _wallet_log(demo)
    after = page.url
    context.close()
    [relationship] = wallet_api(demo, "/api/relationships")
    assert relationship["linked"] is True
    fetched = httpx.post(f"{demo.budget_url}/api/fetch", json={"account": "acct-001"}, timeout=30)
    assert fetched.status_code == 200, fetched.text
    for lang in ("ja", "en"):
        for width in WIDTHS:
            context, page = signed_in(demo, browser, width, lang)
            page.goto(re.sub(r"lang=\w+", f"lang={lang}", after))
            expect(_card(page, lang).get_by_test_id("id-state")).to_have_text("連携済み" if lang == "ja" else "Linked")
            expect(page.get_by_test_id("id-link-result")).to_be_visible()
            check_consumer_page(page, lang)
            shoot(page, screenshots, f"ids-link-after-{lang}-{width}")
            context.close()


def test_a_second_post_after_linking_sends_nothing(demo: Demo, given: None, session: httpx.Client) -> None:
    listed = session.get("/identifiers", params={"lang": "en"}).text
    assert 'data-testid="id-link-form"' not in listed
    key = re.search(r'href="/identifiers/(\d+)/replace"', listed).group(1)  # type: ignore[union-attr]
    confirm = session.get(f"/identifiers/{key}/replace").text  # a page with this session's form token
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', confirm).group(1)  # type: ignore[union-attr]
    code = _code(demo)
    again = session.post(f"/identifiers/{key}/link?lang=en", data={"csrf": token, "code": code}, follow_redirects=True)
    assert "now linked" in _result(again)
    other = Wallet.init(demo.home / "third-wallet", PASSPHRASE, registry=demo.registry_url, kdf="min")
    try:
        assert other.link(demo.bank_url, code)["linked"] is True  # the code was not used by the second post
    finally:
        other.close()
