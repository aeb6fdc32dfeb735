"""The wallet database: migrations of older wallets, and damage detection that is cheap on reads."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from protocol import InvalidArgument
from tests.support import samples
from tests.wallet.conftest import PASSPHRASE, Env
from wallet import CorruptStore, Wallet
from wallet.store import SCHEMA_VERSION, Store


def _wallet_with_a_consent(env: Env) -> str:
    with Wallet.init(env.home, PASSPHRASE, registry=env.registry_url) as wallet:
        return wallet.accept(wallet.review_bytes(env.request_bytes()), deliver=False).id


def _checkpoint(db: Path) -> None:
    conn = sqlite3.connect(str(db))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()


def _make_schema_1(db: Path) -> None:
    """Turn a database into what a schema-1 wallet wrote (no pending index, no rights table)."""
    conn = sqlite3.connect(str(db))
    with conn:
        conn.execute("DROP INDEX events_pending")
        conn.execute("DROP TABLE rights")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    conn.close()


def test_a_schema_1_wallet_opens_migrated_and_lists_the_same(env: Env) -> None:
    consent_id = _wallet_with_a_consent(env)
    before = env.wallet("list").stdout
    _make_schema_1(env.home / "wallet.db")
    assert env.wallet("list").stdout == before
    conn = sqlite3.connect(str(env.home / "wallet.db"))
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (str(SCHEMA_VERSION),)
    assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'events_pending'").fetchone()
    assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'rights'").fetchone()
    conn.close()
    assert env.json("revoke", consent_id)["state"] == "revoked"


def test_a_schema_3_wallet_drops_its_unsigned_receipts_and_gets_the_signed_tables(env: Env) -> None:
    consent_id = _wallet_with_a_consent(env)
    conn = sqlite3.connect(str(env.home / "wallet.db"))
    with conn:  # what a schema-2 wallet had: unsigned receipts that only the demo relay wrote
        conn.execute("DROP TABLE usage_receipts")
        conn.execute("DROP TABLE receipt_pulls")
        conn.execute("CREATE TABLE receipts (seq INTEGER PRIMARY KEY AUTOINCREMENT, consent_id TEXT NOT NULL, "
                     "at INTEGER NOT NULL, recipient TEXT, items TEXT NOT NULL, purpose TEXT, source TEXT NOT NULL, "
                     "detail TEXT, recorded_at INTEGER NOT NULL)")
        conn.execute("CREATE INDEX receipts_consent ON receipts (consent_id, at)")
        conn.execute("INSERT INTO receipts (consent_id, at, items, source, recorded_at) VALUES (?, 1, '[]', 'x', 1)",
                     (consent_id,))
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema'")
    conn.close()
    with Wallet.open(env.home, PASSPHRASE) as wallet:
        assert wallet.receipts(consent_id) == [] and wallet.store.get_meta("schema") == str(SCHEMA_VERSION)
        names = {r["name"] for r in wallet.store.rows("SELECT name FROM sqlite_master")}
    assert {"usage_receipts", "receipt_pulls"} <= names and "receipts" not in names


def test_restoring_an_old_backup_gives_the_current_schema(env: Env) -> None:
    _wallet_with_a_consent(env)
    _make_schema_1(env.home / "wallet.db")
    with Wallet.open(env.home, PASSPHRASE) as wallet:  # migrates; the backup then says schema 2 ...
        wallet.store.set_meta("schema", "1")  # ... so pretend it was written by the old version
        from wallet.backup import write_backup

        write_backup(wallet.store, wallet.home, env.tmp / "old.backup", PASSPHRASE)
    env.run("restore", str(env.tmp / "old.backup"), "--home", str(env.tmp / "restored"))
    store = Store.open(env.tmp / "restored" / "wallet.db")
    assert store.get_meta("schema") == str(SCHEMA_VERSION)
    store.close()


def test_a_schema_2_wallet_gains_relationships(env: Env) -> None:
    with Wallet.init(env.home, PASSPHRASE, registry=env.registry_url):
        pass
    conn = sqlite3.connect(str(env.home / "wallet.db"))
    with conn:  # what a wallet from before pairwise DIDs wrote
        conn.execute("DROP TABLE relationships")
        conn.execute("ALTER TABLE lists DROP COLUMN relationship")
        conn.execute("ALTER TABLE links DROP COLUMN did")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    conn.close()
    with Wallet.open(env.home, PASSPHRASE) as wallet:
        view = wallet.accept(wallet.review_bytes(env.request_bytes()), deliver=False)
        [relationship] = wallet.relationships.all()
        assert wallet.store.get_meta("schema") == str(SCHEMA_VERSION)
        assert wallet.store.row("SELECT relationship FROM lists")["relationship"] == relationship.id  # type: ignore[index]
        assert view.state == "active"


@pytest.mark.parametrize("value", ["99", "two", ""])
def test_unknown_schema_is_refused(env: Env, value: str) -> None:
    _wallet_with_a_consent(env)
    conn = sqlite3.connect(str(env.home / "wallet.db"))
    with conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (value,))
    conn.close()
    result = env.wallet("list", ok=False)
    assert result.exit_code == 7 and "error: corrupt_store: unknown wallet database schema" in result.stderr


def test_reads_skip_the_full_check_and_writes_run_it(env: Env) -> None:
    """A damaged page that a listing never touches: ``list`` still works (it only checks the
    header and schema), while any write is refused with ``corrupt_store`` before it changes a byte."""
    consent_id = _wallet_with_a_consent(env)
    db = env.home / "wallet.db"
    _checkpoint(db)
    conn = sqlite3.connect(str(db))
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'usage_receipts_consent'").fetchone()[0]
    conn.close()
    with db.open("r+b") as handle:  # an index page nobody reads when listing
        handle.seek((root - 1) * page_size)
        handle.write(b"\xff" * page_size)
    damaged = db.read_bytes()

    listed = env.json("list")
    assert [c["id"] for c in listed] == [consent_id]
    for command in (["revoke", consent_id], ["deliver", consent_id]):
        result = env.wallet(*command, ok=False)
        assert result.exit_code == 7 and "error: corrupt_store:" in result.stderr, result.output
        assert "integrity check" in result.stderr and "Traceback" not in result.output
    assert db.read_bytes() == damaged

    with Wallet.open(env.home) as reader:
        reader.consents()
        with pytest.raises(CorruptStore):
            reader.store.verify()  # the full check on demand


def test_open_for_reading_runs_no_quick_check(env: Env) -> None:
    _wallet_with_a_consent(env)
    statements: list[str] = []
    original = sqlite3.connect

    def traced(*args: object, **kwargs: object) -> sqlite3.Connection:
        conn = original(*args, **kwargs)  # type: ignore[arg-type]
        conn.set_trace_callback(statements.append)
        return conn

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sqlite3, "connect", traced)
        with Wallet.open(env.home) as wallet:
            wallet.consents()
            wallet.detail(wallet.consents()[0].id)
            assert not any("quick_check" in s for s in statements)
            with wallet.store.transaction():
                pass
            assert sum("quick_check" in s for s in statements) == 1
            with wallet.store.transaction():
                pass
            assert sum("quick_check" in s for s in statements) == 1  # once per open store


@pytest.mark.parametrize("names", [{"fr": "Conseil"}, {"ja": ""}, {"en": "x" * 101}])
def test_a_bad_council_name_creates_nothing(tmp_path: Path, names: dict[str, str]) -> None:
    with pytest.raises(InvalidArgument) as caught:
        Wallet.init(tmp_path / "w", PASSPHRASE, registry="http://127.0.0.1:9", council=samples.KEYS.council.did,
                    kdf="min", council_name=names)
    assert caught.value.code == "invalid"
    assert not (tmp_path / "w").exists()


def test_counts_are_only_of_known_tables(env: Env) -> None:
    env.init()
    with Wallet.open(env.home) as wallet:
        assert wallet.store.count("consents") == 0
        assert wallet.info()["relationships"] == 0
        with pytest.raises(ValueError):
            wallet.store.count("sqlite_master")
