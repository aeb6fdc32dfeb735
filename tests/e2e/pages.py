"""What every consumer page must pass, measured in a real browser (issue 14).

Helpers for the Playwright tests: the visible text of a page (a closed ``<details>`` — the
技術情報 / Technical details section — is not rendered, so its text is not in ``innerText``),
English phrases on a Japanese page, developer material outside the details, horizontal scroll,
and a screenshot per language and width under ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic"]
WIDTHS = (390, 1280)

#: Two Latin words in a row: an English phrase.  Single names (CopyMe, UTC, English as the
#: language switch) pass; URLs and e-mail-like tokens are removed first.
ENGLISH = re.compile(r"[A-Za-z]{2,}[ \t,.;:'!?]+[A-Za-z]{2,}")
URL = re.compile(r"https?://\S+")
#: Developer material a consumer never needs to see outside the technical details.
DEVELOPER = re.compile(r"did:[a-z]+:|\bbaf[a-z2-7]{20,}|(?i:sha-?256)|[0-9a-f]{32,}|#\d+\b")


def visible_text(page: Any) -> str:
    """The text a person sees (closed details sections excluded), URLs removed."""
    text: str = page.evaluate("() => document.body.innerText")
    return URL.sub(" ", text)


def english_phrases(page: Any) -> list[str]:
    """English phrases on the page, outside elements explicitly marked ``lang="en"``."""
    text: str = page.evaluate("""() => {
        const parts = [];
        const walk = (node) => {
            for (const child of node.childNodes) {
                if (child.nodeType === Node.TEXT_NODE) { parts.push(child.textContent); continue; }
                if (child.nodeType !== Node.ELEMENT_NODE) continue;
                if (child.getAttribute('lang') === 'en') continue;
                if (child.tagName === 'DETAILS' && !child.open) {
                    const summary = child.querySelector('summary');
                    if (summary) parts.push(summary.innerText);
                    continue;
                }
                if (['SCRIPT', 'STYLE', 'TEMPLATE'].includes(child.tagName)) continue;
                const style = getComputedStyle(child);
                if (style.display === 'none' || style.visibility === 'hidden') continue;
                walk(child);
            }
            parts.push(' ');
        };
        walk(document.body);
        return parts.join(' ');
    }""")
    return ENGLISH.findall(URL.sub(" ", text))


def developer_material(page: Any) -> list[str]:
    """DIDs, CIDs, hashes and list indexes visible outside the technical details."""
    return DEVELOPER.findall(visible_text(page))


def horizontal_overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the window (0: no horizontal scroll)."""
    return int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))


def check_consumer_page(page: Any, lang: str) -> None:
    """The rules every consumer page keeps, in one call (raises AssertionError with what broke)."""
    assert not developer_material(page), (page.url, developer_material(page))
    if lang == "ja":
        assert not english_phrases(page), (page.url, english_phrases(page))
    assert horizontal_overflow(page) <= 0, (page.url, horizontal_overflow(page))


def shoot(page: Any, folder: Path, name: str) -> Path:
    """A full-page screenshot ``<name>.png``."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def signed_in(demo: Any, browser: Any, width: int, lang: str) -> tuple[Any, Any]:
    """A browser context at ``width`` px in ``lang``, and a page signed in to the demo wallet's dashboard."""
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  locale="ja-JP" if lang == "ja" else "en-US")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(demo.login_url())
    return context, page


def wallet_api(demo: Any, path: str) -> Any:
    """The demo wallet's local API answer at ``path`` (bearer token), as JSON; raises on an error status."""
    response = httpx.get(demo.wallet_url + path, headers={"Authorization": f"Bearer {demo.token}"}, timeout=10)
    response.raise_for_status()
    return response.json()

