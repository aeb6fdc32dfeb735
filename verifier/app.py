"""The holder's HTTP service: a thin FastAPI layer over :class:`~verifier.holder.Holder`.

Every route parses, makes one library call and renders.  Errors leave through one handler as
``{"error": code, "detail": ...}`` with the code's HTTP status: 403 for refusals, 503 for
``status_unavailable`` (and ``data_unavailable``), 400 ``malformed``, 413 ``too_large``, 422
``invalid``; anything unexpected is a 500 ``internal`` without a traceback - and never data.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from common import BinaryLane, install_error_contract, read_capped
from common.registry_client import RegistryClient
from protocol import CopyMeError
from protocol.did_link import DidLink
from protocol.link import LinkProof
from protocol.receipt_query import ReceiptQuery

from .holder import Holder
from .receipts import MAX_QUERY_SIZE, PAGE_SIZE
from .replay import NONCE_TTL
from .sources import DataSource
from .verify import MAX_PRESENTATION_SIZE

__all__ = ["MAX_LINK_SIZE", "create_app"]

log = logging.getLogger(__name__)

#: Largest link proof body accepted (bytes).
MAX_LINK_SIZE = 4096


class ErrorBody(BaseModel):
    """Every error: a stable reason code and a human explanation."""

    error: str = Field(description="Stable reason code, e.g. `revoked`, `bad_signature`, `replayed`.")
    detail: str = Field(description="Human-readable explanation.")


class HolderInfo(BaseModel):
    """Who this data holder is: what a wallet links to and a consent names as audience."""

    did: str = Field(description="This holder's did:key: the audience consents must name.")
    name: dict[str, str] = Field(description="Display name in ja and en.")


class NonceBody(BaseModel):
    """A single-use nonce, so a data user's presentation needs no clock agreement with the holder."""

    nonce: str = Field(description="base64url (no padding) nonce to put in the next presentation.")
    expires_in: int = Field(description="Seconds the nonce stays usable.")


class LinkedBody(BaseModel):
    """An accepted link proof: from now on consents signed by ``did`` count as this customer's."""

    linked: bool
    did: str = Field(description="The DID now linked to the customer the code was issued for.")


class DidLinkedBody(BaseModel):
    """An accepted DidLink: consents signed by ``did`` now count as the same customer's."""

    linked: bool
    did: str = Field(description="The new DID, now linked to the customer of the DID that vouched for it.")
    replaced: str | None = Field(default=None, description="The DID this link replaced (now refused as "
                                                           "`key_replaced`), or null.")


class DataBody(BaseModel):
    """Released data: exactly the granted items asked for, and the consent they left under."""

    consent_id: str = Field(description="CID of the consent credential the data was released under.")
    purpose: str = Field(description="The DPV purpose stated in the presentation.")
    items: dict[str, Any] = Field(description="Exactly the requested (and granted) items.")


class DecisionBody(BaseModel):
    """The decision of ``/v1/verify``: a release would happen, and under which grant."""

    decision: str = Field(description="Always `release` (refusals are error bodies).")
    grant: dict[str, Any] = Field(description="Who, which customer, items, purpose, consent id.")


class ReceiptsBody(BaseModel):
    """The asking customer's usage receipts after ``after``, oldest first."""

    receipts: list[str] = Field(description="UsageReceipt COSE_Sign1 bytes, base64url without padding, "
                                            f"in `seq` order; at most {PAGE_SIZE}.")
    more: bool = Field(description="Newer receipts remain: send a new query with `after` = the last `seq`.")


def _err(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


_PRESENTATION_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _err("`malformed`, `unsupported_alg` or `wrong_type`: not a well-formed presentation."),
    403: _err("Refused: `bad_signature`, `unknown_key`, `not_subject`, `wrong_audience`, `replayed`, "
              "`not_linked`, `key_replaced`, `expired`, `not_yet_valid`, `items_not_granted`, `purpose_not_granted`, "
              "`revoked`, `suspended`, `status_invalid`."),
    409: _err("`status_rollback`: the registry served a status list older than one already seen."),
    413: _err(f"`too_large`: the body is above {MAX_PRESENTATION_SIZE} bytes."),
    500: _err("`internal`: an unexpected failure; nothing was released."),
    503: _err("`status_unavailable`: no fresh status list could be had (fail closed); "
              "`data_unavailable`: the data source failed; `busy` (with `Retry-After`): every database "
              "connection stayed busy, retry; `unavailable`: the database cannot be reached."),
}


def _binary_body(media_type: str, what: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "description": what,
                            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}}


