"""Encrypted, versioned wallet backups: keys, requests, consents, status lists, history, receipts.

File layout: ``COPYME-WALLET-BACKUP`` + version byte + CBOR map ``{"kdf": {...}, "box": bytes,
"check": bytes}`` and nothing after it.  ``check`` is the SHA-256 of the encoded ``kdf`` map and
the box: a damaged file is ``bad_backup`` before any passphrase is tried, so a passphrase
failure really is ``wrong_passphrase`` (backups written before ``check`` existed still restore,
without that distinction).
The box is SecretBox under an Argon2id key derived from the passphrase; inside is a CBOR map
with the sealed key file (still sealed under the same passphrase) and every table's rows.
Restoring into an empty home reproduces the wallet exactly, so ``list`` shows the same lines.

Both maps are written in the house's deterministic encoding (:func:`protocol.cbor.encode`, RFC
8949 key order).  Backups written before that (by ``cbor2.dumps``, keys in insertion order) still
restore, and that is why the file format keeps version 1 and the reading side is unchanged:

- the reader decodes with cbor2, which takes either key order (the maps are keyed by name, so
  the order never changed what they mean), not with the strict :func:`protocol.cbor.decode`,
  which would refuse the older files' order (and their size: a backup outgrows its 64 KiB cap);
- ``check`` is verified over the ``kdf`` map re-encoded in the key order the file holds it in:
  that gives back the bytes the writer hashed, an older file's insertion order as well as a
  newer file's sorted one;
- the content is the same data model either way (text, bytes, integers, null, lists, maps), so
  a wallet from before the change also reads a backup made after it.

``tests/wallet/data/`` holds a backup written before the change; a test restores it.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import cbor2

from protocol import clock
from protocol.cbor import encode

from .derive import Seed
from .errors import BadBackup, WalletExists
from .home import Home
from .keystore import KeyStore, Sealed, seal, unseal
from .store import Store

__all__ = ["BACKUP_VERSION", "MAGIC", "read_backup", "restore", "restore_with_seed", "write_backup"]

MAGIC = b"COPYME-WALLET-BACKUP"
BACKUP_VERSION = 1


def write_backup(store: Store, home: Home, path: Path, passphrase: str, *, now: int | None = None,
                 kdf: str | None = None) -> dict[str, Any]:
    """Write an encrypted backup of the wallet to ``path``; returns a summary."""
    tables = store.dump()
    payload = encode({"version": BACKUP_VERSION, "created_at": clock.now(now),
                      "key_file": home.key_file.read_text(), "tables": tables})
    sealed = seal(passphrase, payload, kdf=kdf)
    header = {k: v for k, v in sealed.to_json().items() if k != "box"}
    # encode(header) is, byte for byte, how the map stands inside the file (deterministic encoding)
    body = MAGIC + bytes([BACKUP_VERSION]) + encode({"kdf": header, "box": sealed.box,
                                                     "check": _digest(encode(header), sealed.box)})
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(body)
    os.replace(tmp, path)
    return {"file": str(path), "version": BACKUP_VERSION, "bytes": len(body),
            "consents": len(tables["consents"]), "lists": len(tables["lists"])}


def _digest(header: bytes, box: bytes) -> bytes:
    return hashlib.sha256(header + box).digest()


def _check(header: Any, box: bytes) -> bytes:
    """The ``check`` of a ``kdf`` map as read: re-encoded in the key order the file has it in (see
    the module docstring), which gives back the bytes its writer hashed, old files' and new."""
    return _digest(cbor2.dumps(header), box)


def read_backup(path: Path, passphrase: str) -> dict[str, Any]:
    """Decrypt and parse a backup file (``bad_backup``, ``wrong_passphrase``)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise BadBackup(f"cannot read {path}: {err.strerror}") from None
    if not data.startswith(MAGIC):
        raise BadBackup(f"{path} is not a CopyMe wallet backup")
    version = data[len(MAGIC):len(MAGIC) + 1]
    if version != bytes([BACKUP_VERSION]):
        raise BadBackup(f"backup version {version[0] if version else '?'} is not supported (this wallet reads {BACKUP_VERSION})")
    rest = data[len(MAGIC) + 1:]
    try:
        stream = io.BytesIO(rest)
        outer = cbor2.CBORDecoder(stream).decode()
        trailing = stream.tell() != len(rest)
        sealed = Sealed.from_json({**outer["kdf"], "box": outer["box"].hex()})
        check = outer.get("check")
    except Exception as err:  # cbor2 raises many types on damaged input
        raise BadBackup(f"the backup is damaged: {type(err).__name__}") from None
    if trailing:
        raise BadBackup("the backup is damaged: there are bytes after its end")
    if check is not None and check != _check(outer["kdf"], outer["box"]):
        raise BadBackup("the backup is damaged: its checksum does not match its content")
    plaintext = unseal(passphrase, sealed)
    try:
        payload = cbor2.loads(plaintext)
        if payload["version"] != BACKUP_VERSION or not isinstance(payload["tables"], dict):
            raise ValueError("unexpected content")
        return dict(payload)
    except Exception as err:
        raise BadBackup(f"the backup's content is damaged: {type(err).__name__}") from None


def restore(home: Home, path: Path, passphrase: str) -> dict[str, Any]:
    """Recreate a wallet from a backup in an empty home; refuses (``wallet_exists``) otherwise."""
    if home.exists():
        raise WalletExists(f"there is already a wallet in {home.path}; restore only into an empty home")
    payload = read_backup(path, passphrase)
    home.ensure()
    fd = os.open(home.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(payload["key_file"])
    try:
        KeyStore.unlock(home.key_file, passphrase)
        store = Store.create(home.db)
        store.load(payload["tables"])
        store.close()
    except BaseException:
        for leftover in (home.key_file, home.db):
            leftover.unlink(missing_ok=True)
        raise
    tables = payload["tables"]
    return {"home": str(home.path), "consents": len(tables.get("consents", [])),
            "lists": len(tables.get("lists", [])), "created_at": payload.get("created_at")}


def restore_with_seed(home: Home, path: Path, passphrase: str, seed: Seed, *, kdf: str | None = None) -> dict[str, Any]:
    """Recreate a wallet in an empty home from a backup and the recovery phrase's ``seed``.

    The key file is written afresh from the seed (sealed by ``passphrase``), so the backup's own
    sealed key file is not needed; the backup must be this seed's wallet (``bad_backup``).
    """
    if home.exists():
        raise WalletExists(f"there is already a wallet in {home.path}; recover only into an empty home")
    payload = read_backup(path, passphrase)
    keys = KeyStore.from_seed(seed)
    tables = payload["tables"]
    dids = [row.get("value") for row in tables.get("meta", []) if isinstance(row, dict) and row.get("key") == "did"]
    if dids != [keys.identity.did]:
        raise BadBackup("this backup belongs to another wallet than this recovery phrase")
    home.ensure()
    try:
        keys.save(home.key_file, passphrase, kdf=kdf)
        store = Store.create(home.db)
        store.load(tables)
        store.close()
    except BaseException:
        for leftover in (home.key_file, home.db):
            leftover.unlink(missing_ok=True)
        raise
    return {"home": str(home.path), "consents": len(tables.get("consents", [])),
            "lists": len(tables.get("lists", [])), "created_at": payload.get("created_at")}
