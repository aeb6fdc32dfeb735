"""Deterministic CBOR: the RFC's own examples, its key order, and the strict decoder's refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import DecodeError, TooLarge, cbor

EXAMPLES = json.loads((Path(__file__).parent / "data" / "rfc8949_examples.json").read_text())


@pytest.fixture(autouse=True, scope="module", params=["c", "reference"])
def decoder(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test here runs against the C decoder and encoder and against the pure-Python reference."""
    saved = cbor._accelerated, cbor._accelerated_encode
    if request.param == "c" and None in saved:
        pytest.skip("the C decoder is not built here (test_the_c_decoder_is_built fails instead)")
    if request.param == "reference":
        cbor._accelerated = cbor._accelerated_encode = None
    yield request.param
    cbor._accelerated, cbor._accelerated_encode = saved


def test_the_c_decoder_is_built() -> None:
    """The install (``pip install -e .``) compiled protocol/_cbor.c and protocol.cbor uses it.

    The package works without it (the reference decoder is the fallback), so only this test
    notices a build that silently fell back; CI's product environment must have it.
    """
    assert cbor.ACCELERATED, "protocol._cbor did not build or import: is a C compiler installed?"


def _value(example: dict[str, Any]) -> Any:
    return bytes.fromhex(example["bytes"]) if "bytes" in example else example["value"]


@pytest.mark.parametrize("example", EXAMPLES["examples"], ids=lambda e: e["hex"][:16])
def test_rfc8949_examples(example: dict[str, Any]) -> None:
    encoded = bytes.fromhex(example["hex"])
    assert cbor.encode(_value(example)) == encoded
    assert cbor.decode(encoded) == _value(example)


def test_integer_keys() -> None:
    assert cbor.encode({3: 4, 1: 2}).hex() == "a201020304"


def test_rfc8949_core_deterministic_key_order() -> None:
    keys = [10, 100, -1, "z", "aa"]
    encoded = cbor.encode({k: 0 for k in reversed(keys)})
    order = EXAMPLES["deterministic_key_order"]["keys_in_order_hex"]
    assert encoded.hex() == "a5" + "".join(k + "00" for k in order)
    # cbor2's canonical mode sorts length-first (RFC 7049) and would put -1 before 100:
    assert cbor2.dumps({k: 0 for k in keys}, canonical=True) != encoded


def test_enum_members_encode_as_plain_values() -> None:
    from protocol import Claim, Typ

    assert cbor.encode({Claim.EXP: Typ.CONSENT}) == cbor.encode({4: "application/vnd.copyme.consent+cwt"})


@pytest.mark.parametrize(
    "hex_input, why",
    [
        ("1800", "non-minimal integer head"),
        ("190017", "non-minimal 16-bit integer"),
        ("5801ff", "non-minimal byte string length"),
        ("9f01ff", "indefinite-length array"),
        ("5f4101ff", "indefinite-length byte string"),
        ("bf0101ff", "indefinite-length map"),
        ("a201010102", "duplicate map keys"),
        ("a203040102", "unsorted map keys"),
        ("a22000186400", "keys in cbor2-canonical (length-first) order, not bytewise"),
        ("c11a514b67b0", "tag 1 (epoch time)"),
        ("d82076687474703a2f2f6578616d706c652e636f6d", "tag 32 (URI)"),
        ("c249010000000000000000", "bignum"),
        ("f93c00", "half-precision float"),
        ("fb3ff199999999999a", "double float"),
        ("f7", "undefined"),
        ("f0", "simple value"),
        ("0101", "trailing bytes"),
        ("", "empty input"),
        ("83", "truncated array"),
        ("62c3", "truncated text"),
        ("62c328", "invalid UTF-8"),
        ("a1f401", "boolean map key"),
        ("a1810001", "array map key"),
        ("d81c81d81d00", "shared-value cycle"),
        ("9bffffffffffffffff", "absurd array length"),
        ("5bffffffffffffffff", "absurd byte string length"),
        ("81" * 20 + "00", "nesting deeper than the limit"),
    ],
)
def test_strict_decoder_refuses(hex_input: str, why: str) -> None:
    with pytest.raises(DecodeError) as err:
        cbor.decode(bytes.fromhex(hex_input))
    assert err.value.code in ("malformed", "too_large"), why


