"""Status lists and their signed tokens (IETF OAuth Token Status List, CWT form).

A list is a fixed-size array of 2-bit entries (0 valid, 1 revoked, 2 suspended), packed from
the least significant bit of each byte, zlib-compressed (RFC 1950) into ``lst``.  The token's
claims are exactly the draft's: ``sub`` (2) = the list's URI, ``iat`` (6), ``exp`` (4), ``ttl``
(65534) and ``status_list`` (65533) = ``{"bits": 2, "lst": bytes}``, with ``typ``
``application/statuslist+cwt``.  It is signed by a per-list key (not the user's DID key), named
in each credential, so the registry that serves it cannot tell whose list it is.

Decompression is bounded: a "zip bomb" is refused as ``malformed`` before it fills memory.
"""

from __future__ import annotations

import secrets
import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import clock
from ._model import SignedModel, check_int, check_url, claim, optional
from .enums import Claim, Status, Typ
from .errors import DecodeError, InvalidArgument, StatusInvalid

__all__ = ["DEFAULT_LIST_SIZE", "MAX_LIST_SIZE", "StatusList", "StatusListToken"]

BITS = 2
_PER_BYTE = 8 // BITS
_MASK = (1 << BITS) - 1
#: Entries in a new list: fixed, so a list's size says nothing about how many consents it holds.
DEFAULT_LIST_SIZE = 16384
#: The largest list CopyMe decodes (4 MiB of 2-bit entries once decompressed).
MAX_LIST_SIZE = 1 << 24


