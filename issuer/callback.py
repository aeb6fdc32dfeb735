"""Receive a consent credential at the request's callback, check it, keep it for the account.

A consent is only worth keeping if it answers exactly what we asked: it must be signed by the
user it names, name one of our published requests by CID, be granted to us for the data holder
we named, grant only requested items and every required one, and be within its validity.
Anything else is refused with the protocol's reason code (``bad_signature``, ``malformed``,
``request_mismatch``, ``expired``, ``not_yet_valid``) and nothing is stored, so a forged or
over-granting credential can never be presented to the data holder later.
"""

from __future__ import annotations

from protocol import Conflict, ConsentCredential, Expired, RequestMismatch, clock
from protocol.credential import LEEWAY

from .store import IssuerStore, StoredConsent

__all__ = ["MAX_CREDENTIAL_SIZE", "receive_consent"]

#: Largest credential body the callback reads (a credential is well under 2 KiB).
MAX_CREDENTIAL_SIZE = 16 * 1024


def receive_consent(store: IssuerStore, body: bytes, *, requester: str,
                    now: int | None = None) -> StoredConsent:
    """Verify ``body`` (ConsentCredential COSE bytes) and store it for its request's account.

    ``requester`` is our own DID: a credential granted to anyone else is refused even if it
    names a request we published.  Delivering the same credential twice returns the consent
    already stored (a wallet may retry); a *different* credential for an answered request is
    ``conflict``.
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
    if credential.issued_at - LEEWAY > stored_request.expires_at:
        raise Expired("the consent was given after the request had expired")
    if stored_request.answered:
        existing = store.consent_for_request(stored_request.id)
        if existing is not None and existing.raw == credential.raw:
            return existing
        raise Conflict("this request was already answered by another consent")
    return store.add_consent(credential, stored_request, current)
