"""No outbound fetch holds the lock a user's change needs (a slow request URL once froze the wallet).

Real parts: the wallet API and dashboard under uvicorn, a real registry and callback, and a
server on loopback that sends one byte per second (never tripping a per-read timeout).
"""

from __future__ import annotations

import threading
import time

import httpx

from tests.support.servers import SlowServer, serve
from tests.wallet.conftest import PASSPHRASE, Env
from wallet import Home, Wallet
from wallet.api import create_app

SLOW = 6  # slow fetches in flight through the API and the dashboard each


def test_revoke_completes_while_slow_fetches_are_in_flight(env: Env) -> None:
    Wallet.init(env.home, PASSPHRASE, registry=env.registry_url).close()
    app = create_app(env.home, PASSPHRASE, refresh_interval=None)
    token = Home.at(env.home).api_token.read_text()
    env.callback.requests["one"] = env.request_bytes()
    with serve(app) as url, SlowServer(gap=1.0) as slow:
        api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60.0)
        review = api.post("/api/requests", json={"url": f"{env.callback_server.url}/r/one"}).json()
        decided = api.post(f"/api/requests/{review['request_cid']}/decision", json={"decision": "accept"})
        consent_id = decided.json()["consent"]["id"]
        browser = httpx.Client(base_url=url, timeout=60.0)
        assert browser.get(api.post("/api/login-link").json()["path"]).status_code == 303  # signed in
        assert browser.cookies

        answers: list[int] = []

        def fetch_via_api(n: int) -> None:
            answers.append(api.post("/api/requests", json={"url": f"{slow.url}/r/{n}"}).status_code)

        def fetch_via_page(n: int) -> None:
            answers.append(browser.get("/review", params={"u": f"{slow.url}/page/{n}"}).status_code)

        threads = [threading.Thread(target=fn, args=(n,)) for n in range(SLOW) for fn in (fetch_via_api, fetch_via_page)]
        for thread in threads:
            thread.start()
        slow.wait_for(2 * SLOW)  # every slow fetch is on the wire

        started = time.monotonic()
        revoked = api.post(f"/api/consents/{consent_id}/revoke")
        took = time.monotonic() - started
        listed = api.get("/api/consents")
        assert revoked.status_code == 200 and revoked.json()["state"] == "revoked", revoked.text
        assert revoked.json()["published"] is True
        assert listed.status_code == 200
        assert took < 2.0, f"revoke waited {took:.1f} s behind slow fetches"

        for thread in threads:
            thread.join(30)
        # each slow fetch ended at the wallet's overall deadline, as a coded error, not a hang
        assert sorted(set(answers)) == [503] and len(answers) == 2 * SLOW
