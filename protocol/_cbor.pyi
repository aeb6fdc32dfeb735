"""Type stub of the optional C decoder (``protocol/_cbor.c``); see ``protocol.cbor``."""

from typing import Any

MAX_DEPTH: int

class Invalid(ValueError):
    """The input is not the deterministic encoding of a data-model value."""

def decode(data: bytes, allow_tag18: bool, /) -> Any:
    """The value ``data`` encodes, or raise :class:`Invalid`."""
