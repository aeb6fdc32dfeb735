"""The wallet's secrets at rest: one key file sealed by a passphrase (Argon2id + SecretBox).

The key file holds the wallet's 32-byte entropy (:class:`wallet.derive.Seed`), from which the
identity key, the *data key* and every holder and relationship key are derived; the recovery
phrase is the same entropy in words.  (Version 1 files, from before the recovery phrase, hold a
random identity seed and data key instead; their holder and relationship keys are derived from
the identity seed.)  The data key in turn seals each status list's signing seed inside the database, so that adding a list never
rewrites the key file and a copied database alone reveals no secret.  The Argon2id parameters
and salt are stored next to the ciphertext, so a wallet made with one cost setting opens with
any later default.

Cost: ``moderate`` (pynacl's OPSLIMIT/MEMLIMIT_MODERATE, 256 MiB) by default; ``COPYME_KDF``
may choose ``interactive`` (64 MiB) or ``sensitive`` (1 GiB); ``min`` exists only to keep test
suites fast and must never be used for a real wallet.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from protocol import InvalidArgument, KeyPair

from .derive import Seed, hkdf
from .errors import CorruptStore, WrongPassphrase

__all__ = ["KDF_LEVELS", "KeyStore", "Sealed", "kdf_level", "open_box", "seal_box"]

KEY_FILE_VERSION = 2
_READABLE_VERSIONS = (1, 2)
#: Argon2id cost levels by name: (opslimit, memlimit).
KDF_LEVELS: dict[str, tuple[int, int]] = {
    "min": (nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN),
    "interactive": (nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE, nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE),
    "moderate": (nacl.pwhash.argon2id.OPSLIMIT_MODERATE, nacl.pwhash.argon2id.MEMLIMIT_MODERATE),
    "sensitive": (nacl.pwhash.argon2id.OPSLIMIT_SENSITIVE, nacl.pwhash.argon2id.MEMLIMIT_SENSITIVE),
}


def kdf_level(name: str | None = None) -> tuple[int, int]:
    """The (opslimit, memlimit) for ``name``, else ``COPYME_KDF``, else ``moderate``."""
    chosen = name or os.environ.get("COPYME_KDF") or "moderate"
    if chosen not in KDF_LEVELS:
        raise InvalidArgument(f"COPYME_KDF must be one of {', '.join(KDF_LEVELS)}", field="kdf")
    return KDF_LEVELS[chosen]


@dataclass(frozen=True)
class Sealed:
    """A passphrase-sealed blob with the parameters needed to open it again."""

    opslimit: int
    memlimit: int
    salt: bytes
    box: bytes

    def to_json(self) -> dict[str, Any]:
        """The sealed box and its Argon2id parameters as stored in the key file and in backups."""
        return {"kdf": "argon2id", "opslimit": self.opslimit, "memlimit": self.memlimit,
                "salt": self.salt.hex(), "box": self.box.hex()}

    @classmethod
    def from_json(cls, data: Any) -> Sealed:
        """Read :meth:`to_json` back; anything else is ``corrupt_store``, never a stack trace."""
        try:
            if data["kdf"] != "argon2id":
                raise ValueError("unknown kdf")
            return cls(int(data["opslimit"]), int(data["memlimit"]), bytes.fromhex(data["salt"]),
                       bytes.fromhex(data["box"]))
        except (KeyError, TypeError, ValueError) as err:
            raise CorruptStore(f"sealed data is damaged: {err}") from None


def _derive(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return bytes(nacl.pwhash.argon2id.kdf(nacl.secret.SecretBox.KEY_SIZE, passphrase.encode("utf-8"),
                                          salt, opslimit=opslimit, memlimit=memlimit))


def seal(passphrase: str, plaintext: bytes, *, kdf: str | None = None) -> Sealed:
    """Seal ``plaintext`` with a key derived from ``passphrase`` (fresh salt and nonce)."""
    if not passphrase:
        raise InvalidArgument("the passphrase must not be empty", field="passphrase")
    opslimit, memlimit = kdf_level(kdf)
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    key = _derive(passphrase, salt, opslimit, memlimit)
    return Sealed(opslimit, memlimit, salt, bytes(nacl.secret.SecretBox(key).encrypt(plaintext)))


def unseal(passphrase: str, sealed: Sealed) -> bytes:
    """The plaintext, or :class:`WrongPassphrase`."""
    try:
        key = _derive(passphrase, sealed.salt, sealed.opslimit, sealed.memlimit)
        return bytes(nacl.secret.SecretBox(key).decrypt(sealed.box))
    except nacl.exceptions.CryptoError as err:
        raise WrongPassphrase("the passphrase does not open this wallet") from err
    except (ValueError, TypeError) as err:
        raise CorruptStore(f"sealed data is damaged: {err}") from err


def seal_box(data_key: bytes, plaintext: bytes) -> bytes:
    """Seal a small secret (a list seed) under the wallet's data key."""
    return bytes(nacl.secret.SecretBox(data_key).encrypt(plaintext))


