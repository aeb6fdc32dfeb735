"""Status lists and keys through the library: iat strictly increases, rollback is recovered, secrets stay sealed."""

from __future__ import annotations

import pytest

from protocol import StatusListToken
from tests.support.samples import KEYS
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


def _recording(wallet: Wallet) -> list[str]:
    """The list ids the wallet PUTs to the (real) registry, in order."""
    calls: list[str] = []
    client = wallet.lists.registry
    original = client.publish

    def publish(list_id: str, token: bytes) -> dict[str, object]:
        calls.append(list_id)
        return original(list_id, token)

    client.publish = publish  # type: ignore[method-assign]
    return calls


def test_the_users_change_is_published_before_other_pending_lists(env: Env) -> None:
    """Nothing but the user's own list stands between the action and its PUT: another list's
    pending version (from a time the registry was down, say) goes after it."""
    with Wallet.init(env.home, PASSPHRASE, registry=env.registry_url) as wallet:
        first = wallet.accept(wallet.review_bytes(env.request_bytes()), deliver=False)
        second = wallet.accept(wallet.review_bytes(env.request_bytes(key=KEYS.stranger)), deliver=False)
        assert first.list_id != second.list_id  # two relationships, two lists
        with wallet.guard, wallet.store.transaction():
            wallet.lists.sign(first.list_id)  # a version the registry has not seen yet
        calls = _recording(wallet)
        result = wallet.revoke(second.id)
        assert result.published and calls == [second.list_id, first.list_id]
        assert wallet.pending() == []


def test_when_the_users_change_cannot_be_published_the_rest_waits(env: Env) -> None:
    with Wallet.init(env.home, PASSPHRASE, registry=env.registry_url) as wallet:
        first = wallet.accept(wallet.review_bytes(env.request_bytes()), deliver=False)
        second = wallet.accept(wallet.review_bytes(env.request_bytes(key=KEYS.stranger)), deliver=False)
        with wallet.guard, wallet.store.transaction():
            wallet.lists.sign(first.list_id)
        calls = _recording(wallet)
        env.stop_registry()
        result = wallet.revoke(second.id)
        assert not result.published and result.error == "unavailable"
        assert calls == [second.list_id]  # one wait for the user, not one per pending list
        assert sorted(wallet.pending()) == sorted([first.list_id, second.list_id])
        env.start_registry()
        assert all(r.accepted for r in wallet.sync())
        assert wallet.consent(second.id).state == "revoked"
