"""Write and sign a consent request in a company's own words, with errors that name the field.

:func:`build_request` is the friendly front of :class:`protocol.ConsentRequest`: items are
given as ``required`` and ``optional`` lists, purposes are checked against the W3C DPV
vocabulary the wallet can label, the notice is a plain mapping per language, and the terms
hash is computed from the terms document.  A replacement that changes what the key points sum
up without new key points is refused (``stale_notice``; see :mod:`protocol.replacing`).
A mistake (a fourth key point, an unknown
purpose, a missing language) is an :class:`protocol.InvalidArgument` subclass whose
``field`` says exactly what to fix, e.g. ``notice.en.points``.

Example::

    request = build_request(
        requester=key, requester_name={"ja": "かけいぼ", "en": "Kakeibo"},
        holder=bank_did, holder_url="https://bank.example/v1/data",
        required=["transactions"], optional=["balance"], purposes=["dpv:ServiceProvision"],
        notice={"ja": {"title": "...", "points": ["..."]}, "en": {"title": "...", "points": ["..."]}},
        terms_url="https://kakeibo.example/terms", terms=b"...full terms...",
        callback="https://kakeibo.example/callback",
    )
    request.raw   # the COSE_Sign1 bytes to publish
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from protocol import (
    DEFAULT_VOCABULARY,
    ConsentRequest,
    CopyMeError,
    InvalidArgument,
    Item,
    KeyPair,
    Notice,
    NoticeText,
    Vocabulary,
    check_new_notice,
    clock,
)

__all__ = ["DEFAULT_EXPIRES_IN", "MAX_KEY_POINTS", "build_request"]

#: How long a published request may be answered (seconds): long enough to read, short enough to
#: keep a stale QR code on a shared screen from being useful.
DEFAULT_EXPIRES_IN = 900
#: The notice's key points must fit on one phone screen.
MAX_KEY_POINTS = 3
LANGUAGES = ("ja", "en")


def build_request(
    *,
    requester: KeyPair,
    requester_name: Mapping[str, str],
    holder: str,
    holder_url: str,
    required: Sequence[str],
    optional: Sequence[str] = (),
    purposes: Sequence[str],
    notice: Mapping[str, Mapping[str, Any] | NoticeText],
    terms_url: str,
    terms: bytes | None = None,
    terms_sha256: bytes | None = None,
    callback: str,
    rights: str | None = None,
    replaces: bytes | None = None,
    previous: ConsentRequest | None = None,
    retention_days: int = 365,
    onward_sharing: bool = False,
    validity_days: int = 180,
    expires_in: int = DEFAULT_EXPIRES_IN,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
    request_id: bytes | None = None,
    now: int | None = None,
) -> ConsentRequest:
    """A request signed by ``requester``, decoded again so that ``.raw`` holds its bytes.

    Give either the full ``terms`` document (it is hashed here) or its ``terms_sha256``.
    Items and purposes must be known to ``vocabulary`` so that the wallet can show them in
    plain words; deployments with their own items pass an extended vocabulary.  ``rights`` is
    the endpoint that takes rights requests (stop use / erase) about the consents given;
    ``replaces`` is the binary CID of a consent this request replaces (changed terms, renewal)
    and ``previous`` the request that consent answered: a replacement that changes a term the key
    points sum up (items, purposes, retention, onward sharing, data holder) must come with new key
    points, else it is refused (``stale_notice``, field ``notice``) before anything is signed.
    """
    if (replaces is None) != (previous is None):
        raise InvalidArgument("a replacement gives both replaces and previous (the request the replaced "
                              "consent answered); any other request neither", field="previous")
    items = _items(required, optional, vocabulary)
    checked_purposes = _purposes(purposes, vocabulary)
    texts = {lang: _notice_text(lang, notice) for lang in LANGUAGES}
    for lang in notice:
        if lang not in LANGUAGES:
            texts[lang] = _notice_text(lang, notice)
    digest = _terms_hash(terms, terms_sha256)
    if not isinstance(expires_in, int) or isinstance(expires_in, bool) or not 60 <= expires_in <= 30 * 86400:
        raise InvalidArgument("expires_in must be 60 s to 30 days", field="expires_in")
    if not isinstance(requester, KeyPair):
        raise InvalidArgument("requester must be the company's KeyPair", field="requester")
    for lang in LANGUAGES:
        if not isinstance(requester_name, Mapping) or lang not in requester_name:
            raise InvalidArgument(f"requester_name needs a {lang!r} name", field=f"requester_name.{lang}")
    issued = clock.now(now)
    request = ConsentRequest(
        requester=requester.did,
        requester_name=dict(requester_name),
        holder=holder,
        holder_url=holder_url,
        items=items,
        purposes=checked_purposes,
        retention_days=retention_days,
        onward_sharing=onward_sharing,
        validity_days=validity_days,
        notice=Notice(texts, terms_url, digest),
        callback=callback,
        issued_at=issued,
        expires_at=issued + expires_in,
        request_id=request_id if request_id is not None else secrets.token_bytes(16),
        rights=rights,
        replaces=replaces,
    )
    if previous is not None:
        check_new_notice(previous, request)
    return ConsentRequest.decode(request.sign(requester))


def _items(required: Sequence[str], optional: Sequence[str], vocabulary: Vocabulary) -> tuple[Item, ...]:
    if isinstance(required, str) or isinstance(optional, str):
        raise InvalidArgument("required and optional are lists of item ids", field="items")
    if not required:
        raise InvalidArgument("a request needs at least one required item", field="required")
    out: list[Item] = []
    for name, ids, is_required in (("required", required, True), ("optional", optional, False)):
        for item in ids:
            try:
                vocabulary.item(item)
            except CopyMeError as err:
                err.field = name
                raise
            if any(i.id == item for i in out):
                raise InvalidArgument(f"item {item!r} is listed twice", field=name)
            out.append(Item(item, is_required))
    return tuple(out)


def _purposes(purposes: Sequence[str], vocabulary: Vocabulary) -> tuple[str, ...]:
    if isinstance(purposes, str) or not purposes:
        raise InvalidArgument("purposes is a non-empty list of DPV terms", field="purposes")
    for purpose in purposes:
        vocabulary.purpose(purpose)  # UnknownPurpose, field="purposes"
    return tuple(purposes)


def _notice_text(lang: str, notice: Mapping[str, Mapping[str, Any] | NoticeText]) -> NoticeText:
    if not isinstance(notice, Mapping) or lang not in notice:
        raise InvalidArgument(f"the notice needs a {lang!r} text", field=f"notice.{lang}")
    value = notice[lang]
    if isinstance(value, NoticeText):
        return value
    if not isinstance(value, Mapping):
        raise InvalidArgument("a notice text is {'title': ..., 'points': [...]}", field=f"notice.{lang}")
    title, points = value.get("title"), value.get("points")
    if not isinstance(title, str) or not title.strip():
        raise InvalidArgument("the notice needs a title", field=f"notice.{lang}.title")
    if isinstance(points, str) or not isinstance(points, Sequence) or not points:
        raise InvalidArgument("the notice needs 1 to 3 key points", field=f"notice.{lang}.points")
    if len(points) > MAX_KEY_POINTS:
        raise InvalidArgument(
            f"a notice has at most {MAX_KEY_POINTS} key points, this one has {len(points)}",
            field=f"notice.{lang}.points",
        )
    try:
        return NoticeText(title, tuple(points))
    except InvalidArgument as err:
        err.field = f"notice.{lang}.{(err.field or '').removeprefix('notice.')}".rstrip(".")
        raise


def _terms_hash(terms: bytes | None, terms_sha256: bytes | None) -> bytes:
    if (terms is None) == (terms_sha256 is None):
        raise InvalidArgument("give either the terms document or its SHA-256", field="terms")
    if terms is not None:
        if not isinstance(terms, bytes):
            raise InvalidArgument("terms must be the document's bytes", field="terms")
        return hashlib.sha256(terms).digest()
    if not isinstance(terms_sha256, bytes) or len(terms_sha256) != 32:
        raise InvalidArgument("terms_sha256 must be 32 bytes", field="terms_sha256")
    return terms_sha256
