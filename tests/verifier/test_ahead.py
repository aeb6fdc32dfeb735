"""The presentation's signature checked on a second core (``verifier.ahead.SignatureThread``).

The gate on an event loop (SQLite, in-memory source) hands each batch of presentations to the
signature thread and verifies the rest in order meanwhile.  Every answer and every record must
be what the holder gives with the thread stopped: releases, each refusal with its own reason,
the thread failing, requests cancelled while they wait.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

import httpx
import pytest

from protocol import Presentation
from protocol.keys import Verified
from tests.support import samples
from verifier import ahead
from verifier.ahead import SignatureThread
from verifier.verify import MAX_PRESENTATION_SIZE

from .conftest import KEYS, World, assert_refused

sqlite_only = pytest.mark.parametrize("backend", [None])  # the loop path is SQLite's; PostgreSQL uses threads


def _tampered(world: World, credential: bytes) -> dict[str, bytes]:
    """One presentation per kind of damage the signature check or a check before it refuses."""
    good = world.present(credential)
    flipped = bytearray(good)
    flipped[-1] ^= 1  # the signature's last byte
    payload = bytearray(good)
    payload[len(good) // 2] ^= 1  # somewhere in the signed payload
    return {"bad_signature": bytes(flipped), "payload": bytes(payload), "truncated": good[:-10],
            "garbage": secrets.token_bytes(200), "wrong_key": world.present(credential, presenter=KEYS.stranger)}


def _answers(world: World, bodies: dict[str, bytes]) -> dict[str, tuple[int, bytes]]:
    out = {}
    for name, body in bodies.items():
        response = world.post("/v1/data", body)
        out[name] = (response.status_code, response.content)
    return out


@sqlite_only
def test_releases_are_checked_on_the_thread_in_batches(world: World) -> None:
    credential = world.ready()
    assert world.holder is not None
    signatures = world.holder.signatures
    signatures.enabled = True  # whatever this machine's cores: what is checked here is the path

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=world.url, timeout=10) as client:
            return await asyncio.gather(*(client.post("/v1/data", content=world.present(credential))
                                          for _ in range(24)))

    answers = asyncio.run(burst())
    assert [a.status_code for a in answers] == [200] * 24
    assert signatures.checked == 24
    assert 1 <= signatures.batches <= 24
    assert len(world.provisions()) == 24
    assert world.holder.records.verify_chain() == 24


@sqlite_only
def test_refusals_keep_their_reasons_with_and_without_the_thread(world: World) -> None:
    credential = world.ready()
    assert world.holder is not None
    world.holder.signatures.enabled = True
    with_thread = _answers(world, _tampered(world, credential))
    world.holder.signatures.close()  # from now on every signature is checked on the loop only
    without = _answers(world, _tampered(world, credential))
    codes = {name: (status, httpx.Response(status, content=body).json()["error"])
             for name, (status, body) in with_thread.items()}
    assert codes == {name: (status, httpx.Response(status, content=body).json()["error"])
                     for name, (status, body) in without.items()}
    assert codes["bad_signature"] == (403, "bad_signature")
    assert codes["payload"][0] in (400, 403)
    assert codes["wrong_key"] == (403, "not_subject")  # validly signed, by someone else
    assert world.post("/v1/data", world.present(credential)).status_code == 200  # released, checked on the loop
    refusals = [r["reason"] for r in world.holder.records.all() if r["kind"] == "refusal"]
    assert len(refusals) == 10


@sqlite_only
def test_a_failing_thread_falls_back_to_the_loop(world: World, monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    credential = world.ready()
    assert world.holder is not None
    world.holder.signatures.enabled = True

    def broken(data: bytes, typ: str, max_size: int) -> Verified | None:
        raise MemoryError("out of memory on the signature thread")

    monkeypatch.setattr(ahead, "signature_ahead", broken)
    with caplog.at_level(logging.ERROR, logger="copyme.verifier"):
        assert world.post("/v1/data", world.present(credential)).status_code == 200
        flipped = bytearray(world.present(credential))
        flipped[-1] ^= 1
        assert_refused(world.post("/v1/data", bytes(flipped)), "bad_signature")
    assert "signature thread: MemoryError; checking on the event loop instead" in caplog.text
    assert "Traceback" not in caplog.text


def test_the_thread_vouches_only_for_what_it_checked() -> None:
    credential = samples.credential().sign(KEYS.user)
    presentation = Presentation(presenter=KEYS.requester.did, audience=KEYS.holder.did, credential=credential,
                                items=("transactions",), purpose="dpv:ServiceProvision", issued_at=samples.NOW,
                                presentation_id=secrets.token_bytes(16)).sign(KEYS.requester)
    other = Presentation(presenter=KEYS.stranger.did, audience=KEYS.holder.did, credential=credential,
                         items=("transactions",), purpose="dpv:ServiceProvision", issued_at=samples.NOW,
                         presentation_id=secrets.token_bytes(16)).sign(KEYS.stranger)
    signatures = SignatureThread(Presentation.TYP, max_size=MAX_PRESENTATION_SIZE, cores=2)

    async def check() -> list[Verified | None]:
        return list(await asyncio.gather(signatures.check(presentation), signatures.check(other),
                                          signatures.check(b"\xa0"), signatures.check(b"x" * 40000)))

    try:
        first, second, garbage, oversized = asyncio.run(check())
        assert isinstance(first, Verified)
        assert isinstance(second, Verified)  # whoever signed: the presenter check comes later, in order
        assert garbage is None and oversized is None
        assert signatures.batches == 1 and signatures.checked == 4
    finally:
        signatures.close()
    assert asyncio.run(signatures.check(presentation)) is None  # closed: nothing is checked ahead any more
    signatures.close()  # twice is fine


def test_a_cancelled_request_does_not_disturb_the_others() -> None:
    signatures = SignatureThread(Presentation.TYP, max_size=MAX_PRESENTATION_SIZE, cores=2)
    bodies = [samples.credential().sign(KEYS.user) for _ in range(3)]

    async def run() -> list[object]:
        tasks = [asyncio.ensure_future(signatures.check(body)) for body in bodies]
        await asyncio.sleep(0)
        tasks[1].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    try:
        results = asyncio.run(run())
    finally:
        signatures.close()
    assert isinstance(results[1], asyncio.CancelledError)
    assert results[0] is None and results[2] is None  # credentials are not presentations: wrong typ, not vouched


def test_with_one_core_everything_is_checked_on_the_loop() -> None:
    signatures = SignatureThread(Presentation.TYP, max_size=MAX_PRESENTATION_SIZE, cores=1)
    body = samples.presentation().sign(KEYS.requester)
    try:
        assert not signatures.enabled
        assert asyncio.run(signatures.check(body)) is None
        assert signatures.batches == 0  # nothing was handed to a thread
    finally:
        signatures.close()
    assert SignatureThread(Presentation.TYP, max_size=MAX_PRESENTATION_SIZE, cores=2).enabled
