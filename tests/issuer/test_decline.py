"""A user's "no" reaches the data user: the signed Decline at the real app's callback, and every
bad one refused with its reason code and nothing recorded."""

from __future__ import annotations

import dataclasses
import secrets
import time

from protocol import Decline, Typ
from tests.support.samples import KEYS

from .conftest import grant, http, open_request, post_credential


def _post(url: str, body: bytes) -> tuple[int, dict[str, object]]:
    response = http.post(f"{url}/callback", content=body, headers={"Content-Type": Typ.DECLINE.value})
    return response.status_code, dict(response.json())


def _declines(url: str) -> list[dict[str, object]]:
    return list(http.get(f"{url}/api/declines").json()["declines"])


def test_a_decline_marks_the_request_declined(issuer_url: str) -> None:
    request = open_request(issuer_url, "alice")
    decline, key = Decline.create(request)
    status, body = _post(issuer_url, decline.sign(key))
    assert (status, body) == (200, {"declined": request.cid})
    [declined] = _declines(issuer_url)
    assert declined["request_cid"] == request.cid and declined["account"] == "alice"
    # a wallet's retry (freshly signed) changes nothing; the declined request is not offered again
    again, key2 = Decline.create(request)
    assert _post(issuer_url, again.sign(key2))[0] == 200
    assert len(_declines(issuer_url)) == 1
    button = http.get(f"{issuer_url}/api/button", params={"account": "alice"}).json()
    assert button["request_url"] != f"{issuer_url}/r/{request.request_id.hex()}"
    page = http.get(f"{issuer_url}/consents", params={"account": "alice", "lang": "en"}).text
    assert "Requests the user declined" in page


def test_bad_declines_are_refused_and_change_nothing(issuer_url: str) -> None:
    request = open_request(issuer_url, "bob")
    answered = open_request(issuer_url, "carol")
    assert post_credential(issuer_url, grant(answered)).status_code == 200
    now = int(time.time())
    good, key = Decline.create(request, now=now)
    signed = good.sign(key)
    cases = [
        ("garbage", b"\xa0", 400, "malformed"),
        ("forged signature", signed[:-1] + bytes([signed[-1] ^ 1]), 403, "bad_signature"),
        ("another data user's request", dataclasses.replace(good, requester=KEYS.stranger.did).sign(key), 403,
         "wrong_audience"),
        ("a request never published", dataclasses.replace(good, request=b"\x01\x51\x12\x20" + secrets.token_bytes(32))
         .sign(key), 403, "request_mismatch"),
        ("too old", dataclasses.replace(good, issued_at=now - 3600).sign(key), 403, "expired"),
        ("an answered request", Decline.create(answered, now=now, key=key)[0].sign(key), 409, "conflict"),
        ("a consent sent as a decline", grant(request), 400, "wrong_type"),
    ]
    for name, body, status, code in cases:
        got = _post(issuer_url, body)
        assert (got[0], got[1]["error"]) == (status, code), name
    assert _declines(issuer_url) == []
