"""ConsentRequest: what a data user asks the user to agree to, signed by the data user.

The request carries everything the wallet must show so that the user *understands* before
deciding: who asks, which data holder, which items (each required or optional), DPV purposes,
retention, onward sharing, requested validity, and a bilingual notice of at most three key
points with a link to, and hash of, the full terms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._model import (
    SignedModel,
    check_bytes,
    check_did,
    check_int,
    check_lang,
    check_text,
    check_times,
    check_unique,
    check_url,
    claim,
    optional,
    text_list,
)
from .cid import cid_text
from .enums import Claim, Typ
from .errors import DecodeError, InvalidArgument
from .vocab import LANGUAGES, check_item_id, check_purpose_term

__all__ = ["ConsentRequest", "Item", "Notice", "NoticeText"]

MAX_ITEMS = 32
MAX_PURPOSES = 8
MAX_KEY_POINTS = 3


@dataclass(frozen=True)
class Item:
    """One data item asked for; the user may refuse an optional one and still consent."""

    id: str
    required: bool

    def __post_init__(self) -> None:
        check_item_id(self.id)
        if type(self.required) is not bool:
            raise InvalidArgument("required must be true or false", field="items")


@dataclass(frozen=True)
class NoticeText:
    """The notice in one language: a title and at most three key points."""

    title: str
    points: tuple[str, ...]

    def __post_init__(self) -> None:
        check_text(self.title, "notice.title", 120)
        if not isinstance(self.points, tuple) or not 1 <= len(self.points) <= MAX_KEY_POINTS:
            raise InvalidArgument(
                f"a notice has 1 to {MAX_KEY_POINTS} key points, not {len(self.points)}",
                field="notice.points",
            )
        for point in self.points:
            check_text(point, "notice.points", 200)


@dataclass(frozen=True)
class Notice:
    """The bilingual notice, and the full terms it summarises (URL and SHA-256 of the document)."""

    texts: Mapping[str, NoticeText]
    terms_url: str
    terms_sha256: bytes

    def __post_init__(self) -> None:
        for lang in LANGUAGES:
            if lang not in self.texts:
                raise InvalidArgument(f"the notice needs a {lang!r} text", field=f"notice.{lang}")
        for lang in self.texts:
            check_lang(lang, "notice")
        check_url(self.terms_url, "notice.terms_url")
        check_bytes(self.terms_sha256, "notice.terms_sha256", 32)

    def to_claims(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            lang: {"title": t.title, "points": list(t.points)} for lang, t in self.texts.items()
        }
        out["terms"] = {"url": self.terms_url, "sha256": self.terms_sha256}
        return out

    @classmethod
    def from_claims(cls, value: Any) -> Notice:
        if type(value) is not dict:
            raise DecodeError("claim 'notice' must be a map")
        texts: dict[str, NoticeText] = {}
        terms = claim(value, "terms", dict, "notice.terms")
        for lang, text in value.items():
            if lang == "terms":
                continue
            if type(text) is not dict:
                raise DecodeError("notice texts must be maps")
            texts[lang] = NoticeText(
                claim(text, "title", str, "notice.title"), text_list(text, "points", "notice.points")
            )
        return cls(
            texts, claim(terms, "url", str, "notice.terms.url"), claim(terms, "sha256", bytes, "notice.terms.sha256")
        )

    def text(self, lang: str) -> NoticeText:
        """The notice in ``lang``, falling back to Japanese."""
        return self.texts.get(lang) or self.texts["ja"]


@dataclass(frozen=True)
class ConsentRequest(SignedModel):
    """A data user's signed request for consent (``typ`` application/vnd.copyme.request+cwt)."""

    TYP = Typ.REQUEST
    signer_claim = "requester"

    requester: str
    requester_name: Mapping[str, str]
    holder: str
    holder_url: str
    items: tuple[Item, ...]
    purposes: tuple[str, ...]
    retention_days: int
    onward_sharing: bool
    validity_days: int
    notice: Notice
    callback: str
    issued_at: int
    expires_at: int
    request_id: bytes
    #: Where the wallet sends rights requests (stop use / erase) about consents to this request.
    rights: str | None = None
    #: The CID of the consent this request replaces (changed terms or a renewal), if any.
    replaces: bytes | None = None
    raw: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        check_did(self.requester, "requester")
        for lang in LANGUAGES:
            check_text(self.requester_name.get(lang) if isinstance(self.requester_name, Mapping) else None,
                       f"requester_name.{lang}", 100)
        check_did(self.holder, "holder")
        check_url(self.holder_url, "holder_url")
        if not isinstance(self.items, tuple) or not all(isinstance(i, Item) for i in self.items):
            raise InvalidArgument("items must be a tuple of Item", field="items")
        check_unique(tuple(i.id for i in self.items), "items", MAX_ITEMS)
        check_unique(self.purposes, "purposes", MAX_PURPOSES)
        for purpose in self.purposes:
            check_purpose_term(purpose)
        check_int(self.retention_days, "retention_days", 1, 36500)
        if type(self.onward_sharing) is not bool:
            raise InvalidArgument("onward_sharing must be true or false", field="onward_sharing")
        check_int(self.validity_days, "validity_days", 1, 3650)
        if not isinstance(self.notice, Notice):
            raise InvalidArgument("notice must be a Notice", field="notice")
        check_url(self.callback, "callback")
        check_int(self.issued_at, "issued_at", 0, 2**40)
        check_int(self.expires_at, "expires_at", self.issued_at + 1, 2**40)
        check_bytes(self.request_id, "request_id", 16)
        if self.rights is not None:
            check_url(self.rights, "rights")
        if self.replaces is not None:
            check_bytes(self.replaces, "replaces", 36)
            if not self.replaces.startswith(b"\x01\x51\x12\x20"):
                raise InvalidArgument("replaces must be a CIDv1 (cbor, sha2-256)", field="replaces")

    @property
    def replaces_cid(self) -> str | None:
        """The text CID of the consent this request replaces, if it replaces one."""
        return cid_text(self.replaces) if self.replaces is not None else None

    @property
    def required_items(self) -> tuple[str, ...]:
        """Ids of the items the user cannot refuse without declining."""
        return tuple(i.id for i in self.items if i.required)

    @property
    def optional_items(self) -> tuple[str, ...]:
        """Ids of the items the user may leave out."""
        return tuple(i.id for i in self.items if not i.required)

    def to_json(self) -> dict[str, Any]:
        """The JSON view; ``rights`` and ``replaces`` only when the request carries them."""
        out = super().to_json()
        for name in ("rights", "replaces"):
            if out.get(name) is None:
                out.pop(name, None)
        return out

    def check_validity(self, now: int | None = None) -> None:
        """Raise ``expired`` once the request may no longer be answered."""
        check_times(self.issued_at, None, self.expires_at, now, leeway=60)

    def to_claims(self) -> dict[Any, Any]:
        out: dict[Any, Any] = {
            Claim.ISS: self.requester,
            Claim.IAT: self.issued_at,
            Claim.EXP: self.expires_at,
            Claim.CTI: self.request_id,
            "name": dict(self.requester_name),
            "holder": {"did": self.holder, "url": self.holder_url},
            "items": [[i.id, i.required] for i in self.items],
            "purposes": list(self.purposes),
            "retention": self.retention_days,
            "onward": self.onward_sharing,
            "validity": self.validity_days,
            "notice": self.notice.to_claims(),
            "callback": self.callback,
        }
        if self.rights is not None:
            out["rights"] = self.rights
        if self.replaces is not None:
            out["replaces"] = self.replaces
        return out

    @classmethod
    def from_claims(cls, claims: Mapping[Any, Any]) -> ConsentRequest:
        holder = claim(claims, "holder", dict, "holder")
        items = claim(claims, "items", list, "items")
        name = claim(claims, "name", dict, "name")
        if not all(type(k) is str and type(v) is str for k, v in name.items()):
            raise DecodeError("claim 'name' must map languages to text")
        if not all(type(i) is list and len(i) == 2 and type(i[0]) is str and type(i[1]) is bool
                   for i in items):
            raise DecodeError("claim 'items' must be an array of [item id, required]")
        return cls(
            requester=claim(claims, Claim.ISS, str, "iss"),
            requester_name=name,
            holder=claim(holder, "did", str, "holder.did"),
            holder_url=claim(holder, "url", str, "holder.url"),
            items=tuple(Item(i[0], i[1]) for i in items),
            purposes=text_list(claims, "purposes", "purposes"),
            retention_days=claim(claims, "retention", int, "retention"),
            onward_sharing=claim(claims, "onward", bool, "onward"),
            validity_days=claim(claims, "validity", int, "validity"),
            notice=Notice.from_claims(claims.get("notice")),
            callback=claim(claims, "callback", str, "callback"),
            issued_at=claim(claims, Claim.IAT, int, "iat"),
            expires_at=claim(claims, Claim.EXP, int, "exp"),
            request_id=claim(claims, Claim.CTI, bytes, "cti"),
            rights=optional(claims, "rights", str, "rights"),
            replaces=optional(claims, "replaces", bytes, "replaces"),
        )
