"""Ed25519 keys and their ``did:key`` identifiers.

A ``did:key`` carries the public key itself (multicodec ``ed25519-pub`` = 0xed 0x01, then the
32 key bytes, multibase base58btc with the ``z`` prefix), so anyone can check a signature
without asking a resolver: that is what lets a data holder verify a user it has never met.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing
from multiformats import multibase

from .errors import BadSignature, UnknownKey

__all__ = ["DID_PREFIX", "KeyPair", "did_from_public_key", "public_key_from_did", "verify_signature",
           "verify_with_key"]

DID_PREFIX = "did:key:"
_ED25519_PUB = b"\xed\x01"  # multicodec ed25519-pub, as its unsigned varint
_MAX_DID_LEN = 128


@functools.lru_cache(maxsize=65536)
def did_from_public_key(public_key: bytes) -> str:
    """The ``did:key`` for a raw 32-byte Ed25519 public key (raises :class:`UnknownKey` otherwise)."""
    if type(public_key) is not bytes or len(public_key) != 32:
        raise UnknownKey(f"an Ed25519 public key has 32 bytes, not {len(public_key)}")
    return DID_PREFIX + multibase.encode(_ED25519_PUB + bytes(public_key), "base58btc")


@functools.lru_cache(maxsize=65536)
def public_key_from_did(did: str) -> bytes:
    """The raw Ed25519 public key inside a ``did:key``.

    Raises :class:`UnknownKey` for anything else: another DID method, a fragment, another
    multibase or multicodec, or a key of the wrong length.
    """
    if not isinstance(did, str) or not did.startswith(DID_PREFIX):
        raise UnknownKey("not a did:key identifier")
    if len(did) > _MAX_DID_LEN:
        raise UnknownKey("did:key identifier too long")
    value = did[len(DID_PREFIX) :]
    if not value.startswith("z"):
        raise UnknownKey("did:key must use multibase base58btc ('z' prefix)")
    try:
        raw = multibase.decode(value)
    except Exception as err:  # multiformats raises several unrelated types for bad input
        raise UnknownKey(f"bad multibase in did:key: {err}") from err
    if raw[:2] != _ED25519_PUB:
        raise UnknownKey("did:key is not an ed25519-pub key (multicodec 0xed)")
    key = raw[2:]
    if len(key) != 32:
        raise UnknownKey(f"ed25519-pub key has {len(key)} bytes, not 32")
    return bytes(key)


@functools.lru_cache(maxsize=65536)
def _verify_key(did: str) -> nacl.signing.VerifyKey:
    return nacl.signing.VerifyKey(public_key_from_did(did))


def verify_signature(did: str, message: bytes, signature: bytes) -> None:
    """Check an Ed25519 ``signature`` by the key of ``did``; raise :class:`BadSignature` if not."""
    key = _verify_key(did)
    try:
        key.verify(message, signature)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError) as err:
        raise BadSignature("signature does not verify") from err


@functools.lru_cache(maxsize=65536)
def _verify_key_raw(public_key: bytes) -> nacl.signing.VerifyKey:
    return nacl.signing.VerifyKey(public_key)


def verify_with_key(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Check an Ed25519 ``signature`` by a raw 32-byte ``public_key``; raise :class:`BadSignature` if not."""
    try:
        _verify_key_raw(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError) as err:
        raise BadSignature("signature does not verify") from err


@dataclass(frozen=True, repr=False)
class KeyPair:
    """An Ed25519 signing key with its ``did:key``.  ``repr`` never shows the secret."""

    signing_key: nacl.signing.SigningKey

    @classmethod
    def generate(cls) -> KeyPair:
        """A fresh key from the operating system's random source."""
        return cls(nacl.signing.SigningKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> KeyPair:
        """The key for a 32-byte seed (RFC 8032 private key); used for storage and test vectors."""
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed has 32 bytes")
        return cls(nacl.signing.SigningKey(bytes(seed)))

    @property
    def seed(self) -> bytes:
        """The 32-byte secret seed: store it only encrypted."""
        return bytes(self.signing_key)

    @functools.cached_property
    def public_key(self) -> bytes:
        """The raw 32-byte public key."""
        return bytes(self.signing_key.verify_key)

    @functools.cached_property
    def did(self) -> str:
        """This key's ``did:key``."""
        return did_from_public_key(self.public_key)

    def sign(self, message: bytes) -> bytes:
        """A detached 64-byte Ed25519 signature over ``message``."""
        return bytes(self.signing_key.sign(message).signature)

    def __repr__(self) -> str:
        return f"KeyPair({self.did})"
