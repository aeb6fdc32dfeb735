"""The change feed (SSE): delivery, push latency, per-list filtering and resumption."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from common import RegistryClient
from protocol import DecodeError, cid_of
from registry import Registry
from tests.support.servers import free_port

from .conftest import LIST_ID, Collector, Running, make_token, start

OTHER = "other-list-0000000001"
NOW = int(time.time())


def test_delivery_is_pushed_at_once(running: Running) -> None:
    running.client.publish(LIST_ID, running.token(iat=NOW))
    feed = Collector(running.client.events(last_event_id="0"))
    try:
        [first] = feed.take(1)
        assert (first.id, first.list_id, first.iat) == ("1", LIST_ID, NOW)
        assert first.uri == f"{running.url}/v1/lists/{LIST_ID}"
        token = running.token(iat=NOW + 1)
        sent = time.monotonic()
        running.client.publish(LIST_ID, token)
        [second] = feed.take(1, timeout=5)
        # heartbeat is 0.5 s in tests: arriving well before it means it was pushed, not polled
        assert time.monotonic() - sent < 0.4
        assert (second.id, second.iat, second.etag) == ("2", NOW + 1, cid_of(token))
    finally:
        feed.close()


def test_feed_without_last_event_id_starts_from_now(running: Running) -> None:
    running.client.publish(LIST_ID, running.token(iat=NOW))
    with httpx.stream("GET", f"{running.url}/v1/events", timeout=5) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert next(lines).startswith("retry:")
        running.client.publish(LIST_ID, running.token(iat=NOW + 1))
        seen = []
        for line in lines:
            seen.append(line)
            if line.startswith("data:"):
                break
        assert "id: 2" in seen and "event: list" in seen


def test_heartbeat_comments_when_idle(running: Running) -> None:
    with httpx.stream("GET", f"{running.url}/v1/events", timeout=5) as response:
        started = time.monotonic()
        for line in response.iter_lines():
            if line == ": heartbeat":
                break
        assert time.monotonic() - started < 3


def test_one_list_feed_only_carries_that_list(running: Running) -> None:
    feed = Collector(running.client.events(last_event_id="0", list_id=LIST_ID))
    try:
        running.client.publish(OTHER, running.token(OTHER, iat=NOW))
        running.client.publish(LIST_ID, running.token(iat=NOW))
        running.client.publish(OTHER, running.token(OTHER, iat=NOW + 1))
        running.client.publish(LIST_ID, running.token(iat=NOW + 1))
        events = feed.take(2)
        assert [(e.list_id, e.id) for e in events] == [(LIST_ID, "2"), (LIST_ID, "4")]
    finally:
        feed.close()


def test_resume_with_last_event_id(running: Running) -> None:
    for i in range(5):
        running.client.publish(LIST_ID, running.token(iat=NOW + i))
    feed = Collector(running.client.events(last_event_id="3"))
    try:
        assert [e.id for e in feed.take(2)] == ["4", "5"]
    finally:
        feed.close()


def test_many_events_arrive_in_order(running: Running) -> None:
    registry = running.open()  # write fast through the library, read through HTTP
    for i in range(620):  # more than one read batch
        registry.publish(LIST_ID, running.token(iat=NOW - 1000 + i))
    feed = Collector(running.client.events(last_event_id="0"))
    try:
        events = feed.take(620, timeout=20)
        assert [int(e.id) for e in events] == list(range(1, 621))
        assert [e.iat for e in events] == [NOW - 1000 + i for i in range(620)]
    finally:
        feed.close()


def test_resumes_after_a_dropped_connection_without_missing_updates(tmp_path: Path, backend: str | None) -> None:
    home, port = tmp_path / "home", free_port()
    server = start(home, port, dsn=backend)
    url = server.url
    client = RegistryClient(url)
    feed = Collector(client.events(last_event_id="0", reconnect_delay=0.1))
    try:
        client.publish(LIST_ID, make_token(url, iat=NOW))
        assert [e.id for e in feed.take(1)] == ["1"]
        server.stop()  # the subscriber's connection drops
        # updates land while the subscriber is away (written straight into the same database)
        registry = Registry.open(home, dsn=backend)
        registry.publish(LIST_ID, make_token(url, iat=NOW + 1))
        registry.publish(OTHER, make_token(url, OTHER, iat=NOW + 2))
        registry.close()
        server = start(home, port, dsn=backend)
        client.publish(LIST_ID, make_token(url, iat=NOW + 3))
        events = feed.take(3)
        assert [(e.id, e.iat) for e in events] == [("2", NOW + 1), ("3", NOW + 2), ("4", NOW + 3)]
        assert feed.stream.last_event_id == "4"
    finally:
        feed.close()
        server.stop()


def test_last_event_id_ahead_of_the_log_replays_from_the_start(running: Running) -> None:
    running.client.publish(LIST_ID, running.token(iat=NOW))
    feed = Collector(running.client.events(last_event_id="999"))
    try:
        assert [e.id for e in feed.take(1)] == ["1"]
    finally:
        feed.close()


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "9" * 30, "１２"])
def test_malformed_last_event_id(running: Running, value: str) -> None:
    response = httpx.get(f"{running.url}/v1/events", headers={"Last-Event-ID": value.encode()}, timeout=5)
    assert response.status_code == 400 and response.json()["error"] == "malformed"
    if not value.isascii():
        return
    with pytest.raises(DecodeError):
        next(iter(running.client.events(last_event_id=value)))


def test_unreachable_feed_gives_up_after_max_retries() -> None:
    from protocol import Unavailable

    client = RegistryClient(f"http://127.0.0.1:{free_port()}", timeout=1.0)
    with pytest.raises(Unavailable):
        next(iter(client.events(reconnect_delay=0.01, max_retries=2)))


def test_close_from_another_thread_is_prompt(tmp_path: Path) -> None:
    server = start(tmp_path / "home", heartbeat=15.0)  # no heartbeat will come to wake the reader
    try:
        feed = Collector(RegistryClient(server.url).events())
        time.sleep(0.3)
        started = time.monotonic()
        feed.close()
        assert not feed.thread.is_alive() and time.monotonic() - started < 2
    finally:
        server.stop()


def test_an_event_carries_the_token_while_its_version_is_the_newest(running: Running) -> None:
    """Spec 8.1.1: a subscriber gets the signed list with the event; once superseded, the store has none."""
    first, second = running.token(iat=NOW), running.token(iat=NOW + 1)
    running.client.publish(LIST_ID, first)
    feed = Collector(running.client.events(last_event_id="0"))
    try:
        [live] = feed.take(1)
        assert live.token == first and live.etag == cid_of(first)
        running.client.publish(LIST_ID, second)
        [pushed] = feed.take(1, timeout=5)
        assert pushed.token == second
    finally:
        feed.close()
    replay = Collector(running.client.events(last_event_id="0"))
    try:
        old, new = replay.take(2)
        assert old.iat == NOW and old.token in (None, first)  # only ever its own version's token
        assert (new.iat, new.token) == (NOW + 1, second)
    finally:
        replay.close()
    registry = running.open()  # the log as read from the store: the registry keeps the newest token only
    try:
        assert [(e.iat, e.token) for e in registry.events_after(0)] == [(NOW, None), (NOW + 1, second)]
    finally:
        registry.close()


def test_a_token_above_the_push_limit_is_left_out_of_the_event() -> None:
    from common.registry_client import MAX_PUSHED_TOKEN
    from registry.feed import format_event
    from registry.store import Event

    small = Event(1, LIST_ID, NOW, "etag", "http://127.0.0.1/v1/lists/x", b"\x01" * MAX_PUSHED_TOKEN)
    large = Event(2, LIST_ID, NOW, "etag", "http://127.0.0.1/v1/lists/x", b"\x01" * (MAX_PUSHED_TOKEN + 1))
    assert b'"token":"AQEB' in format_event(small)
    assert b'"token"' not in format_event(large)


def test_a_write_of_this_process_joins_the_tail_without_a_read_and_never_twice() -> None:
    """Feed.announce(seq, event): the next event goes into the tail as announced; one that is not
    next (announced out of order by concurrent writers) is read from the store, once."""
    import asyncio

    from registry.feed import Feed
    from registry.store import Event

    log = [Event(seq, LIST_ID, NOW + seq, f"e{seq}", "u", b"t") for seq in range(1, 4)]
    reads: list[int] = []

    def read(after: int, list_id: str | None, limit: int) -> list[Event]:
        reads.append(after)
        return [e for e in log if e.seq > after][:limit]

    async def run() -> None:
        feed = Feed(0, read)
        await feed.announce(1, log[0])
        assert await feed.read(0, None, feed.latest) == ([log[0]], 1) and reads == []  # no store read
        await feed.announce(3, log[2])  # not next: 2 is still committing in another thread
        await feed.announce(2, log[1])
        events, covered = await feed.read(1, None, feed.latest)
        assert [e.seq for e in events] == [2, 3] and covered == 3
        assert reads == [2]  # 3 came from the store, once
        assert [e.seq for e in feed._tail] == [1, 2, 3]

    asyncio.run(run())
