"""One error contract and one body cap for every CopyMe HTTP service.

:func:`install_error_contract` gives a FastAPI app the handlers and the body cap that every
party's service shares, so that each answers every failure the same way::

    unknown route            404  {"error": "not_found", ...}
    route, other method      405  {"error": "method_not_allowed", ...} + Allow
    body above the cap       413  {"error": "too_large", ...}   (Content-Length checked first)
    body that is not JSON    400  {"error": "malformed", ...}   (also too deeply nested JSON)
    parameters of bad shape  422  {"error": "invalid", "field": ...}
    a CopyMeError            its own status and code
    client hung up mid-body  one INFO log line, no traceback, nothing answered that matters
    anything else            500  {"error": "internal", "detail": "internal error"}; one log line

:func:`read_capped` reads a raw body with a route's own (smaller) cap, and
:func:`read_json_object` reads a capped JSON object body for routes that parse by hand.

:class:`BinaryLane` answers one hot ``POST`` route (the data gate's ``/v1/data``) as plain ASGI,
in front of the framework's routing, under the same contract: FastAPI's routing, dependency
solving and response classes cost a data holder's gate about as much CPU as its signature check
(measured: ``bench/gate.py``), and the route has one binary body and one JSON answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from protocol import CopyMeError, DecodeError, InvalidArgument, NotFound, TooLarge, error_response

from .errors import Internal, MethodNotAllowed

__all__ = ["DEFAULT_BODY_LIMIT", "BinaryLane", "BodyCap", "LastResort", "install_error_contract", "read_capped", "read_json_object"]

#: The largest body any CopyMe route accepts (a status list token is at most 1 MiB).
DEFAULT_BODY_LIMIT = 1024 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_log = logging.getLogger("copyme.http")


async def read_capped(chunks: AsyncIterable[bytes], limit: int, content_length: str | None = None) -> bytes:
    """Read a request body, refusing it as ``too_large`` as soon as it passes ``limit`` bytes.

    Pass the ``Content-Length`` header too: a declared length above the limit is refused
    before a single byte is read.  Use with Starlette's ``request.stream()``.
    """
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError:
            raise DecodeError("Content-Length is not a number") from None
        if declared > limit:
            raise TooLarge(f"body of {declared} bytes is above the limit of {limit}")
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise TooLarge(f"body is above the limit of {limit} bytes")
    return bytes(body)


async def read_json_object(request: Request, limit: int) -> dict[str, Any]:
    """A capped JSON object body (an empty body is ``{}``); anything else is ``malformed``.

    JSON nested deeper than the interpreter can parse is ``malformed`` too, not a 500.
    """
    raw = await read_capped(request.stream(), limit, request.headers.get("content-length"))
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        raise DecodeError("the body is not JSON", field="body") from None
    if not isinstance(data, dict):
        raise InvalidArgument("the body must be a JSON object", field="body")
    return data


class _BodyTooLarge(StarletteHTTPException):
    """Raised from inside ``receive`` so that FastAPI's body parsing passes it through untouched."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"body is above the limit of {limit} bytes")


class BodyCap:
    """ASGI middleware: no request body above ``limit`` bytes reaches a route.

    A declared ``Content-Length`` above the limit is answered 413 before anything is read; a
    chunked body is cut off as soon as it passes the limit.
    """

    def __init__(self, app: ASGIApp, limit: int = DEFAULT_BODY_LIMIT) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.limit
            except ValueError:
                await _answer(send, DecodeError("Content-Length is not a number"))
                return
            if too_big:
                await _answer(send, TooLarge(f"body of {int(declared)} bytes is above the limit of {self.limit}"))
                return
        seen = 0

        async def capped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge(self.limit)
            return message

        await self.app(scope, capped, send)


class LastResort:
    """ASGI middleware: an unexpected exception becomes one log line and a 500 ``internal`` body.

    Starlette's own handler for ``Exception`` answers and then re-raises, so the server logs a
    full traceback; this one does not re-raise (a traceback helps no operator of a service that
    was fed garbage, and an unread log pipe once stopped a service).
    """

    def __init__(self, app: ASGIApp, log: logging.Logger = _log) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except ClientDisconnect:
            self.log.info("client went away during %s %s", scope.get("method"), scope.get("path"))
        except Exception as err:  # noqa: BLE001 - the one place every unexpected error ends
            self.log.error("internal error on %s %s: %s", scope.get("method"), scope.get("path"), type(err).__name__)
            if not started:
                await _answer(send, Internal("internal error"))


