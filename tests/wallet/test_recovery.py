"""The recovery phrase: shown at init, turned back into the same keys, with a backup the whole wallet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import KeyPair, Status
from tests.protocol.vectors import VECTORS
from wallet import BadPhrase, Seed
from wallet.keystore import KeyStore

from .conftest import PASSPHRASE, Env
from .test_cli import _registry_status

VECTOR = json.loads((VECTORS / "recovery.json").read_text(encoding="utf-8"))


def test_bip39_known_answer() -> None:
    # BIP-39's first English test vector (entropy of 32 zero bytes)
    assert Seed(bytes(32)).phrase("en") == " ".join(["abandon"] * 23 + ["art"])


def test_vector_phrases_and_dids() -> None:
    seed = Seed.from_phrase(VECTOR["phrase_en"])
    assert seed.entropy.hex() == VECTOR["entropy_hex"]
    assert Seed.from_phrase(VECTOR["phrase_ja"]) == seed  # either word list, the same wallet
    assert seed.identity.did == VECTOR["keys"]["identity"]["did"]
    assert seed.phrase("ja") == VECTOR["phrase_ja"]


@settings(max_examples=25, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.sampled_from(["en", "ja"]))
def test_phrase_round_trip(entropy: bytes, lang: str) -> None:
    assert Seed.from_phrase(Seed(entropy).phrase(lang)).entropy == entropy


def _typo(phrase: str, index: int, word: str) -> str:
    words = phrase.split()
    words[index] = word
    return " ".join(words)


@pytest.mark.parametrize(("phrase", "says"), [
    (_typo(VECTOR["phrase_en"], 6, "cagey"), "word 7: 'cagey'"),
    (_typo(VECTOR["phrase_en"], 0, "Abandon!"), "word 1:"),
    (" ".join(VECTOR["phrase_en"].split()[:23]), "has 23"),
    (VECTOR["phrase_en"] + " art", "has 25"),
    (_typo(VECTOR["phrase_en"], 23, "abandon"), "checksum"),
    ("", "has 0"),
])
def test_bad_phrase_names_the_problem(phrase: str, says: str) -> None:
    with pytest.raises(BadPhrase) as caught:
        Seed.from_phrase(phrase)
    assert caught.value.code == "bad_phrase" and says in caught.value.detail


def test_init_shows_the_phrase_and_it_gives_the_same_did(env: Env) -> None:
    info = env.init()
    assert Seed.from_phrase(info["recovery_phrase"]).identity.did == info["did"]
    text = env.run("init", "--registry", env.registry_url, "--home", str(env.tmp / "w2"), "--lang", "ja").stdout
    assert "復元フレーズ" in text and "\u3000" in text  # Japanese words, ideographic spaces


def test_seed_file_gives_the_documented_did(env: Env) -> None:
    seed_file = env.tmp / "seed.hex"
    seed_file.write_text(VECTOR["entropy_hex"] + "\n")
    info = env.json("init", "--registry", env.registry_url, "--seed-file", str(seed_file))
    assert info["did"] == VECTOR["keys"]["identity"]["did"]
    assert info["recovery_phrase"] == VECTOR["phrase_en"]


@pytest.mark.parametrize("content", ["00" * 31, "zz" * 32, "", "00" * 33])
def test_bad_seed_file_is_invalid_and_creates_nothing(env: Env, content: str) -> None:
    seed_file = env.tmp / "seed.hex"
    seed_file.write_text(content)
    out = env.wallet("init", "--registry", env.registry_url, "--seed-file", str(seed_file), ok=False)
    assert "error: invalid:" in out.stderr and not env.home.exists()


def test_recover_without_backup_has_the_same_keys(env: Env) -> None:
    info = env.init()
    phrase_file = env.tmp / "phrase.txt"
    phrase_file.write_text(Seed.from_phrase(info["recovery_phrase"]).phrase("ja"))  # written down in Japanese
    again = env.tmp / "again"
    out = json.loads(env.run("recover", "--registry", env.registry_url, "--phrase-file", str(phrase_file),
                             "--home", str(again), "--json").stdout)
    assert out["did"] == info["did"] and out["consents"] == 0


def test_recover_with_backup_restores_consents_that_still_change(env: Env) -> None:
    info = env.init()
    a = env.json("receive", str(env.request_file("a")), "--accept")["consent"]["id"]
    env.json("receive", str(env.request_file("b")), "--items", "transactions")
    before = env.json("list")
    backup = env.tmp / "wallet.backup"
    env.json("backup", str(backup))
    fresh = env.tmp / "fresh-machine"
    phrase_file = env.tmp / "phrase.txt"
    phrase_file.write_text(info["recovery_phrase"])
    env.run("recover", "--backup", str(backup), "--phrase-file", str(phrase_file), "--home", str(fresh))
    assert json.loads(env.run("list", "--home", str(fresh), "--json").stdout) == before
    # the list keys open with the phrase's data key: a revoke is signed and the registry takes it
    assert json.loads(env.run("revoke", a, "--home", str(fresh), "--json").stdout)["published"]
    assert _registry_status(env, env.credential(a)) == Status.REVOKED


def test_recover_refuses_a_wrong_phrase_and_another_wallets_backup(env: Env) -> None:
    info = env.init()
    backup = env.tmp / "wallet.backup"
    env.json("backup", str(backup))
    target = env.tmp / "target"
    phrase_file = env.tmp / "phrase.txt"
    phrase_file.write_text(_typo(info["recovery_phrase"], 4, "zzzz"))
    wrong = env.run("recover", "--backup", str(backup), "--phrase-file", str(phrase_file), "--home", str(target),
                    ok=False)
    assert wrong.exit_code == 2 and "error: bad_phrase: word 5: 'zzzz'" in wrong.stderr
    assert not target.exists()
    phrase_file.write_text(Seed(bytes(32)).phrase("en"))  # a valid phrase, but of another wallet
    other = env.run("recover", "--backup", str(backup), "--phrase-file", str(phrase_file), "--home", str(target),
                    ok=False)
    assert "error: bad_backup:" in other.stderr
    assert not (target / "wallet.key").exists() and not (target / "wallet.db").exists()
    phrase_file.write_text(info["recovery_phrase"])
    no_registry = env.run("recover", "--phrase-file", str(phrase_file), "--home", str(target), ok=False)
    assert "error: invalid:" in no_registry.stderr
    exists = env.run("recover", "--phrase-file", str(phrase_file), "--registry", env.registry_url,
                     "--home", str(env.home), ok=False)
    assert "error: wallet_exists:" in exists.stderr


def test_version_1_key_file_still_opens(tmp_path: Path) -> None:
    identity = KeyPair.from_seed(bytes([9]) * 32)
    legacy = KeyStore(identity, bytes(32), Seed(bytes([1]) * 32))
    path = tmp_path / "wallet.key"
    legacy.save(path, PASSPHRASE, kdf="min")
    assert json.loads(path.read_text())["version"] == 1
    opened = KeyStore.unlock(path, PASSPHRASE)
    assert opened.identity.did == identity.did and opened.phrase_seed is None
    # relationship keys of an old wallet come from its identity seed, the same every time
    holder = KeyPair.from_seed(bytes([3]) * 32).did
    assert opened.relationship_key(holder, identity.did).did == KeyStore.unlock(path, PASSPHRASE).relationship_key(
        holder, identity.did).did


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_a_phrase_or_bad_phrase(text: str) -> None:
    try:
        Seed.from_phrase(text)
    except BadPhrase as err:
        assert err.code == "bad_phrase"
