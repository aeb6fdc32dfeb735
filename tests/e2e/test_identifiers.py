"""The dashboard's identifier pages in a real browser and over HTTP: each pairwise identifier in
plain words (ja and en, phone and desktop), the confirm step, and a key replacement's result per
consent (delivered, or not with a retry button), the holder down, a second click, bad input."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from copyme.demo import BANK_NAME, BUDGET_NAME, INSURER_NAME, Demo
from tests.e2e.pages import (
    WIDTHS,
    check_consumer_page,
    developer_material,
    horizontal_overflow,
    shoot,
    signed_in,
    wallet_api,
)

pytestmark = pytest.mark.browser


def _accept(page: Any, demo: Demo, app_url: str, account: str) -> None:
    button = httpx.get(f"{app_url}/api/button", params={"account": account}, timeout=10).json()
    page.goto(f"{demo.wallet_url}/review?lang=ja&u={quote(button['request_url'], safe='')}")
    page.get_by_test_id("accept").click()
    page.get_by_test_id("accepted").wait_for()


@pytest.fixture(scope="module")
def given(demo: Demo, browser: Any) -> None:
    """Two consents given through the pages: to the budget app and to the insurer (two identifiers)."""
    context, page = signed_in(demo, browser, 390, "ja")
    _accept(page, demo, demo.budget_url, "acct-001")
    _accept(page, demo, demo.insurer_url, "acct-001")
    context.close()


def _card(page: Any, company: str) -> Any:
    return page.get_by_test_id("identity").filter(has=page.get_by_role("heading", name=company, exact=True))


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("width", WIDTHS)
def test_the_list_and_the_confirm_step_in_plain_words(demo: Demo, browser: Any, given: None, screenshots: Path,
                                                      lang: str, width: int) -> None:
    from playwright.sync_api import expect

    context, page = signed_in(demo, browser, width, lang)
    page.goto(f"{demo.wallet_url}/?lang={lang}")
    page.get_by_test_id("nav-ids").click()
    expect(page.get_by_test_id("identity")).to_have_count(2)
    check_consumer_page(page, lang)
    budget = _card(page, BUDGET_NAME[lang])
    expect(budget.get_by_test_id("id-state")).to_have_text("連携済み" if lang == "ja" else "Linked")
    expect(budget.get_by_test_id("id-link")).to_contain_text(BANK_NAME[lang])
    expect(budget.get_by_test_id("id-live")).to_have_text("この識別子で結んでいる有効な同意：1件" if lang == "ja"
                                                          else "Consents in force with this identifier: 1")
    expect(budget.get_by_test_id("id-did")).not_to_be_visible()  # the DID waits behind 技術情報
    shoot(page, screenshots, f"ids-list-{lang}-{width}")
    budget.get_by_test_id("id-replace").click()
    what = page.get_by_test_id("replace-what")
    expect(what).to_contain_text("受け付けません" if lang == "ja" else "refuses the old one")
    expect(what).to_contain_text("署名し直して" if lang == "ja" else "signed again")
    check_consumer_page(page, lang)
    shoot(page, screenshots, f"ids-confirm-{lang}-{width}")
    page.get_by_test_id("replace-cancel").click()  # nothing changes
    expect(page.get_by_test_id("identity")).to_have_count(2)
    assert [r["replaced_at"] for r in wallet_api(demo, "/api/relationships")] == [None, None]
    context.close()


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("width", WIDTHS)
def test_replacing_shows_each_consent_delivered(demo: Demo, browser: Any, given: None, screenshots: Path,
                                                lang: str, width: int) -> None:
    from playwright.sync_api import expect

    before = {r["did"] for r in wallet_api(demo, "/api/relationships")}
    context, page = signed_in(demo, browser, width, lang)
    page.goto(f"{demo.wallet_url}/identifiers?lang={lang}")
    _card(page, INSURER_NAME[lang]).get_by_test_id("id-replace").click()
    page.get_by_test_id("replace-go").click()
    expect(page.get_by_test_id("replaced")).to_contain_text("受け付けなくなりました" if lang == "ja" else "refuses the old one")
    renewed = page.get_by_test_id("renewed")
    expect(renewed).to_have_count(1)
    expect(renewed).to_have_attribute("data-delivered", "yes")
    check_consumer_page(page, lang)
    shoot(page, screenshots, f"ids-result-{lang}-{width}")
    new = [r for r in wallet_api(demo, "/api/relationships") if r["did"] not in before]
    assert len(new) == 1 and new[0]["linked"] and new[0]["replaced_at"] is None
    page.get_by_test_id("back-to-ids").click()
    expect(page.get_by_test_id("identity").filter(has_not=page.get_by_test_id("id-replace"))).not_to_have_count(0)
    context.close()


def test_undelivered_then_retried_and_a_second_click(demo: Demo, browser: Any, given: None, screenshots: Path) -> None:
    from playwright.sync_api import expect

    for lang, width in (("ja", 390), ("en", 1280)):
        context, page = signed_in(demo, browser, width, lang)
        page.goto(f"{demo.wallet_url}/identifiers?lang={lang}")
        _card(page, BUDGET_NAME[lang]).get_by_test_id("id-replace").click()
        confirm_url = page.url
        demo.service("budget").stop()  # the data user's callback is down: the re-signed consent is kept
        try:
            page.get_by_test_id("replace-go").click()
            renewed = page.get_by_test_id("renewed")
            expect(renewed).to_have_attribute("data-delivered", "no")
            expect(renewed).to_contain_text("届けられませんでした" if lang == "ja" else "could not be reached")
            check_consumer_page(page, lang)
            shoot(page, screenshots, f"ids-result-undelivered-{lang}-{width}")
        finally:
            demo.restart("budget")
        page.get_by_test_id("renewed-retry").click()
        expect(page.get_by_test_id("undelivered")).to_have_count(0)
        assert "/consents/" in page.url
        # the old confirm page again (a second click, a reload): refused, in plain words
        page.goto(confirm_url)
        expect(page.get_by_test_id("error-reason")).to_have_text(
            "この識別子はもう取り替えてあります。一覧で新しい識別子を確かめてください。" if lang == "ja"
            else "This identifier was already replaced. See the new one in the list.")
        context.close()
    # the bank refuses the first key, and the budget app fetches under the newest
    fetched = httpx.post(f"{demo.budget_url}/api/fetch", json={"account": "acct-001"}, timeout=30)
    assert fetched.status_code == 200, fetched.text


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("width", WIDTHS)
def test_the_list_after_replacements(demo: Demo, browser: Any, given: None, screenshots: Path, lang: str,
                                     width: int) -> None:
    from playwright.sync_api import expect

    context, page = signed_in(demo, browser, width, lang)
    page.goto(f"{demo.wallet_url}/identifiers?lang={lang}")
    expect(page.get_by_test_id("identity").filter(has=page.get_by_test_id("id-replace"))).to_have_count(2)
    check_consumer_page(page, lang)
    old = page.get_by_test_id("ids-replaced")
    old.locator("summary").first.click()
    replaced = old.get_by_test_id("identity")
    expect(replaced.first.get_by_test_id("id-state")).to_have_text("取り替え済み" if lang == "ja" else "Replaced")
    expect(replaced.first.get_by_test_id("id-link")).to_contain_text(
        "この古い識別子を受け付けません" if lang == "ja" else "refuses this old one")
    assert not developer_material(page)
    replaced.first.get_by_test_id("id-tech").locator("summary").click()  # a long DID must wrap on a phone
    expect(replaced.first.get_by_test_id("id-did")).to_be_visible()
    assert horizontal_overflow(page) <= 0
    shoot(page, screenshots, f"ids-list-after-{lang}-{width}")
    context.close()


def test_a_holder_that_does_not_answer_changes_nothing(demo: Demo, browser: Any, given: None) -> None:
    from playwright.sync_api import expect

    context, page = signed_in(demo, browser, 390, "ja")
    page.goto(f"{demo.wallet_url}/identifiers?lang=ja")
    _card(page, INSURER_NAME["ja"]).get_by_test_id("id-replace").click()
    before = wallet_api(demo, "/api/relationships")
    demo.service("bank").stop()
    try:
        page.get_by_test_id("replace-go").click()
        expect(page.get_by_test_id("error-reason")).to_have_text("相手のサービスにつながりませんでした。")
        check_consumer_page(page, "ja")
        assert wallet_api(demo, "/api/relationships") == before
    finally:
        demo.restart("bank")
    context.close()


# ---------------------------------------------------------------- over HTTP: the guard and bad input

def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no form token on the page"
    return found.group(1)


def _token(session: httpx.Client) -> str:
    """This session's form token, from the confirm page of an identifier in use."""
    listed = session.get("/identifiers")
    confirm = re.search(r'href="(/identifiers/\d+/replace)"', listed.text).group(1)  # type: ignore[union-attr]
    return _csrf(session.get(confirm).text)


