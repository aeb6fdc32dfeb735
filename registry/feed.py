"""The change feed: Server-Sent Events of every accepted write, pushed the moment it commits.

The event log in SQLite is the truth; this module only wakes subscribers.  Each stream keeps a
cursor (the last sequence number it has covered), reads the log after it, and then sleeps on an
``asyncio.Condition`` until a PUT in this process announces a newer sequence number — or until a
heartbeat is due, when it sends an SSE comment and looks at the log again (which also catches
writes made by another process on the same file).

Why no update is lost: a PUT announces its sequence number only after its transaction
committed, and writers are serialised, so every event up to an announced number is readable.
A stream that read the log after taking a snapshot of the announced number has therefore seen
everything up to that snapshot and may move its cursor there; if a PUT announced a newer number
meanwhile, the wait returns at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool

from protocol import DecodeError

from .service import Registry
from .store import Event

__all__ = ["Feed", "format_event", "parse_last_event_id"]

_BATCH = 500


class Feed:
    """Wakes every waiting stream when a write commits; lives in one event loop."""

    def __init__(self, latest: int = 0) -> None:
        self.latest = latest
        self._changed = asyncio.Condition()
        self.closed = False

    async def announce(self, seq: int) -> None:
        """Tell waiting streams that the event ``seq`` committed."""
        async with self._changed:
            if seq > self.latest:
                self.latest = seq
            self._changed.notify_all()

    async def close(self) -> None:
        """End every stream (on shutdown)."""
        async with self._changed:
            self.closed = True
            self._changed.notify_all()

    async def wait_beyond(self, seq: int, timeout: float) -> bool:
        """Wait until an event newer than ``seq`` is announced; False when ``timeout`` passed first."""
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.latest > seq or self.closed), timeout
                )
            except TimeoutError:
                return False
        return True


def parse_last_event_id(value: str | None) -> int | None:
    """The sequence number in a ``Last-Event-ID`` header; ``malformed`` if it is not one."""
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise DecodeError("Last-Event-ID must be an event id this registry sent", field="Last-Event-ID")
    return int(text)


def format_event(event: Event) -> bytes:
    """One SSE message: ``id`` (the global sequence number), ``event: list`` and the JSON data."""
    data = json.dumps(event.to_json(), separators=(",", ":"), ensure_ascii=True)
    return f"id: {event.seq}\nevent: list\ndata: {data}\n\n".encode()


async def stream(registry: Registry, feed: Feed, list_id: str | None, last_event_id: int | None,
                 heartbeat: float) -> AsyncIterator[bytes]:
    """The body of one SSE response: events after ``last_event_id`` (or from now), then live ones."""
    if last_event_id is None:
        cursor = feed.latest
    elif last_event_id > feed.latest:
        cursor = 0  # an id from before a restore: resend everything rather than miss anything
    else:
        cursor = last_event_id
    yield b"retry: 1000\n: connected\n\n"
    while not feed.closed:
        snapshot = feed.latest
        events = await run_in_threadpool(registry.events_after, cursor, list_id, _BATCH)
        for event in events:
            yield format_event(event)
        if events:
            cursor = events[-1].seq
        if len(events) == _BATCH:
            continue
        cursor = max(cursor, snapshot)
        if not await feed.wait_beyond(cursor, heartbeat):
            feed.latest = max(feed.latest, await run_in_threadpool(registry.last_seq))
            yield b": heartbeat\n\n"
