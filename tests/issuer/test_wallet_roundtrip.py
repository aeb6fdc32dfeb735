"""The CopyMe button into the REAL wallet CLI and back: QR/link -> `copyme wallet receive` ->
callback -> fetch from the REAL verifier -> `copyme wallet revoke` -> the company sees it and
the bank refuses.  Registry, verifier and the Kakeibo app run on loopback ports; the wallet
runs as the real `python -m copyme wallet ...` process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from issuer import CopyMeButton
from issuer.app import create_app as issuer_app
from protocol import parse_deep_link
from registry.app import create_app as registry_app
from tests.support.servers import serve
from verifier.app import create_app as verifier_app
from verifier.sources import demo_source

from .conftest import http
from .test_button import png_modules

PASSPHRASE = "correct horse battery staple"


def wallet(home: Path, *args: str) -> dict[str, Any]:
    """Run the real wallet CLI with --json and return its output."""
    proc = subprocess.run([sys.executable, "-m", "copyme", "wallet", *args, "--home", str(home), "--json"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COPYME_PASSPHRASE": PASSPHRASE})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.fixture
def services(tmp_path: Path) -> Iterator[dict[str, Any]]:
    with serve(registry_app(tmp_path / "registry", heartbeat=1.0)) as registry:
        bank_app = verifier_app(home=tmp_path / "bank", registry_url=registry, source=demo_source())
        with serve(bank_app) as bank, serve(issuer_app(tmp_path / "kakeibo", bank, registries=[registry],
                                                       demo=True)) as kakeibo:
            yield {"registry": registry, "bank": bank, "kakeibo": kakeibo, "holder": bank_app.state.holder,
                   "wallet": tmp_path / "wallet"}


def consent_state(kakeibo: str, account: str) -> list[dict[str, Any]]:
    return list(http.get(f"{kakeibo}/api/consents", params={"account": account}).json()["consents"])


def test_button_to_wallet_to_bank_and_revocation(services: dict[str, Any]) -> None:
    home, kakeibo, bank = services["wallet"], services["kakeibo"], services["bank"]
    wallet(home, "init", "--registry", services["registry"])
    wallet(home, "link", bank, "--code", services["holder"].new_link_code("C-1002"))

    # the page's button: the QR code (read back from the PNG) carries the deep link
    button = http.get(f"{kakeibo}/api/button", params={"account": "ken"}).json()
    png = http.get(button["request_url"] + "/qr.png").content
    assert png_modules(png, 6) == CopyMeButton(button["request_url"]).qr_matrix()
    assert parse_deep_link(button["deep_link"]) == button["request_url"]

    received = wallet(home, "receive", button["deep_link"], "--items", "transactions,balance",
                      "--accept-unverified")  # this world has no trust list
    assert received["decision"] == "accepted"
    assert received["consent"]["delivered"] is True
    [held] = consent_state(kakeibo, "ken")
    assert held["items"] == ["transactions", "balance"]
    assert held["user"] == wallet(home, "relationships")[0]["did"] != wallet(home, "did")["did"]

    fetched = http.post(f"{kakeibo}/api/fetch", json={"account": "ken"})
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["items"]["balance"] == 1_203_900

    wallet(home, "revoke", received["consent"]["id"])
    deadline = time.monotonic() + 10
    while consent_state(kakeibo, "ken")[0]["state"] != "revoked":
        assert time.monotonic() < deadline, consent_state(kakeibo, "ken")
        time.sleep(0.05)
    refused = http.post(f"{kakeibo}/api/fetch", json={"account": "ken"})
    assert (refused.status_code, refused.json()["error"]) == (403, "revoked")


def test_plain_request_url_and_decline(services: dict[str, Any]) -> None:
    home, kakeibo = services["wallet"], services["kakeibo"]
    wallet(home, "init", "--registry", services["registry"])
    button = http.get(f"{kakeibo}/api/button", params={"account": "misaki"}).json()
    declined = wallet(home, "receive", button["request_url"], "--decline")
    assert declined["decision"] == "declined"
    assert consent_state(kakeibo, "misaki") == []
