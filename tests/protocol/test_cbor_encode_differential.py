"""The C encoder (``protocol/_cbor.c``) against the pure-Python reference: same bytes or same refusal.

Each value goes through ``protocol.cbor.encode`` twice, once with the C encoder switched in and
once with the reference (``_canon`` and cbor2), and the two outcomes must be identical: the same
bytes, or the same error (a ``DecodeError`` with the same detail, or the same foreign exception
with the same message where the reference lets one through, such as a failing ``__int__``).
Accepted values must also come back from the strict decoder as the reference's canonical form of
the value, and re-encode to the same bytes.

Inputs: random values of the data model (with tuples, bytearrays, memoryviews, IntEnum and
StrEnum members, tags), random values with foreign parts (floats, sets, out-of-range integers,
boolean, enum, float and tuple keys, keys equal after conversion, nesting beyond the limit, tags
allowed and not, lone surrogates, subclasses of the built-in types), and hand-made edges
(integer and length boundaries, large maps and buffers, containers changed during the walk).
"""

from __future__ import annotations

import collections
import datetime
import decimal
import enum
from collections.abc import Iterator
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import Claim, DecodeError, Typ, cbor
from tests.support.decoding import typed

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TAG_SETS: list[tuple[int, ...]] = [(), (18,), (1, 18), (2**64 - 1,)]

pytestmark = pytest.mark.skipif(not cbor.ACCELERATED, reason="the C encoder is not built here "
                                "(tests/protocol/test_cbor.py::test_the_c_decoder_is_built fails instead)")


class Small(enum.IntEnum):
    ONE = 1
    BIG = 2**64 - 1
    TOO_BIG = 2**64
    MINUS = -(2**64)


class Word(enum.StrEnum):
    A = "a"
    EMPTY = ""
    KANJI = "同意"


class Flag(enum.IntFlag):
    READ = 1
    WRITE = 2


def _outcome(value: Any, tags: tuple[int, ...], accelerated: bool) -> Any:
    saved = cbor._accelerated_encode
    cbor._accelerated_encode = saved if accelerated else None
    try:
        return ("bytes", cbor.encode(value, tags=tags))
    except DecodeError as err:
        return ("refused", err.code, err.detail)
    except Exception as err:  # noqa: BLE001 - a foreign error must be the reference's too
        return ("raised", type(err).__name__, str(err))
    finally:
        cbor._accelerated_encode = saved


def assert_same(value: Any, tags: tuple[int, ...] = (18,)) -> Any:
    """Encode ``value`` with both encoders; fail unless they agree.  Returns the common outcome."""
    c_result = _outcome(value, tags, True)
    reference = _outcome(value, tags, False)
    assert c_result == reference, f"{value!r} tags={tags}: C {c_result} != reference {reference}"
    if c_result[0] == "bytes" and set(tags) <= {18}:  # cbor2 gives other tags meanings (tag 1: a datetime)
        data = c_result[1]
        decoded = cbor.decode(data, tags=tags, max_size=len(data))
        assert typed(decoded) == typed(cbor._canon(value, 0, tags))
        assert cbor.encode(decoded, tags=tags) == data
    return c_result


# ---------------------------------------------------------------- values of the data model


_ints = st.one_of(
    st.integers(-(2**64), 2**64 - 1),
    st.integers(-300, 300),
    st.sampled_from([0, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1,
                     -1, -24, -25, -256, -257, -65536, -65537, -(2**32), -(2**32) - 1, -(2**63),
                     -(2**63) - 1, -(2**64)]),
)
_texts = st.one_of(st.text(max_size=20), st.sampled_from(["", "a", "aa", "z", "é", "同意", "𝄞", "x" * 24]))
_leaves = st.one_of(
    _ints,
    st.binary(max_size=40),
    _texts,
    st.booleans(),
    st.none(),
    st.sampled_from(list(Small)[:2] + list(Word) + [Flag.READ, Claim.EXP, Typ.CONSENT]),
    st.binary(max_size=30).map(bytearray),
    st.binary(max_size=30).map(memoryview),
)
_keys = st.one_of(_ints, _texts, st.sampled_from([Small.ONE, Small.BIG, Word.A, Word.KANJI, Claim.EXP]))
_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(_keys, inner, max_size=6),
        inner.map(lambda content: cbor2.CBORTag(18, content)),
    ),
    max_leaves=30,
)


@FUZZ
@given(value=_values, tags=st.sampled_from(TAG_SETS))
def test_values_of_the_data_model_encode_alike(value: Any, tags: tuple[int, ...]) -> None:
    assert_same(value, tags)


