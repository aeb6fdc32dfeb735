"""The dashboard's identifier pages: see each relationship's identifier, and replace one.

``GET /identifiers`` lists every pairwise identifier (:mod:`wallet.identities`) in plain words;
``GET /identifiers/{id}/replace`` is the confirm step (it changes nothing) saying what a
replacement does; ``POST /identifiers/{id}/replace`` (signed-in session and the page's form
token, like every other change) runs :meth:`wallet.Wallet.replace_key` and shows per consent
whether it was delivered again, with a button to retry.  The pages reuse the dashboard's
frame (:func:`wallet.dashboard.install` passes its helpers in as a :class:`Kit`).

A card whose data holder is not linked yet carries a one-field form for the holder's one-time
code, posted (with the form token) to ``POST /identifiers/{id}/link``.  The form names only the
identifier: the address called is the one the wallet's own records (its consents) hold for that
identifier's data holder, and the holder must answer there with the DID they name
(:meth:`wallet.Wallet.link` with ``holder=``), so the page cannot make the wallet call an address
of someone else's choosing.  The answer is a redirect back to the list, which shows the card
linked, or why not in plain words; the typed code is never put into a page, an address or a log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from protocol import MAX_LINK_CODE, Conflict, CopyMeError, InvalidArgument, NotFound

from . import glossary
from .consents import ConsentView
from .errors import AlreadyReplaced
from .identities import Identity, identities
from .linking import link_code
from .relationships import Relationship
from .replacement import Replacement
from .wallet import Wallet

__all__ = ["Kit", "install"]

log = logging.getLogger("copyme.wallet")

#: Why linking failed, for the codes a person can act on; any other code gets its glossary reason.
_LINK_WHY = frozenset({"invalid", "link_code_invalid", "replayed", "expired", "unavailable", "wrong_audience"})


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


def _link(wallet: Wallet, key: str, typed: str, guard: threading.RLock) -> None:
    """Link the data holder of identifier ``key`` with the code the user ``typed`` (nothing is
    sent if the wallet is linked there already: a second click, a reloaded form).

    The address is the one the wallet's consents name for that holder, and the holder must
    answer there with the DID they name.  ``guard`` is held only while the identifier is read:
    linking talks to the holder and takes it itself around its writes.
    """
    with guard:
        found = _one(wallet, key)
    if found.replaced or found.holder is None:
        raise Conflict("this identifier has no data holder to link")
    if found.link != "no_holder_link":
        return
    wallet.link(found.holder.holder_url, link_code(typed), holder=found.relationship.holder)


def _outcome(found: list[Identity], key: str | None, why: str | None, lang: str) -> dict[str, Any] | None:
    """What the last link did, said for identifier ``key`` (``why``: the failure's code): done only
    if its data holder is linked now (the card itself says whether this identifier is, too); a
    failure only while it is not, in the glossary's words (an unknown code: its generic sentence)."""
    card = next((i for i in found if key is not None and str(i.relationship.id) == key), None)
    if card is None or card.replaced or (card.link == "no_holder_link") == (why is None):
        return None  # "done" only once the holder is linked; "why not" only while it is not
    words = glossary.words(lang)
    holder = card.holder_name(lang) or words["ids_unknown_holder"]
    if why is None:
        return {"id": card.relationship.id, "ok": True, "text": words["ids_link_done"].format(holder=holder)}
    reason = (words[f"ids_link_why_{why}"].format(holder=holder, most=MAX_LINK_CODE) if why in _LINK_WHY
              else glossary.reason(why, lang))
    return {"id": card.relationship.id, "ok": False, "text": words["ids_link_failed"].format(holder=holder, why=reason)}


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
    def listing(request: Request, link: str | None = None, why: str | None = None) -> Response:
        """The list; after a link (``?link=ID``, ``&why=CODE`` if it failed) what happened, at the top.

        The success sentence shows only if that card is linked now, and a failure only as the
        glossary's words for a known code: the query cannot make the page say something untrue.
        """
        def render() -> Response:
            found: list[Identity] = locked(lambda: _read(wallet))
            return kit.page(request, "identifiers.html", {
                "current": [i for i in found if not i.replaced], "replaced": [i for i in found if i.replaced],
                "outcome": _outcome(found, link, why, kit.lang_of(request))})
        return kit.guarded(request, render)

    @app.post("/identifiers/{key}/link", include_in_schema=False)
    async def link(request: Request, key: str) -> Response:
        """Link the identifier's data holder with the code typed in its card, then back to the list
        (303, so a reload sends nothing again; the code never goes into the address)."""
        try:
            form = await kit.posted(request)
            await run_in_threadpool(lambda: locked(lambda: _one(wallet, key)))  # a bad or unknown number
        except CopyMeError as err:
            return kit.error_page(request, err)
        where = f"/identifiers?lang={kit.lang_of(request)}&link={key}"
        try:
            await run_in_threadpool(_link, wallet, key, (form.get("code") or [""])[0], kit.guard)
        except CopyMeError as err:
            log.info("linking identifier %s at its data holder failed: %s", key, err.code)
            where += f"&why={quote(err.code, safe='')}"
        return RedirectResponse(where + f"#id{key}", status_code=303)

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

