"""The collusion test: two data users serving the same person hold no common identifier of them.

A registry, a bank (verifier) and two data users - Kakeibo (a budget app asking for transactions)
and Hoken (an insurer asking for name, birthdate and address) - run on loopback; one wallet links
at the bank and consents to both.  Every byte each data user *receives* is recorded: every HTTP
exchange with its service (requests, headers, bodies, answers: the wallet's fetches and its
callbacks with the credentials), every exchange with the bank (its presentations, nonces, the
released data; through a recording front of its own), and the status list served at each of its
credentials' URIs; and every byte it *stores* (every file of its home folder, every SQLite cell,
with signed objects decoded down to their claims).  From each side's bytes the test extracts every
identifier-like value (DIDs, URLs, content ids, long hex/base64url tokens, binary values of 8
bytes or more, and each 32-byte value also as the did:key of that raw Ed25519 key) and asserts that the two sides share none except public ones: the bank's DID and
the registry's address.  The registry's database is dumped and must hold no DID of the user.

Not compared, on purpose: the registry's global change feed (``GET /v1/events``) is the same
public stream for every subscriber; what its timing can reveal is in spec section 9.1.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from issuer.app import create_app as issuer_app
from issuer.demo import hoken_config, kakeibo_config
from protocol import cbor, did_from_public_key, public_key_from_did
from registry.app import create_app as registry_app
from tests.support.servers import serve
from verifier.app import create_app as verifier_app
from verifier.sources import demo_source
from wallet import Wallet

PASSPHRASE = "correct horse battery staple"
http = httpx.Client(timeout=10)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Recorder:
    """ASGI middleware keeping every byte of every HTTP exchange: path, query, headers, bodies."""

    def __init__(self, app: Any, log: list[bytes]) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = [scope["path"].encode(), scope.get("query_string", b"")]
        chunks += [name + b": " + value for name, value in scope["headers"]]

        async def recording_receive() -> Message:
            message = await receive()
            chunks.append(message.get("body", b""))
            return message

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                chunks.extend(name + b": " + value for name, value in message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, recording_receive, recording_send)
        finally:
            self.log.extend(chunks)


def bank_front(bank: str) -> Any:
    """A plain reverse proxy to the bank, so each data user's exchanges with it can be recorded."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode(): v.decode() for k, v in scope["headers"] if k.lower() in (b"content-type", b"accept")}
        query = scope.get("query_string", b"").decode()
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.request(scope["method"], bank + scope["path"] + (f"?{query}" if query else ""),
                                          content=body, headers=headers)
        await send({"type": "http.response.start", "status": answer.status_code,
                    "headers": [(b"content-type", answer.headers.get("content-type", "application/json").encode())]})
        await send({"type": "http.response.body", "body": answer.content})

    return app


# ------------------------------------------------------------------ identifiers in bytes

_DID = re.compile(rb"did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{44}")  # Ed25519: always 48 characters after the colon
_URL = re.compile(rb"https?://[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+")
_CID = re.compile(rb"b[a-z2-7]{58}")
_HEX = re.compile(rb"\b[0-9a-f]{32,}\b")
_TOKEN = re.compile(rb"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{22,}(?![A-Za-z0-9_-])")


def _leaves(value: Any, out: set[str], depth: int = 0) -> None:
    if depth > 12:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            _leaves(k, out, depth + 1)
            _leaves(v, out, depth + 1)
    elif isinstance(value, list | tuple):
        for v in value:
            _leaves(v, out, depth + 1)
    elif hasattr(value, "tag") and hasattr(value, "value"):
        _leaves(value.value, out, depth + 1)
    elif isinstance(value, bytes):
        if len(value) >= 8:
            out.add("hex:" + value.hex())
        if len(value) == 32:  # a raw Ed25519 key on the wire (kid, a consent's keys) is its did:key
            out.add(did_from_public_key(value))
        _structured(value, out, depth + 1)
    elif isinstance(value, str) and len(value) >= 8:
        out.add(value)
        _structured(value.encode(), out, depth + 1)


def _structured(data: bytes, out: set[str], depth: int = 0) -> None:
    """Decode ``data`` as CBOR (signed objects: down to their claims) or JSON, and take its leaves."""
    if not data or depth > 12:
        return
    try:
        _leaves(cbor.decode(data, tags=(18,)), out, depth + 1)
        return
    except Exception:
        pass
    try:
        _leaves(json.loads(data), out, depth + 1)
    except Exception:
        pass


