"""A data user sending presentations back to back, in a process of its own (for bench/revocation.py).

    python bench/_prober.py VERIFIER_URL
    python bench/_prober.py --watch REGISTRY_URL

Reads one JSON command per line on stdin, ``{"credential": hex, "limit": seconds}``, and for each:
presents the credential until the verifier answers ``403 revoked``.  After the first ``200`` it
writes ``{"ready": true}`` (the list is cached at the verifier: the revocation may start); when
refused, ``{"refused_at": t, "released_sent": [t, ...]}`` with ``time.perf_counter()`` values
(CLOCK_MONOTONIC, the same clock in every process on the machine) of the refused answer's
arrival and of the sending of each presentation that was still released.  Any other answer, or
still released after ``limit`` seconds, is ``{"error": text}``.

It runs apart from the wallet, so the first refusal is timed from the verifier's side whatever
the wallet is still doing after the registry accepted the new list (its own bookkeeping).

``--watch``: subscribe to the registry's change feed instead and write ``{"list_id", "iat", "at"}``
for each event as it arrives (``at``: ``time.perf_counter()``) - a subscriber standing for the
verifier's, in a process of its own so that reading events takes no time from the wallet's.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from protocol import Presentation  # noqa: E402
from tests.support.samples import KEYS  # noqa: E402


def _present(http: httpx.Client, url: str, credential: bytes) -> httpx.Response:
    body = Presentation.create(presenter=KEYS.requester.did, audience=KEYS.holder.did, credential=credential,
                               items=("transactions",), purpose="dpv:ServiceProvision").sign(KEYS.requester)
    return http.post(url + "/v1/data", content=body)


def _say(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def probe(http: httpx.Client, url: str, credential: bytes, limit: float) -> dict[str, object]:
    released: list[float] = []
    ready = False
    start = time.perf_counter()
    while True:
        sent = time.perf_counter()
        response = _present(http, url, credential)
        if response.status_code == 403 and response.json().get("error") == "revoked":
            if not ready:
                return {"error": "refused before the first release"}
            return {"refused_at": time.perf_counter(), "released_sent": released[-2000:]}
        if response.status_code != 200:
            return {"error": f"unexpected answer: {response.status_code} {response.text[:200]}"}
        if not ready:
            ready = True
            _say({"ready": True})
        else:
            released.append(sent)
        if sent - start > limit:
            return {"error": f"still released {limit} s after the probe started"}


def watch(registry_url: str) -> None:
    from common.registry_client import RegistryClient

    _say({"ready": True})
    for event in RegistryClient(registry_url).events():  # from now on
        _say({"list_id": event.list_id, "iat": event.iat, "at": time.perf_counter()})


def main() -> None:
    if sys.argv[1] == "--watch":
        watch(sys.argv[2].rstrip("/"))
        return
    url = sys.argv[1].rstrip("/")
    with httpx.Client(timeout=10.0) as http:
        for line in sys.stdin:
            if not line.strip():
                continue
            command = json.loads(line)
            _say(probe(http, url, bytes.fromhex(command["credential"]), float(command["limit"])))


if __name__ == "__main__":
    main()
