"""A damaged backup is ``bad_backup``: bytes appended, a byte flipped in the box or its key
parameters; only a passphrase that does not open an intact backup is ``wrong_passphrase``.
Backups are written in deterministic CBOR, and one written before that still restores."""

from __future__ import annotations

from pathlib import Path

import cbor2
import pytest

from protocol import DecodeError, cbor
from tests.wallet.conftest import PASSPHRASE, Env
from wallet import Wallet
from wallet.backup import BACKUP_VERSION, MAGIC, read_backup, restore, write_backup
from wallet.errors import BadBackup, WrongPassphrase
from wallet.home import Home
from wallet.keystore import Sealed, unseal


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


#: A backup written by the wallet before backups were encoded with protocol.cbor (by
#: ``cbor2.dumps``, map keys in insertion order), kdf ``min``: three consents given at
#: 1,796,000,000 + 0/60/120 s, the second (in English) suspended, the third revoked.
OLD_BACKUP = Path(__file__).parent / "data" / "backup-before-deterministic-cbor.backup"
OLD_PASSPHRASE = "correct horse battery staple"
OLD_CONSENTS = {
    "bafireieid3kvr6t5yjfngwpjcx6it7tmrzwp4az6vgmqp5id6jd6pw2qqq": ("active", "ja"),
    "bafireigne6vo4ve32n6alrfz6r5bq2rv7owxx35xpfhov5ejvihig5ulvu": ("suspended", "en"),
    "bafireiftcvpxrvcbfjxsgm62zgif5qs7dnak4dnxniyqjv7oxmzvuiprca": ("revoked", "ja"),
}
LATER = 1_796_000_500


def test_a_backup_is_written_in_deterministic_cbor(backup: Path) -> None:
    rest = backup.read_bytes()[len(MAGIC) + 1:]
    outer = cbor.decode(rest, max_size=len(rest))  # the strict decoder takes only the deterministic encoding
    plaintext = unseal(PASSPHRASE, Sealed.from_json({**outer["kdf"], "box": outer["box"].hex()}))
    payload = cbor.decode(plaintext, max_size=len(plaintext))
    assert payload["version"] == BACKUP_VERSION and payload["tables"]["meta"]


def test_a_backup_written_before_the_deterministic_encoder_still_restores(tmp_path: Path) -> None:
    rest = OLD_BACKUP.read_bytes()[len(MAGIC) + 1:]
    assert list(cbor2.loads(rest)["kdf"]) == ["kdf", "opslimit", "memlimit", "salt"]  # not RFC 8949 order
    with pytest.raises(DecodeError):
        cbor.decode(rest, max_size=len(rest))
    restore(Home.at(tmp_path / "restored"), OLD_BACKUP, OLD_PASSPHRASE)
    with Wallet.open(tmp_path / "restored", OLD_PASSPHRASE) as wallet:
        before = wallet.consents(now=LATER)
        assert {v.id: (v.state, v.lang) for v in before} == OLD_CONSENTS
        again = tmp_path / "again.backup"
        write_backup(wallet.store, wallet.home, again, OLD_PASSPHRASE)
    # and a backup of the restored wallet, written the new way, gives the same wallet again
    restore(Home.at(tmp_path / "again"), again, OLD_PASSPHRASE)
    with Wallet.open(tmp_path / "again", OLD_PASSPHRASE) as wallet:
        assert wallet.consents(now=LATER) == before
    with pytest.raises(WrongPassphrase):
        read_backup(OLD_BACKUP, "not the passphrase")
