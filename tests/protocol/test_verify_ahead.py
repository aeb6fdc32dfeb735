"""Signatures checked ahead on another thread (``keys.verify_ahead``, ``cose.signature_ahead``).

What a thread checked ahead spares exactly one libsodium call: byte for byte the same key,
message and signature, in the same context (task or thread) only; every other signature is
checked, and every check before the signature's still runs in its order.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import cbor, cose
from protocol.errors import BadSignature, WrongType
from protocol.keys import Verified, verified_ahead, verify_ahead, verify_with_key
from tests.support.samples import KEYS

MESSAGE = b"what the holder releases"


def _signed() -> tuple[bytes, bytes]:
    key = KEYS.user
    return key.public_key, key.sign(MESSAGE)


def test_verify_ahead_vouches_only_for_a_valid_signature() -> None:
    public, signature = _signed()
    assert isinstance(verify_ahead(public, MESSAGE, signature), Verified)
    assert verify_ahead(public, MESSAGE + b"!", signature) is None
    assert verify_ahead(public, MESSAGE, bytes(64)) is None
    assert verify_ahead(public[:31], MESSAGE, signature) is None  # not a key: no exception, just None
    assert verify_ahead(KEYS.stranger.public_key, MESSAGE, signature) is None
    assert "Verified(...)" == repr(verify_ahead(public, MESSAGE, signature))


def test_inside_verified_ahead_exactly_that_signature_is_spared() -> None:
    public, signature = _signed()
    bad = bytes(64)
    # a proof made by hand for an invalid signature shows what is spared - and what is not
    vouched = Verified((public, MESSAGE, bad))
    with verified_ahead(vouched):
        verify_with_key(public, MESSAGE, bad)  # spared: this is what the thread vouched for
        with pytest.raises(BadSignature):
            verify_with_key(public, MESSAGE + b"!", bad)
        with pytest.raises(BadSignature):
            verify_with_key(public, MESSAGE, b"\1" * 64)
        with pytest.raises(BadSignature):
            verify_with_key(KEYS.stranger.public_key, MESSAGE, bad)
        verify_with_key(public, MESSAGE, signature)  # others are checked as ever
    with pytest.raises(BadSignature):
        verify_with_key(public, MESSAGE, bad)  # and it ends with the block
    with verified_ahead(None):
        with pytest.raises(BadSignature):
            verify_with_key(public, MESSAGE, bad)


def test_the_proof_stays_in_its_own_task_and_thread() -> None:
    public, _signature = _signed()
    bad = bytes(64)
    vouched = Verified((public, MESSAGE, bad))
    seen: dict[str, bool] = {}

    def refused() -> bool:
        try:
            verify_with_key(public, MESSAGE, bad)
        except BadSignature:
            return True
        return False

    async def holder_of_proof(inside: asyncio.Event, done: asyncio.Event) -> None:
        with verified_ahead(vouched):
            seen["own task"] = not refused()
            inside.set()
            await done.wait()

    async def other(inside: asyncio.Event, done: asyncio.Event) -> None:
        await inside.wait()
        seen["other task"] = refused()
        done.set()

    async def main() -> None:
        inside, done = asyncio.Event(), asyncio.Event()
        await asyncio.gather(holder_of_proof(inside, done), other(inside, done))

    asyncio.run(main())
    with verified_ahead(vouched):
        thread = threading.Thread(target=lambda: seen.__setitem__("other thread", refused()))
        thread.start()
        thread.join()
    assert seen == {"own task": True, "other task": True, "other thread": True}


def test_signature_ahead_runs_the_checks_before_the_signature() -> None:
    sign1 = cose.sign1(cbor.encode({"k": 1}), KEYS.user, "application/test+cose")
    proof = cose.signature_ahead(sign1, "application/test+cose")
    assert isinstance(proof, Verified)
    with verified_ahead(proof):
        assert cose.verify1(sign1, "application/test+cose").claims == {"k": 1}
        with pytest.raises(WrongType):  # the typ is still checked, before the signature
            cose.verify1(sign1, "application/other+cose")
    assert cose.signature_ahead(sign1, "application/other+cose") is None
    tampered = bytearray(sign1)
    tampered[-1] ^= 1
    assert cose.signature_ahead(bytes(tampered), "application/test+cose") is None
    assert cose.signature_ahead(b"", "application/test+cose") is None
    assert cose.signature_ahead(sign1, "application/test+cose", max_size=10) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_signature_ahead_never_raises(data: bytes) -> None:
    assert cose.signature_ahead(data, "application/test+cose") is None


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=1, max_value=255))
def test_a_flipped_byte_is_never_vouched_for(position: int, flip: int) -> None:
    sign1 = cose.sign1(cbor.encode({"k": "v" * 40}), KEYS.user, "application/test+cose")
    changed = bytearray(sign1)
    changed[position % len(changed)] ^= flip
    assert cose.signature_ahead(bytes(changed), "application/test+cose") is None
