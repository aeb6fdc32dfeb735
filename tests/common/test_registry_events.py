"""Reading change events: the pushed token field (spec 8.1.1) and the cap on a feed line."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.registry_client import (
    MAX_EVENT_LINE,
    MAX_PUSHED_TOKEN,
    EventStream,
    RegistryClient,
    _capped_lines,
    _pushed_token,
)
from protocol import DecodeError


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@given(st.binary(min_size=1, max_size=600))
def test_a_pushed_token_round_trips(raw: bytes) -> None:
    assert _pushed_token(_b64(raw)) == raw


@pytest.mark.parametrize("value", [
    None, 7, "", "a", "abc!", "ab+/", "ab==x", "ab cd", "\u00e9abc", ["AAAA"],
    _b64(b"\x01" * (MAX_PUSHED_TOKEN + 1)),
    base64.b64encode(b"\xfb\xff\xfe").decode(),  # standard alphabet (+ /), not base64url
])
def test_a_token_field_that_is_not_usable_counts_as_absent(value: object) -> None:
    """The subscriber then fetches the list, as without push: never an error that stops the feed."""
    assert _pushed_token(value) is None


def test_the_largest_pushed_token_is_taken() -> None:
    assert _pushed_token(_b64(b"\x02" * MAX_PUSHED_TOKEN)) == b"\x02" * MAX_PUSHED_TOKEN


def test_lines_are_split_on_lf_and_crlf_across_chunks() -> None:
    chunks = [b"id: 1\r", b"\nevent: li", b"st\ndata: {}\n", b"\n", b"tail"]
    assert list(_capped_lines(chunks, 64)) == ["id: 1", "event: list", "data: {}", "", "tail"]


def test_a_line_over_the_cap_is_dropped_as_it_arrives() -> None:
    chunks = [b"ok\n", b"x" * 40, b"x" * 40, b"x" * 40, b"y\nnext\n"]
    assert list(_capped_lines(chunks, 64)) == ["ok", None, "next"]


class _Body:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def iter_bytes(self) -> list[bytes]:
        return self.chunks


def _parse(chunks: list[bytes]) -> list[object]:
    stream = EventStream(RegistryClient("http://127.0.0.1:9"), "http://127.0.0.1:9/v1/events", None,
                         reconnect_delay=0.1, max_retries=0)
    try:
        return list(stream._parse(_Body(chunks)))  # type: ignore[arg-type]
    finally:
        stream.close()


def test_an_event_with_a_token_is_parsed_with_it() -> None:
    body = {"list_id": "l" * 16, "iat": 5, "etag": "e", "uri": "http://127.0.0.1:9/v1/lists/" + "l" * 16,
            "token": _b64(b"signed bytes")}
    [event] = _parse([b"id: 3\nevent: list\ndata: " + json.dumps(body).encode() + b"\n\n"])
    assert event.token == b"signed bytes" and event.id == "3"  # type: ignore[attr-defined]


def test_an_event_line_over_the_cap_is_malformed() -> None:
    with pytest.raises(DecodeError):
        _parse([b"id: 3\nevent: list\ndata: ", b"A" * (MAX_EVENT_LINE + 10), b"\n\n"])


def test_the_spec_example_event_parses_and_its_token_verifies() -> None:
    """specs/protocol.md 8.1.1: the example event is what the client reads, and its token is the
    signed list the event names (CID = etag) under the sample status key."""
    from pathlib import Path

    from protocol import Status, StatusListToken, cid_of
    from tests.support.samples import KEYS

    spec = (Path(__file__).resolve().parents[2] / "specs" / "protocol.md").read_text(encoding="utf-8")
    section = spec[spec.index("#### 8.1.1 Change events"):]
    block = section[section.index("```sse\n") + 7:]
    block = block[:block.index("```")]
    [event] = _parse([block.encode() + b"\n"])
    assert event.token is not None  # type: ignore[attr-defined]
    token = StatusListToken.decode(event.token)  # type: ignore[attr-defined]
    assert cid_of(event.token) == event.etag  # type: ignore[attr-defined]
    assert token.signer == KEYS.status.did and token.uri == event.uri  # type: ignore[attr-defined]
    assert token.issued_at == event.iat and token.status_list.get(7) is Status.REVOKED  # type: ignore[attr-defined]
    assert len(event.token) == 245  # type: ignore[attr-defined]