def identifiers(blobs: list[bytes]) -> set[str]:
    """Every identifier-like value in ``blobs``: found in the raw bytes, and inside decoded objects."""
    found: set[str] = set()
    for blob in blobs:
        for pattern in (_DID, _URL, _CID, _HEX, _TOKEN):
            found.update(text for m in pattern.findall(blob)
                         if _looks_like_an_id(text := m.decode("ascii", "replace").rstrip(".,;'\")")))
        leaves: set[str] = set()
        _structured(blob, leaves)
        found.update(v for v in leaves if v.startswith("hex:") or _looks_like_an_id(v))
    return found


def _looks_like_an_id(text: str) -> bool:
    raw = text.encode()
    return any(p.fullmatch(raw) for p in (_DID, _URL, _CID, _HEX)) or bool(
        _TOKEN.fullmatch(raw) and re.search(rb"[0-9]", raw))


def stored_bytes(home: Path) -> list[bytes]:
    """Every file under ``home``, and every cell of every table of its SQLite databases (but the
    record of applied schema steps).

    A database's pages (and its WAL) are read cell by cell through SQLite rather than scanned raw,
    where values of neighbouring cells run into each other.
    """
    blobs: list[bytes] = []
    for path in sorted(home.rglob("*")):
        if not path.is_file():
            continue
        if not path.name.endswith((".db", ".db-wal", ".db-shm", "-journal")):
            blobs.append(path.read_bytes())
        if path.suffix in (".db", ".sqlite", ".sqlite3"):
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                # schema_migrations names the schema steps, the same in every installation: not data
                for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                             "AND name != 'schema_migrations'").fetchall():
                    for row in conn.execute(f'SELECT * FROM "{table}"').fetchall():
                        blobs.extend(v if isinstance(v, bytes) else str(v).encode() for v in row if v is not None)
            finally:
                conn.close()
    return blobs


# ------------------------------------------------------------------ the world


@dataclass
class DataUser:
    name: str
    url: str
    home: Path
    log: list[bytes]

    def received_and_stored(self) -> list[bytes]:
        return [*self.log, *stored_bytes(self.home)]


@dataclass
class World:
    tmp: Path
    registry: str
    bank: str
    holder: Any
    kakeibo: DataUser
    hoken: DataUser


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with serve(registry_app(tmp_path / "registry", heartbeat=1.0)) as registry:
        bank_app = verifier_app(home=tmp_path / "bank", registry_url=registry, source=demo_source())
        with serve(bank_app) as bank:
            k_log: list[bytes] = []
            h_log: list[bytes] = []
            with serve(Recorder(bank_front(bank), k_log)) as k_bank, \
                    serve(Recorder(bank_front(bank), h_log)) as h_bank, \
                    serve(Recorder(issuer_app(tmp_path / "kakeibo", k_bank, config=kakeibo_config(k_bank)),
                                   k_log)) as kakeibo, \
                    serve(Recorder(issuer_app(tmp_path / "hoken", h_bank, config=hoken_config(h_bank)),
                                   h_log)) as hoken:
                yield World(tmp_path, registry, bank, bank_app.state.holder,
                            DataUser("kakeibo", kakeibo, tmp_path / "kakeibo", k_log),
                            DataUser("hoken", hoken, tmp_path / "hoken", h_log))


def _consent(wallet: Wallet, user: DataUser, account: str, items: list[str]) -> str:
    button = http.get(f"{user.url}/api/button", params={"account": account}).json()
    return wallet.accept(wallet.review(button["request_url"]), items=items).id


def _status_lists(user: DataUser, account: str) -> list[bytes]:
    """What the data user receives from the registry: the list at each of its credentials' URIs."""
    blobs = []
    for consent in http.get(f"{user.url}/api/consents", params={"account": account}).json()["consents"]:
        answer = http.get(consent["status"]["uri"])
        blobs.append(answer.content)
        blobs.extend(f"{k}: {v}".encode() for k, v in answer.headers.items())
    return blobs


