"""A damaged backup is ``bad_backup``: bytes appended, a byte flipped in the box or its key
parameters; only a passphrase that does not open an intact backup is ``wrong_passphrase``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.wallet.conftest import PASSPHRASE, Env
from wallet import Wallet
from wallet.backup import MAGIC, read_backup, write_backup
from wallet.errors import BadBackup, WrongPassphrase


@pytest.fixture
def backup(env: Env) -> Path:
    wallet = Wallet.init(env.home, PASSPHRASE, registry=env.registry_url)
    path = env.tmp / "wallet.backup"
    write_backup(wallet.store, wallet.home, path, PASSPHRASE)
    wallet.close()
    return path


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def test_an_intact_backup_reads_and_a_wrong_passphrase_is_wrong_passphrase(backup: Path) -> None:
    assert read_backup(backup, PASSPHRASE)["tables"]
    with pytest.raises(WrongPassphrase):
        read_backup(backup, "not the passphrase")


@pytest.mark.parametrize("damage", ["appended", "flipped-in-box", "flipped-in-salt", "flipped-last", "truncated"])
def test_a_damaged_backup_is_bad_backup_whatever_the_passphrase(backup: Path, damage: str) -> None:
    data = backup.read_bytes()
    salt_at = data.index(b"salt") + 8
    damaged = {
        "appended": data + b"\x00extra",
        "flipped-in-box": _flip(data, len(data) // 2),
        "flipped-in-salt": _flip(data, salt_at),
        "flipped-last": _flip(data, len(data) - 40),
        "truncated": data[: len(data) - 10],
    }[damage]
    assert damaged.startswith(MAGIC)
    backup.write_bytes(damaged)
    for passphrase in (PASSPHRASE, "not the passphrase"):
        with pytest.raises(BadBackup) as info:
            read_backup(backup, passphrase)
        assert info.value.code == "bad_backup"
