"""Fixtures for the wallet: a real registry, a real callback service, signed requests, a temp home.

Everything runs for real on loopback ports: the registry from ``registry.create_app`` (with the
requester and the bank on its trust list), a tiny FastAPI callback that records the consents it
receives, and the wallet CLI through ``copyme.cli.app``.  Argon2id runs at its ``min`` cost.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from typer.testing import CliRunner

from copyme.cli import app as copyme_app
from issuer.app import create_app as issuer_app
from issuer.demo import hoken_config
from protocol import ConsentCredential, KeyPair, cid_of
from registry import create_app as registry_app
from registry.service import Registry
from tests.support import samples
from tests.support.servers import ThreadServer, free_port, serve
from verifier.app import create_app as verifier_app
from verifier.holder import Holder
from verifier.sources import demo_source
from wallet import Wallet

PASSPHRASE = "correct horse battery staple"


@dataclass
class Callback:
    """The data user's callback: records what arrives; ``fail`` makes it refuse."""

    received: list[bytes] = field(default_factory=list)
    declines: list[bytes] = field(default_factory=list)
    fail: bool = False

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.post("/callback")
        async def callback(request: Request) -> Response:
            body = await request.body()
            if self.fail:
                return JSONResponse({"error": "unavailable", "detail": "down for maintenance"}, status_code=503)
            if request.headers.get("content-type") == "application/vnd.copyme.decline+cwt":
                self.declines.append(body)
                return JSONResponse({"declined": cid_of(body)})
            self.received.append(body)
            return JSONResponse({"consent_id": cid_of(body)})

        @api.get("/r/{name}")
        async def request_bytes(name: str) -> Response:
            data = self.requests.get(name)
            if data is None:
                return JSONResponse({"error": "not_found", "detail": "no such request"}, status_code=404)
            return Response(data, media_type="application/vnd.copyme.request+cwt")

        return api

    requests: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Env:
    """One test's world: wallet home, registry, callback, and helpers to run the CLI."""

    tmp: Path
    home: Path
    registry_home: Path
    registry: ThreadServer
    callback: Callback
    callback_server: ThreadServer
    runner: CliRunner

    @property
    def registry_url(self) -> str:
        return self.registry.url

    def run(self, *args: str, ok: bool = True, input: str | None = None) -> Any:
        result = self.runner.invoke(copyme_app, ["wallet", *args], input=input, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, (result.output, result.exit_code)
        return result

    def json(self, *args: str) -> Any:
        result = self.run(*args, "--home", str(self.home), "--json")
        return json.loads(result.stdout)

    def wallet(self, *args: str, ok: bool = True) -> Any:
        return self.run(*args, "--home", str(self.home), ok=ok)

    def init(self) -> Any:
        return self.json("init", "--registry", self.registry_url)

    def request_file(self, name: str = "req", *, key: KeyPair | None = None, now: int | None = None,
                     **changes: Any) -> Path:
        """A signed request (by the sample requester) answering to this env's callback, in a file."""
        raw = self.request_bytes(key=key, now=now, **changes)
        path = self.tmp / f"{name}.cwt"
        path.write_bytes(raw)
        return path

    def request_bytes(self, *, key: KeyPair | None = None, now: int | None = None, **changes: Any) -> bytes:
        issued = int(time.time()) if now is None else now
        changes.setdefault("callback", f"{self.callback_server.url}/callback")
        changes.setdefault("request_id", secrets.token_bytes(16))
        key = key or samples.KEYS.requester
        keys = samples.Keys(samples.KEYS.user, key, samples.KEYS.holder, samples.KEYS.status,
                            samples.KEYS.council, samples.KEYS.stranger)
        return samples.request(keys, issued, **changes).sign(key)

    def stop_registry(self) -> None:
        self.registry.stop()

    def start_registry(self) -> None:
        self.registry = ThreadServer(registry_app(self.registry_home, heartbeat=0.5), self.registry.port).start()

    def credential(self, consent_id: str) -> ConsentCredential:
        out = self.tmp / "cred.cwt"
        self.wallet("show", consent_id, "--out", str(out))
        return ConsentCredential.decode(out.read_bytes())


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.setenv("COPYME_KDF", "min")
    monkeypatch.setenv("COPYME_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("COPYME_LANG", "en")
    monkeypatch.delenv("COPYME_HOME", raising=False)
    registry_home = tmp_path / "registry"
    reg = Registry.open(registry_home)
    reg.trust_add(samples.KEYS.requester.did, "かけいぼ株式会社", "Kakeibo Inc.", "data_user")
    reg.trust_add(samples.KEYS.holder.did, "さくら銀行", "Sakura Bank", "data_holder")
    reg.close()
    registry = ThreadServer(registry_app(registry_home, heartbeat=0.5)).start()
    callback = Callback()
    callback_server = ThreadServer(callback.app()).start()
    world = Env(tmp_path, tmp_path / "wallet", registry_home, registry, callback, callback_server, CliRunner())
    try:
        yield world
    finally:
        world.registry.stop()
        callback_server.stop()


# ---------------------------------------------------------------- a bank and two data users

parties_http = httpx.Client(timeout=10)


@dataclass
class Parties:
    tmp: Path
    registry: str
    bank: str
    holder: Holder
    kakeibo: str
    hoken: str

    def wallet(self, name: str = "wallet") -> Wallet:
        return Wallet.init(self.tmp / name, PASSPHRASE, registry=self.registry, kdf="min")

    def consent(self, wallet: Wallet, issuer: str, account: str, **kw: Any) -> ConsentCredential:
        button = parties_http.get(f"{issuer}/api/button", params={"account": account}).json()
        view = wallet.accept(wallet.review(button["request_url"]), **kw)
        return ConsentCredential.decode(wallet.detail(view.id).credential)

    def fetch(self, issuer: str, account: str) -> httpx.Response:
        return parties_http.post(f"{issuer}/api/fetch", json={"account": account})


@pytest.fixture
def parties(tmp_path: Path) -> Iterator[Parties]:
    with serve(registry_app(tmp_path / "registry", heartbeat=1.0)) as registry:
        bank_app = verifier_app(home=tmp_path / "bank", registry_url=registry, source=demo_source())
        with serve(bank_app) as bank, \
                serve(issuer_app(tmp_path / "kakeibo", bank, demo=True)) as kakeibo, \
                serve(issuer_app(tmp_path / "hoken", bank, config=hoken_config(bank))) as hoken:
            yield Parties(tmp_path, registry, bank, bank_app.state.holder, kakeibo, hoken)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Registry, bank (verifier) and Kakeibo (issuer) for real on loopback ports, and a wallet linked
    to bank customer C-1002 (for the rights, re-consent and renewal tests)."""
    with serve(registry_app(tmp_path / "registry", heartbeat=1.0)) as registry:
        bank_app = verifier_app(home=tmp_path / "bank", registry_url=registry, source=demo_source())
        with serve(bank_app) as bank:
            port = free_port()
            kakeibo_app = issuer_app(tmp_path / "kakeibo", bank, demo=True)
            kakeibo = ThreadServer(kakeibo_app, port).start()
            w = Wallet.init(tmp_path / "wallet", PASSPHRASE, registry=registry, kdf="min")
            try:
                w.link(bank, bank_app.state.holder.new_link_code("C-1002"))
                yield {"wallet": w, "kakeibo": kakeibo, "kakeibo_app": kakeibo_app, "kakeibo_url": kakeibo.url,
                       "home": tmp_path, "bank": bank}
            finally:
                w.close()
                kakeibo.stop()


http = httpx.Client(timeout=10)


def consent_at_kakeibo(world: dict[str, Any], account: str = "ken") -> str:
    """A consent given to the real Kakeibo app for ``account``, and one fetch under it (data copied)."""
    w, url = world["wallet"], world["kakeibo_url"]
    button = http.get(f"{url}/api/button", params={"account": account}).json()
    review = w.review(button["deep_link"])
    consent = w.accept(review, items=["transactions", "balance"])
    fetched = http.post(f"{url}/api/fetch", json={"account": account})
    assert fetched.status_code == 200, fetched.text
    return str(consent.id)
