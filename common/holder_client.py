"""The client for a data holder's HTTP API (section 8.2 of the spec), for data users and wallets.

A data user asks it for a nonce and presents; a wallet asks who the holder is, links to it
(its code-based link proof, and a DidLink for each relationship DID) and pulls its usage receipts.
Every call goes through :class:`~common.peer.PeerClient` (one overall deadline, a size cap) and
every refusal comes back as the holder's own error class.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from protocol import Typ, Unavailable

from .peer import DEFAULT_DEADLINE, PeerClient

__all__ = ["MAX_HOLDER_ANSWER", "MAX_RECEIPTS_ANSWER", "HolderClient"]

#: The largest answer taken from a data holder (released items are small).
MAX_HOLDER_ANSWER = 256 * 1024
#: The largest answer to a receipt query: 100 receipts of at most ~2 KiB, base64url, with room to spare.
MAX_RECEIPTS_ANSWER = 1024 * 1024


class HolderClient:
    """Talk to the data holder whose API is at ``base_url`` (``.../v1/data`` is accepted too)."""

    def __init__(self, base_url: str, *, deadline: float = DEFAULT_DEADLINE,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        base = base_url.rstrip("/")
        self.base_url = base[: -len("/v1/data")] if base.endswith("/v1/data") else base
        self._http = PeerClient(name="the data holder", deadline=deadline, max_bytes=MAX_HOLDER_ANSWER,
                                transport=transport)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> HolderClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        body = self._http.request(method, self.base_url + path, **kwargs).raise_for_error().json()
        if not isinstance(body, dict):
            raise Unavailable(f"the data holder's answer to {path} is not a JSON object")
        return body

    def info(self) -> dict[str, Any]:
        """``GET /v1/holder``: ``{"did", "name", ...}`` (``did`` checked to be text)."""
        body = self._object("GET", "/v1/holder")
        if not isinstance(body.get("did"), str) or not isinstance(body.get("name") or {}, dict):
            raise Unavailable("the data holder's /v1/holder answer is not {did, name}")
        return body

    def did(self) -> str:
        """The holder's DID (``GET /v1/holder``)."""
        return str(self.info()["did"])

    def nonce(self) -> bytes:
        """``GET /v1/nonce``: a fresh single-use nonce."""
        nonce = self._object("GET", "/v1/nonce").get("nonce")
        try:
            if not isinstance(nonce, str):
                raise ValueError
            return base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except ValueError:
            raise Unavailable("the data holder's nonce is not base64url") from None

    def present(self, presentation: bytes, *, release: bool = True) -> dict[str, Any]:
        """``POST /v1/data`` (or ``/v1/verify`` with ``release=False``) with a signed presentation."""
        return self._object("POST", "/v1/data" if release else "/v1/verify", content=presentation,
                            headers={"Content-Type": str(Typ.PRESENTATION)})

    def link(self, proof: bytes) -> dict[str, Any]:
        """``POST /v1/links`` with a signed link proof."""
        return self._object("POST", "/v1/links", content=proof, headers={"Content-Type": str(Typ.LINK)})

    def link_did(self, proof: bytes) -> dict[str, Any]:
        """``POST /v1/links/dids`` with a signed DidLink for a relationship DID."""
        return self._object("POST", "/v1/links/dids", content=proof, headers={"Content-Type": str(Typ.DID_LINK)})

    def receipts(self, query: bytes, *, deadline: float | None = None) -> bytes:
        """``POST /v1/receipts`` with a signed ReceiptQuery: the answer's body, unparsed (at most
        :data:`MAX_RECEIPTS_ANSWER` bytes, within ``deadline`` seconds; default: the client's)."""
        response = self._http.request("POST", self.base_url + "/v1/receipts", content=query,
                                      headers={"Content-Type": str(Typ.RECEIPT_QUERY)}, deadline=deadline,
                                      max_bytes=MAX_RECEIPTS_ANSWER).raise_for_error()
        if response.status_code != 200:
            raise Unavailable(f"the data holder answered a receipt query with HTTP {response.status_code}")
        return response.content
