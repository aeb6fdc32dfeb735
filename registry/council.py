"""The registry operator's council key, kept in the home folder beside the database.

The council key signs the operator's TrustList (the organisations it vouches for).  A registry
must start unattended, so the key is stored as a hex seed in a file readable by its owner only
(mode 0600), created atomically on first start; it never leaves the file or enters a log.
"""

from __future__ import annotations

from pathlib import Path

from protocol import KeyPair
from protocol.keyfile import load_or_create_key_file

__all__ = ["COUNCIL_KEY_FILE", "load_council_key"]

#: The file name of the council key inside the registry's home folder.
COUNCIL_KEY_FILE = "council.key"


def load_council_key(path: str | Path, *, create: bool = True) -> KeyPair:
    """The council key stored at ``path``; a new one is generated and saved if there is none."""
    return load_or_create_key_file(path, create=create)
