"""Where a wallet lives: one home folder holding the database and the sealed key file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from common import home_folder, private_folder

__all__ = ["DB_NAME", "KEY_NAME", "TOKEN_NAME", "Home", "resolve_home"]

DB_NAME = "wallet.db"
KEY_NAME = "wallet.key"
TOKEN_NAME = "api.token"


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """``home``, else ``COPYME_HOME``, else ``~/.copyme``."""
    return home_folder(home)


@dataclass(frozen=True)
class Home:
    """The paths inside one wallet home folder."""

    path: Path

    @classmethod
    def at(cls, home: str | os.PathLike[str] | None = None) -> Home:
        """The home for ``home`` (see :func:`resolve_home`)."""
        return cls(resolve_home(home))

    @property
    def db(self) -> Path:
        """The SQLite database."""
        return self.path / DB_NAME

    @property
    def key_file(self) -> Path:
        """The passphrase-sealed key file."""
        return self.path / KEY_NAME

    @property
    def api_token(self) -> Path:
        """The bearer token of the local API (created by ``serve``)."""
        return self.path / TOKEN_NAME

    def exists(self) -> bool:
        """Whether a wallet (either of its files) is already here."""
        return self.db.exists() or self.key_file.exists()

    def ensure(self) -> None:
        """Create the folder, readable by the user only."""
        private_folder(self.path)
