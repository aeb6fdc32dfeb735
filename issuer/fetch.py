"""Fetch data from the data holder under a consent: sign a presentation, POST it, read the answer.

The presentation is signed with the company's own key, names the holder as audience, asks
for the chosen items and the one purpose of this use, and carries a fresh random id or, if
asked, the holder's nonce (``GET <holder>/v1/nonce``) so the holder's replay check needs no
clock agreement.  The holder's answer is the data, or a refusal that is raised here as the
very error class the holder reported (``revoked``, ``items_not_granted``, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from common import HolderClient
from protocol import ConsentCredential, DecodeError, KeyPair, Presentation, Unavailable

__all__ = ["FetchedData", "fetch_data", "fetch_nonce", "nonce_url"]

@dataclass(frozen=True)
class FetchedData:
    """What the holder released: under which consent, for which purpose, the items' values."""

    consent_id: str
    purpose: str
    items: dict[str, Any]


def nonce_url(holder_url: str) -> str:
    """The holder's nonce endpoint next to its data endpoint (``.../v1/data`` -> ``.../v1/nonce``)."""
    return HolderClient(holder_url).base_url + "/v1/nonce"


def fetch_nonce(holder_url: str, *, timeout: float = 10.0) -> bytes:
    """A fresh single-use nonce from the holder, for a presentation that must use it.

    ``timeout`` bounds the whole exchange (not each read).
    """
    with HolderClient(holder_url, deadline=timeout) as holder:
        return holder.nonce()


def fetch_data(
    key: KeyPair,
    credential: bytes,
    *,
    holder_url: str,
    items: Sequence[str],
    purpose: str,
    use_nonce: bool = False,
    timeout: float = 10.0,
    now: int | None = None,
) -> FetchedData:
    """Present ``credential`` to the holder at ``holder_url`` and return the released data.

    Raises the holder's refusal as its own error class, :class:`protocol.Unavailable` when
    the holder cannot be reached (within ``timeout`` seconds per call, overall) or answers
    nonsense, and ``invalid`` for a bad argument (e.g. an empty item list) before anything is sent.
    """
    try:
        audience = ConsentCredential.decode(credential).audience
    except DecodeError as err:
        raise DecodeError(f"the stored credential does not decode: {err.detail}") from None
    with HolderClient(holder_url, deadline=timeout) as holder:
        nonce = holder.nonce() if use_nonce else None
        presentation = Presentation.create(
            presenter=key.did, audience=audience, credential=credential, items=tuple(items),
            purpose=purpose, nonce=nonce, now=now,
        )
        body = holder.present(presentation.sign(key))
    if (not isinstance(body, dict) or not isinstance(body.get("items"), dict)
            or not isinstance(body.get("consent_id"), str) or not isinstance(body.get("purpose"), str)):
        raise Unavailable("the data holder's answer lacks consent_id, purpose or items")
    if extra := sorted(set(body["items"]) - set(items)):
        raise Unavailable(f"the data holder released items that were not asked for: {', '.join(extra)}")
    return FetchedData(body["consent_id"], body["purpose"], dict(body["items"]))
