"""The wallet's local JSON API (``copyme wallet serve``): the CLI's operations over HTTP on 127.0.0.1.

Every route under ``/api`` needs ``Authorization: Bearer <token>``; the token is kept in the
home folder (``api.token``, mode 0600) so only the user's own programs can read it.  It only
ever travels in that header: never in a URL, never in a log.  A browser signs in to the
dashboard with a one-time login key instead (``POST /api/login-link``, :mod:`wallet.signin`).
Routes are thin: parse, one :class:`~wallet.wallet.Wallet` call, JSON out.  Errors are
``{"error": code, "detail": ...}`` with the code's HTTP status.  The wallet object is on
``app.state.wallet`` (with ``app.state.lock``) for the dashboard pages built on top.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from common import install_error_contract, read_json_object
from protocol import InvalidArgument, Typ, __version__, check_url

from .dashboard import install as install_dashboard
from .errors import Unauthorised
from .home import Home
from .linking import link_code
from .pull import DEFAULT_PULL_INTERVAL, ReceiptPuller
from .refresh import DEFAULT_INTERVAL, ListRefresher
from .signin import SignIn
from .wallet import Wallet

__all__ = ["API_BODY_LIMIT", "create_app", "load_token"]

log = logging.getLogger("copyme.wallet")

API_BODY_LIMIT = 64 * 1024
REF_LIMIT = 256  # a did:key or a consent id (or a prefix of one) is far shorter
T = TypeVar("T")


def load_token(home: Home) -> str:
    """The API's bearer token, created (mode 0600) on first use."""
    try:
        return home.api_token.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        token = secrets.token_urlsafe(32)
        fd = os.open(home.api_token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(token)
        return token


async def _json_body(request: Request) -> dict[str, Any]:
    return await read_json_object(request, API_BODY_LIMIT)


def _opt_str(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidArgument(f"{name} must be text", field=name)
    return value


def create_app(home: Home | str | Path | None, passphrase: str, *, wallet: Wallet | None = None,
               refresh_interval: float | None = DEFAULT_INTERVAL,
               pull_interval: float | None = DEFAULT_PULL_INTERVAL) -> FastAPI:
    """The local API app for the wallet in ``home``, unlocked with ``passphrase``.

    While the app runs (its lifespan), a :class:`~wallet.refresh.ListRefresher` re-signs and
    publishes status lists every ``refresh_interval`` seconds (``None``: never; ``sync`` only),
    and a :class:`~wallet.pull.ReceiptPuller` pulls usage receipts from the linked holders every
    ``pull_interval`` seconds (``None``: never), taking the lock only around database work.
    """
    target = home if isinstance(home, Home) else Home.at(home)
    opened = wallet or Wallet.open(target, passphrase)
    token = load_token(target)
    lock = opened.guard  # held around the wallet's state, never over the network (see ``fetch`` below)
    bearer = HTTPBearer(auto_error=False)
    refresher = ListRefresher(opened, interval=refresh_interval) if refresh_interval else None
    # the puller takes the guard only around its reads and writes, never while a holder answers
    puller = (ReceiptPuller(lambda: opened.pull_receipts(lock=lambda: lock), interval=pull_interval)
              if pull_interval else None)
    signin = SignIn()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if refresher is not None:
            refresher.start()
        if puller is not None:
            puller.start()
        try:
            yield
        finally:
            if refresher is not None:
                await run_in_threadpool(refresher.stop)
            if puller is not None:
                await run_in_threadpool(puller.stop)

    app = FastAPI(title="CopyMe wallet (local API)", version=__version__, lifespan=lifespan,
                  description="The user's own consent wallet, on 127.0.0.1 only. Every /api route needs "
                              "`Authorization: Bearer <token from the home folder's api.token>`. "
                              "Errors are `{\"error\": code, \"detail\": ...}`.")
    app.state.wallet = opened
    app.state.lock = lock
    app.state.refresher = refresher
    app.state.puller = puller
    app.state.signin = signin

    install_error_contract(app, body_limit=API_BODY_LIMIT, log=log)

    def authorised(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if credentials is None or not secrets.compare_digest(credentials.credentials, token):
            raise Unauthorised("a bearer token from the wallet home's api.token is needed")

    async def call(fn: Callable[[], T]) -> T:
        def locked() -> T:
            with lock:
                return fn()
        return await run_in_threadpool(locked)

    async def fetch(fn: Callable[[], T]) -> T:
        """For a wallet call that talks to a peer: it takes the guard itself, only around its
        reads and writes, so a slow requester, callback or registry never holds up a revoke."""
        return await run_in_threadpool(fn)

    auth = [Depends(authorised)]

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/wallet", dependencies=auth, summary="The wallet's DID, registry, council and counts")
    async def info() -> dict[str, Any]:
        return await call(opened.info)

    @app.get("/api/consents", dependencies=auth, summary="Every consent (filters: state, holder, requester)")
    async def consents(state: str | None = None, holder: str | None = None,
                       requester: str | None = None) -> list[dict[str, Any]]:
        found = await call(lambda: opened.consents(state=state, holder=holder, requester=requester))
        return [c.to_json() for c in found]

    @app.get("/api/consents/{consent_id}", dependencies=auth, summary="One consent: what was shown, hashes, history")
    async def consent(consent_id: str) -> dict[str, Any]:
        return (await call(lambda: opened.detail(consent_id))).to_json()

    @app.get("/api/consents/{consent_id}/credential", dependencies=auth, summary="The raw signed credential")
    async def credential(consent_id: str) -> Response:
        detail = await call(lambda: opened.detail(consent_id))
        return Response(detail.credential, media_type=str(Typ.CONSENT))

    @app.post("/api/requests", dependencies=auth,
              summary="Receive a request by URL or copyme:// link; returns what to show the user")
    async def receive(request: Request) -> dict[str, Any]:
        data = await _json_body(request)
        source = _opt_str(data, "url")
        if not source or not source.startswith(("http://", "https://", "copyme:")):
            raise InvalidArgument("url must be an http(s) URL or a copyme:// link", field="url")
        lang = _opt_str(data, "lang") or "ja"
        return (await fetch(lambda: opened.review(source, lang=lang))).to_json()

    @app.post("/api/requests/{request_cid}/decision", dependencies=auth,
              summary="Answer a received request: accept (all or some items) or decline")
    async def decide(request_cid: str, request: Request) -> dict[str, Any]:
        data = await _json_body(request)
        decision = data.get("decision")
        lang = _opt_str(data, "lang")  # None: the language the request was shown in
        items = data.get("items")
        if items is not None and (not isinstance(items, list) or not all(isinstance(i, str) for i in items)):
            raise InvalidArgument("items must be a list of item ids", field="items")
        if decision == "accept":
            consent = await fetch(lambda: opened.accept(request_cid, items=items, lang=lang))
            return {"decision": "accepted", "consent": consent.to_json()}
        if decision == "decline":
            review = await fetch(lambda: opened.decline(request_cid, lang=lang))  # tells the callback
            return {"decision": "declined", "review": review.to_json()}
        raise InvalidArgument("decision must be accept or decline", field="decision")

    def change(action: str) -> Callable[[str], Any]:
        async def handler(consent_id: str) -> dict[str, Any]:
            result = await fetch(lambda: getattr(opened, action)(consent_id))
            return dict(result.to_json())
        return handler

    @app.post("/api/consents/{consent_id}/revoke", dependencies=auth,
              summary="Revoke a consent and publish the status list; body {\"erase\": kind} also asks the "
                      "data user to stop using / erase the data (kind stop_use, erase or both)", name="revoke")
    async def revoke(consent_id: str, request: Request) -> dict[str, Any]:
        data = await _json_body(request)
        erase = _opt_str(data, "erase")
        return dict((await fetch(lambda: opened.revoke(consent_id, erase=erase))).to_json())

    @app.post("/api/consents/{consent_id}/rights", dependencies=auth,
              summary="Ask the data user to stop using / erase the data (body {\"kind\": stop_use|erase|both})")
    async def ask_rights(consent_id: str, request: Request) -> dict[str, Any]:
        data = await _json_body(request)
        kind = _opt_str(data, "kind") or "both"
        return (await fetch(lambda: opened.ask_rights(consent_id, kind))).to_json()

    @app.get("/api/due", dependencies=auth, summary="Active or suspended consents ending within ?days= (default 30)")
    async def due(days: int = 30) -> list[dict[str, Any]]:
        return [c.to_json() for c in await call(lambda: opened.due(days=days))]

    @app.get("/api/rights", dependencies=auth, summary="Rights requests sent (optionally about one consent)")
    async def rights(consent_id: str | None = None) -> list[dict[str, Any]]:
        return [r.to_json() for r in await call(lambda: opened.rights(consent_id))]

    @app.post("/api/rights/follow-up", dependencies=auth,
              summary="Retry undelivered rights requests and fetch the data users' signed answers")
    async def follow_up() -> list[dict[str, Any]]:
        return [r.to_json() for r in await fetch(opened.follow_up_rights)]

    @app.get("/api/rights/{rights_id}/evidence", dependencies=auth,
             summary="The signed rights request, acknowledgement and completion (hex)")
    async def evidence(rights_id: int) -> dict[str, Any]:
        return await call(lambda: opened.rights_desk.evidence(rights_id))

    for action in ("suspend", "resume"):
        app.post(f"/api/consents/{{consent_id}}/{action}", dependencies=auth,
                 summary=f"{action.capitalize()} a consent and publish the status list",
                 name=action)(change(action))

    @app.post("/api/consents/{consent_id}/deliver", dependencies=auth, summary="Retry delivery to the callback")
    async def deliver(consent_id: str) -> dict[str, Any]:
        return (await fetch(lambda: opened.deliver(consent_id))).to_json()

    @app.post("/api/sync", dependencies=auth, summary="Publish pending status list versions")
    async def sync() -> list[dict[str, Any]]:
        return [r.to_json() for r in await fetch(opened.sync)]

    @app.get("/api/relationships", dependencies=auth,
             summary="Your pairwise DIDs: one per data holder and data user, linked or not, replaced or not")
    async def relationships() -> list[dict[str, Any]]:
        return [r.to_json() for r in await call(opened.relationships.all)]

    @app.post("/api/relationships/replace-key", dependencies=auth,
              summary="Replace a relationship's key you fear leaked (body {\"ref\": its DID or a consent id}): "
                      "the holder links the new DID and refuses the old; consents are re-signed and delivered")
    async def replace_key(request: Request) -> dict[str, Any]:
        data = await _json_body(request)
        ref = _opt_str(data, "ref")
        if not ref or len(ref) > REF_LIMIT:
            raise InvalidArgument("ref must be a relationship DID or a consent id", field="ref")
        # not through call(): it takes the guard itself, never while the holder or a data user answers
        return (await fetch(lambda: opened.replace_key(ref))).to_json()

    @app.post("/api/link", dependencies=auth,
              summary="Link the wallet at a data holder with the one-time code it gave you (body {\"holder_url\", "
                      "\"code\"}); then every relationship DID there is linked too")
    async def link(request: Request) -> dict[str, Any]:
        data = await _json_body(request)
        holder_url = check_url(_opt_str(data, "holder_url"), "holder_url")
        code = link_code(_opt_str(data, "code"))
        # not through call(): linking takes the guard itself, never while the holder answers
        return await fetch(lambda: opened.link(holder_url, code))

    @app.post("/api/login-link", dependencies=auth,
              summary="A one-time dashboard sign-in link (path; valid once, for 10 minutes)")
    async def login_link() -> JSONResponse:
        issued = signin.issue()
        return JSONResponse({"path": issued.path, "expires_at": issued.expires_at,
                             "expires_in": signin.key_ttl}, headers={"Cache-Control": "no-store"})

    @app.get("/api/receipts", dependencies=auth,
             summary="Signed usage receipts held (optionally of one consent), and holders with a warning")
    async def receipts(consent_id: str | None = None) -> dict[str, Any]:
        def read() -> dict[str, Any]:
            return {"receipts": [r.to_json() for r in opened.receipts(consent_id)],
                    "warnings": [w.to_json() for w in opened.receipt_warnings()]}
        return await call(read)

    @app.post("/api/receipts/pull", dependencies=auth,
              summary="Pull new signed usage receipts from every linked data holder now")
    async def pull() -> list[dict[str, Any]]:
        # not through call(): the pull takes the lock itself, only around database work
        results = await run_in_threadpool(lambda: opened.pull_receipts(lock=lambda: lock))
        return [r.to_json() for r in results]

    install_dashboard(app, opened, signin=signin, lock=lock)
    return app