@FUZZ
@given(value=_values)
def test_data_model_values_without_tags_are_accepted_and_round_trip(value: Any) -> None:
    # with tag 18 allowed, only too deep a nesting (or keys equal after conversion) is refused
    outcome = assert_same(value, (18,))
    assert outcome[0] == "bytes" or "nesting deeper" in outcome[2] or "duplicate" in outcome[2]


# ---------------------------------------------------------------- values with foreign parts


class Sneaky:
    """Not an int, but says so to isinstance through ``__class__`` (as some mocks do)."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # noqa: D105
        return int


class Bytes(bytes):
    pass


class Text(str):
    pass


class Listed(list):  # type: ignore[type-arg]
    pass


class Mapped(dict):  # type: ignore[type-arg]
    pass


class One(int):
    """An int subclass that becomes 1 under ``int()``: a key distinct in the dict, equal once converted."""

    def __int__(self) -> int:
        return 1


class Counted(int):
    """An int subclass whose ``int()`` is something else (the reference calls ``int(value)``)."""

    def __int__(self) -> int:
        return 2**70


_foreign_leaves = st.one_of(
    st.floats(allow_nan=False),
    st.just(float("nan")),
    st.sets(st.integers(0, 3), max_size=3),
    st.frozensets(st.integers(0, 3), max_size=3),
    st.integers(2**64, 2**80),
    st.integers(-(2**80), -(2**64) - 1),
    st.sampled_from([Small.TOO_BIG, Small.MINUS, complex(1, 2), decimal.Decimal("1.5"), object(), Ellipsis,
                     datetime.datetime(2026, 1, 1), Bytes(b"x"), Text("x"), Listed([1]), Mapped({1: 2}),
                     collections.OrderedDict({1: 2}), Counted(5), Sneaky(), type, "\ud800", "a\udfffb",
                     cbor2.CBORTag(1, 0), cbor2.CBORTag(2, b"\x01"), cbor2.CBORTag(2**64 - 1, "x"),
                     cbor2.CBORSimpleValue(16), cbor2.undefined, range(3), b"", "", 0]),
)
_foreign_keys = st.one_of(
    _keys,
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
    st.tuples(st.integers(0, 3)),
    st.frozensets(st.integers(0, 3), max_size=2),
    st.integers(2**64, 2**70),
    st.integers(-(2**70), -(2**64) - 1),
    st.sampled_from([Small.TOO_BIG, Small.MINUS, Flag.WRITE, Word.EMPTY, Text("a"), Counted(1), "\ud800",
                     One(7), One(8), 1, "a", ""]),
)
_foreign_values = st.recursive(
    st.one_of(_leaves, _foreign_leaves),
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(_foreign_keys, inner, max_size=6),
        inner.map(lambda content: cbor2.CBORTag(18, content)),
        inner.map(lambda content: cbor2.CBORTag(1, content)),
    ),
    max_leaves=30,
)


@FUZZ
@given(value=_foreign_values, tags=st.sampled_from(TAG_SETS))
def test_values_with_foreign_parts_encode_or_refuse_alike(value: Any, tags: tuple[int, ...]) -> None:
    assert_same(value, tags)


@FUZZ
@given(levels=st.integers(1, 12), kinds=st.lists(st.sampled_from(["map", "array", "tuple", "tag"]), min_size=12,
                                                  max_size=12), leaf=st.one_of(_leaves, _foreign_leaves))
def test_nesting_is_refused_at_the_same_depth(levels: int, kinds: list[str], leaf: Any) -> None:
    value = leaf
    for kind in kinds[:levels]:
        value = {"k": value} if kind == "map" else [value] if kind == "array" else (
            (value,) if kind == "tuple" else cbor2.CBORTag(18, value))
    outcome = assert_same(value)
    if levels > cbor.MAX_DEPTH:
        assert outcome[:2] == ("refused", "malformed") and "8 levels" in outcome[2]


# ---------------------------------------------------------------- the edges, one by one


def _edges() -> Iterator[Any]:
    for n in (0, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1, 2**64):
        yield n
        yield -n
        yield -n - 1
        yield {n: n}
        yield {-n - 1: 0, n: 0}
    for size in (0, 23, 24, 255, 256, 2047, 2048, 2049, 65535, 65536, 100_000):
        yield b"x" * size
        yield "é" * (size // 2)
        yield ["a"] * min(size, 70_000)
        yield bytearray(size)
    yield {i: i for i in range(1000)}  # many entries: sorted outside the stack's space
    yield {i: i for i in reversed(range(1000))}
    yield {str(i): [i, {str(-i): b"y" * 300}] for i in range(300)}  # grows the buffer while sorting
    yield {1: 0, One(5): 1}  # equal once converted
    yield {One(5): 0, 2: 0, One(6): 1}
    yield {"b": [1.5], 1: 0, One(5): 1}  # a refused value is found before the duplicate keys
    yield {1: 0, Small.ONE: 1}  # (one key: an IntEnum member is equal to its value)
    yield {"a": 0, Word.A: 1}
    yield {2: 0, True: 1}
    yield {True: 0}
    yield {Small.TOO_BIG: 0}
    yield {2**64: 1.5}  # the key's range before the value
    yield {"\ud800": 1.5}
    yield {1.5: "\ud800"}
    yield ["\ud800", 1.5]
    yield [1.5, "\ud800"]
    yield memoryview(b"abcdef")[::2]  # not contiguous
    yield memoryview(bytes(range(12))).cast("I")
    yield memoryview(b"")
    yield [Sneaky()]
    yield {Sneaky(): 0}
    yield [Counted(3)]
    yield {Counted(3): 0}
    yield cbor2.CBORTag(18, cbor2.CBORTag(18, [cbor2.CBORTag(18, {})]))
    yield [cbor2.CBORTag(1, 1.5)]
    yield [cbor2.CBORTag(18, 1.5)]
    yield {"a": [], "b": {}, "": ()}


@pytest.mark.parametrize("value", list(_edges()), ids=lambda v: repr(v)[:40])
@pytest.mark.parametrize("tags", TAG_SETS, ids=str)
def test_edges_encode_alike(value: Any, tags: tuple[int, ...]) -> None:
    assert_same(value, tags)


def test_a_released_memoryview_fails_alike() -> None:
    view = memoryview(b"abc")
    view.release()
    assert assert_same([view])[0] == "raised"


def test_lone_surrogates_are_refused_as_malformed() -> None:
    for value in ("\ud800", {"\udc00": 1}, [Text("\ud800")], {Text("x\ud800"): 0}):
        assert assert_same(value)[:2] == ("refused", "malformed")


class Shrinking(int):
    """An int subclass whose ``int()`` empties the list it sits in (code run during the walk)."""

    victim: list[Any] = []

    def __int__(self) -> int:
        self.victim.clear()
        return 7


class Growing(int):
    """An int subclass whose ``int()`` adds to the container it sits in."""

    victim: Any = None

    def __int__(self) -> int:
        if isinstance(self.victim, list):
            self.victim.extend(range(30))
        else:
            self.victim[len(self.victim) + 100] = 0
        return 7


@pytest.mark.parametrize("accelerated", [True, False], ids=["c", "reference"])
def test_containers_changed_during_the_walk(accelerated: bool) -> None:
    """Only non-built-in values can run code mid-walk; both encoders then write what they saw
    (a list) or raise the same RuntimeError (a dict), and never crash."""

    def run(make: Any) -> Any:
        return _outcome(make(), (18,), accelerated)

    def shrinking_list() -> list[Any]:
        victim: list[Any] = [1, 2, 3, 4]
        victim.insert(1, Shrinking(0))
        Shrinking.victim = victim
        return victim

    def growing_list() -> list[Any]:
        victim: list[Any] = [1]
        victim.append(Growing(0))
        Growing.victim = victim
        return victim

    def growing_map() -> dict[Any, Any]:
        victim: dict[Any, Any] = {0: 0}
        victim[1] = Growing(0)
        victim[2] = 2
        Growing.victim = victim
        return victim

    for make in (shrinking_list, growing_list, growing_map):
        assert run(make) == _outcome(make(), (18,), not accelerated)
    assert run(growing_map)[:2] == ("raised", "RuntimeError")


def test_foreign_tag_collections() -> None:
    # ``tags`` is any collection: membership is asked of it as the reference asks it
    value = [cbor2.CBORTag(18, 1), cbor2.CBORTag(7, 2)]
    for tags in ({18, 7}, frozenset({18}), [18], range(0, 19), {18: "x", 7: "y"}.keys()):
        assert_same(value, tags)  # type: ignore[arg-type]


def test_the_consent_claims_encode_alike() -> None:
    claims = {Claim.EXP: 1_800_000_000, Claim.IAT: 1_700_000_000, 1: "did:key:z6Mk" + "x" * 44,
              -65537: {"items": ["email", "name"], "purposes": ("dpv:Marketing",)}}
    assert_same(claims)
