"""Status lists and keys through the library: iat strictly increases, rollback is recovered, secrets stay sealed."""

from __future__ import annotations

import pytest

from protocol import StatusListToken
from tests.wallet.conftest import PASSPHRASE, Env
from wallet import Home, Wallet, WrongPassphrase
from wallet.keystore import KeyStore


def test_iat_strictly_increases_within_one_second(env: Env) -> None:
    with Wallet.init(env.home, PASSPHRASE, registry=env.registry_url) as wallet:
        review = wallet.review_bytes(env.request_bytes(), lang="en")
        consent = wallet.accept(review, deliver=False)
        now = consent.issued_at
        iats = [wallet.suspend(consent.id, now=now).iat, wallet.resume(consent.id, now=now).iat,
                wallet.suspend(consent.id, now=now).iat]
        assert iats == sorted(set(iats)) and iats[0] > now - 1
        token = StatusListToken.decode(wallet.lists.list_row(consent.list_id)["token"])
        assert token.issued_at == iats[-1]


def test_rollback_after_restoring_an_old_backup_is_recovered(env: Env) -> None:
    from wallet.backup import restore, write_backup

    with Wallet.init(env.home, PASSPHRASE, registry=env.registry_url) as wallet:
        consent = wallet.accept(wallet.review_bytes(env.request_bytes()), deliver=False)
        write_backup(wallet.store, wallet.home, env.tmp / "old.backup", PASSPHRASE)
        for _ in range(3):
            wallet.suspend(consent.id)
            wallet.resume(consent.id)
    restore(Home.at(env.tmp / "r"), env.tmp / "old.backup", PASSPHRASE)
    with Wallet.open(env.tmp / "r", PASSPHRASE) as restored:
        result = restored.revoke(consent.id)
        assert result.published, result


def test_key_file_is_sealed_and_checked(env: Env) -> None:
    with Wallet.init(env.home, PASSPHRASE, registry=env.registry_url) as wallet:
        did = wallet.did
        seed = wallet.keys.identity.seed  # type: ignore[union-attr]
    key_file = (env.home / "wallet.key").read_bytes()
    assert seed.hex().encode() not in key_file and did.encode() in key_file
    assert oct((env.home / "wallet.key").stat().st_mode & 0o777) == "0o600"
    with pytest.raises(WrongPassphrase):
        Wallet.open(env.home, "nope")
    assert "seed" not in repr(KeyStore.unlock(env.home / "wallet.key", PASSPHRASE))
    locked = Wallet.open(env.home)
    assert locked.consents() == []
    with pytest.raises(Exception) as err:
        locked.sync()
    assert getattr(err.value, "code", None) == "locked"
    locked.close()
