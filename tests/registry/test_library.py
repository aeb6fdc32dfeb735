"""The registry library without HTTP: front door, council key, trust list re-signing, logs."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest

import registry
from protocol import DecodeError, KeyPair, TrustList
from registry import Registry, load_council_key
from registry.service import TRUST_LIST_VALIDITY, resolve_paths
from tests.support.samples import KEYS

from .conftest import LIST_ID, make_token

NOW = 1_795_000_000


def test_app_factory_loads_lazily() -> None:
    """``create_app`` is exported but FastAPI is imported only when it is first used."""
    assert "create_app" in registry.__all__
    assert callable(registry.create_app)


def test_paths_for_home_or_db(tmp_path: Path) -> None:
    assert resolve_paths(tmp_path / "home") == (tmp_path / "home" / "registry.db", tmp_path / "home" / "council.key")
    assert resolve_paths(tmp_path / "x.sqlite") == (tmp_path / "x.sqlite", tmp_path / "council.key")


def test_council_key_is_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "council.key"
    first = load_council_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_council_key(path).did == first.did
    path.write_text("not hex")
    with pytest.raises(DecodeError):
        load_council_key(path)


def test_given_council_key_wins(tmp_path: Path, backend: str | None) -> None:
    reg = Registry.open(tmp_path, dsn=backend, council_key=KEYS.council, clock_fn=lambda: NOW)
    assert reg.trust_list().issuer == KEYS.council.did


def test_trust_list_is_resigned_when_half_expired(tmp_path: Path, backend: str | None) -> None:
    clock = [NOW]
    reg = Registry.open(tmp_path, dsn=backend, clock_fn=lambda: clock[0])
    first = reg.trust_add(KEYS.holder.did, "銀行", "Bank", "data_holder")
    assert reg.trust_list().raw == first.raw
    clock[0] = NOW + TRUST_LIST_VALIDITY // 2 + 1
    later = reg.trust_list()
    assert later.issued_at == clock[0] and later.find(KEYS.holder.did) is not None
    assert TrustList.decode(later.raw).issuer == reg.council_key.did
    reg.trust_add(KEYS.holder.did, "さくら銀行", "Sakura Bank", "both")  # add again = update
    org = reg.trust_list().find(KEYS.holder.did)
    assert org is not None and (org.name_en, org.role) == ("Sakura Bank", "both")


def test_logs_hold_no_token_contents(tmp_path: Path, backend: str | None, caplog: pytest.LogCaptureFixture) -> None:
    reg = Registry.open(tmp_path, dsn=backend, clock_fn=lambda: NOW)
    key = KeyPair.from_seed(b"\x09" * 32)
    token = make_token("https://registry.example", iat=NOW, key=key)
    with caplog.at_level(logging.DEBUG):
        reg.publish(LIST_ID, token)
    text = caplog.text
    assert LIST_ID in text  # the event is logged ...
    for secret in (token.hex()[:32], base64.b64encode(token)[:32].decode(), key.did):
        assert secret not in text  # ... but neither the token nor the list's key
