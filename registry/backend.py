"""Which storage backend a registry's ``--db`` value names: the one place that knows both.

:mod:`registry.store` is the interface; :mod:`registry.sqlite_store` and :mod:`registry.pg_store`
implement it and import it.  This module imports them, so the interface never imports its
implementations.
"""

from __future__ import annotations

from pathlib import Path

from storage import is_postgres

from .store import RegistryStore

__all__ = ["open_store"]


def open_store(location: str | Path) -> RegistryStore:
    """A PostgreSQL store for a ``postgresql://`` URL, else the SQLite file at ``location``."""
    if is_postgres(location):
        from .pg_store import PostgresStore  # psycopg only when asked for

        return PostgresStore(str(location))
    from .sqlite_store import SQLiteStore

    return SQLiteStore(location)
