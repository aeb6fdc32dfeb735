"""The registry's write rules and reads, through the real service on a loopback port."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import httpx
import pytest

from common import RegistryClient
from protocol import (
    BadSignature,
    Conflict,
    CopyMeError,
    DecodeError,
    Expired,
    NotFound,
    NotYetValid,
    StatusInvalid,
    StatusListToken,
    StatusRollback,
    TooLarge,
    TrustList,
    Unavailable,
    WrongType,
    cid_of,
)
from tests.support.samples import KEYS, trust_list
from tests.support.servers import free_port

from .conftest import LIST_ID, Running, make_token, start

NOW = int(time.time())


def test_create_then_update(running: Running) -> None:
    first = running.token(iat=NOW)
    created = running.client.publish(LIST_ID, first)
    assert created == {"list_id": LIST_ID, "iat": NOW, "etag": cid_of(first), "seq": 1}
    second = running.token(iat=NOW + 1, revoked=(7,))
    response = httpx.put(f"{running.url}/v1/lists/{LIST_ID}", content=second,
                         headers={"Content-Type": "application/statuslist+cwt"})
    assert response.status_code == 200 and response.json()["iat"] == NOW + 1
    fetched = running.client.fetch(LIST_ID)
    assert fetched is not None and fetched.token == second and fetched.etag == cid_of(second)
    assert StatusListToken.decode(fetched.token).status_list.get(7) == 1


def test_first_write_is_201(running: Running) -> None:
    response = httpx.put(f"{running.url}/v1/lists/{LIST_ID}", content=running.token(iat=NOW))
    assert response.status_code == 201


def test_get_headers_and_304(running: Running) -> None:
    token = running.token(iat=NOW, ttl=120)
    running.client.publish(LIST_ID, token)
    response = httpx.get(f"{running.url}/v1/lists/{LIST_ID}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/statuslist+cwt"
    assert response.headers["etag"] == f'"{cid_of(token)}"'
    assert response.headers["cache-control"] == "max-age=120"
    again = httpx.get(f"{running.url}/v1/lists/{LIST_ID}", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert running.client.fetch(LIST_ID, etag=cid_of(token)) is None
    assert running.client.fetch(f"{running.url}/v1/lists/{LIST_ID}", etag=cid_of(token)) is None
    newer = running.token(iat=NOW + 1)
    running.client.publish(LIST_ID, newer)
    fetched = running.client.fetch(LIST_ID, etag=cid_of(token))
    assert fetched is not None and fetched.token == newer and fetched.max_age == 300


def test_max_age_never_outlives_the_token(running: Running) -> None:
    # the wall clock, not the module's NOW: a long suite may run this minutes after collection
    running.client.publish(LIST_ID, running.token(iat=int(time.time()), ttl=3600, lifetime=60))
    fetched = running.client.fetch(LIST_ID)
    assert fetched is not None and 0 < fetched.max_age <= 60


def test_unknown_list_is_404(running: Running) -> None:
    with pytest.raises(NotFound) as info:
        running.client.fetch("nobody-published-this")
    assert info.value.code == "not_found"
    assert httpx.get(f"{running.url}/v1/lists/nobody-published-this").status_code == 404


@pytest.mark.parametrize(("change", "error", "status"), [
    ({"iat": NOW - 1}, StatusRollback, 409),          # rollback to an older list
    ({"iat": NOW}, StatusRollback, 409),              # same iat: refused, updates use iat strictly increasing
    ({"iat": NOW + 1, "key": KEYS.stranger}, StatusInvalid, 403),   # foreign key
    ({"iat": NOW + 1, "size": 32768}, Conflict, 409),  # size change
])
def test_refused_updates_change_nothing(running: Running, change: dict[str, object],
                                        error: type[CopyMeError], status: int) -> None:
    original = running.token(iat=NOW)
    running.client.publish(LIST_ID, original)
    bad = running.token(**change)
    with pytest.raises(error):
        running.client.publish(LIST_ID, bad)
    response = httpx.put(f"{running.url}/v1/lists/{LIST_ID}", content=bad)
    assert response.status_code == status and response.json()["error"] == error.code
    fetched = running.client.fetch(LIST_ID)
    assert fetched is not None and fetched.token == original
    assert [e.seq for e in running.open().events_after(0)] == [1]


def test_replay_of_the_exact_same_token_refused(running: Running) -> None:
    token = running.token(iat=NOW)
    running.client.publish(LIST_ID, token)
    with pytest.raises(StatusRollback):
        running.client.publish(LIST_ID, token)
    running.client.publish(LIST_ID, running.token(iat=NOW + 1))
    with pytest.raises(StatusRollback):  # replaying an older accepted list is a rollback
        running.client.publish(LIST_ID, token)


def test_token_for_another_list_refused(running: Running) -> None:
    other = running.token("another-list-id-0001", iat=NOW)
    with pytest.raises(StatusInvalid):
        running.client.publish(LIST_ID, other)
    response = httpx.put(f"{running.url}/v1/lists/{LIST_ID}", content=other)
    assert response.status_code == 403 and response.json()["field"] == "sub"


def test_expired_and_future_tokens_refused(running: Running) -> None:
    with pytest.raises(Expired):
        running.client.publish(LIST_ID, running.token(iat=NOW - 7200, lifetime=3600))
    with pytest.raises(NotYetValid):
        running.client.publish(LIST_ID, running.token(iat=NOW + 3600))
    with pytest.raises(NotFound):
        running.client.fetch(LIST_ID)


def test_other_signed_objects_refused(running: Running) -> None:
    with pytest.raises(WrongType):
        running.client.publish(LIST_ID, trust_list().sign(KEYS.council))
    token = bytearray(running.token(iat=NOW))
    token[-5] ^= 0xFF  # inside the signature
    with pytest.raises(BadSignature):
        running.client.publish(LIST_ID, bytes(token))


@pytest.mark.parametrize("list_id", ["short", "x" * 65, "has space in it here", "dots.are.not.allowed.1",
                                     "ünïcødé-list-id-0000", "a%2Fb-0000000000000000"])
def test_malformed_ids(running: Running, list_id: str) -> None:
    for method, path in [("GET", f"/v1/lists/{list_id}"), ("PUT", f"/v1/lists/{list_id}"),
                         ("GET", f"/v1/lists/{list_id}/events")]:
        response = httpx.request(method, running.url + path, content=running.token(iat=NOW) if method == "PUT" else None)
        assert response.status_code in (400, 404), (method, path, response.status_code)
        assert response.json()["error"] in ("malformed", "not_found")
    with pytest.raises((DecodeError, NotFound)):  # an encoded "/" splits the path: no such route
        running.client.publish(list_id.replace("%2F", "/"), running.token(iat=NOW))


def test_oversized_bodies_refused_before_reading(running: Running) -> None:
    big = b"\0" * (1024 * 1024 + 1)
    response = httpx.put(f"{running.url}/v1/lists/{LIST_ID}", content=big)
    assert response.status_code == 413 and response.json()["error"] == "too_large"

    def chunks():  # no Content-Length: the cap must hold while streaming
        for _ in range(300):
            yield b"\0" * 8192

    response = httpx.put(f"{running.url}/v1/lists/{LIST_ID}", content=chunks())
    assert response.status_code == 413 and response.json()["error"] == "too_large"
    with pytest.raises(TooLarge):
        running.client.publish(LIST_ID, big)


def test_updates_within_one_second_all_land_in_order(running: Running) -> None:
    running.client.publish(LIST_ID, running.token(iat=NOW))
    started = time.monotonic()
    for i in range(1, 6):  # the wallet's publisher keeps iat strictly increasing
        assert running.client.publish(LIST_ID, running.token(iat=NOW + i, revoked=(i,)))["iat"] == NOW + i
    assert time.monotonic() - started < 1.0
    events = running.open().events_after(0)
    assert [e.iat for e in events] == [NOW + i for i in range(6)]
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    fetched = running.client.fetch(LIST_ID)
    assert fetched is not None and StatusListToken.decode(fetched.token).issued_at == NOW + 5


def test_concurrent_writers_end_with_the_newest(running: Running) -> None:
    running.client.publish(LIST_ID, running.token(iat=NOW - 100))
    tokens = {NOW - 99 + i: running.token(iat=NOW - 99 + i, revoked=(i,)) for i in range(24)}
    order = list(tokens.items())
    random.Random(7).shuffle(order)
    outcomes: list[str] = []
    lock = threading.Lock()

    def put(token: bytes) -> None:
        with RegistryClient(running.url) as client:
            try:
                client.publish(LIST_ID, token)
                result = "ok"
            except StatusRollback:
                result = "rollback"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=put, args=(token,)) for _, token in order]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 24 and set(outcomes) <= {"ok", "rollback"}
    fetched = running.client.fetch(LIST_ID)
    assert fetched is not None and fetched.token == tokens[max(tokens)]
    iats = [e.iat for e in running.open().events_after(0)]
    assert iats == sorted(iats) and len(iats) == 1 + outcomes.count("ok")


def test_restart_keeps_everything(tmp_path: Path, backend: str | None) -> None:
    home = tmp_path / "home"
    port = free_port()
    server = start(home, port, dsn=backend)
    client = RegistryClient(server.url)
    token = make_token(server.url, iat=NOW)
    client.publish(LIST_ID, token)
    council = TrustList.decode(client.trust_list()).issuer
    server.stop()
    with pytest.raises(Unavailable):
        client.fetch(LIST_ID)
    server = start(home, port, dsn=backend)
    try:
        fetched = client.fetch(LIST_ID)
        assert fetched is not None and fetched.token == token
        assert TrustList.decode(client.trust_list()).issuer == council
        with pytest.raises(StatusRollback):  # the pinned state survived too
            client.publish(LIST_ID, token)
        assert client.publish(LIST_ID, make_token(server.url, iat=NOW + 1))["seq"] == 2
    finally:
        server.stop()


def test_trust_list_served_and_signed_by_the_council(running: Running) -> None:
    running.open().trust_add(KEYS.holder.did, "さくら銀行", "Sakura Bank", "data_holder")
    response = httpx.get(f"{running.url}/v1/trust-list")
    assert response.headers["content-type"] == "application/vnd.copyme.trustlist+cwt"
    signed = TrustList.decode(response.content)
    assert (running.home / "council.key").stat().st_mode & 0o777 == 0o600
    assert signed.issuer == running.open().council_key.did
    org = signed.find(KEYS.holder.did)
    assert org is not None and org.name_en == "Sakura Bank"


def test_health_and_unknown_routes(running: Running) -> None:
    assert httpx.get(f"{running.url}/health").json() == {"status": "ok"}
    assert running.client.health() == {"status": "ok"}
    response = httpx.get(f"{running.url}/v2/nothing")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    response = httpx.delete(f"{running.url}/v1/lists/{LIST_ID}")
    assert response.status_code == 405 and "error" in response.json()


def test_openapi_documents_every_route_and_error(running: Running) -> None:
    spec = httpx.get(f"{running.url}/openapi.json").json()
    operations = {(m.upper(), p): op for p, ops in spec["paths"].items() for m, op in ops.items()}
    assert set(operations) == {
        ("PUT", "/v1/lists/{list_id}"), ("GET", "/v1/lists/{list_id}"), ("GET", "/v1/events"),
        ("GET", "/v1/lists/{list_id}/events"), ("GET", "/v1/trust-list"), ("GET", "/health"),
    }
    for key, op in operations.items():
        assert op.get("description") or op.get("summary"), key
        assert "500" in op["responses"], key
    put = operations[("PUT", "/v1/lists/{list_id}")]
    text = " ".join(r["description"] for r in put["responses"].values())
    for code in ("malformed", "too_large", "bad_signature", "status_invalid", "status_rollback", "conflict",
                 "expired", "not_yet_valid", "wrong_type", "unsupported_alg"):
        assert f"`{code}`" in text, code
    assert "application/statuslist+cwt" in put["requestBody"]["content"]
    assert "304" in operations[("GET", "/v1/lists/{list_id}")]["responses"]


def test_unreachable_registry_is_unavailable() -> None:
    client = RegistryClient(f"http://127.0.0.1:{free_port()}", timeout=1.0)
    for call in (lambda: client.fetch(LIST_ID), lambda: client.publish(LIST_ID, b"x"), client.trust_list):
        with pytest.raises(Unavailable):
            call()
