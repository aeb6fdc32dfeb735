"""The wallet's one glossary: the same words in both languages, a text for every reason code of
every party, and no English sentence among the Japanese words."""

from __future__ import annotations

import importlib
import pkgutil
import re
import string
from pathlib import Path

import pytest

from protocol import CopyMeError
from wallet import glossary

PACKAGES = ("protocol", "common", "storage", "wallet", "verifier", "issuer", "registry")
SPEC = Path(__file__).resolve().parents[2] / "specs" / "protocol.md"
#: Two Latin words in a row: an English phrase (single names such as CopyMe, DID, ID pass).
ENGLISH = re.compile(r"[A-Za-z]{2,}[\s,.;:]+[A-Za-z]{2,}")


def _codes() -> set[str]:
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, name + "."):
            importlib.import_module(module.name)
    found: set[str] = set()
    todo: list[type[CopyMeError]] = [CopyMeError]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        code = cls.__dict__.get("code")
        if isinstance(code, str) and code != CopyMeError.code:
            found.add(code)
    return found


TABLES = ("STATES", "REASONS", "NOTES", "REFUSALS", "PULL_PROBLEMS", "CHANGES")


@pytest.mark.parametrize("name", TABLES)
def test_every_table_has_the_same_keys_in_both_languages(name: str) -> None:
    table: dict[str, dict[str, str]] = getattr(glossary, name)
    assert set(table) == set(glossary.LANGS)
    assert set(table["ja"]) == set(table["en"])


def test_words_are_the_same_in_both_languages() -> None:
    assert set(glossary.words("ja")) == set(glossary.words("en"))
    assert glossary.words("fr") == glossary.words("ja")


def test_every_reason_code_of_every_party_has_a_text() -> None:
    codes = _codes()
    assert {"revoked", "bad_signature", "not_linked", "unauthorised", "wrong_passphrase"} <= codes
    missing = sorted(codes - set(glossary.REASONS["ja"]))
    assert not missing, f"add these reason codes to wallet/glossary.py REASONS (ja and en): {missing}"


def _spec_codes() -> set[str]:
    """The reason codes specs/protocol.md section 6 lists: each table row's first cell, and the
    codes its paragraphs name (``internal``, ``method_not_allowed``)."""
    text = SPEC.read_text(encoding="utf-8")
    section = text[text.index("## Reason codes"):text.index("## 7.")]
    rows = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M))
    prose = set(re.findall(r"`([a-z][a-z_]*)`", " ".join(p for p in section.split("\n\n") if not p.startswith("|"))))
    return rows | prose


def test_every_reason_code_in_the_spec_has_a_plain_sentence_in_both_languages() -> None:
    codes = _spec_codes()
    assert {"clock_skew", "internal", "method_not_allowed", "key_replaced", "unauthorised"} <= codes
    for lang in glossary.LANGS:
        missing = sorted(codes - set(glossary.REASONS[lang]))
        assert not missing, f"add these reason codes to wallet/glossary.py REASONS[{lang!r}]: {missing}"
    assert glossary.reason("clock_skew", "ja") != glossary.words("ja")["reason_unknown"]
    assert "時計" in glossary.reason("clock_skew", "ja") and "clock" in glossary.reason("clock_skew", "en")


def test_an_unknown_code_still_gets_a_sentence_in_the_language() -> None:
    assert glossary.reason("no_such_code", "ja") == glossary.words("ja")["reason_unknown"]
    assert glossary.reason("revoked", "en") == "This consent has been revoked."
    assert glossary.state("suspended", "ja") == "一時停止中"


@pytest.mark.parametrize("name", ["words", *TABLES])
def test_no_english_sentence_among_the_japanese_words(name: str) -> None:
    table = glossary.words("ja") if name == "words" else getattr(glossary, name)["ja"]
    # a command the CLI tells you to type is quoted 「like this」 and is not a sentence
    english = {key: text for key, text in table.items() if ENGLISH.search(re.sub("「[^」]*」", "", text))}
    assert not english


def test_one_word_per_thing() -> None:
    """The words people met twice under two names (issue 14) now have one each."""
    ja = glossary.words("ja")
    texts = " ".join(ja.values()) + " ".join(glossary.STATES["ja"].values())
    for second in ("停止中", "未公開", "データ保有者"):
        assert second not in texts.replace("一時停止中", ""), second


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("name", TABLES)
def test_both_languages_fill_in_the_same_values(name: str) -> None:
    table: dict[str, dict[str, str]] = getattr(glossary, name)
    assert {k: _fields(v) for k, v in table["ja"].items()} == {k: _fields(v) for k, v in table["en"].items()}


def test_the_words_of_a_replacement_come_from_the_glossary() -> None:
    """The re-consent diff has no words of its own (issue: two glossaries); every change it can
    name has a phrase in both languages."""
    from wallet import changes

    assert not [n for n, v in vars(changes).items() if isinstance(v, dict) and v is not glossary.CHANGES
                and not n.startswith("__")]
    assert changes.CHANGES is glossary.CHANGES
    terms = {"items_added", "items_removed", "now_required", "now_optional", "purposes_added", "purposes_removed",
             "retention", "onward", "validity", "recipient", "holder", "renewal", "replacing"}
    for lang in glossary.LANGS:
        assert terms <= set(glossary.CHANGES[lang])
    assert glossary.CHANGES["ja"]["onward"].startswith(glossary.words("ja")["onward"])


def test_the_replacement_phrases_repeat_no_plain_word() -> None:
    """yes, no and the list separator are said once, in words(); CHANGES holds only its phrases."""
    for lang in glossary.LANGS:
        plain = glossary.words(lang)
        assert not [k for k, v in glossary.CHANGES[lang].items() if plain.get(k) == v], lang
        assert not {"yes", "no", "sep"} & set(glossary.CHANGES[lang])
