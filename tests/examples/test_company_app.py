"""examples/company_app end to end: its button page, the real wallet CLI, its callback, its fetch.

Once against the demo bank (the verifier with the built-in demo customers) and once against a
holder serving a SQL table of its own; registry and holder run as real services on loopback.
"""

from __future__ import annotations

import html
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples.company_app.app import create_app as company_app
from registry.app import create_app as registry_app
from tests.support.servers import serve
from verifier import SqlSource, demo_source
from verifier.app import create_app as verifier_app

PASSPHRASE = "correct horse battery staple"


def wallet(home: Path, *args: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "copyme", "wallet", *args, "--home", str(home), "--json"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COPYME_PASSPHRASE": PASSPHRASE, "COPYME_KDF": "min"})
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def _bank_table(path: Path) -> SqlSource:
    """A holder's own customers table (not the demo's)."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE accounts (cust_no TEXT PRIMARY KEY, balance INTEGER, name TEXT)")
    conn.execute("INSERT INTO accounts VALUES ('K-77', 31415, '田中 花')")
    conn.commit()
    conn.close()
    return SqlSource(str(path), table="accounts", key="cust_no")


@pytest.fixture(params=["demo bank", "own SQL table"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    if request.param == "demo bank":
        source, customer, balance = demo_source(), "C-1001", 482_350
    else:
        source, customer, balance = _bank_table(tmp_path / "core-banking.db"), "K-77", 31415
    with serve(registry_app(tmp_path / "registry", heartbeat=1.0)) as registry:
        bank_app = verifier_app(home=tmp_path / "bank", registry_url=registry, source=source)
        with serve(bank_app) as bank, serve(company_app(tmp_path / "mirai", bank)) as mirai:
            yield {"registry": registry, "bank": bank, "mirai": mirai, "holder": bank_app.state.holder,
                   "customer": customer, "balance": balance, "wallet": tmp_path / "wallet"}


def test_button_callback_and_fetch(world: dict[str, Any]) -> None:
    home, mirai = world["wallet"], world["mirai"]
    wallet(home, "init", "--registry", world["registry"])
    wallet(home, "link", world["bank"], "--code", world["holder"].new_link_code(world["customer"]))
    page = httpx.get(mirai + "/", params={"account": "u1"}, timeout=10)
    assert page.status_code == 200 and 'data-testid="copyme-button"' in page.text and "$" not in page.text
    link = html.unescape(re.search(r'data-testid="deep-link">([^<]+)<', page.text).group(1))  # type: ignore[union-attr]
    assert link.startswith("copyme://")
    # privacy by default: --accept grants the required balance only; the example is on no trust list
    received = wallet(home, "receive", link, "--accept", "--accept-unverified")
    assert received["consent"]["delivered"] and received["consent"]["items"] == ["balance"]
    assert 'data-testid="fetch"' in httpx.get(mirai + "/", params={"account": "u1"}, timeout=10).text
    fetched = httpx.post(mirai + "/fetch", json={"account": "u1"}, timeout=30)
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["items"] == {"balance": world["balance"]}
    wallet(home, "revoke", received["consent"]["id"])
    for _ in range(100):
        refused = httpx.post(mirai + "/fetch", json={"account": "u1"}, timeout=30)
        if refused.status_code == 403:
            break
    assert refused.json()["error"] == "revoked"


def test_the_callback_contract_is_in_openapi_and_bad_bodies_get_codes(tmp_path: Path) -> None:
    app = company_app(tmp_path / "m", "http://127.0.0.1:9", holder_did="did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH")
    with serve(app) as mirai:
        doc = httpx.get(mirai + "/openapi.json", timeout=10).json()["paths"]["/callback"]["post"]
        assert "application/vnd.copyme.consent+cwt" in doc["requestBody"]["content"]
        assert {"200", "400", "403", "404", "413"} <= set(doc["responses"])
        junk = httpx.post(mirai + "/callback", content=b"\x00junk", timeout=10)
        assert junk.status_code == 400 and junk.json()["error"] == "malformed"
        big = httpx.post(mirai + "/callback", content=b"\xa0" * 70_000, timeout=10)
        assert big.status_code == 413 and big.json()["error"] == "too_large"
        none = httpx.post(mirai + "/fetch", json={"account": "nobody"}, timeout=10)
        assert none.status_code == 404 and none.json()["error"] == "not_found"
        bad = httpx.post(mirai + "/fetch", json={"account": "../x"}, timeout=10)
        assert bad.status_code in (400, 422)
