"""The one HTTP client every party uses to talk to a peer: an overall deadline, a size cap, our errors.

httpx's timeouts bound each network operation, not a whole request: a server that sends one
byte every two seconds never trips a 5-second read timeout and can hold a caller for minutes.
:class:`PeerClient` bounds the whole exchange (connect, send, headers, the full body) by one
``deadline`` in seconds, caps the body at ``max_bytes``, and turns every failure into a
CopyMe error exactly once::

    no answer in time, connection refused, reset    Unavailable (503)  "<name> did not answer ..."
    a body above max_bytes                           TooLarge (413)     "<name> answered with more than ..."
    a URL that cannot be used                        InvalidArgument (422, field "url")
    an error answer with a CopyMe body               that error (error_from_response)

The peer's own error text never comes back in ``detail`` (a peer chosen by someone else could
make a service echo internal pages), only the exception's class name.

The calls are synchronous, for the parties' synchronous libraries; underneath, one background
event loop per process runs them with ``asyncio.timeout``, which cancels cleanly at the deadline
wherever the exchange stands.  ``max_concurrent`` bounds how many requests to the same host run
at once; waiting for a slot counts against the deadline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json as jsonlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from protocol import CopyMeError, InvalidArgument, TooLarge, Unavailable, error_from_response

from .web import DEFAULT_BODY_LIMIT

__all__ = ["DEFAULT_DEADLINE", "PeerClient", "PeerResponse"]

#: Seconds a whole exchange with a peer may take unless the caller says otherwise.
DEFAULT_DEADLINE = 10.0


class _Loop:
    """The process's background event loop for peer requests (started on first use)."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def get(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None or cls._loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="copyme-peer-loop", daemon=True).start()
                cls._loop = loop
            return cls._loop


@dataclass(frozen=True)
class PeerResponse:
    """A peer's complete answer: status, headers and the whole body (at most ``max_bytes``)."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    name: str = "peer"

    def raise_for_error(self) -> PeerResponse:
        """Raise the error a 4xx/5xx answer carries (see :func:`protocol.error_from_response`); else ``self``."""
        if self.status_code >= 400:
            raise error_from_response(self.status_code, self.content)
        return self

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON is ``unavailable`` (the peer answered nonsense)."""
        try:
            return jsonlib.loads(self.content)
        except (ValueError, RecursionError):
            raise Unavailable(f"{self.name} answered without a JSON body") from None


class PeerClient:
    """Requests to peers, each bounded by an overall ``deadline`` (seconds) and ``max_bytes``.

    ``name`` says who the peer is in error details ("the registry", "the data holder").
    ``transport`` lets tests pass ``httpx.MockTransport`` or an ASGI transport.  Safe to share
    between threads.
    """

    def __init__(self, *, name: str = "peer", deadline: float = DEFAULT_DEADLINE,
                 max_bytes: int = DEFAULT_BODY_LIMIT, max_concurrent: int = 8,
                 transport: httpx.AsyncBaseTransport | None = None,
                 follow_redirects: bool = False) -> None:
        if deadline <= 0 or max_bytes <= 0 or max_concurrent <= 0:
            raise InvalidArgument("deadline, max_bytes and max_concurrent must be positive")
        self.name = name
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.max_concurrent = max_concurrent
        self._transport = transport
        self._follow = follow_redirects
        self._client: httpx.AsyncClient | None = None
        self._slots: dict[str, asyncio.Semaphore] = {}

    # -- calls ------------------------------------------------------------------------------

    def request(self, method: str, url: str, *, content: bytes | None = None, json: Any = None,
                headers: Mapping[str, str] | None = None, params: Mapping[str, str] | None = None,
                deadline: float | None = None, max_bytes: int | None = None) -> PeerResponse:
        """One whole exchange, done within ``deadline`` seconds (default: the client's)."""
        limit = self.deadline if deadline is None else deadline
        target = self._checked_url(url)
        coro = self._exchange(method, target, content=content, json=json, headers=headers, params=params,
                              deadline=limit, max_bytes=max_bytes or self.max_bytes)
        future = asyncio.run_coroutine_threadsafe(coro, _Loop.get())
        try:
            return future.result(timeout=limit + 5.0)  # belt and braces: the coroutine times itself out
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise Unavailable(f"{self.name} did not answer within {limit:g} s") from None

    def get(self, url: str, **kwargs: Any) -> PeerResponse:
        """``request("GET", url, ...)``."""
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> PeerResponse:
        """``request("POST", url, ...)``."""
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> PeerResponse:
        """``request("PUT", url, ...)``."""
        return self.request("PUT", url, **kwargs)

    def close(self) -> None:
        """Close the connection pool (the client can be used again afterwards)."""
        client, self._client = self._client, None
        if client is not None:
            future = asyncio.run_coroutine_threadsafe(client.aclose(), _Loop.get())
            try:
                future.result(timeout=5.0)
            except (concurrent.futures.TimeoutError, httpx.HTTPError, RuntimeError):
                pass

    def __enter__(self) -> PeerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing (runs on the background loop) ---------------------------------------------

    @staticmethod
    def _checked_url(url: str) -> httpx.URL:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, ValueError, TypeError):
            raise InvalidArgument("not a usable URL", field="url") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise InvalidArgument("only http(s) URLs with a host can be fetched", field="url")
        if parsed.port is not None and not 0 < parsed.port < 65536:
            raise InvalidArgument("the URL's port is not a TCP port", field="url")
        return parsed

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, timeout=self.deadline,
                                             follow_redirects=self._follow)
        return self._client

    def _slot(self, url: httpx.URL) -> asyncio.Semaphore:
        key = f"{url.scheme}://{url.host}:{url.port}"
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = asyncio.Semaphore(self.max_concurrent)
        return slot

    async def _exchange(self, method: str, url: httpx.URL, *, content: bytes | None, json: Any,
                        headers: Mapping[str, str] | None, params: Mapping[str, str] | None,
                        deadline: float, max_bytes: int) -> PeerResponse:
        try:
            async with asyncio.timeout(deadline):
                async with self._slot(url):
                    return await self._fetch(method, url, content=content, json=json, headers=headers,
                                             params=params, deadline=deadline, max_bytes=max_bytes)
        except TimeoutError:
            raise Unavailable(f"{self.name} did not answer within {deadline:g} s") from None
        except CopyMeError:
            raise
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            raise InvalidArgument("not a usable URL", field="url") from None
        except Exception as err:  # noqa: BLE001 - transport, socket and anyio errors: all one code, once
            raise Unavailable(f"{self.name} did not answer: {type(err).__name__}") from None

    async def _fetch(self, method: str, url: httpx.URL, *, content: bytes | None, json: Any,
                     headers: Mapping[str, str] | None, params: Mapping[str, str] | None,
                     deadline: float, max_bytes: int) -> PeerResponse:
        request = self._http().build_request(method, url, content=content, json=json, headers=headers,
                                             params=params, timeout=deadline)
        response = await self._http().send(request, stream=True)
        try:
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise TooLarge(f"{self.name} answered with more than {max_bytes} bytes")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise TooLarge(f"{self.name} answered with more than {max_bytes} bytes")
        finally:
            await response.aclose()
        return PeerResponse(response.status_code, response.headers, bytes(body), self.name)
