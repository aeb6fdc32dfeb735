"""Fetch data from the data holder under a consent: sign a presentation, POST it, read the answer.

The presentation is signed with the company's own key, names the holder as audience, asks
for the chosen items and the one purpose of this use, and carries a fresh random id or, if
asked, the holder's nonce (``GET <holder>/v1/nonce``) so the holder's replay check needs no
clock agreement.  The holder's answer is the data, or a refusal that is raised here as the
very error class the holder reported (``revoked``, ``items_not_granted``, ...).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from protocol import (
    ConsentCredential,
    DecodeError,
    KeyPair,
    Presentation,
    Typ,
    Unavailable,
    error_from_response,
)

__all__ = ["FetchedData", "fetch_data", "fetch_nonce", "nonce_url"]

#: Largest answer read from a data holder.
MAX_ANSWER = 1024 * 1024


@dataclass(frozen=True)
class FetchedData:
    """What the holder released: under which consent, for which purpose, the items' values."""

    consent_id: str
    purpose: str
    items: dict[str, Any]


def nonce_url(holder_url: str) -> str:
    """The holder's nonce endpoint next to its data endpoint (``.../v1/data`` -> ``.../v1/nonce``)."""
    base = holder_url.rstrip("/")
    if base.endswith("/v1/data"):
        return base[: -len("/v1/data")] + "/v1/nonce"
    return base + "/v1/nonce"


def _client(client: httpx.Client | None, timeout: float) -> httpx.Client:
    return client if client is not None else httpx.Client(timeout=timeout)


def _json(response: httpx.Response) -> Any:
    if response.status_code != 200:
        raise error_from_response(response.status_code, response.content)
    if len(response.content) > MAX_ANSWER:
        raise Unavailable("the data holder's answer is too large")
    try:
        return response.json()
    except ValueError:
        raise Unavailable("the data holder answered with something that is not JSON") from None


def fetch_nonce(holder_url: str, *, client: httpx.Client | None = None, timeout: float = 10.0) -> bytes:
    """A fresh single-use nonce from the holder, for a presentation that must use it."""
    http = _client(client, timeout)
    try:
        body = _json(http.get(nonce_url(holder_url)))
    except httpx.HTTPError as err:
        raise Unavailable(f"the data holder is unreachable: {type(err).__name__}") from None
    finally:
        if client is None:
            http.close()
    nonce = body.get("nonce") if isinstance(body, dict) else None
    try:
        if not isinstance(nonce, str):
            raise ValueError
        return base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
    except ValueError:
        raise Unavailable("the data holder's nonce is not base64url") from None


def fetch_data(
    key: KeyPair,
    credential: bytes,
    *,
    holder_url: str,
    items: Sequence[str],
    purpose: str,
    use_nonce: bool = False,
    client: httpx.Client | None = None,
    timeout: float = 10.0,
    now: int | None = None,
) -> FetchedData:
    """Present ``credential`` to the holder at ``holder_url`` and return the released data.

    Raises the holder's refusal as its own error class, :class:`protocol.Unavailable` when
    the holder cannot be reached or answers nonsense, and ``invalid`` for a bad argument
    (e.g. an empty item list) before anything is sent.
    """
    try:
        audience = ConsentCredential.decode(credential).audience
    except DecodeError as err:
        raise DecodeError(f"the stored credential does not decode: {err.detail}") from None
    http = _client(client, timeout)
    try:
        nonce = fetch_nonce(holder_url, client=http) if use_nonce else None
        presentation = Presentation.create(
            presenter=key.did, audience=audience, credential=credential, items=tuple(items),
            purpose=purpose, nonce=nonce, now=now,
        )
        body = _json(http.post(holder_url, content=presentation.sign(key),
                               headers={"Content-Type": Typ.PRESENTATION.value}))
    except httpx.HTTPError as err:
        raise Unavailable(f"the data holder is unreachable: {type(err).__name__}") from None
    finally:
        if client is None:
            http.close()
    if (not isinstance(body, dict) or not isinstance(body.get("items"), dict)
            or not isinstance(body.get("consent_id"), str) or not isinstance(body.get("purpose"), str)):
        raise Unavailable("the data holder's answer lacks consent_id, purpose or items")
    if extra := sorted(set(body["items"]) - set(items)):
        raise Unavailable(f"the data holder released items that were not asked for: {', '.join(extra)}")
    return FetchedData(body["consent_id"], body["purpose"], dict(body["items"]))
