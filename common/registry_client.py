"""A small synchronous client for the status registry (publish, fetch, trust list, change feed).

The wallet publishes its signed status lists here and data holders fetch them and follow the
change feed, so every party speaks to the registry through this one module and sees the same
errors: a registry refusal comes back as the registry's own error class (``status_rollback``,
``status_invalid``, ``not_found`` ...), a connection failure as :class:`~protocol.errors.Unavailable`.

The change feed (Server-Sent Events) is parsed by hand so that heartbeat comments also wake the
reader (a closed stream notices within one heartbeat), and it reconnects after a dropped
connection with ``Last-Event-ID`` so no accepted update is missed.

Publishing and fetching go through :class:`~common.peer.PeerClient`, so each call has one overall
deadline (``timeout`` seconds for the whole exchange, not per read).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import socket
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from protocol import CopyMeError, DecodeError, InvalidArgument, StatusUntrusted, Typ, Unavailable, error_from_response

from .hosts import is_loopback_host
from .peer import PeerClient, PeerResponse

__all__ = [
    "MAX_EVENT_LINE",
    "MAX_PUSHED_TOKEN",
    "EventStream",
    "FetchResult",
    "ListEvent",
    "RegistryClient",
    "check_trusted_list_uri",
]

#: How long a change-feed read may stay silent before the connection counts as dropped
#: (the registry sends a heartbeat comment every ~15 s).
FEED_READ_TIMEOUT = 45.0

#: The largest answer taken from a registry (a status list or trust list is at most 1 MiB).
MAX_ANSWER = 1024 * 1024 + 4096

#: The largest status list token a change event carries (bytes).  A registry leaves a larger
#: one out (the subscriber fetches it); a subscriber ignores a larger one it is sent.
MAX_PUSHED_TOKEN = 8192

#: The longest change-feed line read (bytes): an event with the largest pushed token is ~11 KiB.
#: A longer line is not kept in memory; it makes the event unreadable (``malformed``).
MAX_EVENT_LINE = 64 * 1024

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class FetchResult:
    """A status list token as served: its bytes, its ETag (the CID, unquoted) and its max-age."""

    token: bytes
    etag: str
    max_age: int


@dataclass(frozen=True)
class ListEvent:
    """One accepted update from the change feed; ``id`` is the registry's global sequence number.

    ``token`` is the signed StatusListToken of that version when the registry pushed it (at most
    :data:`MAX_PUSHED_TOKEN` bytes), else ``None``.  It is as untrusted as a fetched one: verify
    it exactly as if it had been fetched (``StatusListToken.decode`` and every check after it).
    """

    id: str
    list_id: str
    iat: int
    etag: str
    uri: str
    token: bytes | None = None


def _pushed_token(value: Any) -> bytes | None:
    """The bytes of an event's ``token`` field (base64url, unpadded); ``None`` when it is absent,
    not well-formed base64url or longer than :data:`MAX_PUSHED_TOKEN` - the subscriber then
    fetches the list as it would without push."""
    if not isinstance(value, str) or not value or len(value) > (MAX_PUSHED_TOKEN * 4 + 2) // 3:
        return None
    if _BASE64URL.fullmatch(value) is None or len(value) % 4 == 1:
        return None
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (ValueError, binascii.Error):
        return None
    return raw if len(raw) <= MAX_PUSHED_TOKEN else None


def _unquote_etag(value: str | None) -> str:
    if not value:
        return ""
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')


def _max_age(cache_control: str | None) -> int:
    for part in (cache_control or "").split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() == "max-age":
            try:
                return max(0, int(value.strip('"')))
            except ValueError:
                return 0
    return 0


def _origin_and_path(url: str) -> tuple[str, str, int, str] | None:
    try:
        parsed = httpx.URL(url)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except (httpx.InvalidURL, ValueError, TypeError):
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host or parsed.userinfo or parsed.query or parsed.fragment:
        return None
    return parsed.scheme, parsed.host.lower(), port, parsed.path


def check_trusted_list_uri(uri: str, registries: Iterable[str]) -> str:
    """``uri`` if it names a list on one of ``registries`` (base URLs), else ``status_untrusted``.

    A party fetches status only from registries it trusts: a credential could otherwise make
    it send requests anywhere (server-side request forgery).  The check is on the text alone
    and happens before any network request.  ``<base>/v1/lists/<id>`` matches when scheme,
    port and path prefix are the base's and the host is the base's host (``localhost`` and
    loopback addresses count as one host).
    """
    if isinstance(uri, str) and _is_trusted(uri, tuple(registries)):
        return uri
    raise StatusUntrusted("the status list is not on a registry this party trusts; nothing was fetched")


@functools.lru_cache(maxsize=65536)
def _is_trusted(uri: str, registries: tuple[str, ...]) -> bool:
    """The answer of :func:`check_trusted_list_uri`, remembered: it depends on the text alone, and
    parsing two URLs took a quarter of a data holder's whole verify (issue 15)."""
    target = _origin_and_path(uri)
    if target is None:
        return False
    scheme, host, port, path = target
    for base in registries:
        trusted = _origin_and_path(base.rstrip("/"))
        if trusted is None:
            continue
        t_scheme, t_host, t_port, t_path = trusted
        same_host = host == t_host or (is_loopback_host(host) and is_loopback_host(t_host))
        prefix = t_path.rstrip("/") + "/v1/lists/"
        if (scheme, port) == (t_scheme, t_port) and same_host and path.startswith(prefix) \
                and "/" not in path[len(prefix):] and len(path) > len(prefix):
            return True
    return False


