"""The C decoder (``protocol/_cbor.c``) against the pure-Python reference: same value or same refusal.

(And the module's two other helpers against theirs: the COSE_Sign1 envelope split, and base32.)

Each input goes through ``protocol.cbor.decode`` twice, once with the C decoder switched in and
once with the reference, and the two outcomes must be identical: equal values of identical types
(``1`` is not ``True``; map order counts), or the same error code.  Inputs: valid values encoded
deterministically, the same values encoded in every non-deterministic way cbor2 offers, random
bytes, mutations of every signed vector in ``specs/vectors``, and hand-made hostile heads.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import DecodeError, cbor, cid, cose
from tests.support.decoding import mutations, typed

VECTORS = Path(__file__).parents[2] / "specs" / "vectors"
SEEDS = [bytes.fromhex(vector[field]) for path in sorted(VECTORS.glob("*.json"))
         for vector in [json.loads(path.read_text())] if isinstance(vector, dict)
         for field in ("cose_sign1_hex", "payload_cbor_hex", "protected_header_hex") if field in vector]
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TAG_SETS: list[tuple[int, ...]] = [(), (18,)]

pytestmark = pytest.mark.skipif(not cbor.ACCELERATED, reason="the C decoder is not built here "
                                "(tests/protocol/test_cbor.py::test_the_c_decoder_is_built fails instead)")


def _outcome(data: Any, tags: tuple[int, ...], accelerated: bool, max_size: int = cbor.MAX_SIZE) -> Any:
    saved = cbor._accelerated
    cbor._accelerated = saved if accelerated else None
    try:
        return ("value", typed(cbor.decode(data, tags=tags, max_size=max_size)))
    except DecodeError as err:  # TooLarge included; anything else fails the test by propagating
        return ("refused", err.code)
    finally:
        cbor._accelerated = saved


def assert_same(data: Any, tags: tuple[int, ...] = (), max_size: int = cbor.MAX_SIZE) -> Any:
    """Decode ``data`` with both decoders; fail unless they agree.  Returns the common outcome."""
    c_result = _outcome(data, tags, True, max_size)
    reference = _outcome(data, tags, False, max_size)
    assert c_result == reference, f"{bytes(data).hex()} tags={tags}: C {c_result} != reference {reference}"
    return c_result


# ---------------------------------------------------------------- values of the data model


_leaves = st.one_of(
    st.integers(-(2**64), 2**64 - 1),
    st.sampled_from([0, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1,
                     -1, -24, -25, -256, -257, -(2**63), -(2**63) - 1, -(2**64)]),
    st.binary(max_size=40),
    st.text(max_size=20),
    st.booleans(),
    st.none(),
)
_keys = st.one_of(st.integers(-(2**64), 2**64 - 1), st.integers(-300, 300), st.text(max_size=6))
_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(_keys, inner, max_size=5)),
    max_leaves=30,
)


@FUZZ
@given(value=_values, tags=st.sampled_from(TAG_SETS))
def test_deterministic_encodings_decode_alike(value: Any, tags: tuple[int, ...]) -> None:
    try:
        data = cbor.encode(value)
    except DecodeError:  # deeper than the data model allows: the decoders must refuse it alike
        assert_same(cbor2.dumps(value), tags)
        return
    assert assert_same(data, tags)[0] == "value"
    assert cbor.decode(data, tags=tags) == value


@FUZZ
@given(value=_values)
def test_tagged_values_decode_alike(value: Any) -> None:
    data = cbor2.dumps(cbor2.CBORTag(18, value))
    for tags in TAG_SETS:
        assert_same(data, tags)
    assert_same(cbor2.dumps([cbor2.CBORTag(18, value)]), (18,))  # a tag inside, as the reference allows


@FUZZ
@given(value=_values, canonical=st.booleans())
def test_other_encodings_of_the_same_values_decode_alike(value: Any, canonical: bool) -> None:
    # cbor2's own orders (insertion, or RFC 7049 length-first) and its float/int choices
    assert_same(cbor2.dumps(value, canonical=canonical))


# ---------------------------------------------------------------- bytes that are mostly not CBOR


@FUZZ
@given(data=st.binary(max_size=300), tags=st.sampled_from(TAG_SETS))
def test_random_bytes_decode_alike(data: bytes, tags: tuple[int, ...]) -> None:
    assert_same(data, tags)


@st.composite
def _heads(draw: st.DrawFn) -> bytes:
    """A sequence of CBOR heads with arbitrary (often absurd or non-minimal) arguments."""
    out = bytearray()
    for _ in range(draw(st.integers(1, 12))):
        major = draw(st.integers(0, 7))
        info = draw(st.integers(0, 31))
        out.append(major << 5 | info)
        if 24 <= info <= 27:
            width = 1 << (info - 24)
            out += draw(st.sampled_from([
                b"\x00" * width, b"\xff" * width, b"\x7f" + b"\xff" * (width - 1),
                draw(st.binary(min_size=width, max_size=width))]))
        if draw(st.booleans()):
            out += draw(st.binary(max_size=6))
    return bytes(out)


@FUZZ
@given(data=_heads(), tags=st.sampled_from(TAG_SETS))
def test_hostile_heads_decode_alike(data: bytes, tags: tuple[int, ...]) -> None:
    assert_same(data, tags)


@FUZZ
@given(data=mutations(st.sampled_from(SEEDS)), tags=st.sampled_from(TAG_SETS))
def test_mutated_vectors_decode_alike(data: bytes, tags: tuple[int, ...]) -> None:
    assert_same(data, tags)


# ---------------------------------------------------------------- the edges, one by one


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s[:6].hex())
@pytest.mark.parametrize("tags", TAG_SETS, ids=str)
def test_every_vector_decodes_alike(seed: bytes, tags: tuple[int, ...]) -> None:
    assert_same(seed, tags)


def _nested(levels: int, kind: str) -> Any:
    value: Any = "leaf"
    for level in range(levels):
        value = {level: value} if kind == "map" else [value] if kind == "array" else cbor2.CBORTag(18, value)
    return value


def _edges() -> Iterator[tuple[bytes, tuple[int, ...]]]:
    for levels in range(1, 12):
        for kind in ("map", "array", "tag"):
            for tags in TAG_SETS:
                yield cbor2.dumps(_nested(levels, kind)), tags
    big = [b"\x1b\xff\xff\xff\xff\xff\xff\xff\xff", b"\x3b\xff\xff\xff\xff\xff\xff\xff\xff",
           b"\x3b\x7f\xff\xff\xff\xff\xff\xff\xff", b"\x3b\x80\x00\x00\x00\x00\x00\x00\x00"]
    for prefix in (0x5B, 0x7B, 0x9B, 0xBB, 0xDB):  # lengths and tags near 2**64
        for tail in (b"\xff" * 8, b"\x7f" + b"\xff" * 7, b"\x00\x00\x00\x01\x00\x00\x00\x00"):
            big.append(bytes([prefix]) + tail + b"\x00")
    for data in big + [bytes.fromhex(h) for h in (
            "f4", "f5", "f6", "f7", "f8", "f814", "f820", "f93c00", "fa47c35000", "ff", "1c", "3f", "5f41ffff",
            "7f6161ff", "9fff", "bfff", "a16161f4", "a1f4f5", "a1a000", "a18000", "a14000", "a2616101616101",
            "a2616201616101", "a20100010000", "a200", "d2", "d280", "d81280", "c0", "d9ffff00", "62c328",
            "63eda080", "62c0af", "6180", "00ff", "8100ff",
            # floats and simple values whose last argument byte is the head of false, true or null
            "f9f9f5", "f9f4f4", "f9f6f6", "f8f5", "f8f4", "faf5f5f5f5", "fbf6f6f6f6f6f6f6f6", "81f9f9f5",
            "a101f9f9f5")]:
        for tags in TAG_SETS:
            yield data, tags


@pytest.mark.parametrize(("data", "tags"), list(_edges()), ids=lambda v: v.hex()[:24] if isinstance(v, bytes) else str(v))
def test_edges_decode_alike(data: bytes, tags: tuple[int, ...]) -> None:
    assert_same(data, tags)


@pytest.mark.parametrize("wrap", [bytearray, memoryview, lambda b: memoryview(b).cast("B")], ids=["bytearray", "memoryview", "cast"])
def test_other_byte_types_decode_alike(wrap: Callable[[bytes], Any]) -> None:
    for data in SEEDS[:4] + [b"", b"\x00\xff"]:
        assert_same(wrap(data))
        assert_same(wrap(data), (18,))


@pytest.mark.parametrize("value", ["a1", 1, None, [1]])
def test_non_bytes_refused_alike(value: Any) -> None:
    assert assert_same(value) == ("refused", "malformed")


def test_size_cap_alike() -> None:
    data = cbor.encode(b"x" * 100)
    assert assert_same(data, max_size=101) == ("refused", "too_large")
    assert assert_same(data, max_size=102)[0] == "value"


# ---------------------------------------------------------------- the COSE_Sign1 envelope


def _python_parts(data: bytes) -> Any:
    parts = cose._split_fast(data)
    return None if parts is None else (*parts, cose.sig_structure(parts[0], parts[1]))


def assert_same_parts(data: bytes) -> None:
    assert cose._sign1_parts is not None
    assert cose._sign1_parts(data) == _python_parts(data), data.hex()


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s[:6].hex())
def test_every_vector_splits_alike(seed: bytes) -> None:
    assert_same_parts(seed)


@FUZZ
@given(data=st.one_of(mutations(st.sampled_from(SEEDS)), st.binary(max_size=200), _heads()))
def test_envelopes_split_alike(data: bytes) -> None:
    assert_same_parts(data)
    assert_same_parts(b"\xd2\x84" + data)


@FUZZ
@given(protected=st.binary(max_size=300),
       payload=st.one_of(st.binary(max_size=300), st.sampled_from([23, 24, 255, 256, 65535, 65536]).map(lambda n: b"p" * n)),
       signature=st.binary(min_size=63, max_size=65))
def test_envelopes_of_every_length_split_alike(protected: bytes, payload: bytes, signature: bytes) -> None:
    # lengths on each side of every head size (23/24, 255/256, 65535/65536)
    assert_same_parts(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature])))


# ---------------------------------------------------------------- content ids


@FUZZ
@given(data=st.binary(max_size=100))
def test_base32_in_c_is_the_standard_librarys(data: bytes) -> None:
    assert cid._base32 is not None
    assert cid._base32(data) == base64.b32encode(data).decode("ascii").rstrip("=").lower()
