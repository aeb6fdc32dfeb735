"""Using a consent: presentations accepted by a REAL verifier service, refused after revocation.

Everything runs for real on loopback ports: the registry, the bank's verifier service and the
Kakeibo demo app.  The user's side (linking, consenting, revoking) is done with protocol objects
signed by the user's and the status list's keys, exactly as a wallet would.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from common.registry_client import RegistryClient
from issuer import fetch_data
from issuer.app import create_app as issuer_app
from issuer.demo import SAKURA_BANK
from protocol import (
    ItemsNotGranted,
    LinkProof,
    PurposeNotGranted,
    Revoked,
    Status,
    StatusList,
    StatusListToken,
    Unavailable,
)
from registry.app import create_app as registry_app
from tests.support.samples import KEYS
from tests.support.servers import serve
from verifier.app import create_app as verifier_app
from verifier.sources import demo_source

from .conftest import grant, http, open_request, post_credential

INDEX = 4242


@dataclass
class World:
    registry: str
    bank: str
    kakeibo: str
    list_id: str
    list_uri: str
    iat: int
    kakeibo_home: Path

    def publish(self, status: Status = Status.VALID, index: int = INDEX) -> None:
        """The wallet signing and publishing its status list (a newer one each time)."""
        lst = StatusList()
        lst.set(index, status)
        self.iat += 1
        token = StatusListToken.create(uri=self.list_uri, status_list=lst, signer=KEYS.status.did,
                                       now=self.iat).sign(KEYS.status)
        with RegistryClient(self.registry) as client:
            client.publish(self.list_id, token)

    def consent(self, account: str, items: tuple[str, ...] = ("transactions", "balance")) -> str:
        request = open_request(self.kakeibo, account)
        response = post_credential(self.kakeibo, grant(request, items=items, uri=self.list_uri, index=INDEX))
        assert response.status_code == 200, response.text
        return str(response.json()["consent_id"])

    def fetch(self, **body: Any) -> tuple[int, dict[str, Any]]:
        response = http.post(f"{self.kakeibo}/api/fetch", json=body)
        return response.status_code, response.json()

    def state(self, account: str) -> str:
        return str(http.get(f"{self.kakeibo}/api/consents", params={"account": account}).json()["consents"][0]["state"])

    def wait_state(self, account: str, state: str, timeout: float = 10.0) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.state(account) == state:
                return time.monotonic() - start
            time.sleep(0.02)
        raise AssertionError(f"state stayed {self.state(account)!r}, not {state!r}")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with serve(registry_app(tmp_path / "registry", heartbeat=1.0)) as registry:
        bank_app = verifier_app(home=tmp_path / "bank", registry_url=registry, source=demo_source())
        with serve(bank_app) as bank:
            holder = bank_app.state.holder
            code = holder.new_link_code("C-1001")
            proof = LinkProof(user=KEYS.user.did, holder=holder.did, code=code,
                              issued_at=int(time.time())).sign(KEYS.user)
            linked = http.post(f"{bank}/v1/links", content=proof,
                               headers={"Content-Type": "application/vnd.copyme.link+cwt"})
            assert linked.status_code == 200, linked.text
            list_id = secrets.token_hex(16)
            home = tmp_path / "kakeibo"
            with serve(issuer_app(home, bank, registries=[registry], demo=True)) as kakeibo:
                w = World(registry, bank, kakeibo, list_id, f"{registry}/v1/lists/{list_id}",
                          int(time.time()), home)
                w.publish(Status.VALID)
                yield w


def test_presentation_accepted_then_refused_after_revocation(world: World) -> None:
    consent_id = world.consent("alice")
    status, body = world.fetch(account="alice")
    assert status == 200, body
    assert body["consent_id"] == consent_id
    assert set(body["items"]) == {"transactions", "balance"}
    assert body["items"]["balance"] == 482_350
    assert body["record"]["obtained_by"] == "consent" and body["record"]["person"] == KEYS.user.did
    # the APPI Art. 30 particulars: name as the bank declares it, the rest from Kakeibo's configuration
    record = body["record"]
    assert (record["consent_obtained"], record["consent_id"]) == (True, consent_id)
    assert (record["provider"], record["provider_name"]) == (http.get(f"{world.bank}/v1/holder").json()["did"], "さくら銀行")
    assert record["provider_address"] == SAKURA_BANK["address"]
    assert record["provider_representative"] == SAKURA_BANK["representative"]
    assert record["acquisition"] == SAKURA_BANK["acquisition"]
    assert set(record["items"]) == {"transactions", "balance"}
    page = http.get(f"{world.kakeibo}/consents", params={"account": "alice", "lang": "en"}).text
    assert "How the provider acquired it" in page and SAKURA_BANK["address"] in page
    assert SAKURA_BANK["acquisition"] in page and "consent obtained" in page
    world.wait_state("alice", "valid")

    world.publish(Status.REVOKED)
    seen_after = world.wait_state("alice", "revoked")
    assert seen_after < 5.0
    status, body = world.fetch(account="alice")
    assert (status, body["error"]) == (403, "revoked")
    # only the successful receipt is a recipient record
    records = http.get(f"{world.kakeibo}/api/records", params={"account": "alice"}).json()["records"]
    assert [r["consent_id"] for r in records] == [consent_id]


def test_suspend_and_resume(world: World) -> None:
    world.consent("alice")
    world.publish(Status.SUSPENDED)
    world.wait_state("alice", "suspended")
    assert world.fetch(account="alice")[1]["error"] == "suspended"
    world.publish(Status.VALID)
    world.wait_state("alice", "valid")
    status, body = world.fetch(account="alice", items=["transactions"])
    assert status == 200 and set(body["items"]) == {"transactions"}


def test_holder_refusals_come_back_as_typed_errors(world: World) -> None:
    world.consent("alice", items=("transactions",))
    consent = http.get(f"{world.kakeibo}/api/consents", params={"account": "alice"}).json()["consents"][0]
    from issuer.service import Issuer  # noqa: F401  (the SDK call below is what a company's code does)
    from issuer.store import IssuerStore

    store = IssuerStore(world.kakeibo_home / "issuer.db")
    raw = store.consent(consent["consent_id"]).raw
    store.close()
    key = (world.kakeibo_home / "issuer.key").read_text().strip()
    from protocol import KeyPair

    company = KeyPair.from_seed(bytes.fromhex(key))
    with pytest.raises(ItemsNotGranted):
        fetch_data(company, raw, holder_url=f"{world.bank}/v1/data", items=["balance"], purpose="dpv:ServiceProvision")
    with pytest.raises(PurposeNotGranted):
        fetch_data(company, raw, holder_url=f"{world.bank}/v1/data", items=["transactions"], purpose="dpv:Marketing")
    # the holder's nonce instead of a fresh id
    data = fetch_data(company, raw, holder_url=f"{world.bank}/v1/data", items=["transactions"],
                      purpose="dpv:ServiceProvision", use_nonce=True)
    assert data.consent_id == consent["consent_id"] and len(data.items["transactions"]) == 5
    # somebody else holding the credential gets nothing
    with pytest.raises(Exception) as info:
        fetch_data(KEYS.stranger, raw, holder_url=f"{world.bank}/v1/data", items=["transactions"],
                   purpose="dpv:ServiceProvision")
    assert getattr(info.value, "code", None) == "not_subject"
    with pytest.raises(Unavailable):
        fetch_data(company, raw, holder_url="http://127.0.0.1:9/v1/data", items=["transactions"],
                   purpose="dpv:ServiceProvision")
    world.publish(Status.REVOKED)
    world.wait_state("alice", "revoked")
    with pytest.raises(Revoked):
        fetch_data(company, raw, holder_url=f"{world.bank}/v1/data", items=["transactions"],
                   purpose="dpv:ServiceProvision")


def test_fetch_page_shows_data_then_the_refusal_in_plain_words(world: World) -> None:
    world.consent("alice")
    page = http.post(f"{world.kakeibo}/fetch", params={"account": "alice", "lang": "en"})
    assert page.status_code == 200
    assert "Your bank sent your data." in page.text and "給与 サクラ商事" in page.text
    world.publish(Status.REVOKED)
    world.wait_state("alice", "revoked")
    page = http.post(f"{world.kakeibo}/fetch", params={"account": "alice", "lang": "ja"})
    assert "あなたがこの同意を撤回したため" in page.text and ">revoked<" in page.text
    assert "撤回済み" in http.get(f"{world.kakeibo}/consents", params={"account": "alice"}).text


def test_fetch_without_a_consent_or_with_bad_input(world: World) -> None:
    assert world.fetch(account="nobody")[1]["error"] == "not_found"
    for body in ({}, {"account": 5}, {"account": "a b"}, {"account": "alice", "items": "transactions"}):
        status, answer = world.fetch(**body)
        assert (status, answer["error"]) == (422, "invalid")
    response = http.post(f"{world.kakeibo}/api/fetch", content=b"{not json")
    assert (response.status_code, response.json()["error"]) == (400, "malformed")
    response = http.post(f"{world.kakeibo}/api/fetch", content=b"x" * 20_000)
    assert (response.status_code, response.json()["error"]) == (413, "too_large")
