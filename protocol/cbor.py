"""Deterministic CBOR (RFC 8949 §4.2.1) out, and a strict decoder for everything received.

Why not ``cbor2.dumps(canonical=True)``: cbor2 sorts map keys length-first, the RFC 7049
"canonical" rule, while RFC 8949 core deterministic encoding sorts them by the bytewise order
of their encodings (key ``24`` = ``0x1818`` sorts before ``-1`` = ``0x20``).  Signatures are made
over these bytes and content ids are hashes of them, so the order has to be the RFC's.

The decoder refuses anything that is not the one deterministic encoding of a value of the
CopyMe data model (integers, byte and text strings, arrays, maps with integer or text keys,
booleans, null, and only the tags a caller allows).  It checks by decoding with cbor2's C
decoder and re-encoding: duplicate map keys, indefinite lengths, non-minimal heads, unsorted
keys, trailing bytes and foreign tags all make the two byte strings differ.  The size limit is
applied before cbor2 sees a byte; nesting depth is bounded while walking the result.

Independent of the cbor2 release: cbor2 6 hands back the contents of a tag as immutable values
(``tuple`` and ``cbor2.frozendict``) where 5.x gave ``list`` and ``dict``.  Where a caller allows
tags, the decoded value is turned back into lists and dicts before any check (objects without
tags, such as every payload, refuse a tag before its contents are looked at), so every check and every reason code sees the same data model under
any cbor2 that ``pyproject.toml`` allows (CI runs the suite on the newest and on the lowest).

Two implementations, one behaviour.  The rules above, written with cbor2, are the reference.
``protocol/_cbor.c`` implements the same rules in one pass over the bytes (about ten times
faster on a consent); it is built at install time where a C compiler is available and used
whenever it is importable (``ACCELERATED``).  It accepts exactly the inputs the reference
accepts, giving equal values, and refuses exactly the ones it refuses, with the same code
(``tests/protocol/test_cbor_differential.py`` checks this on random, mutated and hostile input).
It handles tag 18 alone; a caller allowing any other tag gets the reference decoder.

The encoder likewise: :func:`_canon` (which rebuilds every map in RFC 8949 key order and refuses
what is outside the data model) followed by ``cbor2.dumps`` is the reference, and the C module's
``encode`` does the same walk and writes the bytes itself, giving the same bytes for every value
the reference accepts and the same refusal, detail included, for every value it refuses
(``tests/protocol/test_cbor_encode_differential.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import cbor2

from .enums import COSE_SIGN1_TAG
from .errors import DecodeError, TooLarge

__all__ = ["ACCELERATED", "MAX_DEPTH", "MAX_SIZE", "Tag", "decode", "decode_well_formed", "encode", "head"]

#: Largest input :func:`decode` accepts unless the caller says otherwise (bytes).
MAX_SIZE = 64 * 1024
#: Deepest nesting of arrays, maps and tags that any CopyMe object needs (plus headroom).  Levels
#: are counted on containers only: the outermost array, map or tag (e.g. an object's claims map,
#: or the tag of a COSE_Sign1) is level 1, a container inside it level 2, and so on; a container
#: at a level above ``MAX_DEPTH`` is refused.  Leaves (numbers, strings, ...) add no level.
MAX_DEPTH = 8

_INT_MIN = -(2**64)
_INT_MAX = 2**64 - 1

Tag = cbor2.CBORTag

_accelerated: Callable[[bytes, bool], Any] | None
_accelerated_encode: Callable[[Any, Collection[int]], bytes] | None
try:
    from ._cbor import Invalid as _Invalid
    from ._cbor import decode as _accelerated
    from ._cbor import encode as _accelerated_encode
except ImportError:  # not compiled here (no C compiler at install time): the reference code does it all
    _accelerated = _accelerated_encode = None

    class _Invalid(ValueError):  # type: ignore[no-redef]  # never raised: stands in for the C module's error
        pass

#: Whether :func:`decode` and :func:`encode` run the C code (``protocol/_cbor.c``) rather than the
#: pure-Python reference; both accept and refuse the same inputs, and encode to the same bytes.
ACCELERATED = _accelerated is not None


_KEY_CACHE: dict[Any, bytes] = {}


def head(major: int, n: int) -> bytes:
    """The minimal head of a data item of ``major`` type with argument ``n`` (RFC 8949 §3)."""
    if n < 24:
        return bytes([major << 5 | n])
    for extra, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | extra]) + n.to_bytes(size, "big")
    raise DecodeError("integer out of 64-bit range")


def _key_bytes(key: int | str) -> bytes:
    """The deterministic encoding of a map key, which is what RFC 8949 sorts keys by."""
    cached = _KEY_CACHE.get((type(key), key))
    if cached is not None:
        return cached
    if isinstance(key, str):
        raw = _utf8(key)
        encoded = head(3, len(raw)) + raw
    else:
        encoded = head(0, key) if key >= 0 else head(1, -1 - key)
    if len(_KEY_CACHE) < 4096:  # keys of our formats repeat; a peer's junk must not grow this
        _KEY_CACHE[(type(key), key)] = encoded
    return encoded


def _utf8(text: str) -> bytes:
    """``text`` in UTF-8; a lone surrogate has none, so such a string is not part of the data model."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise DecodeError("text strings must be valid Unicode (no lone surrogates)") from None