def test_unsorted_cbor2_canonical_order_refused() -> None:
    data = cbor2.dumps({100: 0, -1: 0}, canonical=True)  # length-first puts -1 first
    with pytest.raises(DecodeError):
        cbor.decode(data)
    assert cbor.decode(cbor.encode({100: 0, -1: 0})) == {100: 0, -1: 0}


def test_size_limit_applies_before_parsing() -> None:
    with pytest.raises(TooLarge) as err:
        cbor.decode(b"\xff" * (cbor.MAX_SIZE + 1))
    assert err.value.code == "too_large"
    assert cbor.decode(cbor.encode(b"x" * 100), max_size=200) == b"x" * 100


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        (1.5, "float values are not part of the CopyMe data model"),
        ({1, 2}, "set values are not part of the CopyMe data model"),
        (object(), "object values are not part of the CopyMe data model"),
        ({(1, 2): 3}, "map keys must be integers or text"),
        ({True: 3}, "map keys must be integers or text"),
        (2**64, "integer out of 64-bit range"),
        (-(2**64) - 1, "integer out of 64-bit range"),
        ({2**64: 0}, "integer out of 64-bit range"),
        ("\ud800", "text strings must be valid Unicode (no lone surrogates)"),
        ({"\udfff": 0}, "text strings must be valid Unicode (no lone surrogates)"),
        (cbor2.CBORTag(1, 0), "CBOR tag 1 is not allowed here"),
        ([[[[[[[[[0]]]]]]]]], "nesting deeper than 8 levels"),
    ],
)
def test_encoder_refuses_values_outside_the_data_model(value: Any, detail: str) -> None:
    with pytest.raises(DecodeError) as err:
        cbor.encode(value)
    assert err.value.code == "malformed"
    assert err.value.detail == detail


@pytest.mark.parametrize(
    ("value", "hex_output"),
    [
        (2**64 - 1, "1bffffffffffffffff"),
        (-(2**64), "3bffffffffffffffff"),
        (-(2**63) - 1, "3b8000000000000000"),
        (bytearray(b"ab"), "426162"),
        (memoryview(b"abcd")[::2], "426163"),
        ((1, (2,)), "82018102"),
        ({"b": 0, "a": {100: 0, -1: 0}}, "a26161a21864002000616200"),
        (cbor2.CBORTag(18, []), "d280"),
    ],
)
def test_encoder_writes_the_one_encoding(value: Any, hex_output: str) -> None:
    assert cbor.encode(value).hex() == hex_output


def test_enum_keys_are_converted_before_sorting() -> None:
    from protocol import Claim

    assert cbor.encode({Claim.EXP: 0, 1: 0, Claim.IAT: 0}).hex() == "a3010004000600"


def test_non_bytes_input() -> None:
    with pytest.raises(DecodeError):
        cbor.decode("a1")  # type: ignore[arg-type]


def test_allowed_tag() -> None:
    data = cbor.encode(cbor.Tag(18, [b"", {}, b"", b""]))
    assert cbor.decode(data, tags=(18,)).tag == 18
    with pytest.raises(DecodeError):
        cbor.decode(data)


def _kinds(value: object) -> set[str]:
    """Every container type inside ``value``, tags included."""
    if isinstance(value, cbor2.CBORTag):
        return {"tag"} | _kinds(value.value)
    if isinstance(value, (list, tuple)):
        return {type(value).__name__}.union(*(_kinds(v) for v in value))
    if isinstance(value, Mapping):
        return {type(value).__name__}.union(*(_kinds(v) for v in value.values()))
    return set()


def test_tagged_contents_are_plain_lists_and_dicts_under_every_cbor2() -> None:
    # cbor2 6 decodes a tag's contents as tuple and frozendict; 5.x as list and dict.  Every check
    # after decoding must see the same values whichever release is installed.
    data = cbor.encode(cbor2.CBORTag(18, [b"h", {1: [2, {3: 4}]}, None, b"s"]), tags=(18,))
    assert _kinds(cbor.decode(data, tags=(18,))) == {"tag", "list", "dict"}