class StatusList:
    """A mutable fixed-size array of 2-bit status entries."""

    __slots__ = ("_data",)

    def __init__(self, size: int = DEFAULT_LIST_SIZE, data: bytes | None = None) -> None:
        check_int(size, "size", _PER_BYTE, MAX_LIST_SIZE)
        if size % _PER_BYTE:
            raise InvalidArgument(f"a 2-bit list's size is a multiple of {_PER_BYTE}", field="size")
        if data is not None and len(data) * _PER_BYTE != size:
            raise InvalidArgument("data does not match the size", field="data")
        self._data = bytearray(data) if data is not None else bytearray(size // _PER_BYTE)

    @property
    def size(self) -> int:
        """Number of entries."""
        return len(self._data) * _PER_BYTE

    def _check(self, index: int) -> None:
        if type(index) is not int or not 0 <= index < self.size:
            raise StatusInvalid(f"index {index} is outside a list of {self.size} entries")

    def get(self, index: int) -> Status:
        """The status at ``index``; an index outside the list is ``status_invalid``."""
        self._check(index)
        byte = self._data[index // _PER_BYTE]
        return Status((byte >> ((index % _PER_BYTE) * BITS)) & _MASK)

    def set(self, index: int, status: Status | int) -> None:
        """Set the entry at ``index``."""
        self._check(index)
        value = Status(status)
        shift = (index % _PER_BYTE) * BITS
        pos = index // _PER_BYTE
        self._data[pos] = (self._data[pos] & ~(_MASK << shift) & 0xFF) | (value << shift)

    def random_free_index(self, taken: Collection[int], *, randbelow: Any = secrets.randbelow) -> int:
        """A uniformly random index not in ``taken``, so ids reveal nothing about order or count."""
        if len(taken) >= self.size:
            raise InvalidArgument("the status list is full", field="size")
        while True:
            index = int(randbelow(self.size))
            if index not in taken:
                return index

    def to_bytes(self) -> bytes:
        """The raw packed entries."""
        return bytes(self._data)

    def compress(self) -> bytes:
        """The ``lst`` value: zlib (RFC 1950) of the packed entries, best compression."""
        return zlib.compress(bytes(self._data), 9)

    @classmethod
    def decompress(cls, lst: bytes, max_size: int = MAX_LIST_SIZE) -> StatusList:
        """Inflate an ``lst`` value, refusing more than ``max_size`` entries."""
        limit = max_size // _PER_BYTE
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(lst, limit)
        except zlib.error as err:
            raise DecodeError(f"lst is not zlib data: {err}") from err
        if inflater.unconsumed_tail or not inflater.eof:
            raise DecodeError("lst is truncated or inflates beyond the size limit")
        if inflater.unused_data:
            raise DecodeError("lst has bytes after the zlib stream")
        if not data:
            raise DecodeError("lst is empty")
        return cls(len(data) * _PER_BYTE, data)

    def to_json(self) -> dict[str, Any]:
        """A JSON view: size, bits, and the entries that are not valid."""
        flagged = {
            str(i): int(self.get(i))
            for pos, byte in enumerate(self._data) if byte
            for i in range(pos * _PER_BYTE, pos * _PER_BYTE + _PER_BYTE) if self.get(i)
        }
        return {"bits": BITS, "size": self.size, "not_valid": flagged}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StatusList) and self._data == other._data

    def __repr__(self) -> str:
        return f"StatusList(size={self.size})"


@dataclass(frozen=True)
class StatusListToken(SignedModel):
    """A signed status list (``typ`` application/statuslist+cwt), signed by the list's own key."""

    TYP = Typ.STATUS_LIST
    MAX_SIZE = 1024 * 1024
    signer_claim = "signer"

    uri: str
    issued_at: int
    ttl: int | None
    expires_at: int | None
    status_list: StatusList
    signer: str = field(default="", compare=False)  # the list key, from kid: not a claim
    raw: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        check_url(self.uri, "uri")
        check_int(self.issued_at, "issued_at", 0, 2**40)
        if self.ttl is not None:
            check_int(self.ttl, "ttl", 1, 366 * 86400)
        if self.expires_at is not None:
            check_int(self.expires_at, "expires_at", self.issued_at + 1, 2**40)
        if not isinstance(self.status_list, StatusList):
            raise InvalidArgument("status_list must be a StatusList", field="status_list")

    @classmethod
    def create(
        cls, *, uri: str, status_list: StatusList, signer: str, ttl: int = 300,
        lifetime: int = 86400, now: int | None = None,
    ) -> StatusListToken:
        """A token issued ``now``, to be cached for ``ttl`` s and trusted for at most ``lifetime`` s."""
        issued = clock.now(now)
        return cls(uri=uri, issued_at=issued, ttl=ttl, expires_at=issued + lifetime,
                   status_list=status_list, signer=signer)

    def is_stale(self, fetched_at: int, now: int | None = None) -> bool:
        """Whether a copy fetched at ``fetched_at`` must be fetched again (past ``ttl`` or ``exp``)."""
        current = clock.now(now)
        if self.expires_at is not None and current >= self.expires_at:
            return True
        return self.ttl is not None and current >= fetched_at + self.ttl

    @classmethod
    def decode(cls, data: bytes) -> StatusListToken:
        """Verify the signature and ``typ`` and return the token, with ``signer`` set from ``kid``.

        Unlike the other objects, the signer is no claim: it is the per-list key, and whether it
        is the right one is for the caller to check against the key the credential names.
        """
        from . import cose

        signed = cose.verify1(data, cls.TYP, max_size=cls.MAX_SIZE)
        obj = cls._build(signed.claims)
        object.__setattr__(obj, "signer", signed.signer)
        object.__setattr__(obj, "raw", signed.raw)
        return obj

    def to_claims(self) -> dict[Any, Any]:
        claims: dict[Any, Any] = {
            Claim.SUB: self.uri,
            Claim.IAT: self.issued_at,
            Claim.STATUS_LIST: {"bits": BITS, "lst": self.status_list.compress()},
        }
        if self.expires_at is not None:
            claims[Claim.EXP] = self.expires_at
        if self.ttl is not None:
            claims[Claim.TTL] = self.ttl
        return claims

    @classmethod
    def from_claims(cls, claims: Mapping[Any, Any]) -> StatusListToken:
        body = claim(claims, Claim.STATUS_LIST, dict, "status_list")
        bits = claim(body, "bits", int, "status_list.bits")
        if bits != BITS:
            raise DecodeError(f"CopyMe lists have {BITS} bits per entry, not {bits}")
        return cls(
            uri=claim(claims, Claim.SUB, str, "sub"),
            issued_at=claim(claims, Claim.IAT, int, "iat"),
            ttl=optional(claims, Claim.TTL, int, "ttl"),
            expires_at=optional(claims, Claim.EXP, int, "exp"),
            status_list=StatusList.decompress(claim(body, "lst", bytes, "status_list.lst")),
        )
