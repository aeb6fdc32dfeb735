"""POST /v1/data through the BinaryLane and through the FastAPI route: the same answers, the same records.

The service serves the data gate through :class:`common.web.BinaryLane` (plain ASGI in front of
FastAPI's routing); ``create_app(lane=False)`` serves it through the FastAPI route that documents
it.  Both run here over one holder, on SQLite (released on the event loop) and on PostgreSQL (on
a worker thread), and must answer every kind of request byte for byte alike.
"""

from __future__ import annotations

import httpx

from tests.support.servers import serve
from verifier.app import create_app

from .conftest import KEYS, World


def test_the_lane_and_the_route_answer_alike(world: World) -> None:
    credential = world.ready()
    assert world.holder is not None
    with serve(create_app(world.holder, follow_feed=False, lane=False)) as routed:
        urls = {"lane": world.url, "route": routed}

        def both(make: object) -> dict[str, httpx.Response]:
            return {name: httpx.post(url + "/v1/data", content=make() if callable(make) else make, timeout=10)
                    for name, url in urls.items()}

        def alike(answers: dict[str, httpx.Response], status: int) -> None:
            lane, route = answers["lane"], answers["route"]
            assert lane.status_code == route.status_code == status, (lane.text, route.text)
            assert lane.content == route.content
            assert lane.headers["content-type"] == route.headers["content-type"] == "application/json"

        alike(both(lambda: world.present(credential)), 200)
        alike(both(b"\xa0"), 400)
        alike(both(b""), 400)
        alike(both(lambda: world.present(credential, presenter=KEYS.stranger)), 403)
        alike(both(lambda: world.present(credential, items=("transactions", "name"))), 403)
        alike(both(b"\0" * (32 * 1024 + 1)), 413)
        used = world.present(credential)
        first = httpx.post(urls["lane"] + "/v1/data", content=used, timeout=10)
        again = httpx.post(urls["route"] + "/v1/data", content=used, timeout=10)
        assert first.status_code == 200 and again.status_code == 403 and again.json()["error"] == "replayed"
        assert httpx.post(urls["lane"] + "/v1/data", content=used, timeout=10).content == again.content
    kinds = [(r["kind"], r["reason"]) for r in world.holder.records.all()]
    assert kinds.count(("provision", None)) == 3
    assert kinds.count(("refusal", "replayed")) == 2
    assert world.holder.records.verify_chain() == len(kinds)
