"""The callback, through the real app on a loopback port: keep good consents, refuse the rest."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from issuer.app import create_app
from protocol import ConsentCredential, Typ, cose
from tests.support import samples
from tests.support.samples import KEYS
from tests.support.servers import serve

from .conftest import grant, http, open_request, post_credential


def consents(issuer_url: str, account: str | None = None) -> list[dict[str, object]]:
    params = {"account": account} if account else {}
    return http.get(f"{issuer_url}/api/consents", params=params).json()["consents"]


def test_good_consent_is_stored_for_the_account_it_was_asked_for(issuer_url: str) -> None:
    request = open_request(issuer_url, "alice")
    body = grant(request, items=("transactions", "balance"))
    response = post_credential(issuer_url, body)
    assert response.status_code == 200, response.text
    consent_id = response.json()["consent_id"]
    assert consent_id == ConsentCredential.decode(body).cid
    [held] = consents(issuer_url, "alice")
    assert held["consent_id"] == consent_id
    assert held["user"] == KEYS.user.did
    assert held["items"] == ["transactions", "balance"]
    assert consents(issuer_url, "bob") == []
    # a wallet retrying delivery gets the same answer; nothing is stored twice
    assert post_credential(issuer_url, body).json() == {"consent_id": consent_id}
    assert len(consents(issuer_url)) == 1
    # the answered request is not offered again: the account's next button is a new request
    assert http.get(f"{issuer_url}/api/button", params={"account": "alice"}).json()["request_url"] \
        != f"{issuer_url}/r/{request.request_id.hex()}"


def test_a_second_different_consent_to_the_same_request_is_a_conflict(issuer_url: str) -> None:
    request = open_request(issuer_url, "alice")
    assert post_credential(issuer_url, grant(request)).status_code == 200
    response = post_credential(issuer_url, grant(request, index=78))
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert len(consents(issuer_url, "alice")) == 1


def _forged(request_body: ConsentCredential) -> bytes:
    """The user's key in kid (which names a consent's issuer), but signed by someone else's key."""
    signed = cose.sign1(request_body.to_payload(), KEYS.stranger, Typ.CONSENT)
    return signed.replace(KEYS.stranger.public_key, KEYS.user.public_key)


def _resign(credential: ConsentCredential, **changes: object) -> bytes:
    return replace(credential, **changes).sign(KEYS.user)  # type: ignore[arg-type]


@pytest.mark.parametrize(("case", "status", "code"), [
    ("forged", 403, "bad_signature"),
    ("flipped_bit", 403, "bad_signature"),
    ("unknown_request", 403, "request_mismatch"),
    ("other_holder", 403, "request_mismatch"),
    ("other_subject", 403, "request_mismatch"),
    ("longer_retention", 403, "request_mismatch"),
    ("over_granting", 403, "request_mismatch"),
    ("missing_required", 403, "request_mismatch"),
    ("longer_validity", 403, "request_mismatch"),
    ("expired", 403, "expired"),
    ("not_yet_valid", 403, "not_yet_valid"),
    ("request_bytes", 400, "wrong_type"),
    ("garbage", 400, "malformed"),
    ("empty", 400, "malformed"),
    ("truncated", 400, "malformed"),
    ("too_large", 413, "too_large"),
])
def test_bad_consents_are_refused_with_their_reason(issuer_url: str, case: str, status: int, code: str) -> None:
    request = open_request(issuer_url, "alice")
    good = ConsentCredential.decode(grant(request))
    now = int(time.time())
    bodies = {
        "forged": lambda: _forged(good),
        "flipped_bit": lambda: good.raw[:-1] + bytes([good.raw[-1] ^ 1]),
        "unknown_request": lambda: grant(samples.signed_request(now=now)),
        "other_holder": lambda: _resign(good, audience=KEYS.stranger.did),
        "other_subject": lambda: _resign(good, subject=KEYS.stranger.did),
        "longer_retention": lambda: _resign(good, retention_days=3650),
        "over_granting": lambda: _resign(good, items=("transactions", "email")),
        "missing_required": lambda: _resign(good, items=("balance",)),
        "longer_validity": lambda: _resign(good, expires_at=good.expires_at + 86400),
        "expired": lambda: grant(request, now=now - 181 * 86400),
        "not_yet_valid": lambda: grant(request, now=now + 3600),
        "request_bytes": lambda: request.raw,
        "garbage": lambda: b"\xff" * 40,
        "empty": lambda: b"",
        "truncated": lambda: good.raw[: len(good.raw) // 2],
        "too_large": lambda: b"\x00" * 20_000,
    }
    response = post_credential(issuer_url, bodies[case]())
    assert (response.status_code, response.json()["error"]) == (status, code), response.text
    assert "Traceback" not in response.text
    assert consents(issuer_url) == []
    # nothing was lost: the genuine consent is still accepted afterwards
    assert post_credential(issuer_url, good.raw).status_code == 200


def test_expired_request_cannot_be_answered(tmp_path: Path) -> None:
    clock = [int(time.time())]
    app = create_app(tmp_path / "k", "http://127.0.0.1:9/", holder_did=KEYS.holder.did,
                     watch_status=False, clock_fn=lambda: clock[0], demo=True)
    with serve(app) as issuer_url:
        request = open_request(issuer_url, "carol")
        clock[0] = request.expires_at + 120  # the user answers a QR code left on screen too long
        late = grant(request, now=clock[0])
        response = post_credential(issuer_url, late)
        assert (response.status_code, response.json()["error"]) == (403, "expired")
        assert consents(issuer_url, "carol") == []

