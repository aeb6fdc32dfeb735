"""Fixtures for the issuer: the demo app on a loopback port, and helpers to answer its requests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from issuer.app import create_app
from protocol import ConsentCredential, ConsentRequest, KeyPair, StatusRef
from tests.support.samples import KEYS, LIST_URI
from tests.support.servers import serve

#: One client for the whole test session (a fresh httpx client per call costs ~0.1 s of TLS setup).
http = httpx.Client(timeout=10)

GOOD_ARGS: dict[str, Any] = dict(
    requester_name={"ja": "かけいぼ", "en": "Kakeibo"},
    holder=KEYS.holder.did,
    holder_url="https://bank.example/v1/data",
    required=["transactions"],
    optional=["balance", "name"],
    purposes=["dpv:ServiceProvision"],
    notice={
        "ja": {"title": "明細を取り込みます", "points": ["家計簿にだけ使います", "第三者に渡しません"]},
        "en": {"title": "Import your transactions", "points": ["Only for your budget", "Never passed on"]},
    },
    terms_url="https://kakeibo.example/terms",
    terms=b"terms",
    callback="https://kakeibo.example/callback",
)


@pytest.fixture
def issuer_url(tmp_path: Path, backend: str | None) -> Iterator[str]:
    """The Kakeibo demo app for the sample bank (no holder service needed), on a free port;
    once over its SQLite file and once over a PostgreSQL database."""
    app = create_app(tmp_path / "kakeibo", "http://127.0.0.1:9/", holder_did=KEYS.holder.did,
                     watch_status=False, database=backend, demo=True)
    with serve(app) as url:
        yield url


def open_request(issuer_url: str, account: str) -> ConsentRequest:
    """What a wallet does with the button: fetch the request the link points to and verify it."""
    button = http.get(f"{issuer_url}/api/button", params={"account": account}).json()
    response = http.get(button["request_url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.copyme.request+cwt"
    return ConsentRequest.decode(response.content)


def grant(request: ConsentRequest, user: KeyPair = KEYS.user, *, items: tuple[str, ...] | None = None,
          now: int | None = None, uri: str = LIST_URI, index: int = 77, status_key: KeyPair = KEYS.status) -> bytes:
    """A user's signed consent to ``request``."""
    return ConsentCredential.grant(request, user=user.did, items=items, now=now,
                                   status=StatusRef(uri, index, status_key.did)).sign(user)


def post_credential(issuer_url: str, body: bytes) -> httpx.Response:
    """Deliver a credential to the app's callback like a wallet does."""
    return http.post(f"{issuer_url}/callback", content=body,
                      headers={"Content-Type": "application/vnd.copyme.consent+cwt"})
