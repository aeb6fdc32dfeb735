"""Consents as the wallet holds them: fetching and checking a request, the review shown to the
user, the stored consent, and delivery of a signed consent to the data user's callback.

A :class:`Review` is everything the user needs to *understand* a request before deciding, in
one language: verified or UNVERIFIED requester, data holder, items (required or optional) and
purposes in plain words, retention, onward sharing, validity and the notice's key points.  The
same object renders as rich text in the CLI and as JSON in the local API.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from common import PeerClient
from protocol import (
    DEFAULT_VOCABULARY,
    ConsentRequest,
    CopyMeError,
    Decline,
    DecodeError,
    InvalidArgument,
    NotFound,
    TooLarge,
    Typ,
    Unavailable,
    Vocabulary,
    parse_deep_link,
)
from protocol.cbor import MAX_SIZE

from .changes import Replacement
from .trust import TrustCheck

__all__ = [
    "ConsentView",
    "ItemView",
    "PurposeView",
    "Review",
    "deliver",
    "fetch_request",
    "send_decline",
    "verify_request",
]

LANGS = ("ja", "en")


def check_lang(lang: str) -> str:
    """``ja`` or ``en``."""
    if lang not in LANGS:
        raise InvalidArgument("lang must be ja or en", field="lang")
    return lang


def fetch_request(source: str, *, timeout: float = 10.0, transport: httpx.AsyncBaseTransport | None = None) -> bytes:
    """The signed request bytes behind a URL, a ``copyme://`` deep link, or a file path.

    ``timeout`` bounds the whole fetch, however slowly the requester's server answers.
    """
    text = source.strip()
    if text.startswith(("http://", "https://", "copyme:")):
        url = parse_deep_link(text)
        with PeerClient(name=f"the requester at {_origin(url)}", deadline=timeout, max_bytes=MAX_SIZE,
                        transport=transport) as http:
            response = http.get(url, headers={"Accept": str(Typ.REQUEST)})
        return response.raise_for_error().content
    path = Path(text)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SIZE + 1)
    except OSError as err:
        raise NotFound(f"cannot read {source}: {err.strerror}") from None
    if len(data) > MAX_SIZE:
        raise TooLarge(f"{source} is above {MAX_SIZE} bytes")
    return data


def verify_request(raw: bytes, *, now: int | None = None, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> ConsentRequest:
    """Decode and check a request: signature, ``typ``, expiry, and that every item and purpose
    is one the wallet can explain (``unknown_item`` / ``unknown_purpose`` otherwise)."""
    if not raw:
        raise DecodeError("the request is empty")
    request = ConsentRequest.decode(raw)
    request.check_validity(now)
    for item in request.items:
        vocabulary.item(item.id)
    for purpose in request.purposes:
        vocabulary.purpose(purpose)
    return request


@dataclass(frozen=True)
class ItemView:
    """One requested data item as shown."""

    id: str
    label: str
    required: bool


@dataclass(frozen=True)
class PurposeView:
    """One purpose as shown: DPV term, plain label, one-line explanation."""

    id: str
    label: str
    help: str


@dataclass(frozen=True)
class Review:
    """What the wallet shows before the user decides (see the module docstring)."""

    request_cid: str
    source: str
    lang: str
    verified: bool
    requester: str
    requester_name: str
    claimed_name: str
    trust_note: str
    holder: str
    holder_name: str | None
    holder_url: str
    items: tuple[ItemView, ...]
    purposes: tuple[PurposeView, ...]
    retention_days: int
    onward_sharing: bool
    validity_days: int
    expires_at: int
    title: str
    key_points: tuple[str, ...]
    terms_url: str
    terms_sha256: str
    callback: str
    decision: str = "pending"
    council_name: str = ""
    #: What this request changes in the consent it replaces (``None``: it replaces none).
    replacement: Replacement | None = None
    #: After a decline: whether the requester's callback took the signed "no" (else ``None``).
    notified: bool | None = None

    @classmethod
    def build(cls, request: ConsentRequest, *, source: str, lang: str, requester: TrustCheck,
              holder: TrustCheck, vocabulary: Vocabulary = DEFAULT_VOCABULARY,
              decision: str = "pending", council_name: str = "") -> Review:
        """The review of a verified ``request`` in ``lang``."""
        check_lang(lang)
        claimed = request.requester_name.get(lang) or request.requester_name["ja"]
        org = requester.organisation
        text = request.notice.text(lang)
        return cls(
            request_cid=request.cid, source=source, lang=lang, verified=requester.verified,
            requester=request.requester, requester_name=org.name(lang) if org else claimed,
            claimed_name=claimed, trust_note=requester.note(lang), holder=request.holder,
            holder_name=holder.organisation.name(lang) if holder.organisation else None,
            holder_url=request.holder_url,
            items=tuple(ItemView(i.id, vocabulary.item(i.id).text(lang), i.required) for i in request.items),
            purposes=tuple(PurposeView(p, vocabulary.purpose(p).text(lang), vocabulary.purpose(p).help(lang))
                           for p in request.purposes),
            retention_days=request.retention_days, onward_sharing=request.onward_sharing,
            validity_days=request.validity_days, expires_at=request.expires_at, title=text.title,
            key_points=text.points, terms_url=request.notice.terms_url,
            terms_sha256=request.notice.terms_sha256.hex(), callback=request.callback, decision=decision,
            council_name=council_name,
        )

    @property
    def required_items(self) -> tuple[str, ...]:
        """Ids the user cannot leave out."""
        return tuple(i.id for i in self.items if i.required)

    @property
    def optional_items(self) -> tuple[str, ...]:
        """Ids the user may leave out."""
        return tuple(i.id for i in self.items if not i.required)

    def to_json(self) -> dict[str, Any]:
        """Every field, for ``review --json`` and the API (the same words the CLI prints)."""
        return asdict(self)


@dataclass(frozen=True)
class ConsentView:
    """One stored consent as listed: who, what, why, its state, and whether changes are pending."""

    id: str
    requester: str
    requester_name: dict[str, str]
    verified: bool
    holder: str
    holder_name: dict[str, str] | None
    holder_url: str
    items: tuple[str, ...]
    purposes: tuple[str, ...]
    lang: str
    issued_at: int
    expires_at: int
    state: str
    pending: bool
    delivered: bool
    delivery_error: str | None
    request_cid: str
    list_id: str
    index: int

    def name(self, lang: str) -> str:
        """The requester's name in ``lang``."""
        return self.requester_name.get(lang) or next(iter(self.requester_name.values()), self.requester)

    def holder_label(self, lang: str) -> str:
        """The data holder's verified name in ``lang``, else its URL's host."""
        if self.holder_name:
            return self.holder_name.get(lang) or self.holder
        return _host(self.holder_url) or self.holder

    def to_json(self) -> dict[str, Any]:
        """A fresh JSON-ready dict with every field (built by hand: ``asdict`` deep-copies and
        costs more than the rest of listing a consent)."""
        return {
            "id": self.id, "requester": self.requester, "requester_name": dict(self.requester_name),
            "verified": self.verified, "holder": self.holder,
            "holder_name": dict(self.holder_name) if self.holder_name is not None else None,
            "holder_url": self.holder_url, "items": list(self.items), "purposes": list(self.purposes),
            "lang": self.lang, "issued_at": self.issued_at, "expires_at": self.expires_at, "state": self.state,
            "pending": self.pending, "delivered": self.delivered, "delivery_error": self.delivery_error,
            "request_cid": self.request_cid, "list_id": self.list_id, "index": self.index,
        }


