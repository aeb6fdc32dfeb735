"""The registry's admission policy: a cap on the size of new lists, a body cap to match, and a
per-client allowance of new lists (an outside review made 40 lists of 1 MiB in 6 s).  The
library and HTTP cases run on both storage backends (SQLite and PostgreSQL)."""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path

import httpx
import pytest

from protocol import DEFAULT_LIST_SIZE, InvalidArgument, TooLarge
from registry import Admission, RateLimited, Registry, cli, create_app
from tests.registry.conftest import make_token
from tests.support.samples import KEYS
from tests.support.servers import serve


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _id() -> str:
    return "list-" + secrets.token_hex(8)


def test_the_token_bucket_refills_and_counts_each_client_alone() -> None:
    clock = Clock()
    admission = Admission(new_lists_per_minute=6, burst=2, clock=clock)
    admission.admit_new_list("a")
    admission.admit_new_list("a")
    with pytest.raises(RateLimited) as caught:
        admission.admit_new_list("a")
    assert caught.value.code == "rate_limited" and caught.value.http_status == 429
    assert caught.value.retry_after == 10 and caught.value.http_headers == {"Retry-After": "10"}
    admission.admit_new_list("b")  # another client has its own allowance
    clock.t += 10  # one list's worth of refill (6 a minute)
    admission.admit_new_list("a")
    with pytest.raises(RateLimited):
        admission.admit_new_list("a")


def test_the_body_cap_fits_a_token_of_the_fixed_size() -> None:
    admission = Admission()
    assert admission.max_list_size == DEFAULT_LIST_SIZE
    incompressible = DEFAULT_LIST_SIZE // 4 + 2048  # zlib stores random bits; COSE and claims on top
    assert incompressible <= admission.max_token_size < 8 * 1024
    with pytest.raises(ValueError):
        Admission(max_list_size=10)


def test_library_refuses_larger_lists_and_too_many_new_lists(tmp_path: Path, backend: str | None) -> None:
    registry = Registry.open(tmp_path / "r", dsn=backend, council_key=KEYS.council,
                             admission=Admission(new_lists_per_minute=2, clock=Clock()))
    base = "http://127.0.0.1:8600"
    with pytest.raises(TooLarge):
        other = _id()
        registry.publish(other, make_token(base, other, size=DEFAULT_LIST_SIZE * 2), client="x")
    small = _id()
    registry.publish(small, make_token(base, small, iat=1_000, size=1024), client="y", now=1_000)  # a wallet's
    first, second = _id(), _id()
    registry.publish(first, make_token(base, first, iat=1_000), client="x", now=1_000)
    registry.publish(second, make_token(base, second, iat=1_000), client="x", now=1_000)
    third = _id()
    with pytest.raises(RateLimited):
        registry.publish(third, make_token(base, third, iat=1_000), client="x", now=1_000)
    registry.publish(first, make_token(base, first, iat=1_001), client="x", now=1_001)  # updates are not counted
    with pytest.raises(TooLarge):
        registry.publish(third, b"\0" * (registry.admission.max_token_size + 1), client="y")
    # refusals stored nothing: three lists, four events (three creations and one update)
    assert [e.list_id for e in registry.events_after(0)] == [small, first, second, first]
    registry.close()


def test_concurrent_creations_admit_exactly_the_allowance(tmp_path: Path, backend: str | None) -> None:
    registry = Registry.open(tmp_path / "r", dsn=backend, council_key=KEYS.council,
                             admission=Admission(new_lists_per_minute=5, clock=Clock()))
    base = "http://127.0.0.1:8600"
    tokens = [(list_id, make_token(base, list_id, iat=1_000)) for list_id in (_id() for _ in range(12))]
    outcomes: list[str] = []
    lock = threading.Lock()

    def create(list_id: str, token: bytes) -> None:
        try:
            registry.publish(list_id, token, client="x", now=1_000)
            result = "created"
        except RateLimited:
            result = "rate_limited"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=create, args=pair) for pair in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["created"] * 5 + ["rate_limited"] * 7
    assert len(registry.events_after(0)) == 5
    registry.close()


def test_workers_share_the_allowance() -> None:
    one = cli._admission(16384, 120, workers=1)
    four = cli._admission(16384, 120, workers=4)
    assert (one.new_lists_per_minute, one.burst) == (120, 120)
    assert (four.new_lists_per_minute, four.burst) == (30, 30)  # 4 x 30: never more than asked for
    with pytest.raises(InvalidArgument):
        cli._admission(10, 120)  # not a multiple of 4


def test_http_answers_each_refusal_with_its_code(tmp_path: Path, backend: str | None) -> None:
    registry = Registry.open(tmp_path / "r", dsn=backend, council_key=KEYS.council,
                             admission=Admission(new_lists_per_minute=3))
    with serve(create_app(registry)) as url:
        created = []
        for _ in range(3):
            list_id = _id()
            response = httpx.put(f"{url}/v1/lists/{list_id}", content=make_token(url, list_id))
            assert response.status_code == 201, response.text
            created.append(list_id)
        list_id = _id()
        refused = httpx.put(f"{url}/v1/lists/{list_id}", content=make_token(url, list_id))
        assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        assert httpx.get(f"{url}/v1/lists/{list_id}").status_code == 404  # nothing stored
        later = int(time.time()) + 2
        updated = httpx.put(f"{url}/v1/lists/{created[0]}", content=make_token(url, created[0], iat=later, revoked=(7,)))
        assert updated.status_code == 200, updated.text
        big = httpx.put(f"{url}/v1/lists/{_id()}", content=b"\0" * (registry.admission.max_token_size + 1))
        assert big.status_code == 413 and big.json()["error"] == "too_large"
        huge_id = _id()  # a well-formed token of a list above the cap: refused after decoding
        huge = httpx.put(f"{url}/v1/lists/{huge_id}", content=make_token(url, huge_id, size=DEFAULT_LIST_SIZE * 2))
        assert huge.status_code == 413 and huge.json()["error"] == "too_large", huge.text