def open_box(data_key: bytes, box: bytes) -> bytes:
    """Open what :func:`seal_box` sealed; damage is ``corrupt_store``."""
    try:
        return bytes(nacl.secret.SecretBox(data_key).decrypt(box))
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as err:
        raise CorruptStore("a sealed list key in the database is damaged") from err


@dataclass(frozen=True, repr=False)
class KeyStore:
    """The unlocked secrets: the identity key, the data key and the seed that derives the others.

    ``repr`` shows no secret.  ``phrase_seed`` is the :class:`Seed` a recovery phrase restores
    (``None`` for a version-1 wallet, which has no phrase).
    """

    identity: KeyPair
    data_key: bytes
    root: Seed
    phrase_seed: Seed | None = None

    @classmethod
    def from_seed(cls, seed: Seed) -> KeyStore:
        """Every secret derived from ``seed`` (a new wallet, or one recovered from its phrase)."""
        return cls(seed.identity, seed.data_key, seed, seed)

    @classmethod
    def create(cls) -> KeyStore:
        """Fresh random secrets."""
        return cls.from_seed(Seed.generate())

    def holder_key(self, holder: str) -> KeyPair:
        """The key linked at ``holder`` with a link code (see :mod:`wallet.derive`)."""
        return self.root.holder_key(holder)

    def relationship_key(self, holder: str, requester: str, generation: int = 0) -> KeyPair:
        """The pairwise key of one relationship (see :mod:`wallet.derive`)."""
        return self.root.relationship_key(holder, requester, generation)

    def save(self, path: Path, passphrase: str, *, kdf: str | None = None) -> None:
        """Write the sealed key file (mode 0600); refuses to replace an existing one."""
        if self.phrase_seed is not None:
            secret: dict[str, str] = {"entropy": self.phrase_seed.entropy.hex()}
            version = KEY_FILE_VERSION
        else:
            secret = {"identity": self.identity.seed.hex(), "data_key": self.data_key.hex()}
            version = 1
        plaintext = json.dumps(secret).encode()
        body = {"version": version, "did": self.identity.did, **seal(passphrase, plaintext, kdf=kdf).to_json()}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(body, out, indent=1)

    @staticmethod
    def read_public(path: Path) -> dict[str, Any]:
        """The key file's unencrypted part (version, DID, KDF parameters)."""
        try:
            body = json.loads(path.read_text())
            if not isinstance(body, dict) or body.get("version") not in _READABLE_VERSIONS:
                raise ValueError("unknown key file version")
            return body
        except (OSError, ValueError, UnicodeDecodeError) as err:
            raise CorruptStore(f"the key file {path.name} is damaged: {err}") from None

    @classmethod
    def unlock(cls, path: Path, passphrase: str) -> KeyStore:
        """Open the key file with ``passphrase``; :class:`WrongPassphrase` if it does not fit."""
        body = cls.read_public(path)
        plaintext = unseal(passphrase, Sealed.from_json(body))
        try:
            secrets_ = json.loads(plaintext)
            if body["version"] == 1:
                identity = KeyPair.from_seed(bytes.fromhex(secrets_["identity"]))
                store = cls(identity, bytes.fromhex(secrets_["data_key"]), Seed(hkdf(identity.seed, "legacy-root")))
            else:
                store = cls.from_seed(Seed(bytes.fromhex(secrets_["entropy"])))
        except (ValueError, KeyError, TypeError) as err:
            raise CorruptStore("the key file's sealed content is damaged") from err
        if store.identity.did != body.get("did"):
            raise CorruptStore("the key file's DID does not match its key")
        return store

    def __repr__(self) -> str:
        return f"KeyStore({self.identity.did})"
