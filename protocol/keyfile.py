"""A service's own signing key in a file: created atomically at first start, mode 0600.

The registry (council key), a data holder and a data user must start unattended, so their keys
are stored as a hex seed readable by the owner only; only the wallet, which has a person to ask
for a passphrase, encrypts its keys.  One implementation serves all three so that creation is
race-free everywhere and a damaged file is always one of our errors, never a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import DecodeError, Unavailable
from .keys import KeyPair

__all__ = ["load_or_create_key_file"]


def load_or_create_key_file(path: str | Path, *, create: bool = True) -> KeyPair:
    """The key whose seed is stored at ``path``; with ``create``, a new one is made if there is none.

    Raises :class:`DecodeError` (``malformed``) for a file that does not hold a 32-byte hex seed and
    :class:`Unavailable` when the file cannot be read or written.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        if not create:
            raise Unavailable(f"no key file at {path}") from None
        return _create(path)
    except (OSError, UnicodeDecodeError) as err:
        raise Unavailable(f"cannot read the key file {path}: {type(err).__name__}") from err
    try:
        seed = bytes.fromhex(text)
        if len(seed) != 32:
            raise ValueError
    except ValueError:
        raise DecodeError(f"the key file {path} does not hold a 32-byte hex seed") from None
    return KeyPair.from_seed(seed)


def _create(path: Path) -> KeyPair:
    # Write a private temporary file, then hard-link it into place: the link either appears
    # complete or fails because another process won the race (then that process's key is used).
    key = KeyPair.generate()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # state folders: the user's only
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(key.seed.hex() + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return load_or_create_key_file(path, create=False)
    except OSError as err:
        raise Unavailable(f"cannot create the key file {path}: {type(err).__name__}") from err
    finally:
        tmp.unlink(missing_ok=True)
    return key
