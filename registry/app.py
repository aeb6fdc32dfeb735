"""The registry's HTTP service (FastAPI): thin routes over :class:`~registry.service.Registry`.

Routes parse, make one library call and render; every error leaves through one handler as
``{"error": code, "detail": ...}`` with the code's HTTP status.  Bodies are capped before they
are read, and nothing logged carries token contents.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from common import install_error_contract, read_capped
from protocol import KeyPair, Typ, __version__

from .feed import Feed, parse_last_event_id, stream
from .service import Registry, check_list_id
from .store import Event

__all__ = ["create_app"]

log = logging.getLogger("copyme.registry")

STATUS_LIST_TYPE = str(Typ.STATUS_LIST)
TRUST_LIST_TYPE = str(Typ.TRUST_LIST)


class ErrorBody(BaseModel):
    """Every error: a stable reason code, a human detail, and sometimes the offending field."""

    error: str
    detail: str
    field: str | None = None


class PublishedBody(BaseModel):
    """An accepted write: the list, its new ``iat``, its ETag (CID of the token) and event id."""

    list_id: str
    iat: int
    etag: str
    seq: int


class HealthBody(BaseModel):
    """The service is up."""

    status: str


def _err(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


_BINARY = {"schema": {"type": "string", "format": "binary"}}
_COMMON: dict[int | str, dict[str, Any]] = {
    422: _err("`invalid`: a request parameter has the wrong shape"),
    500: _err("`internal`: an unexpected failure (no details are given out)"),
}
_BAD_ID = _err("`malformed`: the list id (or `Last-Event-ID`) is malformed")


def _if_none_match(header: str | None, etag: str) -> bool:
    if not header:
        return False
    for part in header.split(","):
        tag = part.strip()
        if tag == "*" or tag.removeprefix("W/").strip('"') == etag:
            return True
    return False


def create_app(home_or_db: str | Path | Registry, *, council_key: KeyPair | None = None,
               heartbeat: float = 15.0, clock_fn: Callable[[], int] | None = None) -> FastAPI:
    """The registry app for a home folder (or database file, or an open :class:`Registry`).

    ``council_key`` overrides the key kept in the home folder; ``heartbeat`` is the seconds
    between SSE comments on an idle change feed; ``clock_fn`` replaces the wall clock.
    """
    registry = (home_or_db if isinstance(home_or_db, Registry)
                else Registry.open(home_or_db, council_key=council_key, clock_fn=clock_fn))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        feed = app.state.feed = Feed(await run_in_threadpool(registry.last_seq), registry.events_after)
        loop = asyncio.get_running_loop()

        def committed_elsewhere(seq: int) -> None:  # called from the store's listener thread
            asyncio.run_coroutine_threadsafe(feed.announce(seq), loop)

        stop_listening = registry.store.listen(committed_elsewhere)
        log.info("registry serving; council %s", registry.council_key.did)
        try:
            yield
        finally:
            await run_in_threadpool(stop_listening)
            await feed.close()

    app = FastAPI(
        title="CopyMe status registry",
        version=__version__,
        lifespan=lifespan,
        description=(
            "Serves signed status lists (IETF Token Status List, CWT form) and pushes their "
            "changes. It holds nothing but the signed lists: no consents, no names, no user DIDs. "
            "Every error body is `{\"error\": code, \"detail\": ...}` with a stable reason code."
        ),
        responses=_COMMON,
    )
    app.state.registry = registry
    # replaced in the serving loop by the lifespan; this one serves in-process transports that
    # skip the lifespan (httpx.ASGITransport), so "from now" is right there too
    app.state.feed = Feed(registry.last_seq(), registry.events_after)

    cap = registry.admission.max_token_size  # a token of the registry's largest list, at most
    install_error_contract(app, body_limit=cap, log=log)

    @app.put(
        "/v1/lists/{list_id}",
        summary="Publish a status list",
        status_code=201,
        response_model=PublishedBody,
        responses={
            200: {"model": PublishedBody, "description": "an existing list was updated"},
            201: {"model": PublishedBody, "description": "the list was created; its key is now pinned"},
            400: _err("`malformed`: bad list id, or the body is not a status list token; "
                      "`unsupported_alg`, `wrong_type`: not an EdDSA statuslist+cwt"),
            403: _err("`bad_signature`, `unknown_key`: the token does not verify; "
                      "`status_invalid`: signed by another key than the list's pinned one, or `sub` "
                      "names another list; `expired`; `not_yet_valid`: `iat` in the future"),
            409: _err("`status_rollback`: `iat` not newer than the stored one (rollback or replay); "
                      "`conflict`: the list size changed"),
            413: _err("`too_large`: a new list above this registry's size cap, or a body above what a token "
                      "of that size can be"),
            429: _err("`rate_limited`: this client created too many new lists; see `Retry-After`"),
            503: _err("`unavailable`: the database could not be written"),
        },
        openapi_extra={"requestBody": {"required": True, "content": {STATUS_LIST_TYPE: _BINARY}}},
    )
    async def put_list(list_id: str, request: Request) -> JSONResponse:
        """Store a new version of a status list: a COSE_Sign1 StatusListToken as the raw body.

        The list id matches `^[A-Za-z0-9_-]{16,64}$`; the token's `sub` must end with `/v1/lists/<list_id>`.
        The first write pins the signing key; every later write must be signed by it, carry
        a strictly newer `iat` and keep the list size. A refused write changes nothing.
        """
        check_list_id(list_id)
        body = await read_capped(request.stream(), cap, request.headers.get("content-length"))
        client = request.client.host if request.client else "unknown"
        published = await run_in_threadpool(lambda: registry.publish(list_id, body, client=client))
        await app.state.feed.announce(published.seq, Event(published.seq, list_id, published.iat, published.etag,
                                                           published.uri, published.token))
        return JSONResponse(published.to_json(), status_code=201 if published.created else 200)

    @app.get(
        "/v1/lists/{list_id}",
        summary="Fetch a status list",
        response_class=Response,
        responses={
            200: {"content": {STATUS_LIST_TYPE: _BINARY},
                  "description": "the latest token, with `ETag` and `Cache-Control: max-age`"},
            304: {"description": "`If-None-Match` names the current ETag"},
            400: _BAD_ID,
            404: _err("`not_found`: nothing was ever published under this id"),
        },
    )
    async def get_list(list_id: str, if_none_match: str | None = Header(default=None)) -> Response:
        """The latest token of a list; `ETag` is the quoted CID of the token bytes."""
        # a primary-key read: cheaper inline than in a thread on a local file; a network
        # round trip to PostgreSQL must not stall the event loop
        row = await run_in_threadpool(registry.get, list_id) if registry.store.remote else registry.get(list_id)
        headers = {"ETag": f'"{row.etag}"', "Cache-Control": f"max-age={registry.max_age(row)}"}
        if _if_none_match(if_none_match, row.etag):
            return Response(status_code=304, headers=headers)
        return Response(row.token, media_type=STATUS_LIST_TYPE, headers=headers)

    sse_doc: dict[int | str, dict[str, Any]] = {
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
              "description": "each accepted write as `id: <seq>` / `event: list` / "
                             "`data: {\"list_id\", \"iat\", \"etag\", \"uri\", \"token\"}` "
                             "(`token`: the new signed list, base64url, when it is at most 8 KiB); "
                             "a `: heartbeat` comment when idle"},
        400: _BAD_ID,
    }

    def _sse(list_id: str | None, last_event_id: str | None) -> StreamingResponse:
        after = parse_last_event_id(last_event_id)
        body = stream(registry, app.state.feed, list_id, after, heartbeat)
        return StreamingResponse(body, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/v1/events", summary="Change feed of every list", response_class=Response, responses=sse_doc)
    async def all_events(last_event_id: str | None = Header(default=None)) -> StreamingResponse:
        """Server-Sent Events of every accepted write, pushed as it commits.

        Send `Last-Event-ID` (the last `id` received) to resume without missing an update;
        without it the feed starts from now. One connection covers every list.
        """
        return _sse(None, last_event_id)

    @app.get("/v1/lists/{list_id}/events", summary="Change feed of one list", response_class=Response,
             responses=sse_doc)
    async def list_events(list_id: str, last_event_id: str | None = Header(default=None)) -> StreamingResponse:
        """Like `/v1/events`, for one list only (the list need not exist yet)."""
        check_list_id(list_id)
        return _sse(list_id, last_event_id)

    @app.get(
        "/v1/trust-list",
        summary="The operator's trust list",
        response_class=Response,
        responses={200: {"content": {TRUST_LIST_TYPE: _BINARY},
                         "description": "the TrustList, signed by the registry's council key"},
                   503: _err("`unavailable`: the database could not be read")},
    )
    async def trust_list() -> Response:
        """Organisations the registry operator vouches for (DID, ja/en names, role)."""
        signed = await run_in_threadpool(registry.trust_list)
        return Response(signed.raw, media_type=TRUST_LIST_TYPE, headers={"Cache-Control": "max-age=300"})

    @app.get("/health", summary="Liveness", response_model=HealthBody)
    async def health() -> dict[str, str]:
        """`{"status": "ok"}` while the process serves requests."""
        return {"status": "ok"}

    return app
