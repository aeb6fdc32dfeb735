"""Type stub of the optional C decoder (``protocol/_cbor.c``); see ``protocol.cbor``."""

from collections.abc import Collection
from typing import Any

MAX_DEPTH: int

class Invalid(ValueError):
    """The input is not the deterministic encoding of a data-model value."""

def decode(data: bytes, allow_tag18: bool, /) -> Any:
    """The value ``data`` encodes, or raise :class:`Invalid`."""

def encode(value: Any, tags: Collection[int], /) -> bytes:
    """``value`` in deterministic CBOR as ``protocol.cbor``'s reference writes it, or raise :class:`Invalid`."""

def sign1_parts(data: bytes, /) -> tuple[bytes, bytes, bytes, bytes] | None:
    """(protected, payload, signature, Sig_structure) of a COSE_Sign1 of CopyMe's one shape, else None."""

def base32(data: bytes, /) -> str:
    """``data`` in RFC 4648 base32, lower case, without padding."""
