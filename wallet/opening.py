"""Making and opening a wallet's parts on disk: the home folder, the sealed key file, the database.

:meth:`wallet.Wallet.init` and :meth:`wallet.Wallet.open` check their arguments and hand the
parts this module returns to the :class:`~wallet.Wallet`; nothing here talks to the network.
A wallet is never overwritten (``wallet_exists``), and a key file that belongs to another
wallet than the database is refused (``corrupt_store``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from protocol import InvalidArgument, check_did, check_url, clock

from .derive import Seed
from .errors import CorruptStore, NotInitialised, WalletExists
from .home import Home
from .keystore import KeyStore
from .store import Store, dumps

__all__ = ["check_keys", "council_name", "create", "open_parts"]


def _council_names(names: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(names, Mapping) or not names or not all(
            k in ("ja", "en") and isinstance(v, str) and 0 < len(v) <= 100 for k, v in names.items()):
        raise InvalidArgument("council_name must map ja/en to names of 1-100 characters", field="council_name")
    return dict(names)


def create(home: Home, passphrase: str, *, registry: str, council: str | None, kdf: str | None,
           now: int | None, seed: Seed | None, council_name: Mapping[str, str] | None) -> tuple[Store, KeyStore]:
    """A new wallet in ``home``: keys from ``seed`` (fresh entropy by default) sealed by
    ``passphrase``, and a database that knows the DID, the registry and the pinned council."""
    check_url(registry, "registry")
    if council is not None:
        check_did(council, "council")
    if home.exists():
        raise WalletExists(f"there is already a wallet in {home.path}; it is never overwritten")
    if not passphrase:
        raise InvalidArgument("the passphrase must not be empty", field="passphrase")
    names = _council_names(council_name) if council_name else None
    home.ensure()
    keys = KeyStore.from_seed(seed) if seed is not None else KeyStore.create()
    keys.save(home.key_file, passphrase, kdf=kdf)
    store = Store.create(home.db)
    with store.transaction():
        store.set_meta("did", keys.identity.did)
        store.set_meta("registry", registry.rstrip("/"))
        store.set_meta("created_at", str(clock.now(now)))
        if council:
            store.set_meta("council", council)
        if names:
            store.set_meta("council_name", dumps(names))
    return store, keys


def open_parts(home: Home, passphrase: str | None) -> tuple[Store, KeyStore | None]:
    """The database and (with ``passphrase``) the unlocked keys of the wallet in ``home``."""
    if not home.db.exists() and not home.key_file.exists():
        raise NotInitialised(f"no wallet in {home.path} (run 'copyme wallet init')")
    if not home.key_file.exists():
        raise NotInitialised(f"the key file is missing from {home.path}")
    store = Store.open(home.db)
    keys = KeyStore.unlock(home.key_file, passphrase) if passphrase is not None else None
    if keys is None:
        KeyStore.read_public(home.key_file)
    return store, keys


def check_keys(store: Store, keys: KeyStore | None) -> None:
    """Refuse (``corrupt_store``) a key file that belongs to another wallet than the database."""
    if keys is not None and keys.identity.did != store.get_meta("did"):
        raise CorruptStore("the key file belongs to another wallet than the database")


def council_name(store: Store, lang: str) -> str:
    """The name of the council whose trust list vouches for verified names ("" if not set)."""
    raw = store.get_meta("council_name")
    names: dict[str, str] = json.loads(raw) if raw else {}
    return names.get(lang) or next(iter(names.values()), "")
