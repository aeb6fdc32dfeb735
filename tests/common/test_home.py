"""The home-folder convention and private state."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from common import home_folder, make_private, private_folder


def test_home_flag_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYME_HOME", str(tmp_path / "env"))
    assert home_folder(tmp_path / "given", "verifier") == tmp_path / "given"


def test_env_then_user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYME_HOME", str(tmp_path / "env"))
    assert home_folder(None, "registry") == tmp_path / "env" / "registry"
    assert home_folder(None) == tmp_path / "env"
    monkeypatch.delenv("COPYME_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert home_folder(None, "issuer") == tmp_path / "user" / ".copyme" / "issuer"


def test_private_folder_and_files(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True, mode=0o755)
    assert private_folder(folder) == folder
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    db = folder / "x.db"
    db.write_bytes(b"")
    (folder / "x.db-wal").write_bytes(b"")
    db.chmod(0o644)
    make_private(db)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "x.db-wal").stat().st_mode) == 0o600
    make_private(folder / "missing.db")  # nothing to do, no error