def _origin(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        return "an unusable URL"
    return f"{parsed.scheme}://{parsed.netloc.decode('ascii', 'replace')}"


@functools.lru_cache(maxsize=1024)
def _host(url: str) -> str:
    """A URL's host (cached: a long list names the same few data holders over and over)."""
    return httpx.URL(url).host


def deliver(callback: str, credential: bytes, *, timeout: float = 10.0,
            transport: httpx.AsyncBaseTransport | None = None, replaces: bytes | None = None,
            content_type: Typ = Typ.CONSENT) -> dict[str, Any]:
    """POST a signed consent (or a Decline) to the request's callback; the peer's refusal or
    ``unavailable``.

    A consent re-signed after a key replacement goes with the replacement proof (the DidLink) in
    the ``CopyMe-Replaces`` header, base64url without padding.
    """
    headers = {"Content-Type": str(content_type)}
    if replaces is not None:
        headers["CopyMe-Replaces"] = base64.urlsafe_b64encode(replaces).rstrip(b"=").decode()
    with PeerClient(name=f"the callback {callback}", deadline=timeout, transport=transport) as http:
        response = http.post(callback, content=credential, headers=headers)
    response.raise_for_error()
    try:
        body = response.json()
    except Unavailable:
        body = {}
    return body if isinstance(body, dict) else {}


def send_decline(request: ConsentRequest, *, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None, now: int | None = None) -> bool:
    """Tell the requester that the user said no: a Decline naming only the request, signed with a
    one-time key (spec 3.14), POSTed to its callback.  Whether the callback took it; a failure is
    not an error (the user's "no" stands either way)."""
    decline, one_time = Decline.create(request, now=now)
    try:
        deliver(request.callback, decline.sign(one_time), content_type=Typ.DECLINE, timeout=timeout,
                transport=transport)
    except CopyMeError:
        return False
    return True