def test_tagged_contents_nesting_is_bounded_like_untagged() -> None:
    # The same depth limit inside a tag as outside, whichever cbor2 decoded it.
    def nested(depth: int) -> object:
        value: object = 0
        for _ in range(depth):
            value = [value]
        return value

    deepest = max(d for d in range(1, 2 * cbor.MAX_DEPTH) if _decodes(cbor2.dumps(nested(d))))
    assert _decodes(cbor2.dumps(cbor2.CBORTag(18, nested(deepest - 1))), tags=(18,))
    with pytest.raises(DecodeError) as info:
        cbor.decode(cbor2.dumps(cbor2.CBORTag(18, nested(deepest))), tags=(18,))
    assert info.value.code == "malformed"


def _decodes(data: bytes, tags: tuple[int, ...] = ()) -> bool:
    try:
        cbor.decode(data, tags=tags)
    except DecodeError:
        return False
    return True


def _levels(n: int, kind: str) -> object:
    """``n`` nested containers: the outermost is level 1 (section 2.1 counts containers only)."""
    value: object = "leaf"
    for level in range(n, 0, -1):
        value = {level: value} if kind == "map" else ([value] if kind == "array" else cbor2.CBORTag(18, value))
    return value


@pytest.mark.parametrize("kind", ["map", "array"])
@pytest.mark.parametrize(("levels", "ok"), [(cbor.MAX_DEPTH - 1, True), (cbor.MAX_DEPTH, True),
                                             (cbor.MAX_DEPTH + 1, False)])
def test_nesting_levels_are_counted_from_the_outermost_container(kind: str, levels: int, ok: bool) -> None:
    data = cbor2.dumps(_levels(levels, kind))
    if ok:
        assert cbor.decode(data) is not None
        assert cbor.encode(cbor.decode(data)) == data  # the encoder allows exactly what the decoder does
        return
    with pytest.raises(DecodeError) as info:
        cbor.decode(data)
    assert info.value.code == "malformed" and "8 levels" in info.value.detail
    with pytest.raises(DecodeError):
        cbor.encode(_levels(levels, kind))


@pytest.mark.parametrize(("levels", "ok"), [(cbor.MAX_DEPTH - 1, True), (cbor.MAX_DEPTH, True),
                                             (cbor.MAX_DEPTH + 1, False)])
def test_a_tag_is_a_level_too(levels: int, ok: bool) -> None:
    # tag 18 around levels - 1 arrays: the tag is the outermost level, as a COSE_Sign1's is
    value = cbor2.CBORTag(18, _levels(levels - 1, "array"))
    data = cbor2.dumps(value)
    if ok:
        assert cbor.decode(data, tags=(18,)) is not None
    else:
        with pytest.raises(DecodeError):
            cbor.decode(data, tags=(18,))


def test_leaves_add_no_level() -> None:
    # eight maps deep, with text, bytes, integers and null inside the innermost: still 8 levels
    value: object = {1: "text", 2: b"bytes", 3: -5, 4: None, 5: True}
    for level in range(7):
        value = {level: value}
    assert cbor.decode(cbor2.dumps(value)) == value


def test_key_lists_seen_before_are_still_checked_for_key_types() -> None:
    """The decoder remembers key lists found in order; a boolean key equal to a known integer
    key (``True == 1``) is still refused, and an order once refused stays refused."""
    assert cbor.decode(bytes.fromhex("a2010002f4")) == {1: 0, 2: False}
    for hex_input in ("a2f50002f4", "a201f5f400", "a2020001f4", "a2f4000100"):
        with pytest.raises(DecodeError):
            cbor.decode(bytes.fromhex(hex_input))
    assert cbor.decode(bytes.fromhex("a2010002f4")) == {1: 0, 2: False}


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.one_of(st.integers(-70000, 70000), st.text(max_size=4), st.booleans()),
                       st.integers(0, 3), max_size=6))
def test_remembered_key_lists_decide_as_the_walk_does(value: dict[Any, int]) -> None:
    """Whatever the map (keys in any order, of any type cbor2 reads), decoding gives the same
    answer twice in a row: the remembered key lists never let through what the full walk refuses."""
    data = cbor2.dumps(value)
    answers = []
    for _ in range(2):
        try:
            answers.append(cbor.decode(data))
        except DecodeError:
            answers.append("refused")
    assert answers[0] == answers[1]
    if answers[0] != "refused":
        assert all(type(k) in (int, str) for k in answers[0])
        assert cbor.encode(answers[0]) == data
