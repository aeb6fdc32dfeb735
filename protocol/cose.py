"""COSE_Sign1 (RFC 9052 §4.2) with EdDSA only.

Every CopyMe object travels as a tagged COSE_Sign1 whose protected header holds exactly
``alg`` (-8, EdDSA), ``typ`` (RFC 9596, naming the object) and ``kid`` (the UTF-8 bytes of the
signer's ``did:key``), and whose unprotected header is empty.  Putting the DID in ``kid`` lets
anyone verify with no lookup; protecting ``typ`` stops one kind of object being replayed as
another (a presentation accepted as a consent, say).

Verification refuses, in this order: malformed structure, a missing or unprotected or foreign
``alg`` (``unsupported_alg``), a missing or other ``typ`` (``wrong_type``), a ``kid`` that is
not an Ed25519 ``did:key`` (``unknown_key``), and a signature that does not verify
(``bad_signature``).  Only then is the payload decoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import cbor
from .enums import COSE_SIGN1_TAG, CoseAlg, CoseHeader
from .errors import DecodeError, UnknownKey, UnsupportedAlg, WrongType
from .keys import KeyPair, public_key_from_did, verify_signature

__all__ = ["Sign1", "sig_structure", "sign1", "verify1"]

_ALLOWED_HEADERS = {CoseHeader.ALG, CoseHeader.TYP, CoseHeader.KID}


def sig_structure(protected: bytes, payload: bytes, external_aad: bytes = b"") -> bytes:
    """The ``Sig_structure`` (RFC 9052 §4.4) that the Ed25519 signature covers."""
    return cbor.encode(["Signature1", protected, external_aad, payload])


def sign1(payload: bytes, key: KeyPair, typ: str) -> bytes:
    """Sign ``payload`` (already deterministic CBOR) as a tagged COSE_Sign1 of type ``typ``."""
    protected = cbor.encode(
        {CoseHeader.ALG: CoseAlg.EDDSA, CoseHeader.TYP: typ, CoseHeader.KID: key.did.encode()}
    )
    signature = key.sign(sig_structure(protected, payload))
    return cbor.encode(cbor.Tag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


@dataclass(frozen=True)
class Sign1:
    """A verified COSE_Sign1: who signed it (``signer`` DID), its ``typ`` and decoded ``claims``."""

    signer: str
    typ: str
    claims: Any
    payload: bytes
    raw: bytes


def _protected_header(protected: bytes) -> dict[int, Any]:
    header = cbor.decode(protected)
    if not isinstance(header, dict):
        raise DecodeError("protected header is not a map")
    return header


def verify1(data: bytes, typ: str, *, max_size: int = cbor.MAX_SIZE) -> Sign1:
    """Verify a COSE_Sign1 of type ``typ`` and return it with its decoded payload; else raise."""
    outer = cbor.decode(data, max_size=max_size, tags=(COSE_SIGN1_TAG,))
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
    header = _protected_header(protected)
    if header.get(CoseHeader.ALG) != CoseAlg.EDDSA:
        raise UnsupportedAlg(f"only EdDSA (-8) is accepted, not {header.get(CoseHeader.ALG)!r}")
    if header.get(CoseHeader.TYP) != typ:
        raise WrongType(f"expected typ {str(typ)!r}, got {header.get(CoseHeader.TYP)!r}")
    if set(header) - _ALLOWED_HEADERS:
        raise DecodeError("protected header has parameters CopyMe does not understand")
    kid = header.get(CoseHeader.KID)
    if not isinstance(kid, bytes):
        raise UnknownKey("kid (the signer's did:key) is missing")
    try:
        signer = kid.decode("ascii")
    except UnicodeDecodeError as err:
        raise UnknownKey("kid is not a did:key") from err
    public_key_from_did(signer)
    verify_signature(signer, sig_structure(protected, payload), signature)
    claims = cbor.decode(payload, max_size=max_size)
    return Sign1(signer=signer, typ=typ, claims=claims, payload=payload, raw=bytes(data))
