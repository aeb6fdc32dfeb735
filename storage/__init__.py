"""Storage glue shared by the registry, the verifier and the issuer: which backend, and how to open it.

Every service keeps its SQL in its own store modules; what they share lives here, once:

- :func:`is_postgres` — a ``--db`` value (or the matching environment variable) that is a
  ``postgresql://`` URL selects the PostgreSQL backend; anything else is a SQLite file path;
- :func:`open_pool` — a psycopg 3 connection pool for a DSN that fails at start with one line
  (``unavailable: cannot reach PostgreSQL at host:port/db: ...``) when the server does not answer;
- :func:`pg_errors` — translates psycopg errors into :class:`protocol.Unavailable` in one place
  (a pool with no free connection in time into :class:`DatabaseBusy`, ``busy``, HTTP 503 with
  ``Retry-After``);
- :class:`Migration`, :func:`migrate_sqlite`, :func:`migrate_postgres` — ordered, recorded schema
  steps; one list per service drives both backends (each step spelled in both dialects).

psycopg is an optional dependency (``pip install 'copyme[postgres]'``); it is imported only when
a PostgreSQL DSN is used, and its absence is reported as a one-line error.
"""

from __future__ import annotations

from .dsn import describe, is_postgres
from .migrations import Migration, migrate_postgres, migrate_sqlite
from .pg import BUSY_RETRY_AFTER, DatabaseBusy, open_pool, pg_errors

__all__ = [
    "BUSY_RETRY_AFTER",
    "DatabaseBusy",
    "Migration",
    "describe",
    "is_postgres",
    "migrate_postgres",
    "migrate_sqlite",
    "open_pool",
    "pg_errors",
]
