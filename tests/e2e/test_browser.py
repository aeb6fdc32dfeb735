"""The whole journey in a real browser (Debian's chromium through Playwright), page by page.

Budget app → CopyMe button → the wallet's review page → accept a subset → data in the budget
app → suspend in the wallet → refusal → resume → data → revoke → refusal.  Every page is saved
as a screenshot under ``test-artifacts/screenshots/`` (not committed).
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from copyme.demo import Demo

pytestmark = pytest.mark.browser

#: Key points for terms that now pass the data on (a replacement changing them needs new points).
NEW_NOTICE = {"ja": {"title": "銀行の入出金明細を家計簿に取り込みます",
                     "points": ["家計簿の表示とおすすめに使います", "提携先にも渡します（365日で削除）"]},
              "en": {"title": "Import your bank transactions into your budget",
                     "points": ["Used for your budget and suggestions", "Passed on to partners (deleted after 365 days)"]}}


def _shot(page: object, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def _fetch(page: object, demo: Demo) -> None:
    page.goto(demo.budget_url + "/")  # type: ignore[attr-defined]
    page.get_by_test_id("fetch").click()  # type: ignore[attr-defined]


def test_the_whole_journey_through_the_pages(demo: Demo, browser: object, screenshots: Path) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 420, "height": 860}, locale="en-US")  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    page = context.new_page()

    # the printed one-time link signs the browser in to the wallet; without it the pages ask for a key
    page.goto(demo.wallet_url + "/")
    expect(page.locator("#key")).to_be_visible()
    _shot(page, screenshots, "00-wallet-login-en")
    link = demo.login_url()
    page.goto(link)
    expect(page.get_by_role("heading", name="Your consents")).to_be_visible()
    cookie = next(c for c in context.cookies() if c["name"] == "copyme_wallet")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["value"] != demo.token
    # the link is spent: opened again (e.g. from the history, in another browser) it signs nobody in
    other = browser.new_context(locale="en-US")  # type: ignore[attr-defined]
    stale = other.new_page()
    stale.goto(link)
    expect(stale.get_by_test_id("error-code")).to_have_text("unauthorised")
    _shot(stale, screenshots, "00b-wallet-login-link-used-en")
    other.close()

    # the budget app, in English, with the CopyMe button
    page.goto(demo.budget_url + "/?lang=en")
    _shot(page, screenshots, "01-budget-button-en")
    page.get_by_test_id("copyme-button").click()

    # Understand: the review page, verified requester, key points, items
    expect(page).to_have_url(re.compile(r"/review\?u="))
    expect(page.get_by_test_id("requester")).to_contain_text("Kakeibo")
    expect(page.get_by_test_id("unverified")).to_have_count(0)
    expect(page.get_by_test_id("points").locator("li")).to_have_count(3)
    expect(page.get_by_label("Transaction history")).to_be_disabled()
    expect(page.get_by_label("Transaction history")).to_be_checked()
    _shot(page, screenshots, "02-review-en")
    page.get_by_test_id("switch-lang").click()
    expect(page.get_by_test_id("requester")).to_contain_text("かけいぼ")
    expect(page.get_by_test_id("accept")).to_have_text("選んだ項目で同意する")
    _shot(page, screenshots, "03-review-ja")

    # optional items start unticked (privacy by default): tick the balance, leave the name out
    expect(page.get_by_test_id("opt-name")).not_to_be_checked()
    expect(page.get_by_test_id("opt-balance")).not_to_be_checked()
    page.get_by_test_id("opt-balance").check()
    page.get_by_test_id("accept").click()
    expect(page.get_by_test_id("accepted")).to_be_visible()
    expect(page.get_by_test_id("granted")).to_contain_text("氏名")
    _shot(page, screenshots, "04-accepted-ja")
    page.get_by_test_id("back").click()

    # Use: the data appears in the budget app, only the granted items
    expect(page).to_have_url(re.compile(re.escape(demo.budget_url)))
    page.get_by_test_id("fetch").click()
    data = page.get_by_test_id("data")
    expect(data).to_be_visible()
    expect(data).to_contain_text("482")  # the balance
    _shot(page, screenshots, "05-budget-data-ja")
    assert "山田" not in data.inner_text()  # the name was not granted

    # See: the wallet's list, grouped by data holder, then the detail page (back to English)
    page.goto(demo.wallet_url + "/?lang=en")
    expect(page.get_by_test_id("consent")).to_contain_text("Sakura Bank")
    expect(page.get_by_test_id("consent").get_by_test_id("state")).to_have_text("active")
    _shot(page, screenshots, "06-wallet-list-en")
    page.get_by_test_id("consent").get_by_role("link").first.click()
    expect(page.get_by_test_id("history")).to_contain_text("active")
    # the wallet pulls the bank's signed receipt of that release (the button; serve also pulls in the background)
    page.get_by_test_id("pull").click()
    expect(page.get_by_test_id("receipt").first).to_contain_text("Kakeibo received your data")
    expect(page.get_by_test_id("receipts")).to_contain_text("Account balance")
    expect(page.get_by_test_id("receipt-warning")).to_have_count(0)
    _shot(page, screenshots, "06b-consent-detail-en")

    # Change: suspend → refused
    page.get_by_test_id("suspend").click()
    expect(page.get_by_test_id("change-result")).to_contain_text("The registry has it")
    expect(page.get_by_test_id("pending")).to_have_count(0)
    _shot(page, screenshots, "07-suspended-en")
    page.wait_for_timeout(400)  # the bank hears of the new list through the registry's feed
    _fetch(page, demo)
    expect(page.get_by_test_id("code")).to_have_text("suspended")
    _shot(page, screenshots, "08-budget-refused-suspended")

    # See: the refused attempt, signed by the bank, on the consent's page (phone width, en and ja)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(demo.wallet_url + "/?lang=en")
    page.get_by_test_id("consent").get_by_role("link").first.click()
    page.get_by_test_id("pull").click()
    refused = page.locator('[data-testid="receipt"].refused')
    expect(refused).to_contain_text("Kakeibo tried after you suspended — refused")
    expect(page.get_by_test_id("receipt")).to_have_count(2)
    _shot(page, screenshots, "08b-consent-receipts-390-en")
    page.goto(page.url.split("?")[0] + "?lang=ja")
    expect(refused).to_contain_text("一時停止中だったので、断られました")
    expect(page.get_by_test_id("receipts")).to_contain_text("データが渡されました")
    _shot(page, screenshots, "08c-consent-receipts-390-ja")
    page.set_viewport_size({"width": 420, "height": 860})
    page.goto(page.url.split("?")[0] + "?lang=en")

    # resume → data again
    page.goto(demo.wallet_url + "/")
    page.get_by_test_id("consent").get_by_role("link").first.click()
    page.get_by_test_id("resume").click()
    expect(page.get_by_test_id("change-result")).to_contain_text("The registry has it")
    page.wait_for_timeout(400)
    _fetch(page, demo)
    expect(page.get_by_test_id("data")).to_be_visible()

    # revoke (needs the "I understand" box) → refused for good; the erasure request offered with it
    # (ticked by default) is left out here: see test_revoke_with_erasure_on_a_phone
    page.goto(demo.wallet_url + "/")
    page.get_by_test_id("consent").get_by_role("link").first.click()
    expect(page.get_by_test_id("revoke-erase")).to_be_checked()
    page.get_by_test_id("revoke-erase").uncheck()
    page.get_by_test_id("revoke-sure").check()
    page.get_by_test_id("revoke").click()
    expect(page.get_by_test_id("change-result")).to_contain_text("Revoked")
    expect(page.get_by_test_id("resume")).to_have_count(0)
    _shot(page, screenshots, "09-revoked-en")
    page.wait_for_timeout(400)
    _fetch(page, demo)
    expect(page.get_by_test_id("code")).to_have_text("revoked")
    _shot(page, screenshots, "10-budget-refused-revoked")

    page.goto(demo.wallet_url + "/?lang=ja")
    expect(page.get_by_test_id("consent").get_by_test_id("state")).to_have_text("撤回済み")
    _shot(page, screenshots, "11-wallet-list-ja")
    context.close()


def test_revoke_with_erasure_on_a_phone(demo: Demo, browser: object, screenshots: Path) -> None:
    """390 px wide, ja and en: revoke with the erasure request ticked, Kakeibo runs the deletion,
    the copied data is gone, and the wallet shows the signed completion in the consent's history."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(demo.login_url())
    page.goto(demo.budget_url + "/?lang=ja")
    page.get_by_test_id("copyme-button").click()
    page.get_by_test_id("opt-balance").check()  # optional items start unticked
    page.get_by_test_id("accept").click()
    expect(page.get_by_test_id("accepted")).to_be_visible()
    consent_page = page.url.split("?")[0]
    page.get_by_test_id("back").click()
    page.get_by_test_id("fetch").click()
    expect(page.get_by_test_id("data")).to_be_visible()

    # the wallet offers the erasure request right where you revoke, ticked by default
    page.goto(consent_page + "?lang=ja")
    expect(page.get_by_test_id("revoke-erase")).to_be_checked()
    expect(page.locator("label[for=erase]")).to_contain_text("かけいぼがコピーしたデータの利用停止と削除も求める")
    page.get_by_test_id("revoke-sure").check()
    _shot(page, screenshots, "13-revoke-with-erasure-ja-390")
    page.get_by_test_id("revoke").click()
    expect(page.get_by_test_id("change-result")).to_contain_text("撤回しました")
    expect(page.get_by_test_id("rights-state")).to_have_text("受け付けられました")
    _shot(page, screenshots, "14-erasure-acknowledged-ja-390")

    # Kakeibo's side: the request is pending next to the data it copied; it runs the deletion
    page.goto(demo.budget_url + "/consents?lang=en")
    expect(page.get_by_test_id("rights-state").first).to_have_text("Pending")
    expect(page.get_by_test_id("copied")).to_contain_text("Account balance")
    _shot(page, screenshots, "15-budget-erasure-pending-en-390")
    page.get_by_role("button", name="Run the deletion and send the completion").first.click()
    expect(page.get_by_test_id("rights-state").first).to_have_text("Done (signed notice sent)")
    expect(page.get_by_test_id("copied-none")).to_be_visible()
    _shot(page, screenshots, "16-budget-erased-en-390")

    # the wallet fetches the signed completion and shows what was erased
    page.goto(consent_page + "?lang=en")
    expect(page.get_by_test_id("rights-state")).to_have_text("Acknowledged")
    page.get_by_test_id("rights-follow-up").click()
    expect(page.get_by_test_id("rights-state")).to_have_text("Done")
    expect(page.get_by_test_id("rights-erased")).to_contain_text("Account balance")
    expect(page.get_by_test_id("rights-erased")).to_contain_text("Transaction history")
    _shot(page, screenshots, "17-erasure-done-en-390")
    page.goto(consent_page + "?lang=ja")
    expect(page.get_by_test_id("rights-state")).to_have_text("終わりました")
    _shot(page, screenshots, "18-erasure-done-ja-390")
    context.close()


