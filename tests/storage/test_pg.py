"""storage.pg: a pool with no free connection in time is ``busy`` (503, Retry-After), never a 500;
other PostgreSQL errors stay ``unavailable``; and a holder answers /v1/nonce that way under load."""

from __future__ import annotations

import time

import httpx
import pytest

from protocol import Unavailable
from storage import BUSY_RETRY_AFTER, DatabaseBusy, open_pool, pg_errors
from tests.support.samples import KEYS
from tests.support.servers import serve
from verifier.app import create_app as verifier_app
from verifier.holder import Holder
from verifier.pg_store import PostgresDatabase
from verifier.sources import demo_source


def test_a_pool_with_no_free_connection_in_time_is_busy(pg_dsn: str) -> None:
    pool = open_pool(pg_dsn, name="copyme-test", max_size=1, timeout=0.5)
    try:
        with pool.connection():  # the only connection, held
            started = time.monotonic()
            with pytest.raises(DatabaseBusy) as caught, pg_errors("test database error"), pool.connection():
                pass
            assert time.monotonic() - started < 5.0
        err = caught.value
        assert isinstance(err, Unavailable)
        assert (err.code, err.http_status, err.http_headers) == ("busy", 503, {"Retry-After": str(BUSY_RETRY_AFTER)})
        assert "busy" in err.detail and "PoolTimeout" not in err.detail
        with pool.connection() as conn, pytest.raises(Unavailable) as other, pg_errors("test database error"):
            conn.execute("SELECT * FROM no_such_table")
        assert other.value.code == "unavailable" and not isinstance(other.value, DatabaseBusy)
    finally:
        pool.close()


def test_a_full_pool_whose_database_refuses_new_connections_is_unavailable_not_busy(pg_dsn: str) -> None:
    """Why the pool counts the connections it lends out itself (``storage.pg``): psycopg_pool's
    ``get_stats()`` counts a connection it is still trying to make again as in use, so a pool
    whose connections broke while the database takes no new ones reads ``pool_size`` =
    ``max_size`` with none available - "busy" - though no client holds one."""
    import psycopg

    base, _, name = pg_dsn.rpartition("/")
    pool = open_pool(pg_dsn, name="copyme-test", min_size=2, max_size=2, timeout=2.0)
    try:
        lent = [pool.getconn(), pool.getconn()]
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        for conn in lent:
            with pytest.raises(psycopg.OperationalError):
                conn.execute("SELECT 1")  # the client learns its connection is gone
            pool.putconn(conn)  # the pool now tries to make a new one (for 6 x its timeout) and fails
        stats = pool.get_stats()
        assert (stats["pool_size"], stats["pool_available"]) == (2, 0)  # what get_stats() alone would call busy
        with pytest.raises(Unavailable) as caught, pg_errors("test database error"), pool.connection():
            pass
        assert caught.value.code == "unavailable" and not isinstance(caught.value, DatabaseBusy)
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        pool.close()


def test_a_holder_answers_a_nonce_with_busy_when_its_pool_stays_busy(pg_dsn: str) -> None:
    db = PostgresDatabase(pg_dsn, max_size=1)
    holder = Holder(KEYS.holder, db, None, source=demo_source())
    try:
        with serve(verifier_app(holder, follow_feed=False)) as url:
            assert httpx.get(f"{url}/v1/nonce", timeout=30).status_code == 200
            with db.transaction():  # holds the pool's only connection for longer than its timeout
                answer = httpx.get(f"{url}/v1/nonce", timeout=30)
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"] == "busy" and answer.headers["Retry-After"] == "1"
            assert httpx.get(f"{url}/v1/nonce", timeout=30).status_code == 200  # and it is over
    finally:
        holder.close()
