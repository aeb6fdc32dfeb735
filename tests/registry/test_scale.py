"""The registry past one process: workers over one PostgreSQL database, a feed that fans out
through LISTEN/NOTIFY, and real nginx caching the lists in front of two workers."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from common import RegistryClient
from protocol import Status, StatusRef
from tests.registry.conftest import LIST_ID, Collector, make_token
from tests.support import nginx
from tests.support.samples import KEYS
from tests.support.servers import free_port, serve_cli
from verifier.status_cache import StatusCache
from verifier.store import open_database

pytestmark = pytest.mark.slow
OTHER = "Other-list-0000000000001"


@contextlib.contextmanager
def worker(home: Path, dsn: str, *extra: str) -> Iterator[str]:
    """One ``copyme registry serve`` process over ``dsn``; a 15 s heartbeat, so only a push
    (never the periodic look at the log) can deliver an event quickly."""
    args = ["registry", "serve", "--db", dsn, "--home", str(home), "--heartbeat", "15",
            "--log-level", "warning", *extra]
    with serve_cli(args, timeout=90) as (url, _proc):
        yield url


def _take_ids(collector: Collector, count: int, timeout: float = 5.0) -> list[tuple[str, str, int]]:
    return [(e.id, str(e.list_id), int(e.iat)) for e in collector.take(count, timeout=timeout)]


def test_a_put_on_one_worker_reaches_subscribers_of_every_worker_in_order(tmp_path: Path, pg_dsn: str) -> None:
    now = int(time.time())
    with worker(tmp_path, pg_dsn) as a, worker(tmp_path, pg_dsn) as b:
        on_a = Collector(RegistryClient(a).events(last_event_id="0"))
        on_b = Collector(RegistryClient(b).events(last_event_id="0"))
        try:
            time.sleep(0.3)
            started = time.monotonic()
            RegistryClient(a).publish(LIST_ID, make_token(a, iat=now))
            RegistryClient(b).publish(OTHER, make_token(b, OTHER, iat=now))
            RegistryClient(a).publish(LIST_ID, make_token(a, iat=now + 1))
            expected = [("1", LIST_ID, now), ("2", OTHER, now), ("3", LIST_ID, now + 1)]
            assert _take_ids(on_a, 3) == expected
            assert _take_ids(on_b, 3) == expected
            assert time.monotonic() - started < 5  # pushed, not found on the 15 s heartbeat
        finally:
            on_a.close()
            on_b.close()
        # resumable at any worker: Last-Event-ID from one, reconnected to the other
        resumed = Collector(RegistryClient(b).events(last_event_id="2"))
        try:
            assert _take_ids(resumed, 1) == [("3", LIST_ID, now + 1)]
            RegistryClient(a).publish(OTHER, make_token(a, OTHER, iat=now + 2))
            assert _take_ids(resumed, 1) == [("4", OTHER, now + 2)]
        finally:
            resumed.close()


def test_workers_flag_runs_processes_that_share_the_feed(tmp_path: Path, pg_dsn: str) -> None:
    now = int(time.time())
    with worker(tmp_path, pg_dsn, "--workers", "2") as url:
        subscribers = [Collector(RegistryClient(url).events(last_event_id="0")) for _ in range(6)]
        try:
            for i in range(3):
                with RegistryClient(url) as client:  # a new connection each: any worker may take it
                    client.publish(LIST_ID, make_token(url, iat=now + i))
            for sub in subscribers:
                assert [e for e, _, _ in _take_ids(sub, 3)] == ["1", "2", "3"]
        finally:
            for sub in subscribers:
                sub.close()


def test_nginx_serves_cached_lists_within_ttl_and_revocations_still_arrive(tmp_path: Path, pg_dsn: str) -> None:
    now = int(time.time())
    with worker(tmp_path, pg_dsn) as a, worker(tmp_path, pg_dsn) as b:
        ports = [int(a.rsplit(":", 1)[1]), int(b.rsplit(":", 1)[1])]
        with nginx.run(ports) as front:
            client = RegistryClient(front)
            first = make_token(front, iat=now, ttl=2)
            client.publish(LIST_ID, first)  # a PUT passes through the cache
            url = f"{front}/v1/lists/{LIST_ID}"
            miss = httpx.get(url)
            assert miss.status_code == 200 and miss.headers["x-cache-status"] == "MISS"
            assert miss.headers["cache-control"] == "max-age=2" and miss.content == first
            hit = httpx.get(url)
            assert hit.headers["x-cache-status"] == "HIT" and hit.content == first
            assert hit.headers["etag"] == miss.headers["etag"]
            second = make_token(front, iat=now + 1, ttl=2, revoked=(3,))
            RegistryClient(b).publish(LIST_ID, second)
            # within max-age the cache may answer with the copy it has; never after (nginx counts
            # whole seconds, so "after" is max-age plus up to one second)
            time.sleep(3.1)
            later = httpx.get(url)
            assert later.content == second and later.headers["x-cache-status"] != "HIT"
            # a versioned URL (what a pushed re-fetch asks for) is never answered by an older copy
            versioned = httpx.get(url, params={"v": later.headers["etag"].strip('"')})
            assert versioned.headers["x-cache-status"] == "MISS" and versioned.content == second

            # a verifier reading through nginx, with a long ttl: only the feed can tell it in time
            client.publish(OTHER, make_token(front, OTHER, iat=now, ttl=300))
            cache = StatusCache(RegistryClient(front), open_database(None))
            ref = StatusRef(f"{front}/v1/lists/{OTHER}", 5, KEYS.status.did)
            try:
                assert cache.status_of(ref) is Status.VALID
                assert httpx.get(ref.uri).headers["x-cache-status"] == "HIT"
                cache.subscribe()
                time.sleep(0.5)
                RegistryClient(a).publish(OTHER, make_token(front, OTHER, iat=now + 1, ttl=300, revoked=(5,)))
                deadline = time.monotonic() + 5
                while cache.status_of(ref) is not Status.REVOKED:
                    assert time.monotonic() < deadline, "the revocation did not reach the verifier"
                    time.sleep(0.05)
                assert httpx.get(ref.uri).headers["x-cache-status"] == "HIT"  # the plain URL still cached
            finally:
                cache.close()


def test_a_dsn_that_does_not_answer_is_one_line_at_start(tmp_path: Path) -> None:
    dsn = f"postgresql://copyme:s3cret-pw@127.0.0.1:{free_port()}/registry"
    result = subprocess.run(
        [sys.executable, "-m", "copyme", "registry", "serve", "--db", dsn, "--home", str(tmp_path),
         "--port", str(free_port())], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: unavailable: cannot reach PostgreSQL at 127.0.0.1:")
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_the_database_going_away_is_a_503_not_a_crash(tmp_path: Path, pg_cluster: object) -> None:
    from tests.support.postgres import Cluster

    assert isinstance(pg_cluster, Cluster)
    dsn = pg_cluster.create_database()
    now = int(time.time())
    with worker(tmp_path, dsn) as a:
        client = RegistryClient(a)
        client.publish(LIST_ID, make_token(a, iat=now))
        pg_cluster.stop()
        try:
            response = httpx.get(f"{a}/v1/lists/{LIST_ID}", timeout=30)
            assert response.status_code == 503 and response.json()["error"] == "unavailable"
            response = httpx.put(f"{a}/v1/lists/{LIST_ID}", content=make_token(a, iat=now + 1), timeout=30)
            assert response.status_code == 503 and response.json()["error"] == "unavailable"
        finally:
            pg_cluster.start()
        deadline = time.monotonic() + 20
        while httpx.get(f"{a}/v1/lists/{LIST_ID}", timeout=30).status_code != 200:
            assert time.monotonic() < deadline, "the worker did not recover after PostgreSQL came back"
            time.sleep(0.2)
        assert client.publish(LIST_ID, make_token(a, iat=now + 2))["seq"] == 2
