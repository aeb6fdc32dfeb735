"""The wallet dashboard: server-rendered pages over :class:`~wallet.wallet.Wallet`.

Understand (``/review?u=``), See (``/`` and ``/consents/{id}``) and Change (revoke, suspend,
resume, sync) as plain HTML forms in Japanese or English (``?lang=``, remembered in a cookie).
No JavaScript, no CDN: templates and one CSS file ship in the package.

The pages change the user's consents, so they are not open to whoever can reach the port:
a browser signs in by opening a one-time link ``/login?key=<login key>`` (printed by
``copyme wallet serve``, or fresh from ``copyme wallet login-link``; see :mod:`wallet.signin`),
which sets a random session cookie (``HttpOnly``, ``SameSite=Strict``) and burns the key.  The
API's bearer token never appears in a URL and is not accepted here.  Every form carries the
session's own token so another page on this machine cannot post to them (CSRF).  Host headers
other than loopback names are refused (DNS rebinding).  Routes are thin: parse, one wallet
call, render.

``SameSite=Strict`` keeps the cookie off every request another site starts, including the
CopyMe button's link from a requester's page.  So a cross-site GET without a session gets a
tiny page that reloads the same address from the wallet's own origin (no script: a meta
refresh); that second request carries the cookie.  GET pages change nothing; every change is a
POST with the form token.

Mount with :func:`install` on the local API app (``wallet.api.create_app``), which keeps the
open wallet on ``app.state.wallet`` and its lock on ``app.state.lock``.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from common import host_header_is_loopback, read_capped
from protocol import CopyMeError, InvalidArgument, clock

from . import glossary, identity_pages, overview
from .consents import ConsentView
from .errors import Unauthorised
from .receipts import PullState
from .signin import SignIn
from .wallet import Wallet

__all__ = ["FORM_LIMIT", "SESSION_COOKIE", "install", "pull_problem_text", "refusal_text", "words"]

HERE = Path(__file__).parent
SESSION_COOKIE = "copyme_wallet"
LANG_COOKIE = "copyme_lang"
FORM_LIMIT = 16 * 1024
T = TypeVar("T")

def refusal_text(code: str | None, lang: str) -> str:
    """A refused attempt's reason in plain words (``lang`` ``ja`` or ``en``; see :mod:`wallet.glossary`)."""
    return glossary.refusal(code, lang)


def pull_problem_text(code: str, lang: str) -> str:
    """Why a pull of receipts stopped, in plain words."""
    return glossary.pull_problem(code, lang)


def words(lang: str) -> Mapping[str, str]:
    """The dashboard's words in ``lang`` (``ja`` or ``en``): the wallet's one glossary."""
    return glossary.words(lang)


class Forbidden(Unauthorised):
    """A form posted without this session's token, a used or expired login key, or a Host header
    that is not loopback.

    Same reason code as the local API's missing token (``unauthorised``), answered with 403.
    """

    http_status = 403


def _fmt_time(ts: int | None, lang: str) -> str:
    """A moment in plain words, in the wallet's own time zone: 2026年11月29日 13:05 / 29 Nov 2026, 13:05."""
    if not ts:
        return "—"
    moment = datetime.fromtimestamp(ts).astimezone()
    return f"{_fmt_day(ts, lang)} {moment:%H:%M}" if lang == "ja" else f"{_fmt_day(ts, lang)}, {moment:%H:%M}"


def _fmt_short(ts: int | None) -> str:
    """For table cells on a phone: month/day and time (the zone is in the column header)."""
    return datetime.fromtimestamp(ts).astimezone().strftime("%m/%d %H:%M:%S") if ts else "—"


def _fmt_date(ts: int) -> str:
    return datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d")


def _day_choices(requested: int) -> list[int]:
    """The validity the user may pick: as requested, or shorter (a week, a month, a quarter...)."""
    return [requested] + [d for d in (180, 90, 30, 7, 1) if d < requested]


def _fmt_day(ts: int | None, lang: str) -> str:
    """A date in plain words: 2026年11月29日 / 29 Nov 2026."""
    if not ts:
        return "—"
    day = datetime.fromtimestamp(ts).astimezone()
    return f"{day.year}年{day.month}月{day.day}日" if lang == "ja" else day.strftime("%-d %b %Y")