def test_the_pages_need_a_session_and_the_form_token(demo: Demo, given: None, session: httpx.Client) -> None:
    current = next(r for r in wallet_api(demo, "/api/relationships") if r["replaced_at"] is None)
    listed = session.get("/identifiers", params={"lang": "en"})
    key = re.search(r'href="/identifiers/(\d+)/replace"', listed.text).group(1)  # type: ignore[union-attr]
    with httpx.Client(base_url=demo.wallet_url, timeout=30.0) as stranger:
        assert stranger.get("/identifiers").status_code == 303  # to the sign-in page
        assert stranger.get(f"/identifiers/{key}/replace").status_code == 303
        refused = stranger.post(f"/identifiers/{key}/replace", data={"csrf": "0" * 32})
        assert refused.status_code == 403 and 'data-testid="error-code">unauthorised<' in refused.text
    no_token = session.post(f"/identifiers/{key}/replace", data={})
    assert no_token.status_code == 403 and 'data-testid="error-code">unauthorised<' in no_token.text
    wrong = session.post(f"/identifiers/{key}/replace", data={"csrf": "0" * 32})
    assert wrong.status_code == 403 and 'data-testid="error-code">unauthorised<' in wrong.text
    assert current in wallet_api(demo, "/api/relationships")  # nothing replaced


@pytest.mark.parametrize("key,status,code", [
    ("abc", 422, "invalid"), ("99999", 404, "not_found"), ("1" * 40, 422, "invalid")])
def test_bad_identifier_numbers_get_a_clear_page(given: None, session: httpx.Client, key: str, status: int,
                                                code: str) -> None:
    page = session.get(f"/identifiers/{key}/replace", params={"lang": "en"})
    assert page.status_code == status and f'data-testid="error-code">{code}<' in page.text
    token = _token(session)
    posted = session.post(f"/identifiers/{key}/replace", data={"csrf": token})
    assert posted.status_code == status and f'data-testid="error-code">{code}<' in posted.text


def test_an_oversized_form_is_refused(given: None, session: httpx.Client) -> None:
    page = session.get("/identifiers")
    answer = session.post("/identifiers/1/replace", content=b"csrf=" + _token(session).encode() + b"&x=" + b"a" * 40_000,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413 and 'data-testid="error-code">too_large<' in answer.text
    assert page.status_code == 200