class RegistryClient:
    """Talk to one registry at ``base_url`` (e.g. ``http://127.0.0.1:8600``).

    ``timeout`` bounds each call as a whole (connect, send, the full answer).  ``transport``
    lets tests pass ``httpx.MockTransport`` (one that serves both sync and async requests); by
    default real HTTP is used.  The client is safe to share between threads for
    ``publish``/``fetch``/``trust_list``; each :meth:`events` stream owns its own connection.
    """

    def __init__(self, base_url: str, *, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._transport = transport
        self._http = PeerClient(name=f"registry at {self.base_url}", deadline=timeout,
                                max_bytes=MAX_ANSWER, transport=transport)

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def list_uri(self, list_id: str) -> str:
        """The URI of a list on this registry: a credential's ``status.uri`` and the token's ``sub``."""
        return f"{self.base_url}/v1/lists/{quote(list_id, safe='')}"

    def _url(self, uri_or_list_id: str) -> str:
        if uri_or_list_id.startswith(("http://", "https://")):
            return uri_or_list_id
        return self.list_uri(uri_or_list_id)

    def _request(self, method: str, url: str, **kwargs: Any) -> PeerResponse:
        try:
            return self._http.request(method, url, **kwargs)
        except InvalidArgument as err:
            raise Unavailable(f"not a usable registry URL: {url!r}") from err

    @staticmethod
    def _raise_for(response: PeerResponse) -> None:
        raise error_from_response(response.status_code, response.content)

    # -- calls ------------------------------------------------------------------------------

    def publish(self, list_id: str, token: bytes) -> dict[str, Any]:
        """PUT a signed StatusListToken; returns ``{"list_id", "iat", "etag"}`` or raises the refusal."""
        response = self._request("PUT", self.list_uri(list_id), content=token,
                                 headers={"Content-Type": str(Typ.STATUS_LIST)})
        if response.status_code not in (200, 201):
            self._raise_for(response)
        body = response.json()
        if not isinstance(body, dict):
            raise Unavailable("registry accepted the list but answered without a JSON object")
        return body

    def fetch(self, uri_or_list_id: str, etag: str | None = None, version: str | None = None) -> FetchResult | None:
        """The latest token of a list (a full URI or a list id on this registry).

        With ``etag`` (from an earlier result) an unchanged list answers ``None`` (HTTP 304).
        ``version`` (the ETag a change-feed event announced) is sent as ``?v=<etag>``: the
        registry ignores it, but an HTTP cache in front of it sees a new URL, so a copy it still
        holds of the previous version cannot answer a push-triggered re-fetch.
        The token is returned as bytes, unverified: decode it with ``StatusListToken.decode``.
        """
        headers = {"Accept": str(Typ.STATUS_LIST)}
        if etag:
            headers["If-None-Match"] = f'"{_unquote_etag(etag)}"'
        params = {"v": _unquote_etag(version)} if version else None
        response = self._request("GET", self._url(uri_or_list_id), headers=headers, params=params)
        if response.status_code == 304:
            return None
        if response.status_code != 200:
            self._raise_for(response)
        return FetchResult(
            token=response.content,
            etag=_unquote_etag(response.headers.get("ETag")),
            max_age=_max_age(response.headers.get("Cache-Control")),
        )

    def trust_list(self) -> bytes:
        """The registry operator's signed TrustList bytes (verify with ``TrustList.decode``)."""
        response = self._request("GET", f"{self.base_url}/v1/trust-list")
        if response.status_code != 200:
            self._raise_for(response)
        return response.content

    def health(self) -> dict[str, Any]:
        """The registry's health body; raises ``unavailable`` when it does not answer."""
        response = self._request("GET", f"{self.base_url}/health")
        if response.status_code != 200:
            self._raise_for(response)
        result = response.json()
        if not isinstance(result, dict):
            raise Unavailable("registry answered its health check without a JSON object")
        return result

    def events(self, last_event_id: str | None = None, list_id: str | None = None, *,
               reconnect_delay: float = 0.5, max_retries: int | None = None) -> EventStream:
        """Follow the change feed of every list (or of ``list_id`` only).

        The returned :class:`EventStream` is an iterator of :class:`ListEvent`; after a dropped
        connection it reconnects with ``Last-Event-ID`` (waiting ``reconnect_delay`` s, doubling up
        to 5 s) until it is closed.  ``max_retries`` consecutive failed connects raise ``unavailable``
        (``None``: retry for ever).
        """
        path = "/v1/events" if list_id is None else f"/v1/lists/{quote(list_id, safe='')}/events"
        return EventStream(self, f"{self.base_url}{path}", last_event_id,
                           reconnect_delay=reconnect_delay, max_retries=max_retries)


class EventStream:
    """An iterator over a registry change feed that survives dropped connections.

    ``last_event_id`` always holds the id of the last event handed out, so a caller can store it
    and resume later with ``client.events(last_event_id=...)``.  :meth:`close` may be called from
    another thread; the stream stops at the latest with the next heartbeat.
    """

    def __init__(self, client: RegistryClient, url: str, last_event_id: str | None, *,
                 reconnect_delay: float, max_retries: int | None) -> None:
        self._client = client
        self._url = url
        self.last_event_id = last_event_id
        self._delay = reconnect_delay
        self._max_retries = max_retries
        self._closed = threading.Event()
        self._response: httpx.Response | None = None
        self._http = httpx.Client(
            timeout=httpx.Timeout(client.timeout, read=max(FEED_READ_TIMEOUT, client.timeout)),
            # the feed is a long-lived sync stream: a transport that serves sync requests too
            transport=client._transport if isinstance(client._transport, httpx.BaseTransport) else None,
        )
        self._iter = self._run()

    def __iter__(self) -> EventStream:
        return self

    def __next__(self) -> ListEvent:
        return next(self._iter)

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed.is_set()

    def close(self) -> None:
        """Stop following the feed and drop the connection."""
        self._closed.set()
        response = self._response
        if response is not None:
            # a reader blocked in recv() on another thread only wakes when the socket is shut
            # down; closing the response alone would leave it waiting for the next heartbeat
            try:
                stream = response.extensions.get("network_stream")
                sock = stream.get_extra_info("socket") if stream is not None else None
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                response.close()
            except Exception:  # closing from another thread may race the reader; it stops anyway
                pass
        try:
            self._http.close()
        except Exception:
            pass

    def _run(self) -> Iterator[ListEvent]:
        failures = 0
        delay = self._delay
        while not self._closed.is_set():
            headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
            if self.last_event_id is not None:
                headers["Last-Event-ID"] = self.last_event_id
            try:
                with self._http.stream("GET", self._url, headers=headers) as response:
                    self._response = response
                    if response.status_code != 200:
                        response.read()
                        raise error_from_response(response.status_code, response.content)
                    failures, delay = 0, self._delay
                    for event in self._parse(response):
                        self.last_event_id = event.id
                        yield event
            except CopyMeError:
                raise
            except (httpx.TransportError, httpx.StreamError) as err:
                if self._closed.is_set():
                    return
                failures += 1
                if self._max_retries is not None and failures > self._max_retries:
                    raise Unavailable(f"change feed at {self._url} is unreachable: {type(err).__name__}") from err
            finally:
                self._response = None
            if self._closed.wait(delay):
                return
            delay = min(delay * 2, 5.0)

    def _parse(self, response: httpx.Response) -> Iterator[ListEvent]:
        """Server-Sent Events framing (WHATWG HTML §9.2), only as much as the registry uses."""
        data: list[str] = []
        event_id: str | None = None
        event_type = ""
        for line in _capped_lines(response.iter_bytes(), MAX_EVENT_LINE):
            if self._closed.is_set():
                return
            if line is None:
                raise DecodeError(f"the registry sent a change-feed line longer than {MAX_EVENT_LINE} bytes")
            if line == "":
                if data and event_type in ("", "list"):
                    yield self._event("\n".join(data), event_id)
                data, event_id, event_type = [], None, ""
                continue
            if line.startswith(":"):
                continue  # heartbeat
            name, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if name == "data":
                data.append(value)
            elif name == "id" and "\0" not in value:
                event_id = value
            elif name == "event":
                event_type = value
            elif name == "retry" and value.isdigit():
                self._delay = int(value) / 1000

    def _event(self, data: str, event_id: str | None) -> ListEvent:
        try:
            body = json.loads(data)
            return ListEvent(
                id=event_id if event_id is not None else str(body.get("seq", "")),
                list_id=str(body["list_id"]),
                iat=int(body["iat"]),
                etag=str(body["etag"]),
                uri=str(body["uri"]),
                token=_pushed_token(body.get("token")),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise DecodeError("the registry sent a change event that is not the expected JSON") from err


def _capped_lines(chunks: Iterable[bytes], cap: int) -> Iterator[str | None]:
    """The lines of an SSE body (ended by LF or CRLF), each at most ``cap`` bytes; a longer line
    is dropped as it arrives (never held whole) and stands as one ``None``."""
    buffer = b""
    skipping = False
    for chunk in chunks:
        buffer += chunk
        while (end := buffer.find(b"\n")) >= 0:
            line, buffer = buffer[:end], buffer[end + 1:]
            if skipping:
                skipping = False
                yield None
                continue
            yield line.removesuffix(b"\r").decode("utf-8", "replace")
        if len(buffer) > cap:
            buffer, skipping = b"", True
    if buffer and not skipping:
        yield buffer.removesuffix(b"\r").decode("utf-8", "replace")
