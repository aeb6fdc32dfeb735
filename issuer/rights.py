"""Rights requests at the data user: take a stop-use / erase request, acknowledge it, complete it.

The wallet POSTs a :class:`protocol.RightsRequest` to the ``rights`` endpoint this company
declared in its signed consent requests.  :func:`receive_rights_request` checks it in the
order of spec section 7.9 (signature, audience, time, a consent we hold, signed by the very
key that gave that consent, not seen before), keeps it, and answers with a signed
:class:`protocol.RightsAck` carrying the due date.  Nothing is stored on a refusal.

The company's own deletion code is an :data:`ErasureHook`: a typed callable that gets an
:class:`ErasureTask` and returns an :class:`ErasureOutcome` (which items it erased, how many
records).  :func:`complete_rights` runs it and signs the :class:`protocol.RightsDone`; a hook
that fails leaves the request pending (``erasure_failed``) and signs nothing.
:func:`erase_copied_data` is the hook of the demo budget app: it deletes what the app copied
from the bank under the consent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from protocol import (
    CopyMeError,
    InvalidArgument,
    KeyPair,
    NotFound,
    Replayed,
    RightsAck,
    RightsDone,
    RightsKind,
    RightsRequest,
    TooLarge,
    UnknownConsent,
    WrongAudience,
    WrongSigner,
    clock,
)

from .store import IssuerStorage, StoredRights

__all__ = [
    "DEFAULT_DUE_DAYS",
    "MAX_RIGHTS_SIZE",
    "ErasureFailed",
    "ErasureHook",
    "ErasureOutcome",
    "ErasureTask",
    "complete_rights",
    "erase_copied_data",
    "receive_rights_request",
]

#: Largest rights request body read (one is well under 1 KiB).
MAX_RIGHTS_SIZE = 16 * 1024
#: Days within which the company promises to carry a request out (its RightsAck's ``due``).
DEFAULT_DUE_DAYS = 14


class ErasureFailed(CopyMeError):
    """The company's deletion hook failed: the request stays pending and nothing is signed."""

    code = "erasure_failed"
    http_status = 500
    exit_status = 1


@dataclass(frozen=True)
class ErasureTask:
    """What the deletion hook must do: stop using and/or erase the data under one consent."""

    rights_id: str
    consent_id: str
    account: str
    user: str
    kind: RightsKind
    items: tuple[str, ...]


@dataclass(frozen=True)
class ErasureOutcome:
    """What the deletion hook did: the items it erased and how many stored records went."""

    erased_items: tuple[str, ...] = ()
    erased_records: int = 0


#: The company's own code that carries a rights request out.
ErasureHook = Callable[[ErasureTask], ErasureOutcome]


def receive_rights_request(store: IssuerStorage, body: bytes, *, key: KeyPair, now: int | None = None,
                           due_days: int = DEFAULT_DUE_DAYS) -> StoredRights:
    """Check ``body`` (RightsRequest COSE bytes), keep it, and sign our acknowledgement.

    Raises, in this order: ``too_large``; the decode and signature codes; ``wrong_audience``
    (addressed to another data user); ``not_yet_valid`` / ``expired``; ``unknown_consent``;
    ``wrong_signer`` (not signed by the key that gave the consent); ``replayed``.
    """
    if len(body) > MAX_RIGHTS_SIZE:
        raise TooLarge(f"a rights request is at most {MAX_RIGHTS_SIZE} bytes")
    current = clock.now(now)
    request = RightsRequest.decode(body)
    if request.data_user != key.did:
        raise WrongAudience("the rights request is addressed to another data user")
    request.check_validity(current)
    try:
        consent = store.consent(request.consent_cid)
    except NotFound:
        raise UnknownConsent("no consent with this id was given to us") from None
    if request.user != consent.user:
        raise WrongSigner("only the key that gave the consent may ask about it")
    if store.rights_seen(request.user, request.request_id.hex()):
        raise Replayed("this rights request was already received")
    ack = RightsAck.answer(request, due_at=current + due_days * 86400, now=current)
    return store.add_rights(StoredRights(
        id=request.cid, consent_id=consent.id, account=consent.account, user=request.user,
        cti=request.request_id.hex(), kind=str(request.kind), raw=request.raw,
        received_at=current, due_at=ack.due_at, ack=ack.sign(key),
    ))


def complete_rights(store: IssuerStorage, rights_id: str, *, key: KeyPair, hook: ErasureHook,
                    now: int | None = None) -> StoredRights:
    """Run ``hook`` for a pending rights request and sign our completion.

    A request already done is returned as it is (completing twice signs nothing new).  The
    hook's outcome must fit the request: a ``stop_use`` request erases nothing.
    """
    stored = store.rights(rights_id)
    if stored.done:
        return stored
    request = RightsRequest.decode(stored.raw)
    consent = store.consent(stored.consent_id)
    task = ErasureTask(rights_id=stored.id, consent_id=stored.consent_id, account=stored.account,
                       user=stored.user, kind=request.kind, items=consent.items)
    try:
        outcome = hook(task)
    except CopyMeError:
        raise
    except Exception as err:  # the company's code: whatever it raises, nothing is signed
        raise ErasureFailed(f"the deletion hook failed: {type(err).__name__}") from None
    if not isinstance(outcome, ErasureOutcome):
        raise ErasureFailed("the deletion hook must return an ErasureOutcome")
    try:
        done = RightsDone.answer(request, erased_items=tuple(outcome.erased_items),
                                 erased_records=outcome.erased_records, now=clock.now(now))
    except InvalidArgument as err:
        raise ErasureFailed(f"the deletion hook's outcome does not fit the request: {err.detail}") from None
    return store.finish_rights(rights_id, done.sign(key), done.done_at, done.erased_items, done.erased_records)


def erase_copied_data(store: IssuerStorage) -> ErasureHook:
    """The demo app's hook: erase what was copied under the consent and under every consent it
    replaced (the same relationship, re-consented or renewed); nothing for ``stop_use``."""

    def hook(task: ErasureTask) -> ErasureOutcome:
        if not task.kind.erases:
            return ErasureOutcome()
        erased: set[str] = set()
        count, consent_id, seen = 0, task.consent_id, set()
        while consent_id and consent_id not in seen:
            seen.add(consent_id)
            items, rows = store.erase_copied(consent_id)
            erased.update(items)
            count += rows
            try:
                consent_id = store.consent(consent_id).replaces
            except NotFound:
                break
        return ErasureOutcome(erased_items=tuple(sorted(erased)), erased_records=count)

    return hook
