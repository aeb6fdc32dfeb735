"""The app in-process (httpx.ASGITransport, no sockets): the thin routes and the error handler."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from registry import create_app

from .conftest import LIST_ID, make_token

BASE = "http://registry.test"


def test_in_process_put_get_and_errors(tmp_path: Path) -> None:
    app = create_app(tmp_path)

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            token = make_token(BASE, iat=int(time.time()))
            created = await client.put(f"/v1/lists/{LIST_ID}", content=token)
            assert created.status_code == 201 and created.json()["seq"] == 1
            fetched = await client.get(f"/v1/lists/{LIST_ID}")
            assert fetched.content == token
            again = await client.put(f"/v1/lists/{LIST_ID}", content=token)
            assert again.status_code == 409 and again.json() == {
                "error": "status_rollback", "detail": again.json()["detail"]}
            bad = await client.put(f"/v1/lists/{LIST_ID}", content=b"\xa0")
            assert bad.status_code == 400 and bad.json()["error"] == "malformed"
            wrong = await client.put(f"/v1/lists/{LIST_ID}", content=token, headers={"Content-Length": "abc"})
            assert wrong.status_code == 400

    asyncio.run(scenario())
