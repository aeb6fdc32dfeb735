"""Linking the wallet at a data holder, and its relationship DIDs after it.

:func:`link_code` is the one rule for a code a person typed or pasted, whichever door it came
through (the CLI, the local API, the dashboard's link form): the spaces and line breaks around it
are dropped, and what is left must be 1 to :data:`protocol.MAX_LINK_CODE` characters
(``invalid``, field ``code``, else).  :func:`link` answers a holder's one-time code: the DID derived for that holder signs it.
:func:`link_relationships` then sends, for every relationship DID of a linked holder not yet
linked there, a proof signed by that DID.  Holders are called without the wallet's guard, with
an overall deadline; a holder that refuses or does not answer leaves the relationship unlinked
with the error recorded, and the next ``sync`` tries again.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

import httpx

from common import HolderClient
from protocol import MAX_LINK_CODE, CopyMeError, InvalidArgument, LinkProof, WrongAudience, check_did, check_url, clock

from .keystore import KeyStore
from .relationships import Relationship, Relationships
from .store import Store

__all__ = ["link", "link_code", "link_relationships"]


class Linking(Protocol):
    """What linking needs of a wallet (:class:`wallet.Wallet` has it all)."""

    store: Store
    relationships: Relationships
    guard: threading.RLock
    timeout: float
    transport: httpx.AsyncBaseTransport | None


def link_code(typed: str | None) -> str:
    """The holder's one-time code as typed or pasted: without the whitespace around it (a pasted
    code often brings a space or a line break along), 1 to ``MAX_LINK_CODE`` characters.

    Anything else (nothing, only whitespace, too long) is ``invalid`` with field ``code``; each
    door says so in its own way (the API as its reason code, the dashboard in the glossary's words).
    """
    code = typed.strip() if isinstance(typed, str) else ""
    if not code or len(code) > MAX_LINK_CODE:
        raise InvalidArgument(f"code must be the holder's one-time code: 1 to {MAX_LINK_CODE} characters, "
                              "spaces around it left out", field="code")
    return code


def link(wallet: Linking, keys: KeyStore, holder_url: str, code: str, *, now: int | None,
         expect: str | None = None) -> dict[str, Any]:
    """Link at ``holder_url`` with its one-time ``code``; then link its relationship DIDs.

    ``expect``: the holder DID the wallet's own records name for that address (the dashboard
    passes it); a service there answering with another DID is ``wrong_audience`` and is sent
    nothing signed, so the code stays unused.  ``code`` goes through :func:`link_code` first,
    before the holder is asked anything.
    """
    url = check_url(holder_url, "holder_url")
    code = link_code(code)
    with HolderClient(url, deadline=wallet.timeout, transport=wallet.transport) as client:
        holder = client.did()
        check_did(holder, "holder")
        if expect is not None and holder != expect:
            raise WrongAudience("the service at that address is not the data holder your consents name")
        anchor = keys.holder_key(holder)
        proof = LinkProof(user=anchor.did, holder=holder, code=code, issued_at=clock.now(now))
        body = client.link(proof.sign(anchor))
    with wallet.guard, wallet.store.transaction():
        wallet.relationships.linked_holder(holder, client.base_url, anchor.did, at=clock.now(now))
    linked = link_relationships(wallet, holder, now=now)
    return {"linked": True, "holder": holder, "holder_url": client.base_url, "did": anchor.did,
            "relationships": [r.to_json() for r in linked], "response": body}


def link_relationships(wallet: Linking, holder: str | None = None, *, now: int | None = None) -> list[Relationship]:
    """Link every relationship DID not yet linked at a holder the user linked (or at ``holder``);
    the relationships linked now."""
    done: list[Relationship] = []
    with wallet.guard:
        pending = wallet.relationships.unlinked(holder)
    for relationship in pending:
        with wallet.guard:
            holder_link, proof = wallet.relationships.link_proof(relationship, now)
        try:  # over the network: without the guard
            with HolderClient(holder_link.holder_url, deadline=wallet.timeout, transport=wallet.transport) as client:
                client.link_did(proof)
        except CopyMeError as err:
            with wallet.guard:
                wallet.relationships.mark(relationship, linked_at=None, error=f"{err.code}: {err.detail}")
            continue
        with wallet.guard:
            wallet.relationships.mark(relationship, linked_at=clock.now(now), error=None)
            done.append(wallet.relationships.by_did(relationship.did))
    return done
