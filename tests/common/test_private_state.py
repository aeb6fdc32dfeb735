"""Every service's state is its user's only: folders 0700, databases (and their WAL) 0600.

The demo's bank and issuer databases used to be world-readable (0644) under a umask of 022.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from issuer.service import load_or_create_key as issuer_key
from issuer.store import IssuerStore
from registry import Registry
from tests.support.samples import KEYS
from verifier.holder import Holder


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _assert_private(home: Path, db_name: str) -> None:
    assert _mode(home) == 0o700, oct(_mode(home))
    files = [p for p in home.iterdir() if p.is_file()]
    assert home / db_name in files
    for file in files:
        assert _mode(file) == 0o600, (file.name, oct(_mode(file)))


def test_registry_state(tmp_path: Path) -> None:
    registry = Registry.open(tmp_path / "registry")
    registry.trust_add(KEYS.holder.did, "銀行", "Bank", "data_holder")  # a write: WAL files exist now
    _assert_private(tmp_path / "registry", "registry.db")
    registry.close()


def test_verifier_state(tmp_path: Path) -> None:
    holder = Holder.open(tmp_path / "bank")
    holder.new_link_code("C-1001")
    _assert_private(tmp_path / "bank", "verifier.db")
    holder.close()


def test_issuer_state(tmp_path: Path) -> None:
    issuer_key(tmp_path / "kakeibo")
    store = IssuerStore(tmp_path / "kakeibo" / "issuer.db")
    store.set_meta("x", "1")
    _assert_private(tmp_path / "kakeibo", "issuer.db")
    store.close()


def test_an_existing_world_readable_database_is_made_private(tmp_path: Path) -> None:
    home = tmp_path / "old"
    home.mkdir(mode=0o700)
    (home / "registry.db").write_bytes(b"")
    os.chmod(home / "registry.db", 0o644)
    Registry.open(home).close()
    assert _mode(home / "registry.db") == 0o600


def test_a_chosen_shared_folder_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "srv"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    Registry.open(shared / "lists.db", council_key=KEYS.council).close()
    assert _mode(shared) == 0o755  # the user's folder, left as it was
    assert _mode(shared / "lists.db") == 0o600


def test_missing_parents_are_made_private(tmp_path: Path) -> None:
    IssuerStore(tmp_path / "a" / "b" / "issuer.db").close()
    assert _mode(tmp_path / "a") == 0o700 and _mode(tmp_path / "a" / "b") == 0o700
