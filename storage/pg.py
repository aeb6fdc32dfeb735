"""psycopg 3 pools for a DSN, and the one place psycopg errors become CopyMe errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from protocol import Unavailable

from .dsn import describe

__all__ = ["open_pool", "pg_errors"]

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
    pool = ConnectionPool(
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


@contextlib.contextmanager
def pg_errors(what: str) -> Iterator[None]:
    """Turn a psycopg or pool error inside the block into ``unavailable`` (one line, no SQL)."""
    import psycopg
    from psycopg_pool import PoolTimeout

    try:
        yield
    except (psycopg.Error, PoolTimeout) as err:
        raise Unavailable(f"{what}: {type(err).__name__}") from err


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
