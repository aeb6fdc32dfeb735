"""Fixtures for the registry: a real service on a loopback port over a fresh home, once per backend
(a SQLite file in the home folder, and a fresh PostgreSQL database)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from common import EventStream, ListEvent, RegistryClient
from protocol import KeyPair, Status, StatusList, StatusListToken
from registry import Registry, create_app
from tests.support.samples import KEYS
from tests.support.servers import ThreadServer

LIST_ID = "Xy3_kP9-abcdEFGH12345678"


def make_token(base_url: str, list_id: str = LIST_ID, *, iat: int | None = None, key: KeyPair = KEYS.status,
               size: int = 16384, revoked: tuple[int, ...] = (), ttl: int = 300, lifetime: int = 86400) -> bytes:
    """A signed StatusListToken for ``list_id`` on the registry at ``base_url``."""
    lst = StatusList(size)
    for index in revoked:
        lst.set(index, Status.REVOKED)
    iat = int(time.time()) if iat is None else iat
    return StatusListToken.create(uri=f"{base_url}/v1/lists/{list_id}", status_list=lst, signer=key.did,
                                  ttl=ttl, lifetime=lifetime, now=iat).sign(key)


@dataclass
class Running:
    """A running registry: its URL, home folder, DSN (None: SQLite), a client and the server."""

    url: str
    home: Path
    dsn: str | None
    client: RegistryClient
    server: ThreadServer

    def token(self, list_id: str = LIST_ID, **kwargs: object) -> bytes:
        return make_token(self.url, list_id, **kwargs)  # type: ignore[arg-type]

    def open(self) -> Registry:
        """The same registry through the library (same home, same database)."""
        return Registry.open(self.home, dsn=self.dsn)


def start(home: Path, port: int | None = None, heartbeat: float = 0.5, dsn: str | None = None) -> ThreadServer:
    """Serve a registry app for ``home`` (and ``dsn``) on a loopback port (the same one again if given)."""
    return ThreadServer(create_app(Registry.open(home, dsn=dsn), heartbeat=heartbeat), port).start()


@pytest.fixture
def running(tmp_path: Path, backend: str | None) -> Iterator[Running]:
    """A fresh registry on a free loopback port, once over SQLite and once over PostgreSQL."""
    home = tmp_path / "registry"
    server = start(home, dsn=backend)
    client = RegistryClient(server.url)
    try:
        yield Running(server.url, home, backend, client, server)
    finally:
        client.close()
        server.stop()


class Collector:
    """Reads a change feed in a background thread so tests can wait for events with a timeout."""

    def __init__(self, stream: EventStream) -> None:
        self.stream = stream
        self.events: queue.Queue[ListEvent | BaseException] = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for event in self.stream:
                self.events.put(event)
        except BaseException as err:  # surfaced to the test by take()
            self.events.put(err)

    def take(self, count: int, timeout: float = 10.0) -> list[ListEvent]:
        out: list[ListEvent] = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            item = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if isinstance(item, BaseException):
                raise item
            out.append(item)
        return out

    def close(self) -> None:
        self.stream.close()
        self.thread.join(timeout=5)
