"""HTTP to a data holder's verifier, for the wallet: who it is, and the two kinds of link proof.

Every call has the wallet's timeout; a holder that does not answer is ``unavailable`` and a
holder's error body becomes the same CopyMe error (``error_from_response``).
"""

from __future__ import annotations

from typing import Any

import httpx

from protocol import Typ, Unavailable, error_from_response
from protocol._model import check_url

__all__ = ["HolderClient"]


class HolderClient:
    """One data holder's service at ``base_url``."""

    def __init__(self, base_url: str, *, timeout: float = 5.0, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = check_url(base_url, "holder_url").rstrip("/")
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> HolderClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, f"{self.base_url}{path}", **kwargs)
        except httpx.HTTPError as err:
            raise Unavailable(f"the data holder at {self.base_url} did not answer: {type(err).__name__}") from err
        if response.status_code != 200:
            raise error_from_response(response.status_code, response.content)
        try:
            return response.json()
        except ValueError as err:
            raise Unavailable(f"the data holder at {self.base_url} answered without JSON") from err

    def did(self) -> str:
        """The holder's DID (``GET /v1/holder``)."""
        body = self._call("GET", "/v1/holder")
        did = body.get("did") if isinstance(body, dict) else None
        if not isinstance(did, str):
            raise Unavailable("the holder's /v1/holder answer has no DID")
        return did

    def link(self, proof: bytes) -> dict[str, Any]:
        """Post a LinkProof over a link code (``POST /v1/links``)."""
        body = self._call("POST", "/v1/links", content=proof, headers={"Content-Type": str(Typ.LINK)})
        return body if isinstance(body, dict) else {}

    def link_did(self, proof: bytes) -> dict[str, Any]:
        """Post a DidLink for a relationship DID (``POST /v1/links/dids``)."""
        body = self._call("POST", "/v1/links/dids", content=proof, headers={"Content-Type": str(Typ.DID_LINK)})
        return body if isinstance(body, dict) else {}
