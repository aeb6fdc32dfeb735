"""Signing a browser in to the dashboard: one-time login keys and the sessions they open.

The API's bearer token (``api.token``) never travels in a URL.  Instead ``copyme wallet serve``
(or ``POST /api/login-link``, with that bearer token) issues a random login key, valid once and
for a few minutes; the browser opens ``/login?key=<it>`` and gets a random session cookie in
exchange, and the key is gone.  A leaked link (browser history, a screen share, a log) is
therefore worth nothing once used or expired, and the cookie says nothing about the token.

Only SHA-256 hashes of keys and session values are kept, in memory: a restart of ``serve``
signs every browser out (ask for a fresh link).  Form tokens (CSRF) are an HMAC of the session
under a per-process secret, so each session has its own.  Time is injectable (``now=``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass

from protocol import clock

__all__ = ["KEY_TTL", "SESSION_TTL", "LoginKey", "SignIn"]

#: Seconds a login key stays valid (if unused).
KEY_TTL = 600
#: Seconds a browser session lasts (also the cookie's Max-Age).
SESSION_TTL = 24 * 3600
#: At most this many unused keys and live sessions are kept; the oldest are dropped first.
MAX_KEYS = 16
MAX_SESSIONS = 64


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True)
class LoginKey:
    """A freshly issued login key (shown once; only its hash is kept) and when it expires."""

    key: str
    expires_at: int

    @property
    def path(self) -> str:
        """The dashboard path that exchanges it for a session."""
        return f"/login?key={self.key}"


class SignIn:
    """One-time login keys and browser sessions of one running dashboard (thread-safe)."""

    def __init__(self, *, key_ttl: int = KEY_TTL, session_ttl: int = SESSION_TTL) -> None:
        self.key_ttl = key_ttl
        self.session_ttl = session_ttl
        self._keys: dict[bytes, int] = {}  # sha256(key) -> expiry; insertion order = age
        self._sessions: dict[bytes, int] = {}  # sha256(cookie) -> expiry
        self._form_secret = secrets.token_bytes(32)
        self._lock = threading.Lock()

    def issue(self, now: int | None = None) -> LoginKey:
        """A new single-use login key, valid for ``key_ttl`` seconds."""
        at = clock.now(now)
        key = secrets.token_urlsafe(32)
        with self._lock:
            self._prune(at)
            self._keys[_digest(key)] = at + self.key_ttl
            while len(self._keys) > MAX_KEYS:
                del self._keys[next(iter(self._keys))]
        return LoginKey(key, at + self.key_ttl)

    def redeem(self, key: str, now: int | None = None) -> str | None:
        """Exchange ``key`` for a new session value, once; ``None`` if unknown, used or expired."""
        at = clock.now(now)
        with self._lock:
            self._prune(at)
            if self._keys.pop(_digest(key), None) is None:
                return None
            session = secrets.token_urlsafe(32)
            self._sessions[_digest(session)] = at + self.session_ttl
            while len(self._sessions) > MAX_SESSIONS:
                del self._sessions[next(iter(self._sessions))]
        return session

    def valid(self, session: str | None, now: int | None = None) -> bool:
        """Whether ``session`` (a cookie value) is a live session of this dashboard."""
        if not session:
            return False
        expiry = self._sessions.get(_digest(session))
        return expiry is not None and clock.now(now) < expiry

    def end(self, session: str | None) -> None:
        """Forget a session (signing that browser out)."""
        if session:
            with self._lock:
                self._sessions.pop(_digest(session), None)

    def form_token(self, session: str) -> str:
        """The form token (CSRF) of ``session``: only pages rendered for that session carry it."""
        return hmac.new(self._form_secret, b"copyme-dashboard-form:" + _digest(session), hashlib.sha256).hexdigest()

    def check_form(self, session: str | None, token: str, now: int | None = None) -> bool:
        """Whether ``token`` is the form token of the live ``session``."""
        return self.valid(session, now) and session is not None and hmac.compare_digest(
            token.encode("utf-8", "surrogatepass"), self.form_token(session).encode())

    def _prune(self, at: int) -> None:
        for table in (self._keys, self._sessions):
            for digest in [d for d, expiry in table.items() if expiry <= at]:
                del table[digest]
