"""Pulling signed usage receipts: from a real holder, and from dishonest or broken ones.

The real bank is ``verifier.app`` on a loopback port; the dishonest holders are tiny FastAPI
apps that answer ``POST /v1/receipts`` with receipts crafted (and really signed) per case.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from hypothesis import given, settings
from hypothesis import strategies as st

from common.registry_client import RegistryClient
from protocol import CopyMeError, KeyPair, Presentation, ReceiptQuery, UsageReceipt, cid_binary, cid_bytes
from tests.support import samples
from tests.support.servers import ThreadServer
from tests.wallet.conftest import PASSPHRASE, Env
from verifier.app import create_app as verifier_app
from verifier.holder import Holder
from verifier.sources import demo_source
from verifier.store import open_database
from wallet import Wallet
from wallet.pull import parse_answer

KEYS = samples.KEYS


@dataclass
class Bank:
    holder: Holder
    server: ThreadServer

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def bank(env: Env) -> Iterator[Bank]:
    holder = Holder(KEYS.holder, open_database(env.tmp / "bank.db"), RegistryClient(env.registry_url, timeout=2.0),
                    source=demo_source())
    server = ThreadServer(verifier_app(holder, follow_feed=False)).start()
    try:
        yield Bank(holder, server)
    finally:
        server.stop()
        holder.close()


def _linked_consent(env: Env, bank: Bank) -> tuple[str, bytes]:
    env.init()
    consent_id = env.json("receive", str(env.request_file()), "--accept")["consent"]["id"]
    env.json("link", bank.url, "--code", bank.holder.new_link_code("C-1001"))
    out = env.tmp / "cred.cwt"
    env.wallet("show", consent_id, "--out", str(out))
    return consent_id, out.read_bytes()


def _present(credential: bytes, purpose: str = "dpv:ServiceProvision") -> bytes:
    return Presentation.create(presenter=KEYS.requester.did, audience=KEYS.holder.did, credential=credential,
                               items=("transactions",), purpose=purpose).sign(KEYS.requester)


def test_sync_pulls_a_use_and_a_refused_attempt_from_the_bank(env: Env, bank: Bank) -> None:
    consent_id, credential = _linked_consent(env, bank)
    bank.holder.release(_present(credential))
    with pytest.raises(Exception, match="purpose_not_granted"):
        bank.holder.release(_present(credential, "dpv:Marketing"))
    synced = env.json("sync")
    assert synced["receipts"] == [{"holder": KEYS.holder.did, "holder_url": bank.url, "new": 2, "last_seq": 2,
                                   "error": None, "detail": None}]
    held = env.json("receipts", consent_id)
    assert [(r["seq"], r["outcome"], r["reason"]) for r in held] == [(1, "released", None),
                                                                     (2, "refused", "purpose_not_granted")]
    assert held[0]["presenter"] == KEYS.requester.did and held[1]["purpose"] == "dpv:Marketing"
    assert [r["outcome"] for r in env.json("show", consent_id)["receipts"]] == ["released", "refused"]
    text = env.wallet("receipts").stdout
    assert "released" in text and "refused (purpose_not_granted)" in text
    # numbered within the consent, as its page numbers them (not the holder's own sequence)
    assert "(no. 1 under this consent)" in text and "(no. 2 under this consent)" in text and "#" not in text
    # nothing new: a second sync asks again (a fresh query) and adds nothing
    assert env.json("sync")["receipts"][0]["new"] == 0
    bank.holder.release(_present(credential))
    assert env.json("sync")["receipts"][0] == {"holder": KEYS.holder.did, "holder_url": bank.url, "new": 1,
                                               "last_seq": 3, "error": None, "detail": None}
    assert "receipts from" in env.wallet("sync").stdout


def test_sync_without_a_linked_holder_says_so(env: Env) -> None:
    env.init()
    assert env.json("sync") == {"lists": [], "receipts": []}
    assert "no data holder linked" in env.wallet("sync").stdout
    assert env.json("sync", "--no-pull")["receipts"] == []


# ---------------------------------------------------------------------- dishonest and broken holders


@dataclass
class FakeHolder:
    """Answers receipt queries with whatever ``answer`` returns for the checked query."""

    answer: Callable[[ReceiptQuery], Response]
    queries: list[ReceiptQuery] = field(default_factory=list)

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.post("/v1/receipts")
        async def receipts(request: Request) -> Response:
            query = ReceiptQuery.decode(await request.body())
            self.queries.append(query)
            return self.answer(query)

        return api


def _body(*raws: bytes, more: bool = False) -> Response:
    return JSONResponse({"receipts": [base64.urlsafe_b64encode(r).rstrip(b"=").decode() for r in raws],
                         "more": more})


def _receipt(consent_id: str, seq: int, prev: bytes | None, *, signer: KeyPair = KEYS.holder,
             holder: KeyPair = KEYS.holder, purpose: str = "dpv:ServiceProvision") -> bytes:
    receipt = UsageReceipt(holder=holder.did, user=KEYS.user.did, consent=cid_binary(consent_id),
                           presenter=KEYS.requester.did, items=("transactions",), purpose=purpose,
                           outcome="released", issued_at=int(time.time()), seq=seq,
                           prev=None if prev is None else cid_bytes(prev))
    if signer is holder:
        return receipt.sign(signer)
    from protocol import cose

    return cose.sign1(receipt.to_payload(), signer, UsageReceipt.TYP)


@pytest.fixture
def fake(env: Env) -> Iterator[tuple[FakeHolder, str, Wallet]]:
    """A wallet with one consent, linked (as far as it knows) to a holder we control."""
    env.init()
    consent_id = env.json("receive", str(env.request_file()), "--accept")["consent"]["id"]
    holder = FakeHolder(lambda q: _body())
    server = ThreadServer(holder.app()).start()
    wallet = Wallet.open(env.home, PASSPHRASE)
    with wallet.store.transaction() as db:
        db.table("links").insert({"holder": KEYS.holder.did, "holder_url": server.url, "linked_at": 0})
    try:
        yield holder, consent_id, wallet
    finally:
        wallet.close()
        server.stop()


def test_the_query_is_fresh_signed_and_addressed(fake: tuple[FakeHolder, str, Wallet]) -> None:
    holder, _, wallet = fake
    wallet.pull_receipts()
    wallet.pull_receipts()
    one, two = holder.queries
    assert one.user == two.user == wallet.did and one.holder == KEYS.holder.did
    assert one.query_id != two.query_id and 0 < one.expires_at - one.issued_at <= 300 and one.after == 0


def test_a_gap_is_a_warning_and_nothing_after_it_is_merged(env: Env, fake: tuple[FakeHolder, str, Wallet]) -> None:
    holder, consent_id, wallet = fake
    first = _receipt(consent_id, 1, None)
    second = _receipt(consent_id, 2, first)
    third = _receipt(consent_id, 3, second)
    holder.answer = lambda q: _body(first, third)  # receipt 2 withheld
    [result] = wallet.pull_receipts()
    assert (result.new, result.last_seq, result.error) == (1, 1, "chain_gap")
    assert [r.seq for r in wallet.receipts()] == [1]
    assert [w.error for w in wallet.receipt_warnings()] == ["chain_gap"]
    assert env.wallet("sync", ok=False).exit_code == 3
    assert "WARNING: receipts from" in env.wallet("receipts").stderr
    holder.answer = lambda q: _body(*[r for r in (second, third) if UsageReceipt.decode(r).seq > q.after])
    [result] = wallet.pull_receipts()
    assert result.ok and result.new == 2 and wallet.receipt_warnings() == []  # the holder mended it


def test_a_rewritten_receipt_breaks_the_chain(fake: tuple[FakeHolder, str, Wallet]) -> None:
    holder, consent_id, wallet = fake
    first = _receipt(consent_id, 1, None)
    holder.answer = lambda q: _body(first)
    assert wallet.pull_receipts()[0].new == 1
    rewritten = _receipt(consent_id, 1, None, purpose="dpv:Marketing")
    holder.answer = lambda q: _body(_receipt(consent_id, 2, rewritten))
    [result] = wallet.pull_receipts()
    assert result.error == "chain_broken" and result.new == 0
    assert [r.purpose for r in wallet.receipts()] == ["dpv:ServiceProvision"]  # what was held stays


@pytest.mark.parametrize("make, code", [
    (lambda c: _receipt(c, 1, None, signer=KEYS.stranger), "bad_signature"),
    (lambda c: _receipt(c, 1, None, signer=KEYS.stranger, holder=KEYS.stranger), "wrong_audience"),
    (lambda c: b"\xa0", "malformed"),
])
def test_forged_or_foreign_receipts_are_refused(fake: tuple[FakeHolder, str, Wallet],
                                                make: Callable[[str], bytes], code: str) -> None:
    holder, consent_id, wallet = fake
    holder.answer = lambda q: _body(make(consent_id))
    [result] = wallet.pull_receipts()
    assert result.error == code and wallet.receipts() == []


@pytest.mark.parametrize("answer, code", [
    (lambda q: Response(b"not json", media_type="application/json"), "malformed"),
    (lambda q: JSONResponse({"receipts": "x", "more": False}), "malformed"),
    (lambda q: JSONResponse({"error": "not_linked", "detail": "who?"}, status_code=403), "not_linked"),
    (lambda q: Response(b"oops", status_code=500), "unavailable"),
    (lambda q: Response(b"x" * (1024 * 1024 + 10)), "too_large"),
])
def test_broken_answers_get_their_code(fake: tuple[FakeHolder, str, Wallet], answer: Callable[[Any], Response],
                                       code: str) -> None:
    holder, _, wallet = fake
    holder.answer = answer
    [result] = wallet.pull_receipts()
    assert result.error == code
    assert wallet.receipt_warnings()[0].error == code


def test_the_pull_holds_no_lock_while_waiting_and_keeps_its_deadline(fake: tuple[FakeHolder, str, Wallet]) -> None:
    holder, _, wallet = fake

    def slow(q: ReceiptQuery) -> Response:
        time.sleep(3)
        return _body()

    holder.answer = slow
    lock = threading.Lock()
    results: list[Any] = []
    started = time.monotonic()
    worker = threading.Thread(target=lambda: results.append(wallet.pull_receipts(lock=lambda: lock, deadline=1.0)))
    worker.start()
    time.sleep(0.3)
    assert lock.acquire(timeout=0.5)  # a revoke could run now
    lock.release()
    worker.join(10)
    assert results[0][0].error == "unavailable" and time.monotonic() - started < 2.9


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                     max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(st.binary(max_size=512), _JSON.map(lambda v: json.dumps(v).encode()),
                      st.fixed_dictionaries({"receipts": st.lists(st.text(max_size=40), max_size=3),
                                             "more": _JSON}).map(lambda v: json.dumps(v).encode())))
def test_any_answer_body_is_parsed_or_malformed(body: bytes) -> None:
    try:
        raws, more = parse_answer(body)
    except CopyMeError as err:
        assert err.code == "malformed"
    else:
        assert isinstance(more, bool) and all(isinstance(r, bytes) for r in raws)
