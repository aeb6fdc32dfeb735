"""The recovery phrase and every key derived from it.

A wallet's secrets all come from 32 random bytes, the *entropy*.  The user writes the entropy
down as a BIP-39 recovery phrase of 24 words (the standard word lists, through the maintained
``mnemonic`` package; English and Japanese), and ``copyme wallet recover`` turns the phrase back
into the same entropy and so into the same keys.

Keys are derived with HKDF-SHA256 (RFC 5869) from the entropy itself, not from BIP-39's
PBKDF2 "seed": that seed depends on the phrase's text, so the Japanese and the English phrase of
one wallet would give different keys.  ``PRK = HMAC-SHA256("copyme-wallet-v1", entropy)`` and
each key is ``HKDF-Expand(PRK, label, 32)``, with these labels (UTF-8):

=================================================  ==========================================
label                                              key
=================================================  ==========================================
``identity``                                       the wallet's own DID (never sent to anyone)
``data-key``                                       the SecretBox key sealing list keys in the DB
``holder|<holder DID>``                            the DID linked at that holder with a link code
``relationship|<holder DID>|<data user DID>|<n>``  the pairwise DID of that relationship,
                                                   generation ``n`` (0, then 1 after a replacement)
=================================================  ==========================================

Everything is deterministic, so the vector in ``specs/vectors/recovery.json`` fixes the DIDs
that a wallet made from a known entropy (``copyme wallet init --seed-file``) must have.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from mnemonic import Mnemonic

from protocol import InvalidArgument, KeyPair

from .errors import BadPhrase

__all__ = ["ENTROPY_BYTES", "LANGUAGES", "PHRASE_WORDS", "Seed", "hkdf"]

#: Bytes of entropy behind a phrase (256 bits: 24 words).
ENTROPY_BYTES = 32
#: Words in a recovery phrase.
PHRASE_WORDS = 24
#: The BIP-39 word lists a phrase may be written in, by the wallet's language code.
LANGUAGES = {"en": "english", "ja": "japanese"}
_SALT = b"copyme-wallet-v1"


def hkdf(key: bytes, label: str, size: int = 32) -> bytes:
    """HKDF-SHA256 (RFC 5869) of ``key`` with salt ``copyme-wallet-v1`` and info ``label``."""
    prk = hmac.new(_SALT, key, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < size:
        block = hmac.new(prk, block + label.encode("utf-8") + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:size]


def _normalise(phrase: str) -> list[str]:
    # NFKD as BIP-39 asks; Japanese phrases are written with ideographic spaces (U+3000)
    return unicodedata.normalize("NFKD", phrase).replace("\u3000", " ").split()


@dataclass(frozen=True, repr=False)
class Seed:
    """The wallet's entropy and the keys derived from it.  ``repr`` shows no secret."""

    entropy: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.entropy, bytes) or len(self.entropy) != ENTROPY_BYTES:
            raise InvalidArgument(f"the seed must be {ENTROPY_BYTES} bytes", field="seed")

    @classmethod
    def generate(cls, randbytes: Callable[[int], bytes] = secrets.token_bytes) -> Seed:
        """Fresh entropy (cryptographic randomness unless ``randbytes`` is given)."""
        return cls(randbytes(ENTROPY_BYTES))

    @classmethod
    def from_hex(cls, text: str) -> Seed:
        """A seed written as 64 hex digits (``--seed-file``, for interop tests only)."""
        try:
            raw = bytes.fromhex(text.strip())
        except ValueError:
            raise InvalidArgument(f"a seed file holds {2 * ENTROPY_BYTES} hex digits", field="seed") from None
        if len(raw) != ENTROPY_BYTES:
            raise InvalidArgument(f"a seed file holds {2 * ENTROPY_BYTES} hex digits", field="seed")
        return cls(raw)

    @classmethod
    def from_phrase(cls, phrase: str) -> Seed:
        """The entropy behind a recovery phrase in any supported language; :class:`BadPhrase` names
        the first word that is wrong (or says the checksum fails when every word is a real one)."""
        if not isinstance(phrase, str):
            raise BadPhrase("the recovery phrase must be text")
        words = _normalise(phrase)
        if len(words) != PHRASE_WORDS:
            raise BadPhrase(f"a recovery phrase has {PHRASE_WORDS} words; this one has {len(words)}",
                            field="phrase")
        best: tuple[int, str] | None = None
        for language in LANGUAGES.values():
            wordlist = Mnemonic(language).wordlist
            known = {unicodedata.normalize("NFKD", w) for w in wordlist}
            bad = [i for i, word in enumerate(words) if word not in known]
            if not bad:
                try:
                    return cls(bytes(Mnemonic(language).to_entropy(words)))
                except (ValueError, LookupError):
                    raise BadPhrase("every word is on the list, but the phrase's checksum does not match: "
                                    "a word is wrong or two are swapped", field="phrase") from None
            if best is None or len(bad) < best[0]:
                best = (len(bad), f"word {bad[0] + 1}: {words[bad[0]]!r} is not on the word list")
        assert best is not None
        raise BadPhrase(best[1], field="phrase")

    def phrase(self, lang: str = "en") -> str:
        """The recovery phrase, in English (``en``) or Japanese (``ja``, ideographic spaces)."""
        if lang not in LANGUAGES:
            raise InvalidArgument(f"the phrase language must be one of {', '.join(LANGUAGES)}", field="lang")
        return str(Mnemonic(LANGUAGES[lang]).to_mnemonic(self.entropy))

    def derive(self, label: str) -> bytes:
        """32 bytes for ``label`` (see the module docstring)."""
        return hkdf(self.entropy, label)

    @property
    def identity(self) -> KeyPair:
        """The wallet's own key (its DID is the wallet's name; it is sent to no party)."""
        return KeyPair.from_seed(self.derive("identity"))

    @property
    def data_key(self) -> bytes:
        """The key that seals status-list keys inside the database."""
        return self.derive("data-key")

    def holder_key(self, holder: str) -> KeyPair:
        """The key whose DID is linked at ``holder`` with that holder's link code."""
        return KeyPair.from_seed(self.derive(f"holder|{holder}"))

    def relationship_key(self, holder: str, requester: str, generation: int = 0) -> KeyPair:
        """The pairwise key of the relationship (``holder`` x ``requester``), ``generation`` 0, 1, ..."""
        return KeyPair.from_seed(self.derive(f"relationship|{holder}|{requester}|{generation}"))

    def __repr__(self) -> str:
        return "Seed(...)"
