"""Stop-use and erasure requests from the wallet: sign, send, track, keep the signed answers.

A rights request is signed by the key that signed the consent (the consent's own ``iss``) and
POSTed to the ``rights`` endpoint the data user declared in the signed request the consent
answers (spec 3.10).  The answer is a signed acknowledgement with a due date; the completion
(what was erased, when) is fetched later from ``<endpoint>/<rights request CID>``.  Every answer
is checked (spec 7.10: ``wrong_signer``, ``wrong_audience``, ``request_mismatch``) before it is
kept as evidence; a refused answer changes nothing stored.

A request that could not be delivered stays ``sent`` with the error; :meth:`RightsDesk.retry`
signs a fresh one (new id and time) and sends it again, so a retry is never ``replayed``.  Every
exchange goes through :class:`common.PeerClient` (one overall deadline, a size cap) and never
holds the wallet's guard: it is taken only around the reads and writes either side.
States: ``sent`` (not acknowledged yet), ``acknowledged``, ``overdue`` (past the due date
without a completion), ``done``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from common import PeerClient
from protocol import (
    ConsentCredential,
    ConsentRequest,
    CopyMeError,
    DecodeError,
    KeyPair,
    RightsAck,
    RightsDone,
    RightsKind,
    RightsRequest,
    Typ,
    clock,
)

from .errors import NoRightsEndpoint
from .rights_store import RightsRow, RightsStore
from .store import Store

__all__ = ["MAX_ANSWER", "RightsDesk", "RightsView"]

#: Largest answer read from a data user's rights endpoint.
MAX_ANSWER = 64 * 1024


@dataclass(frozen=True)
class RightsView:
    """One rights request as the wallet tracks it, with the evidence it holds."""

    id: int
    consent_id: str
    kind: str
    endpoint: str
    cid: str
    state: str
    created_at: int
    sent_at: int | None
    send_error: str | None
    attempts: int
    due_at: int | None
    done_at: int | None
    erased_items: tuple[str, ...]
    erased_records: int | None
    has_ack: bool
    has_done: bool

    def to_json(self) -> dict[str, Any]:
        """The JSON view for the CLI and the local API (the signed bytes are at ``.../evidence``)."""
        return {"id": self.id, "consent_id": self.consent_id, "kind": self.kind, "endpoint": self.endpoint,
                "rights_request": self.cid, "state": self.state, "created_at": self.created_at,
                "sent_at": self.sent_at, "send_error": self.send_error, "attempts": self.attempts,
                "due_at": self.due_at, "done_at": self.done_at, "erased_items": list(self.erased_items),
                "erased_records": self.erased_records, "acknowledgement": self.has_ack, "completion": self.has_done}


def _state(row: RightsRow, now: int) -> str:
    if row.done:
        return "done"
    if row.ack:
        return "overdue" if row.due_at is not None and now >= row.due_at else "acknowledged"
    return "sent"


def _view(row: RightsRow, now: int) -> RightsView:
    done = RightsDone.decode(row.done) if row.done else None
    return RightsView(
        id=row.id, consent_id=row.consent_id, kind=row.kind, endpoint=row.endpoint, cid=row.cid,
        state=_state(row, now), created_at=row.created_at, sent_at=row.sent_at,
        send_error=row.send_error, attempts=row.attempts, due_at=row.due_at, done_at=row.done_at,
        erased_items=done.erased_items if done else (), erased_records=done.erased_records if done else None,
        has_ack=bool(row.ack), has_done=done is not None,
    )


class RightsDesk:
    """The wallet's rights requests: one table, the consent's key, and the data users' endpoints."""

    def __init__(self, store: Store, signer: Callable[[ConsentCredential], KeyPair], *, timeout: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None, guard: threading.RLock | None = None) -> None:
        """``signer`` returns the private key that signed a consent (the key of its ``iss``);
        ``timeout`` is each exchange's overall deadline; ``guard`` the wallet's state lock."""
        self.store = store
        self.rows = RightsStore(store)
        self.signer = signer
        self.guard = guard or threading.RLock()
        self._http = PeerClient(name="the data user", deadline=timeout, max_bytes=MAX_ANSWER, transport=transport)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- ask --------------------------------------------------------------------------------

    def endpoint(self, consent_id: str) -> str:
        """The rights endpoint declared in the request this consent answers (``no_rights_endpoint``)."""
        with self.guard:
            request = self.store.as_received(consent_id).request
        endpoint = ConsentRequest.decode(request).rights
        if endpoint is None:
            raise NoRightsEndpoint("this data user declared no endpoint for stop-use or erasure requests")
        return endpoint

    def ask(self, consent_id: str, kind: RightsKind | str, *, now: int | None = None) -> RightsView:
        """Sign a rights request about ``consent_id`` and send it; kept (as ``sent``) even if
        delivery fails, for :meth:`retry`."""
        endpoint = self.endpoint(consent_id)
        current = clock.now(now)
        request = self._sign(consent_id, kind, current)
        with self.guard, self.store.transaction():
            row_id = self.rows.add(consent_id=consent_id, kind=str(request.kind), endpoint=endpoint, raw=request.raw,
                                   cid=request.cid, at=current)
        return self._send(row_id, endpoint, request, current)

    def _sign(self, consent_id: str, kind: RightsKind | str, now: int) -> RightsRequest:
        with self.guard:
            consent = ConsentCredential.decode(self.store.credential(consent_id))
            request = RightsRequest.create(consent, kind, now=now)
            return RightsRequest.decode(request.sign(self.signer(consent)))

    def _send(self, row_id: int, endpoint: str, request: RightsRequest, now: int) -> RightsView:
        try:  # over the network: without the guard
            response = self._http.post(endpoint, content=request.raw, headers={"Content-Type": str(Typ.RIGHTS)})
            ack = RightsAck.decode(response.raise_for_error().content)
            ack.check_answers(request)
        except CopyMeError as err:
            with self.guard, self.store.transaction():
                self.rows.send_failed(row_id, f"{err.code}: {err.detail}")
            return self.view(row_id, now=now)
        with self.guard, self.store.transaction():
            self.rows.acknowledged(row_id, ack=ack.raw, due_at=ack.due_at, at=now)
        return self.view(row_id, now=now)

    # -- follow up -----------------------------------------------------------------------------

    def retry(self, row_id: int, *, now: int | None = None) -> RightsView:
        """Send an unacknowledged request again, freshly signed (a new id and time)."""
        row = self._row(row_id)
        current = clock.now(now)
        if row.ack:
            return self.view(row_id, now=current)
        request = self._sign(row.consent_id, row.kind, current)
        with self.guard, self.store.transaction():
            self.rows.resigned(row_id, raw=request.raw, cid=request.cid)
        return self._send(row_id, row.endpoint, request, current)

    def check(self, row_id: int, *, now: int | None = None) -> RightsView:
        """Fetch the answers of an acknowledged request and keep a verified completion."""
        row = self._row(row_id)
        current = clock.now(now)
        if not row.ack or row.done:
            return self.view(row_id, now=current)
        request = RightsRequest.decode(row.raw)
        body = self._http.get(row.endpoint.rstrip("/") + "/" + row.cid).raise_for_error().json()
        done_hex = body.get("done") if isinstance(body, dict) else None
        try:
            done_raw = bytes.fromhex(done_hex) if isinstance(done_hex, str) else None
        except ValueError:
            raise DecodeError("the data user's completion is not hex") from None
        if done_raw is None:
            with self.guard, self.store.transaction():
                self.rows.checked(row_id, current)
            return self.view(row_id, now=current)
        done = RightsDone.decode(done_raw)
        done.check_answers(request)
        with self.guard, self.store.transaction():
            self.rows.completed(row_id, done=done.raw, done_at=done.done_at, at=current)
        return self.view(row_id, now=current)

    def follow_up(self, *, now: int | None = None) -> list[RightsView]:
        """Retry every undelivered request and check every unfinished one; errors stay per request."""
        current = clock.now(now)
        with self.guard:
            open_rows = self.rows.unfinished()
        out = []
        for row in open_rows:
            try:
                out.append(self.check(row.id, now=current) if row.ack else self.retry(row.id, now=current))
            except CopyMeError:
                out.append(self.view(row.id, now=current))
        return out

    # -- see --------------------------------------------------------------------------------

    def _row(self, row_id: int) -> RightsRow:
        with self.guard:
            return self.rows.get(row_id)

    def view(self, row_id: int, *, now: int | None = None) -> RightsView:
        """One rights request."""
        return _view(self._row(row_id), clock.now(now))

    def list(self, consent_id: str | None = None, *, now: int | None = None) -> list[RightsView]:
        """Every rights request (about ``consent_id``), oldest first."""
        current = clock.now(now)
        with self.guard:
            rows = self.rows.every(consent_id)
        return [_view(r, current) for r in rows]

    def evidence(self, row_id: int) -> dict[str, str | None]:
        """The signed bytes (hex): our request, the acknowledgement and the completion."""
        row = self._row(row_id)
        return {"rights_request": row.raw.hex(), "ack": row.ack.hex() if row.ack else None,
                "done": row.done.hex() if row.done else None}
