"""The change feed: Server-Sent Events of every accepted write, pushed the moment it commits.

The event log in the store is the truth; this module only wakes subscribers.  Each stream keeps
a cursor (the last sequence number it has covered), reads the log after it, and then sleeps on an
``asyncio.Condition`` until a newer sequence number is announced — by a PUT in this process, or
(PostgreSQL) by the store's LISTEN/NOTIFY listener for a PUT in any other worker — or until a
heartbeat is due, when it sends an SSE comment and looks at the log again (which also catches
writes made by another process on the same SQLite file).

One read per change, not one per subscriber: the feed keeps the newest events in memory (a
contiguous tail of the log), filled by one read of the store when a newer number is announced;
streams whose cursor lies inside the tail are served from it, older cursors read the store.
A write of this process goes into the tail as it is announced (when it is the next event), so
no read of the store stands between its commit and its subscribers.

Why no update is lost: a PUT announces its sequence number only after its transaction
committed, and writers are serialised, so every event up to an announced number is readable.
A stream that read the log after taking a snapshot of the announced number has therefore seen
everything up to that snapshot and may move its cursor there; if a PUT announced a newer number
meanwhile, the wait returns at once.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Callable

from starlette.concurrency import run_in_threadpool

from common.registry_client import MAX_PUSHED_TOKEN
from protocol import DecodeError

from .service import Registry
from .store import Event

__all__ = ["Feed", "format_event", "parse_last_event_id"]

_BATCH = 500


#: Reads events after a seq (optionally of one list), at most ``limit`` of them.
Reader = Callable[[int, "str | None", int], list[Event]]


class Feed:
    """Wakes every waiting stream when a write commits, and keeps the newest events in memory.

    Lives in one event loop.  ``read`` is the store's ``events_after``; ``keep`` is how many
    recent events the tail holds.
    """

    def __init__(self, latest: int, read: Reader, keep: int = 4096) -> None:
        self.latest = latest
        self._changed = asyncio.Condition()
        self.closed = False
        self._read = read
        self._tail: deque[Event] = deque(maxlen=keep)
        self._floor = latest  # the tail holds every event in (floor, top]
        self._top = latest
        self._filling = asyncio.Lock()

    async def read(self, cursor: int, list_id: str | None, snapshot: int) -> tuple[list[Event], int]:
        """Events after ``cursor`` (one list's, if given), and the seq they cover the log up to.

        The covered seq is at least the last event's; it reaches ``snapshot`` (a value of
        :attr:`latest` taken before the call) when no event up to it is left unread.
        """
        if cursor >= self._floor:
            await self._fill(snapshot)
            if cursor >= self._floor:
                events = [e for e in self._tail if e.seq > cursor and (list_id is None or e.list_id == list_id)]
                return events, max(cursor, self._top)
        events = await run_in_threadpool(self._read, cursor, list_id, _BATCH)
        if len(events) == _BATCH:
            return events, events[-1].seq
        return events, max(cursor, snapshot, events[-1].seq if events else 0)

    async def _fill(self, snapshot: int) -> None:
        async with self._filling:
            while self._top < snapshot:
                new = await run_in_threadpool(self._read, self._top, None, _BATCH)
                for event in new:
                    if len(self._tail) == self._tail.maxlen:
                        self._floor = self._tail[0].seq
                    self._tail.append(event)
                if len(new) < _BATCH:
                    self._top = max(self._top, snapshot)  # read after snapshot: nothing up to it is missing
                    return
                self._top = new[-1].seq

    async def announce(self, seq: int, event: Event | None = None) -> None:
        """Tell waiting streams that the event ``seq`` committed.

        With ``event`` (a write of this process, just committed) the tail takes it at once when
        it is the next one, so streams send it without reading the store first; otherwise they
        read it from the store as they would an event of another worker.
        """
        if event is not None:
            async with self._filling:  # not while a fill reads the store (it would add it twice)
                if event.seq == self._top + 1:
                    if len(self._tail) == self._tail.maxlen:
                        self._floor = self._tail[0].seq
                    self._tail.append(event)
                    self._top = event.seq
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
    """One SSE message: ``id`` (the global sequence number), ``event: list`` and the JSON data,
    which carries the list's signed token when the event's version is still the newest and the
    token is at most :data:`~common.registry_client.MAX_PUSHED_TOKEN` bytes (a larger one is left
    out: the subscriber fetches it)."""
    data = json.dumps(event.to_json(MAX_PUSHED_TOKEN), separators=(",", ":"), ensure_ascii=True)
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
        events, covered = await feed.read(cursor, list_id, snapshot)
        if events:
            yield b"".join(format_event(event) for event in events)
        cursor = covered
        if cursor < snapshot:
            continue
        if not await feed.wait_beyond(cursor, heartbeat):
            feed.latest = max(feed.latest, await run_in_threadpool(registry.last_seq))
            yield b": heartbeat\n\n"
