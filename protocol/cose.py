"""COSE_Sign1 (RFC 9052 §4.2) with EdDSA only.

Every CopyMe object travels as a tagged COSE_Sign1 whose protected header holds exactly
``alg`` (-8, EdDSA), ``typ`` (RFC 9596, naming the object) and ``kid`` (the signer's raw 32-byte
Ed25519 public key: the key its ``did:key`` encodes, 24 bytes shorter than the DID's text), and
whose unprotected header is empty.  Putting the key in ``kid`` lets anyone verify with no
lookup; protecting ``typ`` stops one kind of object being replayed as another (a presentation
accepted as a consent, say).

Verification refuses, in this order: malformed structure, a missing or unprotected or foreign
``alg`` (``unsupported_alg``), a missing or other ``typ`` (``wrong_type``), a ``kid`` that is
not a 32-byte byte string (``unknown_key``), and a signature that does not verify
(``bad_signature``).  Only then is the payload decoded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import cbor
from .enums import COSE_SIGN1_TAG, CoseAlg, CoseHeader
from .errors import DecodeError, TooLarge, UnknownKey, UnsupportedAlg, WrongType
from .keys import KeyPair, did_from_public_key, verify_with_key

__all__ = ["Sign1", "protected_header", "sig_structure", "sign1", "verified", "verify1"]

_sign1_parts: Callable[[bytes], tuple[bytes, bytes, bytes, bytes] | None] | None
try:  # the C twin of _split_fast + sig_structure (protocol/_cbor.c), where it was built
    from ._cbor import sign1_parts as _sign1_parts
except ImportError:
    _sign1_parts = None

# Plain ints: looked up in every header on every verify (an IntEnum dict key is several times slower).
_ALG, _TYP, _KID, _EDDSA = int(CoseHeader.ALG), int(CoseHeader.TYP), int(CoseHeader.KID), int(CoseAlg.EDDSA)
_ALLOWED_HEADERS = frozenset((_ALG, _TYP, _KID))


_SIG1_CONTEXT = b"\x84\x6aSignature1"  # array(4), text(10) "Signature1"
_HEADER_CACHE: dict[bytes, dict[int, Any]] = {}
_PROTECTED_CACHE: dict[tuple[bytes, str], bytes] = {}


def sig_structure(protected: bytes, payload: bytes, external_aad: bytes = b"") -> bytes:
    """The ``Sig_structure`` (RFC 9052 §4.4) that the Ed25519 signature covers.

    Built directly (it is on every sign and verify path); a test checks it equals
    ``cbor.encode(["Signature1", protected, external_aad, payload])``.
    """
    return b"".join((
        _SIG1_CONTEXT,
        cbor.head(2, len(protected)), protected,
        cbor.head(2, len(external_aad)), external_aad,
        cbor.head(2, len(payload)), payload,
    ))


def _read_bstr(data: bytes, pos: int) -> tuple[bytes, int] | None:
    """A minimally encoded byte string at ``pos``, or None if the bytes there are anything else."""
    if pos >= len(data):
        return None
    first = data[pos]
    if first >> 5 != 2:
        return None
    info = first & 0x1F
    if info < 24:
        size, pos = info, pos + 1
    elif 24 <= info <= 26:
        width = 1 << (info - 24)
        size = int.from_bytes(data[pos + 1 : pos + 1 + width], "big")
        if size < (24 if width == 1 else 1 << (4 * width)):  # not minimal
            return None
        pos += 1 + width
    else:
        return None
    end = pos + size
    return (data[pos:end], end) if end <= len(data) else None


def _split_fast(data: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(protected, payload, signature) if ``data`` is exactly the deterministic encoding of a
    tagged COSE_Sign1 with an empty unprotected header, which is all CopyMe produces; else None,
    and the caller falls back to the general decoder for a precise error."""
    if data[:2] != b"\xd2\x84":
        return None
    protected_at = _read_bstr(data, 2)
    if protected_at is None or protected_at[1] >= len(data) or data[protected_at[1]] != 0xA0:
        return None
    payload_at = _read_bstr(data, protected_at[1] + 1)
    if payload_at is None:
        return None
    end = payload_at[1]
    if data[end : end + 2] != b"\x58\x40" or end + 66 != len(data):
        return None
    return protected_at[0], payload_at[0], data[end + 2 :]


def protected_header(key: KeyPair, typ: str) -> bytes:
    """The encoded protected header a CopyMe signer puts on every object of type ``typ``."""
    cache_key = (key.public_key, typ)
    cached = _PROTECTED_CACHE.get(cache_key)
    if cached is None:
        cached = cbor.encode({CoseHeader.ALG: CoseAlg.EDDSA, CoseHeader.TYP: typ, CoseHeader.KID: key.public_key})
        if len(_PROTECTED_CACHE) < 4096:  # one entry per signing key and typ
            _PROTECTED_CACHE[cache_key] = cached
    return cached


def sign1(payload: bytes, key: KeyPair, typ: str) -> bytes:
    """Sign ``payload`` (already deterministic CBOR) as a tagged COSE_Sign1 of type ``typ``.

    The envelope is laid out directly (it is on every signing path): tag 18, array(4), the
    protected header as a byte string, an empty map, the payload and the signature as byte
    strings - a test checks it equals ``cbor.encode(Tag(18, [protected, {}, payload, signature]))``.
    """
    protected = protected_header(key, typ)
    signature = key.sign(sig_structure(protected, payload))
    return b"".join((
        b"\xd2\x84",  # tag 18, array(4)
        cbor.head(2, len(protected)), protected,
        b"\xa0",  # the empty unprotected header
        cbor.head(2, len(payload)), payload,
        cbor.head(2, len(signature)), signature,
    ))


