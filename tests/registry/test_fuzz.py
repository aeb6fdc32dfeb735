"""Fuzzed bodies, ids and headers never make the registry answer 5xx, and never change what it stores."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.servers import ThreadServer

from .conftest import LIST_ID, make_token, start

NOW = int(time.time())
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, bytes, httpx.Client]]:
    """One registry for the whole module, holding one accepted list."""
    server: ThreadServer = start(Path(tmp_path_factory.mktemp("fuzz")) / "home")
    client = httpx.Client(base_url=server.url, timeout=10)
    token = make_token(server.url, iat=NOW)
    assert client.put(f"/v1/lists/{LIST_ID}", content=token).status_code == 201
    try:
        yield server.url, token, client
    finally:
        client.close()
        server.stop()


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body["error"], str) and isinstance(body["detail"], str)
        assert "Traceback" not in response.text


def _unchanged(client: httpx.Client, token: bytes) -> None:
    assert client.get(f"/v1/lists/{LIST_ID}").content == token


@FUZZ
@given(body=st.binary(max_size=2048))
def test_random_bodies(fuzzed: tuple[str, bytes, httpx.Client], body: bytes) -> None:
    _, token, client = fuzzed
    _check(client.put(f"/v1/lists/{LIST_ID}", content=body))
    _check(client.put("/v1/lists/fresh-list-00000000000", content=body))


@FUZZ
@given(data=st.data())
def test_mutated_tokens(fuzzed: tuple[str, bytes, httpx.Client], data: st.DataObject) -> None:
    _, token, client = fuzzed
    body = bytearray(token)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(body) - 1))
        body[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(body)))
    mutated = bytes(body[:cut])
    response = client.put(f"/v1/lists/{LIST_ID}", content=mutated)
    _check(response)
    if mutated != token:
        assert response.status_code >= 400
    _unchanged(client, token)


@FUZZ
@given(list_id=st.text(max_size=80), body=st.binary(max_size=64))
def test_random_ids(fuzzed: tuple[str, bytes, httpx.Client], list_id: str, body: bytes) -> None:
    _, _, client = fuzzed
    path = f"/v1/lists/{quote(list_id, safe='')}"
    for method in ("GET", "PUT"):
        _check(client.request(method, path, content=body if method == "PUT" else None))


@FUZZ
@given(if_none_match=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=100),
       last_event_id=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=30))
def test_random_headers(fuzzed: tuple[str, bytes, httpx.Client], if_none_match: str, last_event_id: str) -> None:
    _, token, client = fuzzed
    if if_none_match.strip():  # h11 refuses surrounding blanks before they are sent
        _check(client.get(f"/v1/lists/{LIST_ID}", headers={"If-None-Match": if_none_match.strip()}))
    if last_event_id.strip() and not last_event_id.strip().isdigit():  # a valid id would stream for ever
        _check(client.get("/v1/events", headers={"Last-Event-ID": last_event_id}))
    _unchanged(client, token)