def _safe_back(url: str | None) -> str | None:
    """Only http(s) URLs go into a "back" link (never ``javascript:``)."""
    if not url or len(url) > 2000:
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def _back_to_requester(url: str | None, requester: str | None) -> str | None:
    """A "back to the requester" link: an http(s) URL on the requester's own origin, else none.

    ``requester`` is a URL of the requester's (its callback); a ``?back=`` pointing anywhere else
    would make the wallet's button send the user to a page of someone else's choosing.
    """
    back = _safe_back(url)
    if back is None or not requester:
        return None
    ours, theirs = urlsplit(back), urlsplit(requester)
    return back if (ours.scheme, ours.netloc.lower()) == (theirs.scheme, theirs.netloc.lower()) else None


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/" if parts.scheme in ("http", "https") and parts.netloc else None


async def _form(request: Request) -> dict[str, list[str]]:
    from urllib.parse import parse_qs

    raw = await read_capped(request.stream(), FORM_LIMIT, request.headers.get("content-length"))
    try:
        return parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=64)
    except (UnicodeDecodeError, ValueError):
        raise InvalidArgument("the form could not be read", field="form") from None


def install(app: FastAPI, wallet: Wallet | None = None, *, signin: SignIn | None = None,
            lock: threading.RLock | None = None) -> None:
    """Add the dashboard pages to ``app`` (the local API app, or any FastAPI app).

    ``wallet``, ``lock`` and ``signin`` default to ``app.state.wallet`` / ``.lock`` / ``.signin``
    (a new :class:`~wallet.signin.SignIn` if there is none; it is put on ``app.state.signin``
    so whoever runs the app can issue login keys).
    """
    opened: Wallet = wallet or app.state.wallet
    guard: threading.RLock = lock or getattr(app.state, "lock", None) or opened.guard
    keys: SignIn = signin or getattr(app.state, "signin", None) or SignIn()
    app.state.signin = keys
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    vocab = opened.vocabulary
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="wallet-static")

    def locked(fn: Callable[[], T]) -> T:
        with guard:
            return fn()

    def lang_of(request: Request) -> str:
        lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
        if lang not in ("ja", "en"):
            lang = "en" if request.headers.get("accept-language", "").lower().startswith("en") else "ja"
        return lang

    def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
        lang = lang_of(request)
        query = dict(request.query_params)
        query["lang"] = "en" if lang == "ja" else "ja"
        switch = request.url.path + "?" + "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in query.items())
        session = request.cookies.get(SESSION_COOKIE)
        csrf = keys.form_token(session) if session and keys.valid(session) else ""
        w = words(lang)
        ctx = {"lang": lang, "w": w, "sep": w["sep"], "states": glossary.STATES[lang], "csrf": csrf,
               "switch_url": switch, "reason": lambda code, lg=lang: glossary.reason(code, lg),
               "fmt_time": lambda ts, lg=lang: _fmt_time(ts, lg), "fmt_date": _fmt_date, "fmt_short": _fmt_short,
               "fmt_day": lambda ts, lg=lang: _fmt_day(ts, lg),
               "tz": datetime.now().astimezone().strftime("%Z"), "item_label": lambda i, lg=lang: _item(i, lg),
               "purpose_label": lambda p, lg=lang: _purpose(p, lg), "path": request.url.path,
               "is_refusal": overview.is_refusal, "words_of": words,
               "items_text": lambda items, lg=lang: w["sep"].join(_item(i, lg) for i in items), **context}
        response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
        if request.query_params.get("lang") in ("ja", "en"):
            response.set_cookie(LANG_COOKIE, lang, samesite="lax", max_age=365 * 86400)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    def _item(item: str, lang: str) -> str:
        try:
            return vocab.item(item).text(lang)
        except CopyMeError:
            return item

    def _purpose(purpose: str, lang: str) -> str:
        try:
            return vocab.purpose(purpose).text(lang)
        except CopyMeError:
            return purpose

    def who_of(presenter: str, consent: ConsentView, lang: str) -> str:
        """The data user's name when it is the consent's grantee, else its DID, shortened."""
        if presenter == consent.requester:
            return consent.name(lang)
        return presenter[:16] + "…" + presenter[-6:]

    def warnings_of(problems: list[PullState], consents: list[ConsentView], lang: str) -> list[str]:
        labels = {c.holder: c.holder_label(lang) for c in consents}
        return [words(lang)["receipt_warning"].format(holder=labels.get(p.holder) or p.holder_url,
                                                      why=pull_problem_text(p.error or "", lang))
                for p in problems]

    def error_page(request: Request, err: CopyMeError) -> HTMLResponse:
        lang = lang_of(request)
        status = err.http_status if 400 <= err.http_status < 600 else 400
        return page(request, "error.html", {"code": err.code, "reason_text": glossary.reason(err.code, lang),
                                            "detail": err.detail}, status_code=status)

    def check_host(request: Request) -> None:
        if not host_header_is_loopback(request.headers.get("host")):
            raise Forbidden("the wallet dashboard answers on loopback names only")

    def signed_in(request: Request) -> bool:
        return keys.valid(request.cookies.get(SESSION_COOKIE))

    def login_redirect(request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("sec-fetch-site") == "cross-site":
            return _same_site_bounce(request, target)
        lang = request.query_params.get("lang")
        return RedirectResponse("/login?next=" + quote(target, safe="")
                                + (f"&lang={lang}" if lang in glossary.LANGS else ""), status_code=303)

    def canonical(request: Request) -> Response | None:
        """A redirect to the wallet's one origin (``app.state.canonical_host``, set by ``serve``)
        when a page is asked for under another loopback name, e.g. 127.0.0.1 instead of localhost:
        the session cookie belongs to one host name, so every link must land on that one."""
        want = getattr(app.state, "canonical_host", None)
        if not want or request.method != "GET" or request.headers.get("host") == want:
            return None
        target = f"http://{want}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(target, status_code=307, headers={"Cache-Control": "no-store",
                                                                  "Referrer-Policy": "no-referrer"})

    def guarded(request: Request, fn: Callable[[], Response]) -> Response:
        try:
            check_host(request)
            if (moved := canonical(request)) is not None:
                return moved
            if not signed_in(request):
                return login_redirect(request)
            return fn()
        except CopyMeError as err:
            return error_page(request, err)

    async def posted(request: Request) -> dict[str, list[str]]:
        check_host(request)
        form = await _form(request)
        if not keys.check_form(request.cookies.get(SESSION_COOKIE), (form.get("csrf") or [""])[0]):
            raise Forbidden("this form did not come from your wallet's own pages")
        return form


    # -- sign in ----------------------------------------------------------------------------

    def _next(value: str | None) -> str:
        return value if value and value.startswith("/") and not value.startswith("//") else "/"

    def exchange(key: str, target: str) -> Response:
        """A login key for a session cookie, once; a wrong, used or expired key is ``unauthorised``."""
        session = keys.redeem(key) if key else None
        if session is None:
            raise Forbidden("this sign-in key is wrong, already used or expired; "
                            "get a fresh link with 'copyme wallet login-link'")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict", path="/",
                            max_age=keys.session_ttl)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"  # the key was in this URL: never pass it on
        return response

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login(request: Request, key: str | None = None, next: str | None = None) -> Response:  # noqa: A002
        try:
            check_host(request)
            if (moved := canonical(request)) is not None:
                return moved
            if key is not None:
                return exchange(key, _next(next))
        except CopyMeError as err:
            return error_page(request, err)
        return page(request, "login.html", {"next": _next(next), "wrong": False})

    @app.post("/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        try:
            check_host(request)
            form = await _form(request)
            return exchange((form.get("key") or [""])[0].strip(), _next((form.get("next") or ["/"])[0]))
        except CopyMeError as err:
            return error_page(request, err)

    # -- see --------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request, state: str = "all", q: str = "") -> Response:
        def render() -> Response:
            def read() -> tuple[list[overview.Listed], overview.News, list[str], int, list[str]]:
                consents = opened.consents()
                shown = overview.listing(opened.store, consents, state=state, query=q, vocabulary=vocab)
                news = overview.news(opened.store, consents)
                overview.mark_visit(opened.store)
                return shown, news, opened.pending(), len(consents), warnings_of(
                    opened.receipt_warnings(), consents, lang)

            lang = lang_of(request)
            shown, news, pending, total, warnings = locked(read)
            closed_open = state in ("revoked", "expired")
            return page(request, "index.html", {
                "open": [x for x in shown if closed_open or not x.closed],
                "closed": [] if closed_open else [x for x in shown if x.closed],
                "news": news, "pending_lists": pending, "total": total, "state": state, "q": q,
                "filters": overview.STATE_FILTERS, "synced": request.query_params.get("synced"),
                "warnings": warnings, "pulled": request.query_params.get("pulled")})
        return guarded(request, render)

    @app.get("/who", response_class=HTMLResponse, include_in_schema=False)
    def who(request: Request) -> Response:
        def render() -> Response:
            found = locked(lambda: overview.companies(opened.consents(), opened.receipts()))
            return page(request, "who.html", {"companies": found})
        return guarded(request, render)

    @app.get("/consents/{consent_id}", response_class=HTMLResponse, include_in_schema=False)
    def detail(request: Request, consent_id: str) -> Response:
        def render() -> Response:
            found, problems = locked(lambda: (opened.detail(consent_id), opened.receipt_warnings()))
            events = found.events
            lang = lang_of(request)
            c = found.consent
            holder = c.holder_label(lang)
            uses = [{"at": r.at, "refused": r.refused, "data_items": r.items, "purpose": r.purpose,
                     "text": (words(lang)["receipt_refused"].format(who=who_of(r.presenter, c, lang),
                                                                   why=refusal_text(r.reason, lang))
                              if r.refused else words(lang)["receipt_released"].format(who=who_of(r.presenter, c, lang))),
                     # numbered within this consent: the holder's own sequence runs across all the
                     # customer's consents (another company's uses in between), so it would skip
                     "no": words(lang)["receipt_no"].format(n=n)} for n, r in enumerate(found.receipts, 1)]
            done = request.query_params.get("done")
            last = events[-1] if events else None
            try:
                locked(lambda: opened.rights_desk.endpoint(found.consent.id))
                can_ask = True
            except CopyMeError:
                can_ask = False
            return page(request, "detail.html", {
                "can_ask": can_ask,
                "d": found, "c": found.consent, "r": found.review, "done": done if done in ("active", "suspended", "revoked") else None,
                "done_error": request.query_params.get("error"), "done_detail": request.query_params.get("detail"),
                "last": last,
                "accepted": request.query_params.get("accepted") == "1",
                "back": _back_to_requester(request.query_params.get("back"), found.review.callback), "uses": uses,
                "receipts_lead": words(lang)["receipts_lead"].format(holder=holder),
                "warnings": warnings_of([p for p in problems if p.holder == c.holder], [c], lang),
                "pulled": request.query_params.get("pulled")})
        return guarded(request, render)

    # -- understand and decide --------------------------------------------------------------

    @app.get("/review", response_class=HTMLResponse, include_in_schema=False)
    def review(request: Request, u: str | None = None) -> Response:
        def render() -> Response:
            if not u or not u.startswith(("http://", "https://", "copyme:")):
                raise InvalidArgument("u must be the request's http(s) URL or a copyme:// link", field="u")
            lang = lang_of(request)
            shown = opened.preview(u, lang=lang)  # a GET stores nothing; fetched without the guard
            consent = None
            if shown.decision == "accepted":
                consent = next((c for c in locked(opened.consents) if c.request_cid == shown.request_cid), None)
            back = (_back_to_requester(request.query_params.get("back"), shown.callback)
                    or _back_to_requester(request.headers.get("referer"), shown.callback))
            return page(request, "review.html", {"r": shown, "consent": consent, "u": u,
                                                 "back": back or _origin(shown.callback),
                                                 "day_choices": _day_choices(shown.validity_days),
                                                 "valid_until": clock.now() + shown.validity_days * 86400})
        return guarded(request, render)

    @app.post("/review/{request_cid}", include_in_schema=False)
    async def decide(request: Request, request_cid: str) -> Response:
        try:
            form = await posted(request)
            lang = lang_of(request)
            decision = (form.get("decision") or [""])[0]
            back = _safe_back((form.get("back") or [""])[0])
            source = (form.get("u") or [""])[0]
            if source and decision in ("accept", "decline"):  # stored now, when the user decides
                stored = await _threaded(lambda: opened.review(source, lang=lang))
                if stored.request_cid != request_cid:
                    raise InvalidArgument("the request at this address changed since it was shown", field="u")
            if decision == "accept":
                items = [i for i in form.get("items", []) if i]
                days_text = (form.get("days") or [""])[0]
                if days_text and not days_text.isdigit():
                    raise InvalidArgument("days must be a whole number of days", field="days")
                days = int(days_text) if days_text else None
                consent: ConsentView = await _threaded(lambda: opened.accept(
                    request_cid, items=items, lang=lang, validity_days=days))
                target = f"/consents/{quote(consent.id, safe='')}?accepted=1"
                if back:
                    target += "&back=" + quote(back, safe="")
                return RedirectResponse(target, status_code=303)
            if decision == "decline":
                # the Decline goes to the requester's callback: decline takes the guard itself
                shown = await _threaded(lambda: opened.decline(request_cid, lang=lang))
                return page(request, "declined.html", {"back": back, "r": shown})
            raise InvalidArgument("decision must be accept or decline", field="decision")
        except CopyMeError as err:
            return error_page(request, err)

    # -- change -----------------------------------------------------------------------------

    @app.post("/consents/{consent_id}/{action}", include_in_schema=False)
    async def change(request: Request, consent_id: str, action: str) -> Response:
        try:
            form = await posted(request)
            if action not in ("revoke", "suspend", "resume", "deliver", "rights", "follow-up"):
                raise InvalidArgument("unknown action", field="action")
            full = await _threaded(lambda: locked(lambda: opened.resolve(consent_id)))
            target = f"/consents/{quote(full, safe='')}"
            if action == "deliver":
                await _threaded(lambda: opened.deliver(full))
                return RedirectResponse(target, status_code=303)
            # these talk to the data user or the registry: they take the guard themselves, only
            # around their reads and writes
            if action in ("rights", "follow-up"):
                await _threaded(lambda: opened.ask_rights(full, "both") if action == "rights"
                                else opened.follow_up_rights())
                return RedirectResponse(target + "#rights", status_code=303)
            erase = (form.get("erase") or [""])[0] if action == "revoke" else ""
            options = {"erase": erase} if erase else {}
            result = await _threaded(lambda: getattr(opened, action)(full, **options))
            target += f"?done={result.state}"
            if not result.published:
                target += "&error=" + quote(result.error or "unavailable", safe="") + "&detail=" + quote(
                    result.detail or "", safe="")
            return RedirectResponse(target, status_code=303)
        except CopyMeError as err:
            return error_page(request, err)

    @app.post("/receipts/pull", include_in_schema=False)
    async def pull(request: Request) -> Response:
        try:
            form = await posted(request)
            # the pull takes the lock itself, only around database work, never while a holder answers
            results = await _threaded(lambda: opened.pull_receipts(lock=lambda: guard))
            back = (form.get("back") or ["/"])[0]
            target = back if back.startswith("/consents/") or back == "/" else "/"
            ok = all(r.ok for r in results)
            return RedirectResponse(f"{target}?pulled={'ok' if ok else 'failed'}", status_code=303)
        except CopyMeError as err:
            return error_page(request, err)

    @app.post("/sync", include_in_schema=False)
    async def sync(request: Request) -> Response:
        try:
            await posted(request)
            results = await _threaded(opened.sync)
            ok = all(r.accepted for r in results)
            return RedirectResponse(f"/?synced={'ok' if ok else 'failed'}", status_code=303)
        except CopyMeError as err:
            return error_page(request, err)

    identity_pages.install(app, opened, identity_pages.Kit(page=page, guarded=guarded, posted=posted,
                                                           error_page=error_page, lang_of=lang_of, guard=guard))


def _same_site_bounce(request: Request, target: str) -> HTMLResponse:
    """Reload ``target`` from our own origin, so the browser sends the ``SameSite=Strict`` cookie.

    For the review page the requester's page is kept as its "back" link (the reload's Referer
    is the wallet itself).
    """
    if request.url.path == "/review" and "back" not in request.query_params:
        back = _safe_back(request.headers.get("referer"))
        if back:
            target += ("&" if "?" in target else "?") + "back=" + quote(back, safe="")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"  # only ever our own pages
    url = html.escape(target, quote=True)
    body = (f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url={url}">'
            f'<title>CopyMe</title><p><a href="{url}">CopyMe wallet</a></p>')
    return HTMLResponse(body, headers={"Cache-Control": "no-store", "Referrer-Policy": "same-origin",
                                       "X-Frame-Options": "DENY"})


async def _threaded(fn: Callable[[], T]) -> T:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn)
