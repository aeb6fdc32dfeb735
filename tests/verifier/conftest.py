"""A real registry and a real verifier on loopback ports, sharing one controllable clock.

``world`` gives a registry (``registry.app.create_app``) and a verifier (``verifier.app.create_app``)
served by uvicorn on 127.0.0.1, SQLite files in a temp folder, the fixed-seed keys of
``tests.support.samples``, and helpers to publish status lists, link the user, grant and present.
The verifier's stores run once on SQLite and once on a fresh PostgreSQL database (``backend``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from common.registry_client import RegistryClient
from protocol import (
    ConsentCredential,
    KeyPair,
    LinkProof,
    Presentation,
    Status,
    StatusList,
    StatusListToken,
    StatusRef,
)
from registry.app import create_app as registry_app
from tests.support import samples
from tests.support.servers import ThreadServer, free_port
from verifier.app import create_app as verifier_app
from verifier.holder import Holder
from verifier.sources import demo_source
from verifier.store import HolderDatabase, open_database, open_store

KEYS = samples.KEYS
TTL = 60


class Clock:
    """A shared fake clock (whole seconds) that tests move forward."""

    def __init__(self, start: int = samples.NOW) -> None:
        self.value = start

    def __call__(self) -> int:
        return self.value

    def advance(self, seconds: int) -> None:
        self.value += seconds


@dataclass
class World:
    tmp: Path
    clock: Clock
    registry_port: int
    registry_server: ThreadServer | None = None
    verifier_server: ThreadServer | None = None
    holder: Holder | None = None
    list_iat: dict[str, int] = field(default_factory=dict)
    dsn: str | None = None

    # -- services --------------------------------------------------------------------------

    @property
    def registry_url(self) -> str:
        return f"http://127.0.0.1:{self.registry_port}"

    @property
    def url(self) -> str:
        assert self.verifier_server is not None
        return self.verifier_server.url

    def start_registry(self, home: str = "registry") -> None:
        app = registry_app(self.tmp / home, council_key=KEYS.council, heartbeat=0.5, clock_fn=self.clock)
        self.registry_server = ThreadServer(app, self.registry_port).start()

    def trust(self, did: str, ja: str, en: str, role: str = "data_user") -> None:
        """List an organisation on the running registry's trust list (re-signed at once)."""
        assert self.registry_server is not None
        self.registry_server.server.config.app.state.registry.trust_add(did, ja, en, role)

    def stop_registry(self) -> None:
        if self.registry_server is not None:
            self.registry_server.stop()
            self.registry_server = None

    def database(self) -> HolderDatabase:
        """The verifier's database: the SQLite file in the temp folder, or the PostgreSQL one."""
        return open_store(self.dsn) if self.dsn is not None else open_database(self.tmp / "verifier.db")

    def start_verifier(self, **options: Any) -> None:
        options.setdefault("source", demo_source())
        self.holder = Holder(KEYS.holder, self.database(),
                             RegistryClient(self.registry_url, timeout=2.0), clock_fn=self.clock, **options)
        self.verifier_server = ThreadServer(verifier_app(self.holder)).start()

    def stop(self) -> None:
        if self.verifier_server is not None:
            self.verifier_server.stop()
        if self.holder is not None:
            self.holder.close()
        self.stop_registry()

    # -- status lists ----------------------------------------------------------------------

    def list_uri(self, list_id: str) -> str:
        return f"{self.registry_url}/v1/lists/{list_id}"

    def token(self, list_id: str, statuses: dict[int, Status] | None = None, *, signer: KeyPair = KEYS.status,
              iat: int | None = None, ttl: int = TTL) -> bytes:
        lst = StatusList()
        for index, status in (statuses or {}).items():
            lst.set(index, status)
        issued = iat if iat is not None else max(self.clock(), self.list_iat.get(list_id, 0) + 1)
        token = StatusListToken.create(uri=self.list_uri(list_id), status_list=lst, signer=signer.did,
                                       ttl=ttl, now=issued)
        return token.sign(signer)

    def publish(self, list_id: str, statuses: dict[int, Status] | None = None, **kw: Any) -> dict[str, Any]:
        if self.list_iat.get(list_id, -1) >= self.clock():
            self.clock.advance(1)  # the registry wants a strictly newer iat, not one in the future
        data = self.token(list_id, statuses, **kw)
        self.list_iat[list_id] = StatusListToken.decode(data).issued_at
        return RegistryClient(self.registry_url).publish(list_id, data)

    def wait_pushed(self, list_id: str, timeout: float = 10.0) -> None:
        """Wait (bounded) until the holder's status cache holds the list last published.

        The change feed delivers a new list to the holder asynchronously; a test that expects a
        refusal right after publishing must wait for it, or it races the push on a loaded machine.
        """
        assert self.holder is not None
        iat = self.list_iat[list_id]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e["iat"] == iat for e in self.holder.status.cached().values()):
                return
            time.sleep(0.05)
        raise AssertionError(f"the holder never received list {list_id} issued at {iat}")

    # -- the flow --------------------------------------------------------------------------

    def link_user(self, user: KeyPair = KEYS.user, customer: str = "C-1001") -> None:
        assert self.holder is not None
        code = self.holder.new_link_code(customer)
        proof = LinkProof(user=user.did, holder=KEYS.holder.did, code=code, issued_at=self.clock()).sign(user)
        self.holder.link(proof)

    def credential(self, list_id: str = "list-aaaaaaaaaaaaaaaa", index: int = 1234, *,
                   user: KeyPair = KEYS.user, status_key: KeyPair = KEYS.status,
                   items: tuple[str, ...] = ("transactions", "balance"), issued: int | None = None) -> bytes:
        when = self.clock() if issued is None else issued
        request = samples.signed_request(KEYS, when)
        cred = ConsentCredential.grant(request, user=user.did, items=items,
                                       status=StatusRef(self.list_uri(list_id), index, status_key.did), now=when)
        return cred.sign(user)

    def present(self, credential: bytes, *, items: tuple[str, ...] = ("transactions",),
                purpose: str = "dpv:ServiceProvision", presenter: KeyPair = KEYS.requester,
                audience: str | None = None, nonce: bytes | None = None, issued: int | None = None) -> bytes:
        p = Presentation(presenter=presenter.did, audience=audience or KEYS.holder.did, credential=credential,
                         items=items, purpose=purpose, issued_at=self.clock() if issued is None else issued,
                         presentation_id=secrets.token_bytes(16), nonce=nonce)
        return p.sign(presenter)

    def post(self, path: str, body: bytes, **kw: Any) -> httpx.Response:
        return httpx.post(self.url + path, content=body, timeout=10.0, **kw)

    def ready(self, list_id: str = "list-aaaaaaaaaaaaaaaa") -> bytes:
        """Publish an all-valid list, link the user, and return a fresh credential on that list."""
        self.publish(list_id)
        self.link_user()
        return self.credential(list_id)

    def provisions(self) -> list[dict[str, Any]]:
        assert self.holder is not None
        return [r for r in self.holder.records.all() if r["kind"] == "provision"]


@pytest.fixture
def world(tmp_path: Path, backend: str | None) -> Iterator[World]:
    w = World(tmp=tmp_path, clock=Clock(), registry_port=free_port(), dsn=backend)
    w.start_registry()
    w.start_verifier()
    try:
        yield w
    finally:
        w.stop()


def assert_refused(response: httpx.Response, code: str, status: int = 403) -> None:
    """A refusal with ``code``, and nothing but the error body came back."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code, body
    assert set(body) <= {"error", "detail", "field"}
