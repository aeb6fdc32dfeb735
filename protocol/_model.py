"""What every signed wire object shares: sign, decode-and-verify, and checked claim access.

Claim readers turn a peer's wrong types into :class:`DecodeError` naming the claim, and model
validation errors found while decoding into ``malformed`` too: what a peer sent is never the
caller's ``invalid`` argument.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, ClassVar, Self, TypeVar

from . import clock, cose
from .cbor import MAX_SIZE
from .cid import cid_of
from .enums import Typ
from .errors import BadSignature, DecodeError, Expired, InvalidArgument, NotYetValid, UnknownKey
from .keys import KeyPair, public_key_from_did

__all__ = ["SignedModel"]

T = TypeVar("T")
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")
_LANG = re.compile(r"^[a-z]{2}$")


# ---------------------------------------------------------------- validation of our own values


def check_did(value: Any, name: str) -> str:
    """An Ed25519 ``did:key`` (as a caller's argument)."""
    try:
        public_key_from_did(value)
    except UnknownKey as err:
        raise InvalidArgument(f"{name} must be an Ed25519 did:key ({err.detail})", field=name) from None
    return str(value)


def check_text(value: Any, name: str, max_len: int, *, empty: bool = False) -> str:
    """A non-empty text of at most ``max_len`` characters."""
    if not isinstance(value, str) or (not value.strip() and not empty) or len(value) > max_len:
        raise InvalidArgument(f"{name} must be text of 1 to {max_len} characters", field=name)
    return value


def check_url(value: Any, name: str) -> str:
    """An http(s) URL of sane length."""
    if not isinstance(value, str) or len(value) > 2048 or not _URL.match(value):
        raise InvalidArgument(f"{name} must be an http(s) URL", field=name)
    return value


def check_int(value: Any, name: str, low: int, high: int) -> int:
    """An integer within ``[low, high]``."""
    if type(value) is not int or not low <= value <= high:
        raise InvalidArgument(f"{name} must be an integer from {low} to {high}", field=name)
    return value


def check_bytes(value: Any, name: str, size: int) -> bytes:
    """Exactly ``size`` bytes."""
    if not isinstance(value, bytes) or len(value) != size:
        raise InvalidArgument(f"{name} must be {size} bytes", field=name)
    return value


def check_lang(value: Any, name: str) -> str:
    """A two-letter language code."""
    if not isinstance(value, str) or not _LANG.match(value):
        raise InvalidArgument(f"{name} must be a two-letter language code", field=name)
    return value


def check_unique(values: tuple[str, ...], name: str, max_count: int) -> tuple[str, ...]:
    """A non-empty tuple without repeats and at most ``max_count`` long."""
    if not values or len(values) > max_count or len(set(values)) != len(values):
        raise InvalidArgument(f"{name} must list 1 to {max_count} distinct values", field=name)
    return values


def matches(text: str, pattern: re.Pattern[str], seen: set[str]) -> bool:
    """Whether ``pattern`` matches ``text``, remembering texts that matched in ``seen``.

    For the decode paths, where the same item ids, purposes, languages and URIs come back on
    every verify: a set lookup instead of a regular expression, with the very same answer.
    ``seen`` stops growing at 4,096 entries, so a peer's junk cannot fill memory.
    """
    if text in seen:
        return True
    if pattern.match(text) is None:
        return False
    if len(seen) < 4096:
        seen.add(text)
    return True


# ---------------------------------------------------------------- reading a peer's claims


def claim(claims: Mapping[Any, Any], key: Any, kind: type[T], name: str) -> T:
    """A required claim of exactly ``kind``."""
    try:
        value = claims[key]
    except KeyError:
        raise DecodeError(f"claim {name!r} is missing") from None
    if type(value) is not kind:
        raise DecodeError(f"claim {name!r} must be {kind.__name__}")
    return value


def optional(claims: Mapping[Any, Any], key: Any, kind: type[T], name: str) -> T | None:
    """An optional claim of exactly ``kind``."""
    if key not in claims:
        return None
    return claim(claims, key, kind, name)


def text_list(claims: Mapping[Any, Any], key: Any, name: str) -> tuple[str, ...]:
    """A required array of texts."""
    values = claim(claims, key, list, name)
    if not all(type(v) is str for v in values):
        raise DecodeError(f"claim {name!r} must be an array of text")
    return tuple(values)


def check_times(issued_at: int, not_before: int | None, expires_at: int | None, now: int | None,
                leeway: int = 0) -> None:
    """Raise :class:`NotYetValid` or :class:`Expired` for ``now`` outside the validity window."""
    current = clock.now(now)
    start = not_before if not_before is not None else issued_at
    if current + leeway < start:
        raise NotYetValid(f"valid from {start}, now is {current}")
    if expires_at is not None and current - leeway >= expires_at:
        raise Expired(f"expired at {expires_at}, now is {current}")


class SignedModel:
    """Mixin for the frozen dataclasses of the wire objects.

    Subclasses define ``TYP``, ``to_claims()``, ``from_claims()`` and ``signer_claim`` (the
    attribute that must equal the signing key's DID); an object whose signer is only in ``kid``
    also overrides ``from_signed_claims()``.
    """

    TYP: ClassVar[Typ]
    MAX_SIZE: ClassVar[int] = MAX_SIZE
    signer_claim: ClassVar[str] = "issuer"
    raw: bytes

    def to_claims(self) -> dict[Any, Any]:  # pragma: no cover - abstract
        """The CWT claims map of this object."""
        raise NotImplementedError

    @classmethod
    def from_claims(cls, claims: Mapping[Any, Any]) -> Self:  # pragma: no cover - abstract
        """Build the object from a peer's claims map (raises ``malformed``)."""
        raise NotImplementedError

    def to_payload(self) -> bytes:
        """The deterministic CBOR payload (what the signature covers, inside Sig_structure)."""
        from .cbor import encode

        return encode(self.to_claims())

    @classmethod
    def from_payload(cls, payload: bytes, *, signer: str | None = None) -> Self:
        """Parse an unsigned payload; only for test vectors and tools, never for trust.

        ``signer`` is the DID the ``kid`` would name, for objects whose signer is not a claim
        (a ConsentCredential's issuer).
        """
        from .cbor import decode

        claims = decode(payload, max_size=cls.MAX_SIZE)
        return cls._build(claims, signer)

    @classmethod
    def from_signed_claims(cls, claims: Mapping[Any, Any], signer: str) -> Self:
        """Build the object from a peer's claims map, signed by ``signer`` (the DID of ``kid``).

        Most objects name their signer in a claim, which :meth:`decode` compares with ``kid``;
        an object whose signer is only in ``kid`` overrides this to take it from there.
        """
        return cls.from_claims(claims)

    def sign(self, key: KeyPair) -> bytes:
        """The COSE_Sign1 bytes of this object, signed by ``key`` (which must be its signer)."""
        expected = getattr(self, self.signer_claim)
        if key.did != expected:
            raise InvalidArgument(
                f"{self.signer_claim} is {expected}, but the key is {key.did}", field=self.signer_claim
            )
        return cose.sign1(self.to_payload(), key, self.TYP)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Verify the signature and ``typ`` of ``data`` and return the object it carries.

        Time is not checked here (see ``check_validity``) so that callers can report an expired
        object for what it is.  Raises only :class:`~protocol.errors.CopyMeError` subclasses.
        """
        signer, claims, _, raw = cose.verified(data, cls.TYP, cls.MAX_SIZE)
        obj = cls._build(claims, signer)
        if getattr(obj, cls.signer_claim) != signer:
            raise BadSignature(f"signed by {signer}, not by its {cls.signer_claim}")
        object.__setattr__(obj, "raw", raw)
        return obj

    @classmethod
    def _build(cls, claims: Any, signer: str | None = None) -> Self:
        if not isinstance(claims, dict):
            raise DecodeError("payload is not a claims map")
        try:
            return cls.from_claims(claims) if signer is None else cls.from_signed_claims(claims, signer)
        except InvalidArgument as err:
            raise DecodeError(err.detail, field=err.field) from None

    @property
    def cid(self) -> str:
        """The content id of the signed bytes (only for decoded or re-signed objects)."""
        if not self.raw:
            raise InvalidArgument("this object has not been signed or decoded yet", field="raw")
        return cid_of(self.raw)

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly view (bytes as hex) for CLIs, APIs and logs of non-secret data."""
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            if f.name == "raw":
                continue
            out[f.name] = _jsonable(getattr(self, f.name))
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "to_json"):
        return value.to_json()
    if hasattr(value, "__dataclass_fields__"):
        return {f: _jsonable(getattr(value, f)) for f in value.__dataclass_fields__}
    return value

