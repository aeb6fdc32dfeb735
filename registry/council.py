"""The registry operator's council key, kept in the home folder beside the database.

The council key signs the operator's TrustList (the organisations it vouches for).  A registry
must start unattended, so the key is stored as a hex seed in a file readable by its owner only
(mode 0600), created atomically on first start; it never leaves the file or enters a log.
"""

from __future__ import annotations

import os
from pathlib import Path

from protocol import DecodeError, KeyPair, Unavailable

__all__ = ["COUNCIL_KEY_FILE", "load_council_key"]

#: The file name of the council key inside the registry's home folder.
COUNCIL_KEY_FILE = "council.key"


def load_council_key(path: str | Path, *, create: bool = True) -> KeyPair:
    """The council key stored at ``path``; a new one is generated and saved if there is none."""
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        if not create:
            raise Unavailable(f"no council key at {path}") from None
        return _create(path)
    except (OSError, UnicodeDecodeError) as err:
        raise Unavailable(f"cannot read the council key at {path}: {type(err).__name__}") from err
    try:
        seed = bytes.fromhex(text)
        if len(seed) != 32:
            raise ValueError
    except ValueError:
        raise DecodeError(f"the council key file {path} does not hold a 32-byte hex seed") from None
    return KeyPair.from_seed(seed)


def _create(path: Path) -> KeyPair:
    # write a private temporary file, then hard-link it into place: the link either appears
    # complete or fails because another process won the race (then its key is used).
    key = KeyPair.generate()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(key.seed.hex() + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return load_council_key(path, create=False)
    except OSError as err:
        raise Unavailable(f"cannot create the council key at {path}: {type(err).__name__}") from err
    finally:
        tmp.unlink(missing_ok=True)
    return key
