"""Re-consent and renewal at the wallet: a received request that replaces one of the user's consents.

A data user that changes its terms, or asks to renew, signs a request whose ``replaces`` names
the consent it replaces (spec 3.1, 7.11).  :func:`replaced` applies checks 8-9 of spec 7.11
before anything is stored: the consent must be in this wallet (``unknown_consent``) and given to
the very data user that signed the new request (``foreign_consent``: no company can replace
another's consent); check 10 refuses a request that changes what the key points of the notice
sum up but keeps the old points (``stale_notice``, :func:`protocol.check_new_notice`).  :func:`with_changes` adds to the review what changes, in plain words
(:func:`wallet.changes.compare`); accepting then revokes the replaced consent once the new one is
in place (see :meth:`wallet.Wallet.accept`), and declining leaves it untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from protocol import (
    ConsentCredential,
    ConsentRequest,
    ForeignConsent,
    NotFound,
    UnknownConsent,
    Vocabulary,
    check_new_notice,
)

from .changes import compare
from .consents import Review
from .store import Store

__all__ = ["check", "replaced", "with_changes"]


def replaced(store: Store, request: ConsentRequest) -> tuple[ConsentCredential, str]:
    """The consent ``request`` replaces and its state (``unknown_consent``, ``foreign_consent``)."""
    try:
        if request.replaces_cid is None:
            raise NotFound("the request replaces no consent")
        raw, state = store.credential(request.replaces_cid), store.entry(request.replaces_cid).state
    except NotFound:
        raise UnknownConsent("the request replaces a consent this wallet does not hold") from None
    old = ConsentCredential.decode(raw)
    if old.subject != request.requester:
        raise ForeignConsent("the request replaces a consent given to another data user")
    return old, state


def _answered(store: Store, old: ConsentCredential) -> ConsentRequest:
    try:
        raw = store.request(old.request_cid).raw
    except NotFound:  # every stored consent's request is stored with it
        raise UnknownConsent("the request of the replaced consent is not in this wallet") from None
    return ConsentRequest.decode(raw)


def check(store: Store, request: ConsentRequest) -> None:
    """Checks 8-10 of spec 7.11 on a received replacement request, before it is stored or shown:
    ``unknown_consent``, ``foreign_consent``, ``stale_notice``."""
    old, _state = replaced(store, request)
    check_new_notice(_answered(store, old), request)


def with_changes(store: Store, request: ConsentRequest, review: Review, *, now: int, vocabulary: Vocabulary,
                 shown_name: Callable[[str], str]) -> Review:
    """``review`` with what ``request`` changes in the consent it replaces (unchanged if it replaces
    none).  ``shown_name`` gives the name the old consent is shown under, by its id."""
    if request.replaces_cid is None:
        return review
    old, state = replaced(store, request)
    return replace(review, replacement=compare(
        old, _answered(store, old), request, state=state, lang=review.lang, now=now,
        vocabulary=vocabulary, names=(shown_name(old.cid), review.requester_name)))