def _b64url(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def create_app(holder: Holder | None = None, *, home: str | Path | None = None,
               registry_url: str | None = None, max_staleness: int | None = None,
               follow_feed: bool = True, synchronous: str = "normal", council: str | None = None,
               database: str | None = None, source: DataSource | None = None, lane: bool = True) -> FastAPI:
    """The verifier service for ``holder``, or for the holder kept in ``home`` reading ``registry_url``.

    ``synchronous`` (``normal``/``full``) and ``council`` (the DID that must sign the trust
    list) apply to a holder opened here; see :func:`verifier.store.open_database` and
    :class:`verifier.trust.TrustNames`.  ``database`` is a ``postgresql://`` URL (or a SQLite
    file) for its stores instead of the home folder's file (see :meth:`Holder.open`).
    ``source`` is that holder's data source (:mod:`verifier.sources`); a holder without one is
    refused here (``no_data_source``).  ``lane`` serves ``POST /v1/data`` through
    :class:`common.web.BinaryLane` (plain ASGI in front of FastAPI's routing, the same answers for
    less CPU); ``False`` through the FastAPI route that documents it.
    """
    owned = holder is None
    if holder is None:
        if home is None or registry_url is None:
            raise ValueError("pass a Holder, or both home and registry_url")
        options: dict[str, Any] = {"council": council, "source": source}
        if max_staleness is not None:
            options["max_staleness"] = max_staleness
        holder = Holder.open(home, RegistryClient(registry_url), synchronous=synchronous, database=database,
                             **options)
    gate: Holder = holder
    try:
        gate.check_source()
    except CopyMeError:
        if owned:
            gate.close()
        raise

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if follow_feed:
            gate.start()
        try:
            yield
        finally:
            gate.stop()
            if owned:
                gate.close()

    app = FastAPI(
        title="CopyMe verifier",
        version="0.1.0",
        description="A data holder's gate: releases data only under a valid, current consent. "
                    "Every refusal is `{\"error\": code, \"detail\": ...}` with a stable reason code.",
        lifespan=lifespan,
    )
    app.state.holder = gate

    async def release(body: bytes) -> dict[str, Any]:
        # On the loop when nothing can block (cached list, in-memory source): ~0.5 ms CPU less per
        # request than the hop to a worker thread and back; else on a thread as any blocking call.
        # Either way the answer waits for the commit of the request's record (group commit).
        done = await gate.release_async(body)
        if done is None:
            done = await run_in_threadpool(gate.release, body)
        # Already plain JSON data: rendered directly, not re-validated through DataBody (which
        # stays the documented schema) - that pass cost as much as a signature check.
        return done.to_json()

    if lane:  # POST /v1/data as plain ASGI, inside the error contract (added before it: see BinaryLane)
        app.add_middleware(BinaryLane, path="/v1/data", handler=release, limit=MAX_PRESENTATION_SIZE, log=log)
    install_error_contract(app, body_limit=MAX_PRESENTATION_SIZE, log=log)

    @app.get("/health", summary="Liveness", responses={500: _err("`internal`")})
    async def health() -> dict[str, Any]:
        """`{"status": "ok"}` plus the holder DID and how many status lists are cached."""
        return {"status": "ok", "did": gate.did, "status_lists": len(gate.status.cached()),
                "events_seen": gate.status.events_seen}

    @app.get("/v1/holder", response_model=HolderInfo, summary="Who this holder is",
             responses={500: _err("`internal`")})
    async def holder_info() -> HolderInfo:
        """The DID a wallet links to and a consent must name as audience."""
        return HolderInfo(did=gate.did, name=gate.name)

    @app.get("/v1/nonce", response_model=NonceBody, summary="A single-use nonce",
             responses={500: _err("`internal`"),
                        503: _err("`busy` (with `Retry-After`): every database connection stayed busy, retry; "
                                  "`unavailable`: the database cannot be reached.")})
    async def nonce() -> NonceBody:
        """A nonce a data user may put in its next presentation instead of relying on its own id and time."""
        value = await run_in_threadpool(gate.issue_nonce)
        return NonceBody(nonce=_b64url(value), expires_in=NONCE_TTL)

    @app.post("/v1/links", response_model=LinkedBody, summary="Link a wallet DID to a customer",
              openapi_extra=_binary_body(str(LinkProof.TYP), "LinkProof COSE_Sign1 bytes over a one-time code"),
              responses={
                  400: _err("`malformed`, `unsupported_alg`, `wrong_type`: not a link proof."),
                  403: _err("`bad_signature`, `unknown_key`, `wrong_audience`, `expired` (proof or code), "
                            "`not_yet_valid`, `link_code_invalid` (no such code), `replayed` (code already used)."),
                  409: _err("`conflict`: the DID is already linked to another customer."),
                  413: _err(f"`too_large`: above {MAX_LINK_SIZE} bytes."),
                  500: _err("`internal`")})
    async def links(request: Request) -> LinkedBody:
        """Check the user's signature over a link code this holder issued and link their DID."""
        body = await read_capped(request.stream(), MAX_LINK_SIZE, request.headers.get("content-length"))
        did, _customer = await run_in_threadpool(gate.link, body)
        return LinkedBody(linked=True, did=did)

    @app.post("/v1/links/dids", response_model=DidLinkedBody, summary="Link one more DID of a linked customer",
              openapi_extra=_binary_body(str(DidLink.TYP), "DidLink COSE_Sign1 bytes: signed by a linked DID, "
                                                           "carrying the new DID's own signed DidPossession"),
              responses={
                  400: _err("`malformed`, `unsupported_alg`, `wrong_type`: not a DID link."),
                  403: _err("`bad_signature` (either signature, or the new DID's proof names something else), "
                            "`unknown_key`, `wrong_audience`, `expired`, `not_yet_valid`, `not_linked` (the "
                            "vouching DID is not linked here), `key_replaced`, `replayed` (link id used)."),
                  409: _err("`conflict`: the new DID is already linked to another customer."),
                  413: _err(f"`too_large`: above {MAX_LINK_SIZE} bytes."),
                  500: _err("`internal`")})
    async def did_links(request: Request) -> DidLinkedBody:
        """Link a wallet's new (relationship) DID to the customer of the already-linked DID that signed the proof."""
        body = await read_capped(request.stream(), MAX_LINK_SIZE, request.headers.get("content-length"))
        linked = await run_in_threadpool(gate.link_did, body)
        return DidLinkedBody(linked=True, did=linked.did, replaced=linked.replaced)

    @app.post("/v1/receipts", response_model=ReceiptsBody, summary="A customer's usage receipts",
              openapi_extra=_binary_body(str(ReceiptQuery.TYP), "ReceiptQuery COSE_Sign1 bytes, signed by a "
                                         "DID linked to the customer"),
              responses={
                  400: _err("`malformed`, `unsupported_alg`, `wrong_type`: not a receipt query."),
                  403: _err("`bad_signature`, `unknown_key`, `wrong_audience`, `expired`, `not_yet_valid`, "
                            "`not_linked` (the signer is no customer's DID), `replayed` (query id already used)."),
                  413: _err(f"`too_large`: above {MAX_QUERY_SIZE} bytes."),
                  500: _err("`internal`")})
    async def receipts(request: Request) -> ReceiptsBody:
        """Check the wallet's signed, single-use query and return its customer's receipts after `after`."""
        body = await read_capped(request.stream(), MAX_QUERY_SIZE, request.headers.get("content-length"))
        page = await run_in_threadpool(gate.answer_receipts, body)
        return ReceiptsBody(receipts=[_b64url(r.raw) for r in page.receipts], more=page.more)

    @app.post("/v1/data", response_model=DataBody, summary="Release data under a consent",
              openapi_extra=_binary_body("application/vnd.copyme.presentation+cwt", "Presentation COSE_Sign1 bytes"),
              responses=_PRESENTATION_ERRORS)
    async def data(request: Request) -> Response:
        """Verify the presentation and return exactly the granted items of the linked customer's data."""
        # Served by the BinaryLane in front of the routing unless the app was made with lane=False;
        # declared here for the schema, and the same release either way.
        body = await read_capped(request.stream(), MAX_PRESENTATION_SIZE, request.headers.get("content-length"))
        return JSONResponse(await release(body))

    @app.post("/v1/verify", response_model=DecisionBody, summary="Decide without releasing data",
              openapi_extra=_binary_body("application/vnd.copyme.presentation+cwt", "Presentation COSE_Sign1 bytes"),
              responses=_PRESENTATION_ERRORS)
    async def verify(request: Request) -> DecisionBody:
        """The same checks as `/v1/data` (and it uses the presentation up), but no data is read."""
        body = await read_capped(request.stream(), MAX_PRESENTATION_SIZE, request.headers.get("content-length"))
        grant = await run_in_threadpool(gate.decide, body)
        return DecisionBody(decision="release", grant=grant.to_json())

    return app