_LEAVES = frozenset({str, bytes, bool, type(None)})

#: Key lists of maps already found in deterministic order, with the type of each key: the maps
#: of our formats repeat their keys, so each list is checked once.  The types are compared too,
#: because ``(1,) == (True,)`` and a boolean key is not part of the data model.
_ORDERED_KEYS: dict[tuple[Any, ...], tuple[type, ...]] = {}


def _check_keys(keys: tuple[Any, ...]) -> None:
    """Refuse keys that are not integers or text, or not in RFC 8949 deterministic order."""
    previous = b""
    for key in keys:
        key_kind = type(key)
        if key_kind is not int and key_kind is not str:
            raise DecodeError("map keys must be integers or text")
        encoded = _KEY_CACHE.get((key_kind, key)) or _key_bytes(key)
        if encoded <= previous:
            raise DecodeError("map keys are not in deterministic order")
        previous = encoded
    if len(_ORDERED_KEYS) < 4096 and len(keys) <= 64:  # a peer's junk must not grow this
        _ORDERED_KEYS[keys] = tuple(map(type, keys))


def _check(value: Any, depth: int, tags: Collection[int]) -> None:
    """Refuse foreign types, deep nesting and out-of-order or duplicate map keys.

    Written for speed (it runs on every verify): text, bytes, booleans and small integers are
    accepted inline without a recursive call.
    """
    kind = type(value)
    if depth >= MAX_DEPTH and (kind is dict or kind is list or kind is cbor2.CBORTag):
        raise DecodeError(f"nesting deeper than {MAX_DEPTH} levels")
    if kind is dict:
        keys = tuple(value)
        if _ORDERED_KEYS.get(keys) != tuple(map(type, keys)):  # a key list not seen in order before
            _check_keys(keys)
        for item in value.values():
            item_kind = type(item)
            if item_kind in _LEAVES or (item_kind is int and _INT_MIN <= item <= _INT_MAX):
                continue
            _check(item, depth + 1, tags)
        return
    if kind is list:
        for item in value:
            item_kind = type(item)
            if item_kind in _LEAVES or (item_kind is int and _INT_MIN <= item <= _INT_MAX):
                continue
            _check(item, depth + 1, tags)
        return
    if kind in _LEAVES:
        return
    if kind is int:
        if not _INT_MIN <= value <= _INT_MAX:
            raise DecodeError("integer out of 64-bit range")
        return
    if kind is cbor2.CBORTag:
        if value.tag not in tags:
            raise DecodeError(f"CBOR tag {value.tag} is not allowed here")
        _check(value.value, depth + 1, tags)
        return
    raise DecodeError(f"{kind.__name__} values are not part of the CopyMe data model")


def _thaw(value: Any, depth: int = 0) -> Any:
    """``value`` with every tuple made a list and every read-only mapping a dict, order kept.

    Depth is counted as :func:`_check` counts it, so both refuse the same inputs.
    """
    kind = type(value)
    if kind in _LEAVES or kind is int:
        return value
    if depth >= MAX_DEPTH:
        raise DecodeError(f"nesting deeper than {MAX_DEPTH} levels")
    if kind is tuple or kind is list:
        return [_thaw(item, depth + 1) for item in value]
    if kind is dict or isinstance(value, Mapping):
        return {key: _thaw(item, depth + 1) for key, item in value.items()}
    if kind is cbor2.CBORTag:
        return cbor2.CBORTag(value.tag, _thaw(value.value, depth + 1))
    return value


