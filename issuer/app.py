"""A demo data user's web app (Kakeibo, or Hoken with ``--app hoken``): the CopyMe button, the
callback, consents, fetching bank data.

Server-rendered (Jinja2), Japanese and English, no CDN.  Each visitor gets a demo
account id in a cookie (or ``?account=`` for scripts and for trying several users in one
browser); a request is published *for that account*, so the consent that comes back to the
callback is stored for that account and nobody else's.  Routes are thin over
:class:`issuer.service.Issuer`.
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from common import install_error_contract, read_capped, read_json_object
from protocol import DEFAULT_VOCABULARY, CopyMeError, DecodeError, InvalidArgument, TooLarge, Typ, Unavailable

from .button import CopyMeButton, request_url
from .callback import MAX_CREDENTIAL_SIZE, MAX_REPLACES_SIZE
from .demo import kakeibo_config
from .i18n import LANGS, TEXTS, reason, t
from .records import export_csv, list_records
from .rights import MAX_RIGHTS_SIZE
from .service import DB_FILE, Issuer, IssuerConfig, check_account, load_or_create_key, resolve_holder
from .status_watch import StatusWatcher
from .store import open_store

__all__ = ["cookie_name", "create_app"]

log = logging.getLogger("copyme.issuer")
HERE = Path(__file__).parent
LANG_COOKIE = "lang"
MAX_JSON = 16 * 1024


def create_app(home: str | Path, holder: str, *, wallet: str | None = None,
               public_url: str | None = None, config: IssuerConfig | None = None,
               holder_did: str | None = None, watch_status: bool = True,
               use_nonce: bool = False, registries: Sequence[str] = (), council: str | None = None,
               clock_fn: Callable[[], int] | None = None, database: str | None = None,
               demo: bool = False) -> FastAPI:
    """The demo app.  ``holder`` is the data holder's base URL (its verifier service).

    The key is generated in ``home`` at first start.  ``public_url`` is the base URL wallets
    reach this app at (default: taken from each incoming request).  ``holder_did`` skips
    asking ``<holder>/v1/holder``.  ``wallet`` is a wallet dashboard's base URL: the button
    then links to ``<wallet>/review?u=<request url>``.  ``registries`` are the status
    registries whose lists the status watcher may fetch (any other is ``status_untrusted``);
    with ``council`` (a pinned council DID) also those its signed trust list names.
    ``clock_fn`` replaces the wall clock.
    ``database`` (a ``postgresql://`` URL or a SQLite file) replaces ``home``'s ``issuer.db``.
    ``config`` is what the company asks for; the Kakeibo demo's own is used only with
    ``demo=True`` (without either, ``invalid``: a company never ships the demo's terms by mistake).
    """
    if config is None and not demo:
        raise InvalidArgument("no IssuerConfig: pass config=IssuerConfig(...) for your company "
                              "(demo=True, or 'copyme issuer serve --demo', runs the Kakeibo demo)", field="config")
    home = Path(home)
    key = load_or_create_key(home)
    store = open_store(database if database is not None else home / DB_FILE)
    watcher = (StatusWatcher(store, registries=registries, council=council, now=clock_fn)
               if watch_status else None)
    issuer = Issuer(key, store, config or kakeibo_config(holder),
                    holder=holder_did or (lambda: resolve_holder(holder)), watcher=watcher,
                    use_nonce=use_nonce, clock_fn=clock_fn)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if watcher is not None:
            watcher.follow_all()
        yield
        if watcher is not None:
            watcher.stop()
        store.close()

    app = FastAPI(title=f"{issuer.config.name.get('en', 'Issuer')} (CopyMe issuer)", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.issuer = issuer
    account_cookie = app.state.account_cookie = cookie_name(issuer.config.name)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=str(HERE / "templates"))

    install_error_contract(app, body_limit=max(MAX_CREDENTIAL_SIZE, MAX_JSON), log=log)

    def base_url(request: Request) -> str:
        return (public_url or str(request.base_url)).rstrip("/")

    def lang_of(request: Request) -> str:
        lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "ja"
        return lang if lang in LANGS else "ja"

    def account_of(request: Request) -> tuple[str, bool]:
        """The visitor's demo account (query, else cookie, else a new one: decided once per request)."""
        cached: tuple[str, bool] | None = getattr(request.state, "account", None)
        if cached is not None:
            return cached
        given = request.query_params.get("account") or request.cookies.get(account_cookie)
        found = (check_account(given), False) if given else ("demo-" + secrets.token_hex(4), True)
        request.state.account = found
        return found

    def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
        lang = lang_of(request)
        account, new = account_of(request)
        other = "en" if lang == "ja" else "ja"
        app_name = issuer.config.name.get(lang) or next(iter(issuer.config.name.values()), "")
        tagline = issuer.config.tagline.get(lang) or issuer.config.notice.get(lang, {}).get("title", "")
        ctx = {"lang": lang, "other_lang": other, "t": lambda k: t(k, lang, app_name), "account": account,
               "tagline": tagline,
               "vocab": DEFAULT_VOCABULARY, "fmt_time": _fmt_time, "money": _money,
               "col_label": lambda c: t("col_" + c, lang) if "col_" + c in TEXTS else c, "path": request.url.path, **context}
        response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
        if new or request.query_params.get("account"):
            response.set_cookie(account_cookie, account, httponly=True, samesite="lax", max_age=365 * 86400)
        if request.query_params.get("lang") in LANGS:
            response.set_cookie(LANG_COOKIE, lang, samesite="lax", max_age=365 * 86400)
        return response

    # ------------------------------------------------------------------ pages

    @app.get("/", response_class=HTMLResponse)
    def home_page(request: Request) -> HTMLResponse:
        account, _ = account_of(request)
        held = issuer.consents(account)
        button, holder_down = None, False
        if not held:
            try:
                button = issuer.button(account, base_url(request), wallet_url=wallet)
            except Unavailable:  # the bank is down: the page still renders; only the button waits
                holder_down = True
        update = issuer.open_replacement(account, base_url(request), wallet_url=wallet) if held else None
        return page(request, "index.html", {"button": button, "update": update, "held": held, "config": issuer.config,
                                            "holder_down": holder_down,
                                            "holder_name": issuer.holder_name(lang_of(request))})

    @app.get("/consents", response_class=HTMLResponse)
    def consents_page(request: Request) -> HTMLResponse:
        account, _ = account_of(request)
        show_all = request.query_params.get("all") == "1"
        held = issuer.consents(None if show_all else account)
        who = None if show_all else account
        return page(request, "consents.html", {"held": held, "show_all": show_all,
                                               "records": list_records(issuer.store, who),
                                               "copied": issuer.copied(who), "rights": issuer.rights(account=who),
                                               "declined": issuer.declined(who),
                                               "now": issuer.now()})

    @app.post("/rights/{rights_id}/complete")
    def complete_page(request: Request, rights_id: str) -> RedirectResponse:
        issuer.complete_rights(rights_id)
        return RedirectResponse("/consents", status_code=303)

    @app.post("/consents/refresh")
    def refresh(request: Request) -> RedirectResponse:
        account, _ = account_of(request)
        issuer.refresh(account)
        return RedirectResponse("/consents", status_code=303)

    @app.post("/fetch", response_class=HTMLResponse)
    def fetch_page(request: Request) -> HTMLResponse:
        account, _ = account_of(request)
        lang = lang_of(request)
        try:
            data, record = issuer.fetch(account)
        except CopyMeError as err:
            why = reason(err.code, lang, issuer.config.name.get(lang, ""))
            return page(request, "fetch.html", {"data": None, "code": err.code, "reason": why,
                                                "detail": err.detail}, status_code=200)
        return page(request, "fetch.html", {"data": data, "record": record, "code": None})

    @app.get("/records.csv")
    def records_csv(request: Request) -> Response:
        account = None if request.query_params.get("all") == "1" else account_of(request)[0]
        body = "\ufeff" + export_csv(list_records(issuer.store, account))
        return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="recipient-records.csv"'})

    # ------------------------------------------------------------------ protocol endpoints

    @app.get("/r/{request_id}")
    def published_request(request_id: str) -> Response:
        return Response(issuer.request_bytes(request_id), media_type=Typ.REQUEST.value,
                        headers={"Cache-Control": "no-store"})

    @app.get("/r/{request_id}/qr.svg")
    def qr_svg(request: Request, request_id: str) -> Response:
        issuer.request_bytes(request_id)
        svg = CopyMeButton(request_url(base_url(request), request_id)).qr_svg()
        return Response(svg, media_type="image/svg+xml")

    @app.get("/r/{request_id}/qr.png")
    def qr_png(request: Request, request_id: str) -> Response:
        issuer.request_bytes(request_id)
        return Response(CopyMeButton(request_url(base_url(request), request_id)).qr_png(), media_type="image/png")

    @app.post("/callback")
    async def callback(request: Request) -> JSONResponse:
        body = await read_capped(request.stream(), MAX_CREDENTIAL_SIZE, request.headers.get("content-length"))
        if request.headers.get("content-type", "").split(";")[0].strip() == Typ.DECLINE.value:
            declined = issuer.receive_decline(body)
            return JSONResponse({"declined": declined.cid})
        consent = issuer.receive(body, replaces=replaces_header(request.headers.get("copyme-replaces")))
        return JSONResponse({"consent_id": consent.id})

    @app.post("/rights")
    async def rights_endpoint(request: Request) -> Response:
        body = await read_capped(request.stream(), MAX_RIGHTS_SIZE, request.headers.get("content-length"))
        stored = issuer.receive_rights(body)
        return Response(stored.ack, media_type=Typ.RIGHTS_ACK.value)

    @app.get("/rights/{rights_id}")
    def rights_answers(rights_id: str) -> dict[str, Any]:
        stored = issuer.rights_answers(rights_id)
        return {"rights_request": stored.id, "ack": stored.ack.hex(), "done": stored.done.hex() or None}

    # ------------------------------------------------------------------ JSON for scripts

    @app.get("/api/button")
    def api_button(request: Request, account: str) -> dict[str, Any]:
        button = issuer.button(check_account(account), base_url(request), wallet_url=wallet)
        return {"request_url": button.request_url, "deep_link": button.deep_link,
                "review_url": button.review_url, "account": account}

    @app.get("/api/consents")
    def api_consents(account: str | None = None) -> dict[str, Any]:
        if account is not None:
            check_account(account)
        return {"consents": [c.to_json() for c in issuer.consents(account)]}

    @app.post("/api/consents/refresh")
    def api_refresh(account: str | None = None) -> dict[str, Any]:
        if account is not None:
            check_account(account)
        return {"consents": [c.to_json() for c in issuer.refresh(account)]}

    @app.post("/api/fetch")
    async def api_fetch(request: Request) -> dict[str, Any]:
        args = _fetch_args(await read_json_object(request, MAX_JSON))
        data, record = issuer.fetch(**args)
        return {"consent_id": data.consent_id, "purpose": data.purpose, "items": data.items,
                "record": record.to_json()}

    @app.get("/api/records")
    def api_records(account: str | None = None) -> dict[str, Any]:
        if account is not None:
            check_account(account)
        return {"records": [r.to_json() for r in list_records(issuer.store, account)]}

    @app.post("/api/consents/{consent_id}/replace")
    async def api_replace(request: Request, consent_id: str) -> dict[str, Any]:
        body = await read_capped(request.stream(), MAX_JSON, request.headers.get("content-length"))
        changes = _changes(body)
        button = issuer.replacement(consent_id, base_url(request), changes=changes, wallet_url=wallet)
        return {"request_url": button.request_url, "deep_link": button.deep_link,
                "review_url": button.review_url, "renewal": not changes}

    @app.get("/api/declines")
    def api_declines(account: str | None = None) -> dict[str, Any]:
        if account is not None:
            check_account(account)
        return {"declines": [{"request_id": r.id, "request_cid": r.cid, "account": r.account,
                              "declined_at": r.declined_at} for r in issuer.declined(account)]}

    @app.get("/api/copied")
    def api_copied(account: str | None = None) -> dict[str, Any]:
        if account is not None:
            check_account(account)
        return {"copied": [c.to_json() for c in issuer.copied(account)]}

    @app.get("/api/rights")
    def api_rights(account: str | None = None, open_only: bool = False) -> dict[str, Any]:
        if account is not None:
            check_account(account)
        now = issuer.now()
        return {"rights": [r.to_json(now) for r in issuer.rights(account=account, open_only=open_only)]}

    @app.post("/api/rights/{rights_id}/complete")
    def api_complete(rights_id: str) -> dict[str, Any]:
        return issuer.complete_rights(rights_id).to_json(issuer.now())

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "did": issuer.did}

    @app.get("/robots.txt", response_class=PlainTextResponse)
    def robots() -> str:
        return "User-agent: *\nDisallow: /\n"

    return app


def _fetch_args(data: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(data.get("account"), str):
        raise InvalidArgument("the body needs an account", field="account")
    out: dict[str, Any] = {"account": data["account"]}
    for name, kind in (("consent_id", str), ("purpose", str), ("items", list)):
        if data.get(name) is not None:
            if not isinstance(data[name], kind) or (kind is list and not all(isinstance(i, str) for i in data[name])):
                raise InvalidArgument(f"{name} has the wrong type", field=name)
            out[name] = data[name]
    return out


def _changes(body: bytes) -> dict[str, Any]:
    """``{"changes": {...}}`` (or an empty body: a renewal of the same terms)."""
    import json

    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        raise InvalidArgument("the body must be JSON", field="body") from None
    changes = data.get("changes", {}) if isinstance(data, dict) else None
    if not isinstance(changes, dict):
        raise InvalidArgument("changes must be an object", field="changes")
    for name in ("required", "optional", "purposes"):
        if name in changes:
            value = changes[name]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InvalidArgument(f"{name} must be a list of text", field=name)
            changes[name] = tuple(value)
    return changes


def _money(value: int | float) -> str:
    return f"¥{value:,}"


def _fmt_time(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else "—"


def replaces_header(value: str | None) -> bytes | None:
    """The ``CopyMe-Replaces`` header (base64url, no padding): a key replacement proof, or ``malformed``."""
    if value is None:
        return None
    if len(value) > 2 * MAX_REPLACES_SIZE or not value or any(c not in _B64URL for c in value):
        raise DecodeError("CopyMe-Replaces must be base64url (no padding) of a DidLink", field="copyme-replaces")
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    if len(raw) > MAX_REPLACES_SIZE:
        raise TooLarge(f"a key replacement proof is at most {MAX_REPLACES_SIZE} bytes", field="copyme-replaces")
    return raw


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def cookie_name(name: Mapping[str, str]) -> str:
    """The demo account cookie of the app called ``name`` (``kakeibo_account``, ``hoken_account``):
    one per app, since browsers share cookies between ports of one host, and two demo companies
    on 127.0.0.1 must not read each other's account."""
    words = re.findall(r"[a-z0-9]+", (name.get("en") or "").lower())
    return f"{words[0] if words else 'issuer'}_account"
