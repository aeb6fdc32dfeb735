"""Received requests and the user's decision on each: kept, accepted (a signed consent) or declined.

The ``requests`` table keeps every verified request the wallet was shown, with the language it
was shown in and the decision.  :func:`grant` is the database half of accepting: in one
transaction it finds or makes the relationship, takes a status list entry, signs the consent
with the relationship's key and stores it.  Publishing, linking and delivery happen after the
transaction, in :meth:`wallet.Wallet.accept`.
"""

from __future__ import annotations

from typing import Protocol

from protocol import Conflict, ConsentCredential, ConsentRequest, Vocabulary, clock

from . import reconsent
from .consents import Review, check_lang
from .relationships import Relationships
from .status import StatusLists
from .store import ReceivedRequest, Store
from .trust import TrustLists

__all__ = ["decide_decline", "decision", "grant", "keep", "received", "replaced_by"]


class Granting(Protocol):
    """What accepting needs of a wallet (:class:`wallet.Wallet` has it all)."""

    store: Store
    lists: StatusLists
    relationships: Relationships
    trust: TrustLists
    vocabulary: Vocabulary


def received(store: Store, review: Review | str) -> tuple[ConsentRequest, ReceivedRequest]:
    """A kept request (by its review or CID) and its row (``not_found`` if never received)."""
    row = store.request(review.request_cid if isinstance(review, Review) else review)
    return ConsentRequest.decode(row.raw), row


def keep(store: Store, request: ConsentRequest, *, source: str, lang: str, now: int | None) -> None:
    """Keep a verified request (once), and the language it is shown in until the user decides."""
    with store.transaction():
        # answers by id default to the language it was shown in
        store.keep_request(request, source=source, lang=lang, at=clock.now(now))


def decision(store: Store, cid: str) -> str:
    """``pending``, ``accepted`` or ``declined`` (``pending`` for a request not kept)."""
    return store.decision(cid) or "pending"


def _pending(store: Store, review: Review | str, lang: str | None) -> tuple[ConsentRequest, ReceivedRequest, str]:
    request, row = received(store, review)
    if row.decision != "pending":
        raise Conflict(f"this request was already {row.decision}")
    return request, row, lang or (review.lang if isinstance(review, Review) else row.lang or "ja")


def grant(wallet: Granting, review: Review | str, items: list[str] | tuple[str, ...] | None,
          lang: str | None, now: int | None, validity_days: int | None) -> tuple[str, str]:
    """Sign and store a consent to a pending request (all items, or ``items``); its id and holder."""
    request, _row, lang = _pending(wallet.store, review, lang)
    request.check_validity(now)
    if request.replaces_cid is not None:  # checked when it was shown; again in case it was kept by an older wallet
        reconsent.check(wallet.store, request)
    lang = check_lang(lang)
    if items is not None:
        for item in items:
            wallet.vocabulary.item(item)
    requester = wallet.trust.check(request.requester, now, refresh=False)
    holder = wallet.trust.check(request.holder, now, refresh=False)
    current = clock.now(now)
    with wallet.store.transaction():
        relationship = wallet.relationships.ensure(request.holder, request.requester, current)
        signer = wallet.relationships.key(relationship)
        list_id, ref = wallet.lists.allocate(current, relationship=relationship.id)
        credential = ConsentCredential.grant(request, user=signer.did,
                                             items=tuple(items) if items is not None else None,
                                             status=ref, lang=lang, now=current,
                                             validity_days=validity_days)
        signed = ConsentCredential.decode(credential.sign(signer))
        org = requester.organisation
        name = ({"ja": org.name_ja, "en": org.name_en} if org else dict(request.requester_name))
        horg = holder.organisation
        wallet.store.add_consent(signed, request, requester_name=name, verified=requester.verified,
                                 holder_name={"ja": horg.name_ja, "en": horg.name_en} if horg else None,
                                 list_id=list_id)
        wallet.lists.record_event(signed.cid, "active", list_id, current)
        wallet.store.decide(request.cid, "accepted", at=current, lang=lang)
    return signed.cid, request.holder


def decide_decline(store: Store, review: Review | str, lang: str | None,
                   now: int | None) -> tuple[ConsentRequest, ReceivedRequest, str]:
    """Record that the user declined a pending request; the request, its row and the language."""
    request, row, lang = _pending(store, review, lang)
    lang = check_lang(lang)
    with store.transaction():
        store.decide(request.cid, "declined", at=clock.now(now), lang=lang)
    return request, row, lang


def replaced_by(store: Store, consent_id: str) -> ConsentRequest:
    """The request a stored consent answered (its ``replaces_cid`` names the consent it replaced)."""
    return received(store, store.request_cid(consent_id))[0]