def _canon(value: Any, depth: int, tags: Collection[int]) -> Any:
    """Return ``value`` with every map rebuilt in RFC 8949 key order; refuse foreign types."""
    kind = type(value)
    if depth >= MAX_DEPTH and (kind is dict or kind is list or kind is tuple or kind is cbor2.CBORTag):
        raise DecodeError(f"nesting deeper than {MAX_DEPTH} levels")
    if kind is int:
        if not _INT_MIN <= value <= _INT_MAX:
            raise DecodeError("integer out of 64-bit range")
        return value
    if kind is str:
        if not value.isascii():  # O(1); only other text can hold a lone surrogate
            _utf8(value)
        return value
    if kind is bytes or kind is bool or value is None:
        return value
    if kind is dict:
        items = []
        for key, item in value.items():
            if type(key) is not int and type(key) is not str:
                if not isinstance(key, (int, str)) or isinstance(key, bool):
                    raise DecodeError("map keys must be integers or text")
                key = int(key) if isinstance(key, int) else str.__str__(key)
            items.append((_key_bytes(key), key, _canon(item, depth + 1, tags)))
        if len({entry[0] for entry in items}) != len(items):
            raise DecodeError("duplicate map keys")
        items.sort(key=lambda entry: entry[0])
        return {key: item for _, key, item in items}
    if kind is list or kind is tuple:
        return [_canon(item, depth + 1, tags) for item in value]
    if kind is bytearray or kind is memoryview:
        return bytes(value)
    if kind is cbor2.CBORTag:
        if value.tag not in tags:
            raise DecodeError(f"CBOR tag {value.tag} is not allowed here")
        return cbor2.CBORTag(value.tag, _canon(value.value, depth + 1, tags))
    if isinstance(value, int) and not isinstance(value, bool):  # IntEnum members
        return _canon(int(value), depth, tags)
    if isinstance(value, str):  # StrEnum members
        return _canon(str.__str__(value), depth, tags)
    raise DecodeError(f"{kind.__name__} values are not part of the CopyMe data model")


def encode(value: Any, *, tags: Collection[int] = (18,)) -> bytes:
    """Encode ``value`` in RFC 8949 core deterministic encoding.

    Raises :class:`~protocol.errors.DecodeError` for values outside the data model (floats,
    sets, datetimes, text with lone surrogates ...), because a value we could not read back must
    never be signed.
    """
    if _accelerated_encode is not None:
        try:
            return _accelerated_encode(value, tags)
        except _Invalid as err:
            raise DecodeError(str(err)) from None
    return _encode_reference(value, tags)


def _encode_reference(value: Any, tags: Collection[int]) -> bytes:
    """The reference encoder: :func:`_canon`, then cbor2 (which keeps the order _canon made)."""
    return cbor2.dumps(_canon(value, 0, tags))


def decode_well_formed(data: bytes) -> Any:
    """``data`` decoded if it is well-formed CBOR at all (deterministic or not), else ``None``.

    Only for looking at a refused envelope to name the right reason (e.g. ``alg`` in a COSE
    unprotected header that is also out of order); never for data that is then used.
    """
    try:
        return cbor2.loads(bytes(data))
    except Exception:  # noqa: BLE001 - any failure only means "not well-formed": the caller has its error
        return None


def decode(data: bytes, *, max_size: int = MAX_SIZE, tags: Collection[int] = ()) -> Any:
    """Decode untrusted ``data``, accepting only the deterministic encoding of a data-model value.

    Raises :class:`TooLarge` above ``max_size`` and :class:`DecodeError` for anything else wrong;
    no other exception escapes.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError(f"expected bytes, got {type(data).__name__}")
    if len(data) > max_size:
        raise TooLarge(f"{len(data)} bytes is above the limit of {max_size}")
    if not data:
        raise DecodeError("empty input")
    if type(data) is not bytes:
        data = bytes(data)
    if _accelerated is not None and (not tags or (len(tags) == 1 and COSE_SIGN1_TAG in tags)):
        try:
            return _accelerated(data, bool(tags))
        except _Invalid as err:
            raise DecodeError(str(err)) from None
        except MemoryError as err:
            raise DecodeError("CBOR sizes beyond what can be decoded") from err
    return _decode_reference(data, tags)


def _decode_reference(data: bytes, tags: Collection[int]) -> Any:
    """The reference decoder (cbor2, a walk over the value, and the re-encoding check)."""
    try:
        value = cbor2.loads(data)
    except (cbor2.CBORError, ValueError, TypeError, LookupError, OverflowError) as err:
        raise DecodeError(f"not well-formed CBOR: {err}") from err
    except (RecursionError, MemoryError) as err:
        raise DecodeError("CBOR nesting or sizes beyond what can be decoded") from err
    if tags:  # only tagged contents differ between cbor2 releases; payloads allow no tags at all
        value = _thaw(value)
    _check(value, 0, tags)
    # cbor2 keeps map order, so re-encoding the checked value gives back ``data`` exactly when
    # every length and integer head was minimal, no length was indefinite and nothing trailed.
    if cbor2.dumps(value) != data:
        raise DecodeError(
            "not deterministic CBOR (indefinite or non-minimal lengths, or trailing bytes)"
        )
    return value