def test_two_data_users_share_no_identifier_of_the_user(world: World) -> None:
    with Wallet.init(world.tmp / "wallet", PASSPHRASE, registry=world.registry, kdf="min") as wallet:
        linked = wallet.link(world.bank, world.holder.new_link_code("C-1002"))
        k1 = _consent(wallet, world.kakeibo, "ken", ["transactions", "balance"])
        h1 = _consent(wallet, world.hoken, "ken-h", ["name", "birthdate", "address"])
        k2 = _consent(wallet, world.kakeibo, "ken-2", ["transactions"])
        wallet.suspend(k2)
        user_dids = {wallet.did, linked["did"], *(r.did for r in wallet.relationships.all())}
        rel = {r.requester: r.did for r in wallet.relationships.all()}
        list_uris = {row["uri"] for row in wallet.store.rows("SELECT uri FROM lists")}
        list_keys = {row["key_did"] for row in wallet.store.rows("SELECT key_did FROM lists")}
        consent_ids = {k1, h1, k2}
        wallet_did = wallet.did
    for user, account in ((world.kakeibo, "ken"), (world.kakeibo, "ken-2"), (world.hoken, "ken-h")):
        answer = http.post(f"{user.url}/api/fetch", json={"account": account})
        assert answer.status_code == (403 if account == "ken-2" else 200), answer.text
        user.log.extend(_status_lists(user, account))

    k_ids = identifiers(world.kakeibo.received_and_stored())
    h_ids = identifiers(world.hoken.received_and_stored())
    # the test sees what it should: each side holds its own relationship DID, list and consents
    assert rel[_issuer_did(world.kakeibo)] in k_ids and rel[_issuer_did(world.hoken)] in h_ids
    assert {k1, k2} <= k_ids and h1 in h_ids
    assert len(list_uris & k_ids) == 1 and len(list_uris & h_ids) == 1

    # the bank's DID, also as the raw public key it encodes (a consent's audience and the bank's kid)
    public = {world.holder.did, world.holder.did.removeprefix("did:key:"), world.registry,
              public_key_from_did(world.holder.did).hex()}
    # a public value read out of raw bytes may carry a neighbouring byte or two (CBOR heads)
    shared = {v for v in k_ids & h_ids if not any(p in v for p in public)}
    assert shared == set(), f"identifiers both data users hold: {sorted(shared)}"
    # and in particular none of the user's
    for ids, other in ((k_ids, h_ids), (h_ids, k_ids)):
        assert not (ids & other & (user_dids | list_uris | list_keys | consent_ids))
    assert wallet_did not in k_ids | h_ids and linked["did"] not in k_ids | h_ids  # never sent to a data user
    assert len(set(rel.values())) == 2


def test_the_registry_database_holds_no_user_did(world: World) -> None:
    with Wallet.init(world.tmp / "wallet", PASSPHRASE, registry=world.registry, kdf="min") as wallet:
        linked = wallet.link(world.bank, world.holder.new_link_code("C-1001"))
        k1 = _consent(wallet, world.kakeibo, "hanako", ["transactions"])
        _consent(wallet, world.hoken, "hanako-h", ["name", "birthdate"])
        wallet.revoke(k1)
        wallet.sync()
        user_dids = {wallet.did, linked["did"], *(r.did for r in wallet.relationships.all())}
        list_keys = {row["key_did"] for row in wallet.store.rows("SELECT key_did FROM lists")}
    dump = stored_bytes(world.tmp / "registry")
    assert dump, "the registry stored nothing?"
    dids = {m.decode() for blob in dump for m in _DID.findall(blob)}
    assert not dids & user_dids
    organisations = {world.holder.did}  # the trust list may name organisations, never users
    assert dids <= list_keys | organisations | _trust_list_dids(world), sorted(dids - list_keys)


def _issuer_did(user: DataUser) -> str:
    from issuer.service import load_or_create_key

    return load_or_create_key(user.home).did


def _trust_list_dids(world: World) -> set[str]:
    answer = http.get(f"{world.registry}/v1/trust-list")
    if answer.status_code != 200:
        return set()
    return {m.decode() for m in _DID.findall(answer.content)}


def test_the_extractor_finds_identifiers_inside_signed_objects() -> None:
    from tests.support import samples

    credential = samples.credential().sign(samples.KEYS.user)
    found = identifiers([credential])
    assert samples.KEYS.user.did in found and samples.LIST_URI in found
    assert samples.KEYS.status.did in found and "hex:" + samples.credential().credential_id.hex() in found
