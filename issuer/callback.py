"""Receive a consent credential at the request's callback, check it, keep it for the account.

A consent is only worth keeping if it answers exactly what we asked: it must be signed by the
user it names, name one of our published requests by CID, be granted to us for the data holder
we named, grant only requested items and every required one, and be within its validity.
Anything else is refused with the protocol's reason code (``bad_signature``, ``malformed``,
``request_mismatch``, ``expired``, ``not_yet_valid``) and nothing is stored, so a forged or
over-granting credential can never be presented to the data holder later.
"""

from __future__ import annotations

from protocol import Conflict, ConsentCredential, Decline, DidLink, Expired, RequestMismatch, WrongAudience, clock
from protocol.credential import LEEWAY

from .store import IssuerStorage, StoredConsent, StoredRequest

__all__ = ["MAX_CREDENTIAL_SIZE", "MAX_REPLACES_SIZE", "check_replacement", "receive_consent", "receive_decline"]

#: Largest credential body the callback reads (a credential is well under 2 KiB).
MAX_CREDENTIAL_SIZE = 16 * 1024
#: Largest key replacement proof accepted in the ``CopyMe-Replaces`` header (bytes, decoded).
MAX_REPLACES_SIZE = 4096


def receive_consent(store: IssuerStorage, body: bytes, *, requester: str,
                    now: int | None = None, replaces: bytes | None = None) -> StoredConsent:
    """Verify ``body`` (ConsentCredential COSE bytes) and store it for its request's account.

    ``requester`` is our own DID: a credential granted to anyone else is refused even if it
    names a request we published.  Delivering the same credential twice returns the consent
    already stored (a wallet may retry); a *different* credential for an answered request is
    ``conflict`` - unless ``replaces`` carries the user's key replacement (a
    :class:`protocol.DidLink` with ``replace`` set, signed by the DID that signed the consent
    already stored for that request and by the new credential's signer): the re-signed consent
    is then kept too, and becomes the newest for the account (see :func:`check_replacement`).
    """
    current = clock.now(now)
    credential = ConsentCredential.decode(body)  # malformed / wrong_type / bad_signature
    if credential.subject != requester:
        raise RequestMismatch("the consent is granted to another data user")
    stored_request = store.request_by_cid(credential.request_cid)
    if stored_request is None:
        raise RequestMismatch("the consent answers no request this service published")
    credential.check_answers(stored_request.request)
    credential.check_validity(current)
    if stored_request.answered:
        for existing in store.consents_for_request(stored_request.id):
            if existing.raw == credential.raw:
                return existing
        if replaces is None:
            raise Conflict("this request was already answered by another consent")
        check_replacement(replaces, credential, store.consents_for_request(stored_request.id))
        return store.add_consent(credential, stored_request, current)
    if credential.issued_at - LEEWAY > stored_request.expires_at:
        raise Expired("the consent was given after the request had expired")
    return store.add_consent(credential, stored_request, current)


def check_replacement(proof: bytes, credential: ConsentCredential, held: list[StoredConsent]) -> StoredConsent:
    """The consent a re-signed ``credential`` replaces, proven by the user's key replacement ``proof``.

    ``proof`` is the DidLink the wallet sent the holder: both signatures must verify, it must be a
    replacement (``replace``), name the holder of the credential as audience, vouch for the
    credential's signer (``did``) and be signed by the DID of a consent already held for the same
    request (``iss``).  Its 5-minute window is not applied here (a wallet may deliver later); the
    holder applied it.  Failures are ``request_mismatch``, or the proof's own decode codes.
    """
    link = DidLink.decode(proof)
    link.check_possession()
    if not link.replace or link.did != credential.issuer or link.holder != credential.audience:
        raise RequestMismatch("the key replacement proof does not vouch for this consent's signer")
    for existing in held:
        if existing.user == link.linked:
            return existing
    raise RequestMismatch("the replaced key signed no consent held for this request")


def receive_decline(store: IssuerStorage, body: bytes, *, requester: str, now: int | None = None) -> StoredRequest:
    """Verify ``body`` (Decline COSE bytes) and mark the request it names as declined.

    Raises, in this order: the decode and signature codes; ``wrong_audience`` (a decline of
    another data user's request); ``not_yet_valid`` / ``expired``; ``request_mismatch`` (it
    names no request we published); ``conflict`` (that request was answered with a consent).
    Delivering a decline again (a wallet's retry) answers the same; nothing else changes.
    """
    current = clock.now(now)
    decline = Decline.decode(body)
    if decline.requester != requester:
        raise WrongAudience("the decline is about another data user's request")
    decline.check_validity(current)
    stored = store.request_by_cid(decline.request_cid)
    if stored is None:
        raise RequestMismatch("the decline names no request this service published")
    if stored.answered:
        raise Conflict("this request was answered with a consent")
    return store.set_declined(stored.id, current)