def test_changed_terms_and_renewal_on_a_phone(demo: Demo, browser: object, screenshots: Path) -> None:
    """390 px wide: Kakeibo changes its terms, the wallet shows what changes (en and ja), accepting
    replaces the consent; then a renewal of the same terms is one click."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(demo.login_url())
    page.goto(demo.budget_url + "/?lang=en")
    page.get_by_test_id("copyme-button").click()
    page.get_by_test_id("opt-balance").check()
    page.get_by_test_id("accept").click()
    expect(page.get_by_test_id("accepted")).to_be_visible()
    old_page = page.url.split("?")[0]
    old_id = old_page.rsplit("/", 1)[1]

    changed = httpx.post(f"{demo.budget_url}/api/consents/{old_id}/replace", timeout=30,
                         json={"changes": {"purposes": ["dpv:ServiceProvision", "dpv:ServicePersonalisation"],
                                           "onward_sharing": True, "notice": NEW_NOTICE}})
    assert changed.status_code == 200, changed.text
    page.get_by_test_id("back").click()
    page.get_by_test_id("update-button").click()
    expect(page.get_by_test_id("replacement")).to_be_visible()
    expect(page.get_by_test_id("changes")).to_contain_text("New purposes: Personalising the service")
    expect(page.get_by_test_id("changes")).to_contain_text("Passed on to others: no → yes")
    _shot(page, screenshots, "19-changed-terms-en-390")
    page.get_by_test_id("switch-lang").click()
    expect(page.get_by_test_id("changes")).to_contain_text("第三者への再提供：なし → あり")
    _shot(page, screenshots, "20-changed-terms-ja-390")
    page.get_by_test_id("accept").click()
    expect(page.get_by_test_id("accepted")).to_be_visible()
    new_id = page.url.split("?")[0].rsplit("/", 1)[1]
    page.goto(old_page + "?lang=ja")
    expect(page.get_by_test_id("validity-line")).to_contain_text("撤回した日")

    renewal = httpx.post(f"{demo.budget_url}/api/consents/{new_id}/replace", timeout=30).json()
    assert renewal["renewal"] is True
    page.goto(renewal["review_url"] + "&lang=ja")
    expect(page.get_by_test_id("replacement-summary")).to_contain_text("内容は今と同じです")
    expect(page.get_by_test_id("opt-balance")).to_be_checked()  # what the renewed consent granted
    _shot(page, screenshots, "21-renewal-ja-390")
    page.get_by_test_id("accept").click()
    expect(page.get_by_test_id("accepted")).to_be_visible()
    _shot(page, screenshots, "22-renewed-ja-390")
    context.close()


def test_an_unlisted_requester_is_shown_as_unverified(demo: Demo, browser: object, screenshots: Path) -> None:
    """A copycat signs a request with its own key and claims a trusted name: the page says UNVERIFIED."""
    from fastapi import FastAPI
    from fastapi.responses import Response
    from playwright.sync_api import expect

    from issuer import build_request
    from protocol import KeyPair, Typ
    from tests.support.servers import serve

    copycat = KeyPair.generate()
    holder = httpx.get(demo.bank_url + "/v1/holder").json()["did"]
    request = build_request(
        requester=copycat, requester_name={"ja": "かけいぼ", "en": "Kakeibo"}, holder=holder,
        holder_url=demo.bank_url + "/v1/data", required=("transactions",), optional=("name",),
        purposes=("dpv:ServiceProvision",),
        notice={"ja": {"title": "明細を取り込みます", "points": ["ご安心ください"]},
                "en": {"title": "Import your transactions", "points": ["Trust us"]}},
        terms_url="https://copycat.example/terms", terms=b"terms", callback="http://127.0.0.1:9/callback",
        onward_sharing=True)
    app = FastAPI()
    app.get("/r/1")(lambda: Response(request.raw, media_type=Typ.REQUEST.value))
    context = browser.new_context(viewport={"width": 420, "height": 860})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(demo.login_url())
    with serve(app) as url:
        for lang in ("en", "ja"):
            page.goto(f"{demo.wallet_url}/review?lang={lang}&u={url}/r/1")
            expect(page.get_by_test_id("unverified")).to_be_visible()
            expect(page.get_by_test_id("onward")).to_have_class(re.compile("danger"))
            expect(page.get_by_test_id("trust-note")).to_contain_text(
                "not on the council's trust list" if lang == "en" else "協議会のトラストリストに載っていません")
            _shot(page, screenshots, f"12-review-unverified-{lang}")
        expect(page.get_by_test_id("unverified")).to_contain_text("未確認")
        page.get_by_test_id("decline").click()
        expect(page.get_by_test_id("declined")).to_be_visible()
        expect(page.get_by_test_id("declined-request")).to_contain_text("明細を取り込みます")
        expect(page.get_by_test_id("declined-request")).to_contain_text("トラストリストに載っていません")
    context.close()