class BinaryLane:
    """ASGI middleware: ``POST path`` answered by ``handler(body)`` without the framework's routing.

    ``handler`` takes the raw body (at most ``limit`` bytes) and returns the JSON object of a 200
    answer, rendered byte for byte as FastAPI's ``JSONResponse`` renders it; a
    :class:`~protocol.CopyMeError` it raises is answered as every route answers one (its status,
    ``{"error": code, "detail": ...}``, its ``http_headers`` such as ``Retry-After``).  A body above
    ``limit`` is ``too_large`` (declared or as it arrives), a client that hangs up mid-body is one
    INFO line.  Anything else it raises goes on to :class:`LastResort` (a 500 ``internal``): add
    this lane *before* :func:`install_error_contract`, so that it runs inside that contract's
    middleware.  Other methods and paths pass through to the app (and its routes, which keep
    documenting this one in the OpenAPI schema).
    """

    def __init__(self, app: ASGIApp, *, path: str, handler: Callable[[bytes], Awaitable[Any]], limit: int,
                 log: logging.Logger = _log) -> None:
        self.app = app
        self.path = path
        self.handler = handler
        self.limit = limit
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        try:
            body = await self._body(scope, receive)
            if body is None:
                self.log.info("client went away during POST %s", self.path)
                return
            content = await self.handler(body)
        except _BodyTooLarge:
            await _answer(send, TooLarge(f"body is above the limit of {self.limit} bytes"))
            return
        except CopyMeError as err:
            await _answer(send, err)
            return
        payload = _render(content)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(payload)).encode()),
                                (b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})

    async def _body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body, capped as :func:`read_capped` caps it (``None``: the client hung up)."""
        declared = None
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                declared = value.decode("latin-1")
        try:
            return await read_capped(_chunks(receive), self.limit, declared)
        except ClientDisconnect:
            return None


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    """The body chunks of an ASGI request; ``ClientDisconnect`` if the client hangs up first."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


#: FastAPI's ``JSONResponse`` rendering, kept (``json.dumps`` with arguments builds an encoder per call).
_RENDER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))


def _render(content: Any) -> bytes:
    """JSON bytes exactly as FastAPI's ``JSONResponse`` renders ``content``."""
    return _RENDER.encode(content).encode()


async def _answer(send: Send, err: CopyMeError) -> None:
    status, body = error_response(err)
    payload = _render(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    for name, value in (getattr(err, "http_headers", None) or {}).items():  # e.g. Retry-After with a 503
        headers.append((name.lower().encode("latin-1"), str(value).encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _json(err: CopyMeError, headers: dict[str, str] | None = None) -> JSONResponse:
    status, body = error_response(err)
    extra = getattr(err, "http_headers", None)  # e.g. Retry-After with a 429
    return JSONResponse(body, status_code=status, headers={**(extra or {}), **(headers or {})} or None)


def _disconnected(request: Request, log: logging.Logger) -> Response:
    log.info("client went away during %s %s", request.method, request.url.path)
    return Response(status_code=400)  # nobody is listening; uvicorn drops it


def install_error_contract(app: FastAPI, *, body_limit: int = DEFAULT_BODY_LIMIT,
                           log: logging.Logger | None = None) -> None:
    """Give ``app`` the shared error handlers and a body cap of ``body_limit`` bytes.

    ``log`` is the service's logger (one line per unexpected error or hang-up; never a
    traceback, never request contents).
    """
    logger = log or _log
    app.add_middleware(BodyCap, limit=body_limit)
    app.add_middleware(LastResort, log=logger)

    @app.exception_handler(CopyMeError)
    async def _copyme_error(_: Request, err: CopyMeError) -> JSONResponse:
        return _json(err)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, err: RequestValidationError) -> JSONResponse:
        errors = err.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _json(DecodeError("the body is not JSON", field="body"))
        first = errors[0] if errors else {}
        field = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        return _json(InvalidArgument(str(first.get("msg", "the request's parameters are invalid")), field=field))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, err: StarletteHTTPException) -> Response:
        cause = err.__cause__
        if isinstance(cause, ClientDisconnect):
            return _disconnected(request, logger)
        if isinstance(cause, CopyMeError):
            return _json(cause)
        if err.status_code == 404:
            return _json(NotFound(f"no such route: {request.method} {request.url.path}"))
        if err.status_code == 405:
            allow = (err.headers or {}).get("Allow") or (err.headers or {}).get("allow")
            return _json(MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}"),
                         headers={"Allow": allow} if allow else None)
        if err.status_code == 413:
            return _json(TooLarge(str(err.detail)))
        if err.status_code == 400:
            return _json(DecodeError("the body could not be read"))
        body = {"error": "invalid" if err.status_code < 500 else "internal", "detail": str(err.detail)}
        return JSONResponse(body, status_code=err.status_code, headers=err.headers)

    @app.exception_handler(ClientDisconnect)
    async def _client_disconnect(request: Request, _: ClientDisconnect) -> Response:
        return _disconnected(request, logger)

