"""``verify_presentation``: the holder's whole decision, as one function that returns or raises.

The checks, in order (the first that fails is the one reported):

1. strict decode of the presentation, its signature by its presenter, and strict decode of the
   credential inside it with its signature by its issuer (``malformed``, ``too_large``,
   ``unsupported_alg``, ``wrong_type``, ``unknown_key``, ``bad_signature``).  Both signatures
   come first because a claim read from an unverified credential - its subject, say - proves
   nothing;
2. the presenter is the credential's subject (``not_subject``);
3. both layers name this holder as audience (``wrong_audience``);
4. the presentation's time is within the window, and its id (or the holder nonce it carries)
   has not been used before (``replayed``);
5. the credential's issuer DID is linked to a customer (``not_linked``);
6. the credential is valid now (``not_yet_valid``, ``expired``);
7. the requested items are granted (``items_not_granted``) and the purpose is among the
   granted ones (``purpose_not_granted``);
8. the credential's status entry is valid in a fresh, correctly signed status list
   (``revoked``, ``suspended``, ``status_unavailable``, ``status_invalid``, ``status_rollback``).

Only then does it return a :class:`~verifier.grant.Grant`.  Nothing here reads the data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from protocol import ConsentCredential, Presentation, cid_of, clock
from protocol.errors import (
    ItemsNotGranted,
    NotLinked,
    NotSubject,
    PurposeNotGranted,
    Replayed,
    TooLarge,
    WrongAudience,
)
from protocol.presentation import WINDOW

from .credentials import CredentialCache
from .grant import Grant
from .status_cache import StatusCache

__all__ = ["MAX_PRESENTATION_SIZE", "WINDOW", "NonceLike", "ReplayLike", "verify_presentation"]


class ReplayLike(Protocol):
    """A :class:`~verifier.replay.ReplayCache` (writes at once) or :class:`~verifier.replay.Claims` (later)."""

    def use(self, key: bytes, expires_at: int, now: int | None = None) -> None: ...


class NonceLike(Protocol):
    """A :class:`~verifier.replay.NonceStore` (uses up at once) or :class:`~verifier.replay.Claims` (later)."""

    def consume(self, nonce: bytes, now: int | None = None) -> None: ...

#: The largest presentation accepted (bytes); a credential is at most 16 KiB of it.
MAX_PRESENTATION_SIZE = 32 * 1024


def verify_presentation(
    data: bytes,
    *,
    holder: str,
    customer_for: Callable[[str], str | None],
    replay: ReplayLike,
    status: StatusCache,
    nonces: NonceLike | None = None,
    credentials: CredentialCache | None = None,
    window: int = WINDOW,
    now: int | None = None,
) -> Grant:
    """Verify presentation bytes sent to ``holder`` (its DID) and return the grant, or raise.

    ``customer_for`` maps a user DID to the linked customer id (``None`` when unlinked);
    ``credentials`` (optional) remembers credentials already verified, byte for byte.
    ``replay`` and ``nonces`` use the presentation up: a :class:`~verifier.replay.ReplayCache`
    and :class:`~verifier.replay.NonceStore` commit at once; the holder passes
    :class:`~verifier.replay.Claims` to commit them together with its record.
    Raises exactly one :class:`~protocol.errors.CopyMeError` with the reason code of the first
    failed check (see the module docstring for the order).
    """
    current = clock.now(now)
    if len(data) > MAX_PRESENTATION_SIZE:
        raise TooLarge(f"a presentation is at most {MAX_PRESENTATION_SIZE} bytes")
    presentation = Presentation.decode(data)
    if credentials is not None:
        credential, consent_id = credentials.decode(presentation.credential)
    else:
        credential = ConsentCredential.decode(presentation.credential)
        consent_id = cid_of(presentation.credential)

    if presentation.presenter != credential.subject:
        raise NotSubject("the presenter is not the party this consent was granted to")
    if presentation.audience != holder or credential.audience != holder:
        raise WrongAudience("this presentation or its consent is addressed to another data holder")

    presentation.check_fresh(current, window)
    if presentation.nonce is not None:
        if nonces is None:
            raise Replayed("this holder issued no nonce")
        nonces.consume(presentation.nonce, current)
    replay.use(presentation.presenter.encode() + b"\x00" + presentation.presentation_id,
               presentation.issued_at + window + 1, current)

    customer_id = customer_for(credential.issuer)
    if customer_id is None:
        raise NotLinked("the consent's signer is not linked to a customer of this holder")

    credential.check_validity(current)

    if extra := [item for item in presentation.items if item not in credential.items]:
        raise ItemsNotGranted(f"not granted: {', '.join(extra)}")
    if presentation.purpose not in credential.purposes:
        raise PurposeNotGranted(f"{presentation.purpose} is not a granted purpose")

    status.check(credential.status, current)

    return Grant(
        recipient=presentation.presenter,
        user=credential.issuer,
        customer_id=customer_id,
        items=presentation.items,
        purpose=presentation.purpose,
        consent_id=consent_id,
        presentation_id=presentation.presentation_id,
        verified_at=current,
        consent_expires_at=credential.expires_at,
    )
