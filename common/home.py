"""Where a party keeps its state, and keeping it private.

Every ``copyme`` service takes ``--home``; without it the folder is ``$COPYME_HOME/<party>``,
else ``~/.copyme/<party>`` (the wallet, the user's own, lives at the top: no ``<party>``).
Each service's state is readable by its user only: folders 0700, files 0600.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["home_folder", "make_private", "private_file", "private_folder"]


def home_folder(home: str | os.PathLike[str] | None = None, party: str | None = None) -> Path:
    """``home``, else ``$COPYME_HOME/<party>``, else ``~/.copyme/<party>`` (``party`` may be ``None``)."""
    if home:
        return Path(home).expanduser()
    base = Path(os.environ.get("COPYME_HOME") or Path.home() / ".copyme").expanduser()
    return base / party if party else base


def private_folder(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and its parents) if needed, and make it 0700; returns it."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    return folder


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create the database file ``path`` empty with mode 0600 if it is missing (an empty file is
    an empty SQLite database, and SQLite gives its -wal and -shm files the file's mode), else make
    it (and its side files) 0600; returns it.

    Missing folders on the way are made 0700; a folder that already exists keeps its mode: it may
    be a shared one the user chose (``--db /srv/x.db``), and the files in it are private anyway.
    """
    file = Path(path)
    missing = [p for p in (file.parent, *file.parent.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
    try:
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    make_private(file)
    return file


def make_private(path: str | os.PathLike[str]) -> None:
    """Make an existing file 0600 (a missing one is left alone), and SQLite's side files with it."""
    for candidate in (Path(path), Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(candidate, 0o600)