@dataclass(frozen=True)
class Sign1:
    """A verified COSE_Sign1: who signed it (``signer`` DID), its ``typ`` and decoded ``claims``."""

    signer: str
    typ: str
    claims: Any
    payload: bytes
    raw: bytes


def _protected_header(protected: bytes) -> dict[int, Any]:
    cached = _HEADER_CACHE.get(protected)
    if cached is not None:
        return cached
    header = cbor.decode(protected)
    if not isinstance(header, dict):
        raise DecodeError("protected header is not a map")
    if len(_HEADER_CACHE) < 4096:  # one entry per signer and typ; never grows without bound
        _HEADER_CACHE[protected] = header
    return header


def _alg_unprotected(outer: Any) -> bool:
    """Whether a (leniently decoded) COSE_Sign1 carries ``alg`` in its unprotected header."""
    parts = getattr(outer, "value", None) if getattr(outer, "tag", None) == COSE_SIGN1_TAG else None
    if not isinstance(parts, (list, tuple)) or len(parts) != 4:
        return False
    unprotected = parts[1]
    return hasattr(unprotected, "keys") and any(type(key) is int and key == CoseHeader.ALG for key in unprotected.keys())


def _split(data: bytes, max_size: int) -> tuple[bytes, bytes, bytes]:
    """(protected, payload, signature) of a COSE_Sign1, refusing everything else by code."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError(f"expected bytes, got {type(data).__name__}")
    if len(data) > max_size:
        raise TooLarge(f"{len(data)} bytes is above the limit of {max_size}")
    data = bytes(data)
    fast = _split_fast(data)
    if fast is not None:
        return fast
    try:
        outer = cbor.decode(data, max_size=max_size, tags=(COSE_SIGN1_TAG,))
    except TooLarge:
        raise
    except DecodeError:
        if _alg_unprotected(cbor.decode_well_formed(data)):  # header rule 2 names the reason
            raise UnsupportedAlg("alg must be in the protected header") from None
        raise
    if not isinstance(outer, cbor.Tag) or outer.tag != COSE_SIGN1_TAG:
        raise DecodeError("not a tagged COSE_Sign1")
    parts = outer.value
    if not isinstance(parts, list) or len(parts) != 4:
        raise DecodeError("COSE_Sign1 must be an array of four")
    protected, unprotected, payload, signature = parts
    if not isinstance(protected, bytes) or not isinstance(unprotected, dict):
        raise DecodeError("COSE_Sign1 headers have the wrong types")
    if not isinstance(payload, bytes):
        raise DecodeError("COSE_Sign1 payload must be attached bytes")
    if not isinstance(signature, bytes) or len(signature) != 64:
        raise DecodeError("an EdDSA signature has 64 bytes")
    if CoseHeader.ALG in unprotected:
        raise UnsupportedAlg("alg must be in the protected header")
    if unprotected:
        raise DecodeError("unprotected header must be empty")
    return protected, payload, signature


def verify1(data: bytes, typ: str, *, max_size: int = cbor.MAX_SIZE) -> Sign1:
    """Verify a COSE_Sign1 of type ``typ`` and return it with its decoded payload; else raise."""
    signer, claims, payload, raw = verified(data, typ, max_size)
    return Sign1(signer=signer, typ=typ, claims=claims, payload=payload, raw=raw)


def verified(data: bytes, typ: str, max_size: int = cbor.MAX_SIZE) -> tuple[str, Any, bytes, bytes]:
    """:func:`verify1` as a tuple (signer DID, claims, payload, raw bytes): the wire objects'
    ``decode`` calls this, one object fewer on every verify."""
    parts = (_sign1_parts(data) if _sign1_parts is not None and type(data) is bytes and len(data) <= max_size
             else None)
    if parts is not None:  # the one shape CopyMe produces, split in C with its Sig_structure
        protected, payload, signature, to_be_signed = parts
    else:
        protected, payload, signature = _split(data, max_size)
        to_be_signed = sig_structure(protected, payload)
    header = _protected_header(protected)
    if header.get(_ALG) != _EDDSA:
        raise UnsupportedAlg(f"only EdDSA (-8) is accepted, not {header.get(_ALG)!r}")
    if header.get(_TYP) != typ:
        raise WrongType(f"expected typ {str(typ)!r}, got {header.get(_TYP)!r}")
    if not header.keys() <= _ALLOWED_HEADERS:
        raise DecodeError("protected header has parameters CopyMe does not understand")
    kid = header.get(_KID)
    if not isinstance(kid, bytes):
        raise UnknownKey("kid (the signer's Ed25519 public key) is missing")
    if len(kid) != 32:
        raise UnknownKey(f"kid must be a 32-byte Ed25519 public key, not {len(kid)} bytes")
    verify_with_key(kid, to_be_signed, signature)
    claims = cbor.decode(payload, max_size=max_size)
    return did_from_public_key(kid), claims, payload, data if type(data) is bytes else bytes(data)
