"""Rights requests at the data user, through the real app on a loopback port: acknowledge, complete
with the deletion hook, erase the copied data, and refuse every bad request without storing it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from issuer.app import create_app
from issuer.rights import ErasureFailed, ErasureOutcome, ErasureTask, complete_rights
from issuer.service import Issuer
from protocol import (
    ConsentCredential,
    RightsAck,
    RightsDone,
    RightsKind,
    RightsRequest,
    Typ,
    cose,
)
from tests.support.samples import KEYS
from tests.support.servers import serve

from .conftest import grant, http, open_request, post_credential


@pytest.fixture
def kakeibo(tmp_path: Path, backend: str | None) -> Iterator[tuple[str, Issuer]]:
    """The Kakeibo app on a loopback port, once over its SQLite file and once over PostgreSQL."""
    app = create_app(tmp_path / "kakeibo", "http://127.0.0.1:9/", holder_did=KEYS.holder.did, watch_status=False,
                     database=backend, demo=True)
    with serve(app) as url:
        yield url, app.state.issuer


def _consent(url: str, issuer: Issuer, account: str = "alice") -> ConsentCredential:
    request = open_request(url, account)
    assert request.rights == f"{url}/rights"
    body = grant(request, items=("transactions", "balance"))
    assert post_credential(url, body).status_code == 200
    issuer.store.keep_copied(ConsentCredential.decode(body).cid, account,
                             {"transactions": [{"amount": -1200}], "balance": 53000}, int(time.time()))
    return ConsentCredential.decode(body)


def _post(url: str, body: bytes) -> Any:
    return http.post(f"{url}/rights", content=body, headers={"Content-Type": Typ.RIGHTS.value})


def _rights(consent: ConsentCredential, kind: str = "both", key: Any = KEYS.user, **changes: Any) -> bytes:
    request = dataclasses.replace(RightsRequest.create(consent, kind), **changes)
    return request.sign(key)


def test_erasure_request_is_acknowledged_then_completed_and_the_data_is_gone(kakeibo: tuple[str, Issuer]) -> None:
    url, issuer = kakeibo
    consent = _consent(url, issuer)
    body = _rights(consent)
    response = _post(url, body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == Typ.RIGHTS_ACK.value
    request = RightsRequest.decode(body)
    ack = RightsAck.decode(response.content)
    ack.check_answers(request)
    assert ack.due_at - ack.received_at == 14 * 86400

    [pending] = http.get(f"{url}/api/rights", params={"open_only": "true"}).json()["rights"]
    assert pending["state"] == "pending" and pending["rights_id"] == request.cid
    assert {c["item"] for c in http.get(f"{url}/api/copied", params={"account": "alice"}).json()["copied"]} \
        == {"transactions", "balance"}
    # the data user stops using it at once: fetching under this consent is refused
    with pytest.raises(Exception) as err:
        issuer.fetch("alice")
    assert getattr(err.value, "code", "") == "conflict"

    answers = http.get(f"{url}/rights/{request.cid}").json()
    assert answers["ack"] == response.content.hex() and answers["done"] is None

    done_json = http.post(f"{url}/api/rights/{request.cid}/complete").json()
    assert done_json["state"] == "done"
    assert done_json["erased_items"] == ["balance", "transactions"] and done_json["erased_records"] == 2
    assert http.get(f"{url}/api/copied", params={"account": "alice"}).json()["copied"] == []
    done = RightsDone.decode(bytes.fromhex(http.get(f"{url}/rights/{request.cid}").json()["done"]))
    done.check_answers(request)
    assert done.erased_items == ("balance", "transactions") and done.kind is RightsKind.BOTH
    # completing again signs nothing new
    assert http.post(f"{url}/api/rights/{request.cid}/complete").json() == done_json
    assert http.get(f"{url}/api/rights", params={"open_only": "true"}).json()["rights"] == []


def test_stop_use_erases_nothing(kakeibo: tuple[str, Issuer]) -> None:
    url, issuer = kakeibo
    consent = _consent(url, issuer)
    body = _rights(consent, "stop_use")
    assert _post(url, body).status_code == 200
    done = issuer.complete_rights(RightsRequest.decode(body).cid)
    assert done.erased_items == () and done.erased_records == 0
    assert len(issuer.copied("alice")) == 2


def test_consents_page_shows_requests_and_copied_data(kakeibo: tuple[str, Issuer]) -> None:
    url, issuer = kakeibo
    consent = _consent(url, issuer)
    body = _rights(consent)
    _post(url, body)
    page = http.get(f"{url}/consents", params={"account": "alice", "lang": "en"}).text
    assert "Stop use and erase" in page and "Pending" in page and "Data copied from the bank" in page
    http.post(f"{url}/rights/{RightsRequest.decode(body).cid}/complete", params={"account": "alice"})
    page = http.get(f"{url}/consents", params={"account": "alice", "lang": "ja"}).text
    assert "完了（署名付きで通知済み）" in page and "取り込んだデータは保存されていません。" in page


def _bad_cases(consent: ConsentCredential, other: ConsentCredential) -> list[tuple[str, bytes, int, str]]:
    now = int(time.time())
    good = RightsRequest.create(consent, "erase")
    return [
        ("garbage", b"\xa0not cose", 400, "malformed"),
        ("truncated", good.sign(KEYS.user)[:-3], 400, "malformed"),
        ("forged signature", cose.sign1(good.to_payload(), KEYS.stranger, Typ.RIGHTS), 403, "bad_signature"),
        ("signed by a stranger for the consent", dataclasses.replace(good, user=KEYS.stranger.did)
         .sign(KEYS.stranger), 403, "wrong_signer"),
        ("another data user", dataclasses.replace(good, data_user=KEYS.holder.did).sign(KEYS.user), 403,
         "wrong_audience"),
        ("unknown consent", dataclasses.replace(good, consent=b"\x01\x51\x12\x20" + b"\x00" * 32)
         .sign(KEYS.user), 404, "unknown_consent"),
        ("too old", dataclasses.replace(good, issued_at=now - 3600).sign(KEYS.user), 403, "expired"),
        ("from the future", dataclasses.replace(good, issued_at=now + 3600).sign(KEYS.user), 403, "not_yet_valid"),
        ("a consent typ", other.raw, 400, "wrong_type"),
    ]


def test_bad_rights_requests_get_a_reason_and_change_nothing(kakeibo: tuple[str, Issuer]) -> None:
    url, issuer = kakeibo
    consent = _consent(url, issuer)
    other = _consent(url, issuer, "bob")
    for name, body, status, code in _bad_cases(consent, other):
        response = _post(url, body)
        assert (response.status_code, response.json()["error"]) == (status, code), name
    too_big = _post(url, b"\x00" * (17 * 1024))
    assert (too_big.status_code, too_big.json()["error"]) == (413, "too_large")
    assert issuer.rights() == []
    assert len(issuer.copied()) == 4


def test_a_replayed_rights_request_is_refused(kakeibo: tuple[str, Issuer]) -> None:
    url, issuer = kakeibo
    consent = _consent(url, issuer)
    body = _rights(consent)
    assert _post(url, body).status_code == 200
    again = _post(url, body)
    assert (again.status_code, again.json()["error"]) == (403, "replayed")
    # a fresh request (a wallet's retry) is taken
    assert _post(url, _rights(consent)).status_code == 200
    assert len(issuer.rights()) == 2


def test_unknown_rights_id(kakeibo: tuple[str, Issuer]) -> None:
    url, _ = kakeibo
    for response in (http.get(f"{url}/rights/bafynothing"), http.post(f"{url}/api/rights/bafynothing/complete")):
        assert (response.status_code, response.json()["error"]) == (404, "not_found")


def test_a_failing_hook_signs_nothing(kakeibo: tuple[str, Issuer]) -> None:
    url, issuer = kakeibo
    consent = _consent(url, issuer)
    body = _rights(consent)
    _post(url, body)
    cid = RightsRequest.decode(body).cid

    def broken(task: ErasureTask) -> ErasureOutcome:
        raise OSError("disk on fire")

    with pytest.raises(ErasureFailed) as err:
        complete_rights(issuer.store, cid, key=issuer.key, hook=broken)
    assert err.value.code == "erasure_failed"

    def lying(task: ErasureTask) -> ErasureOutcome:
        return ErasureOutcome(erased_items=("not an item!",))

    with pytest.raises(ErasureFailed):
        complete_rights(issuer.store, cid, key=issuer.key, hook=lying)
    assert issuer.store.rights(cid).done == b""
    assert len(issuer.copied("alice")) == 2


def test_cli_lists_and_completes(kakeibo: tuple[str, Issuer], tmp_path: Path, backend: str | None) -> None:
    import json
    import subprocess
    import sys

    url, issuer = kakeibo
    consent = _consent(url, issuer)
    body = _rights(consent, "erase")
    _post(url, body)
    cid = RightsRequest.decode(body).cid
    where = ["--home", str(tmp_path / "kakeibo")] + (["--db", backend] if backend else [])

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "copyme", "issuer", "rights", *args, *where],
                              capture_output=True, text=True, timeout=60)

    listed = run("list", "--open")
    assert listed.returncode == 0, listed.stderr
    assert [json.loads(line)["rights_id"] for line in listed.stdout.splitlines()] == [cid]
    done = run("complete", cid)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "done"
    assert run("list", "--open").stdout == ""
    assert issuer.copied("alice") == []
    missing = run("complete", "bafynothing")
    assert missing.returncode == 4 and missing.stderr.startswith("error: not_found")
