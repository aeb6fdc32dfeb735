"""The dashboard's identifier pages: see each relationship's identifier, and replace one.

``GET /identifiers`` lists every pairwise identifier (:mod:`wallet.identities`) in plain words;
``GET /identifiers/{id}/replace`` is the confirm step (it changes nothing) saying what a
replacement does; ``POST /identifiers/{id}/replace`` (signed-in session and the page's form
token, like every other change) runs :meth:`wallet.Wallet.replace_key` and shows per consent
whether it was delivered again, with a button to retry.  The pages reuse the dashboard's
frame (:func:`wallet.dashboard.install` passes its helpers in as a :class:`Kit`).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from protocol import CopyMeError, InvalidArgument, NotFound

from . import glossary
from .consents import ConsentView
from .errors import AlreadyReplaced
from .identities import Identity, identities
from .relationships import Relationship
from .replacement import Replacement
from .wallet import Wallet

__all__ = ["Kit", "install"]


@dataclass(frozen=True)
class Kit:
    """The dashboard's helpers the identifier pages render and guard with."""

    page: Callable[..., HTMLResponse]
    guarded: Callable[[Request, Callable[[], Response]], Response]
    posted: Callable[[Request], Awaitable[dict[str, list[str]]]]
    error_page: Callable[[Request, CopyMeError], HTMLResponse]
    lang_of: Callable[[Request], str]
    guard: threading.RLock


def _read(wallet: Wallet) -> list[Identity]:
    """Every identifier with what the page says about it (call with the guard held)."""
    found = wallet.relationships.all()
    holders = {r.holder for r in found if wallet.relationships.holder_link(r.holder) is not None}
    return identities(found, holders, wallet.consents())


def _one(wallet: Wallet, key: str) -> Identity:
    """The identifier with relationship id ``key`` (``not_found``)."""
    if not key.isdigit() or len(key) > 12:
        raise InvalidArgument("an identifier's number is a whole number", field="id")
    for found in _read(wallet):
        if found.relationship.id == int(key):
            return found
    raise NotFound(f"no identifier number {key}")


def _replace(wallet: Wallet, key: str, guard: threading.RLock) -> tuple[Identity, Replacement]:
    """Replace the key of identifier ``key``: the identifier as it was, and what the replacement did.

    ``guard`` is held only while the identifier is read: the replacement talks to the holder and
    the data user, and takes it itself around its reads and writes (a second click waits for the
    first and is refused, ``conflict``).
    """
    with guard:
        found = _one(wallet, key)
    return found, wallet.replace_key(found.did)


def _renewed(wallet: Wallet, result: Replacement) -> tuple[list[tuple[dict[str, Any], ConsentView]], Relationship]:
    """Each re-signed consent with its view, and the new relationship (call with the guard held)."""
    return ([(c, wallet.consent(c["consent_id"])) for c in result.consents],
            wallet.relationships.by_did(result.new_did))


def install(app: FastAPI, wallet: Wallet, kit: Kit) -> None:
    """Add ``/identifiers`` and its replace pages to the dashboard on ``app``."""

    def locked(fn: Callable[[], Any]) -> Any:
        with kit.guard:
            return fn()

    @app.get("/identifiers", response_class=HTMLResponse, include_in_schema=False)
    def listing(request: Request) -> Response:
        def render() -> Response:
            found: list[Identity] = locked(lambda: _read(wallet))
            return kit.page(request, "identifiers.html", {
                "current": [i for i in found if not i.replaced], "replaced": [i for i in found if i.replaced]})
        return kit.guarded(request, render)

    @app.get("/identifiers/{key}/replace", response_class=HTMLResponse, include_in_schema=False)
    def confirm(request: Request, key: str) -> Response:
        def render() -> Response:
            found: Identity = locked(lambda: _one(wallet, key))
            if found.replaced:
                raise AlreadyReplaced(f"the key {found.did} was already replaced")
            return kit.page(request, "replace.html", {"i": found})
        return kit.guarded(request, lambda: _or_error(request, render))

    @app.post("/identifiers/{key}/replace", include_in_schema=False)
    async def replace(request: Request, key: str) -> Response:
        try:
            await kit.posted(request)
            found, result = await run_in_threadpool(_replace, wallet, key, kit.guard)
            renewed, new = await run_in_threadpool(lambda: locked(lambda: _renewed(wallet, result)))
            return kit.page(request, "replaced.html", {
                "i": found, "result": result, "new": new,
                "renewed": [{"c": view, "delivered": c["delivered"], "error": c["error"]} for c, view in renewed]})
        except AlreadyReplaced as err:
            return already(request, err)
        except CopyMeError as err:
            return kit.error_page(request, err)

    def _or_error(request: Request, render: Callable[[], Response]) -> Response:
        try:
            return render()
        except AlreadyReplaced as err:
            return already(request, err)

    def already(request: Request, err: AlreadyReplaced) -> HTMLResponse:
        """A key replaced already (a second click, a reloaded form): ``conflict``, said plainly."""
        text = glossary.words(kit.lang_of(request))["replace_already"]
        return kit.page(request, "error.html", {"code": err.code, "reason_text": text, "detail": err.detail},
                        status_code=err.http_status)

