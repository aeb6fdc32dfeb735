"""Content ids: CIDv1, multicodec ``cbor``, sha2-256, rendered in base32 (``bafirei...``).

A consent's id is the CID of its signed credential bytes, so the id can be recomputed by every
party that holds the credential and no registry has to hand out ids.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

from multiformats import CID

from .errors import DecodeError

__all__ = ["cid_binary", "cid_bytes", "cid_of", "cid_text", "parse_cid"]


# version 1, multicodec cbor (0x51), multihash sha2-256 (0x12) of 32 bytes (0x20): all one-byte
# varints, so the binary prefix is fixed.  Built by hand because it is on every verify path and
# the general multiformats code is ~100x slower; tests check it against multiformats.
_PREFIX = b"\x01\x51\x12\x20"

_base32: Callable[[bytes], str] | None
try:  # the same base32 in C (protocol/_cbor.c), where it was built: every verify names its consent
    from ._cbor import base32 as _base32
except ImportError:
    _base32 = None


def cid_bytes(data: bytes) -> bytes:
    """The binary CIDv1 of ``data``, as carried inside CBOR claims (36 bytes)."""
    return _PREFIX + hashlib.sha256(data).digest()


def cid_of(data: bytes) -> str:
    """The CIDv1 (cbor, sha2-256, base32) of ``data`` as text."""
    return cid_text(cid_bytes(data))


def cid_text(binary: bytes) -> str:
    """Render a binary CID in multibase base32 (lower case, no padding, ``b`` prefix)."""
    if _base32 is not None and type(binary) is bytes:
        return "b" + _base32(binary)
    return "b" + base64.b32encode(binary).decode("ascii").rstrip("=").lower()


def cid_binary(text: str) -> bytes:
    """The binary form of a text CID that :func:`cid_text` wrote (``malformed`` for anything else)."""
    body = text[1:] if isinstance(text, str) and text.startswith("b") else ""
    try:
        binary = base64.b32decode(body.upper() + "=" * (-len(body) % 8))
    except ValueError as err:
        raise DecodeError("not a base32 CID") from err
    if len(binary) != 36 or not binary.startswith(_PREFIX):
        raise DecodeError("CopyMe ids are CIDv1, codec cbor, sha2-256")
    return binary


def parse_cid(text: str) -> str:
    """Check that ``text`` is a CIDv1 with sha2-256 and return it normalised to base32."""
    try:
        cid = CID.decode(text) if isinstance(text, str) else CID.decode(bytes(text))
    except Exception as err:  # multiformats raises several unrelated types
        raise DecodeError(f"not a CID: {err}") from err
    if cid.version != 1 or cid.codec.name != "cbor" or cid.hashfun.name != "sha2-256":
        raise DecodeError("CopyMe ids are CIDv1, codec cbor, sha2-256")
    return str(cid.set(base="base32"))
