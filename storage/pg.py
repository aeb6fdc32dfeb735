"""psycopg 3 pools for a DSN, and the one place psycopg errors become CopyMe errors."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from protocol import Unavailable

from .dsn import describe

__all__ = ["BUSY_RETRY_AFTER", "DatabaseBusy", "open_pool", "pg_errors"]

#: Seconds to wait for the first connection at start, and for a pooled connection later.
CONNECT_TIMEOUT = 5.0


def open_pool(dsn: str, *, name: str, min_size: int = 1, max_size: int = 8,
              timeout: float = CONNECT_TIMEOUT) -> Any:
    """An open ``psycopg_pool.ConnectionPool`` for ``dsn``, or one-line ``unavailable`` at once.

    Connections are autocommit (stores open explicit transactions) and time out after
    ``timeout`` seconds both when connecting and when waiting for a free pooled connection, so a
    server that stops answering turns into ``unavailable`` (HTTP 503), never a hang.  Pooled
    connections are not probed before each use (that would cost a round trip per statement):
    after a server restart each stale one fails one statement with ``unavailable`` and is
    replaced.
    """
    where = describe(dsn)
    try:
        import psycopg
        from psycopg_pool import ConnectionPool
    except ImportError as err:
        raise Unavailable("PostgreSQL support is not installed: pip install 'copyme[postgres]'") from err
    try:  # one plain attempt first: its error says why (refused, unknown host, bad password ...)
        psycopg.connect(dsn, connect_timeout=max(1, int(timeout))).close()
    except (psycopg.Error, ValueError) as err:
        raise Unavailable(f"cannot reach PostgreSQL at {where}: {_first_line(err)}") from None
    pool = _lending_pool(ConnectionPool)(
        dsn, min_size=min_size, max_size=max_size, open=False, name=name, timeout=timeout,
        kwargs={"autocommit": True, "connect_timeout": max(1, int(timeout))},
        reconnect_timeout=timeout * 6,
    )
    try:
        pool.open(wait=True, timeout=timeout)
    except Exception as err:  # PoolTimeout, OperationalError: the server did not answer
        pool.close(timeout=0)
        raise Unavailable(f"cannot reach PostgreSQL at {where}: {_first_line(err)}") from err
    return pool


#: Seconds a client is told to wait (``Retry-After``) when every pooled connection was busy.
BUSY_RETRY_AFTER = 1


class DatabaseBusy(Unavailable):
    """Every pooled database connection stayed busy for the pool's whole timeout: a load peak,
    not a fault.  HTTP 503 ``busy`` with ``Retry-After`` (:data:`BUSY_RETRY_AFTER`): the request
    changed nothing and may simply be sent again."""

    code = "busy"

    def __init__(self, detail: str = "", *, retry_after: int = BUSY_RETRY_AFTER) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        #: Sent with the HTTP answer (see ``common.web``).
        self.http_headers = {"Retry-After": str(retry_after)}


def _lending_pool(base: Any) -> Any:
    """``base`` (psycopg's ``ConnectionPool``) counting the connections its clients hold, so that a
    ``PoolTimeout`` can tell busy (all ``max_size`` lent out: ``busy``) from a database that does
    not give connections (``unavailable``); the verdict rides on the exception as ``copyme_busy``.

    psycopg_pool's own ``get_stats()`` does not tell these apart: its ``pool_size`` counts the
    connections the pool is still trying to make again as in use, so a pool whose connections
    broke while the database refuses new ones reads full with none available, for up to its
    ``reconnect_timeout``, exactly as a busy one does (``tests/storage/test_pg.py`` shows it)."""
    from psycopg_pool import PoolTimeout

    class LendingPool(base):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._lent = 0
            self._lent_lock = threading.Lock()

        def getconn(self, timeout: float | None = None) -> Any:
            try:
                conn = super().getconn(timeout)
            except PoolTimeout as err:
                err.copyme_busy = self._lent >= self.max_size  # type: ignore[attr-defined]
                raise
            with self._lent_lock:
                self._lent += 1
            return conn

        def putconn(self, conn: Any) -> None:
            with self._lent_lock:
                self._lent -= 1
            super().putconn(conn)

    return LendingPool


@contextlib.contextmanager
def pg_errors(what: str) -> Iterator[None]:
    """Turn a psycopg or pool error inside the block into ``unavailable`` (one line, no SQL);
    a pool of :func:`open_pool` whose every connection stayed lent out for its whole timeout is
    :class:`DatabaseBusy` (a pool that could not connect stays ``unavailable``)."""
    import psycopg
    from psycopg_pool import PoolTimeout

    try:
        yield
    except PoolTimeout as err:
        if getattr(err, "copyme_busy", False):
            raise DatabaseBusy(f"{what}: every database connection stayed busy for the pool's timeout") from err
        raise Unavailable(f"{what}: {type(err).__name__}") from err
    except psycopg.Error as err:
        raise Unavailable(f"{what}: {type(err).__name__}") from err


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
