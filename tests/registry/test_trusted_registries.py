"""A registry's trust list may name other registries: a holder following its council fetches
status lists from those too, and from nowhere else (spec 3.5, 7.3 step 8, 9.2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from protocol import InvalidArgument, NotFound, TrustList
from registry import Registry
from tests.registry.test_cli import copyme, in_process
from tests.support.samples import KEYS

OTHER = "https://status.example.org"


def test_the_operator_names_and_unnames_registries(tmp_path: Path, backend: str | None) -> None:
    registry = Registry.open(tmp_path / "r", dsn=backend, council_key=KEYS.council)
    try:
        registry.trust_add(KEYS.holder.did, "さくら銀行", "Sakura Bank", "data_holder")
        named = registry.trust_add_registry(OTHER)
        assert named.registries == (OTHER,) and [o.did for o in named.organisations] == [KEYS.holder.did]
        assert registry.trust_add_registry(OTHER).registries == (OTHER,)  # naming twice changes nothing
        both = registry.trust_add_registry("http://127.0.0.1:8601/status")
        assert both.registries == ("http://127.0.0.1:8601/status", OTHER)  # sorted, one spelling each
        assert TrustList.decode(both.raw).registries == both.registries  # signed into the list
        assert registry.trust_list().registries == both.registries
        assert registry.trust_remove_registry(OTHER).registries == ("http://127.0.0.1:8601/status",)
        with pytest.raises(NotFound):
            registry.trust_remove_registry(OTHER)
        for bad in (OTHER + "/", "ftp://x.example", "https://u@x.example", "https://x.example?q=1", "x", ""):
            with pytest.raises(InvalidArgument):
                registry.trust_add_registry(bad)
        assert registry.trust_list().registries == ("http://127.0.0.1:8601/status",)  # refusals changed nothing
    finally:
        registry.close()


def test_cli_names_a_registry(tmp_path: Path) -> None:
    home = tmp_path / "reg"
    added = in_process("trust", "add-registry", OTHER, "--home", str(home), "--json", home=tmp_path)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["registries"] == [OTHER]
    shown = in_process("trust", "show", "--home", str(home), home=tmp_path).stdout
    assert f"registry: {OTHER}" in shown
    removed = copyme("trust", "remove-registry", OTHER, "--home", str(home), "--json", home=tmp_path)
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout)["registries"] == []
    again = copyme("trust", "remove-registry", OTHER, "--home", str(home), home=tmp_path)
    assert again.returncode == 4 and again.stderr.strip().startswith("error: not_found:")
    assert len(again.stderr.strip().splitlines()) == 1
    bad = in_process("trust", "add-registry", "https://x.example/?q", "--home", str(home), home=tmp_path)
    assert bad.returncode == 2
