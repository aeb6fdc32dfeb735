"""Random bytes to /v1/data never give a 5xx and never release data."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.verifier.conftest import World

LIST = "list-aaaaaaaaaaaaaaaa"


def _mutations(valid: bytes) -> st.SearchStrategy[bytes]:
    flips = st.lists(st.tuples(st.integers(0, len(valid) - 1), st.integers(1, 255)), min_size=1, max_size=4).map(
        lambda changes: bytes(b ^ dict(changes).get(i, 0) for i, b in enumerate(valid)))
    cuts = st.integers(0, len(valid) - 1).map(lambda n: valid[:n])
    return st.one_of(st.binary(max_size=2048), flips, cuts, st.binary(max_size=64).map(lambda tail: valid + tail))


def test_random_bytes_never_5xx_or_release(world: World) -> None:
    world.publish(LIST)
    world.link_user()
    valid = world.present(world.credential(LIST))
    client = httpx.Client(base_url=world.url, timeout=10.0)

    @settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=_mutations(valid))
    def check(body: bytes) -> None:
        response = client.post("/v1/data", content=body)
        assert response.status_code < 500, response.text
        if response.status_code == 200:
            assert body == valid  # only the genuine presentation, and only once (replay cache)
        else:
            assert response.json()["error"] and "items" not in response.json()

    check()
    # a mutated body can only be refused; the one valid body may have been released at most once
    assert len(world.provisions()) <= 1
