"""One running demo (registry, bank, budget app, wallet dashboard) shared by the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from copyme.demo import Demo
from tests.e2e.pages import ARGS, CHROMIUM

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The four demo services as real processes on free loopback ports, stopped afterwards."""
    with Demo(tmp_path_factory.mktemp("demo")) as running:
        yield running


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where the browser tests save what each page looked like (gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium through Playwright (never a downloaded browser), closed afterwards."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def session(demo: Demo) -> Iterator[httpx.Client]:
    """An HTTP client signed in to the module's demo wallet dashboard (its session cookie kept)."""
    with httpx.Client(base_url=demo.wallet_url, timeout=30.0) as client:
        response = client.get(demo.login_url().removeprefix(demo.wallet_url) + "&next=/")
        assert response.status_code == 303
        yield client
