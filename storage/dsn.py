"""Which backend a ``--db`` value names, and how to show a DSN without its password."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["describe", "is_postgres"]

_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(location: str | Path | None) -> bool:
    """True when ``location`` is a PostgreSQL URL (``postgresql://...`` or ``postgres://...``)."""
    return isinstance(location, str) and location.strip().lower().startswith(_SCHEMES)


def describe(dsn: str) -> str:
    """``host:port/dbname`` of a PostgreSQL URL: safe to print (no user name, no password)."""
    try:
        parts = urlsplit(dsn.strip())
        host = parts.hostname or "localhost"
        port = parts.port or 5432
    except ValueError:
        return "an unparsable PostgreSQL URL"
    dbname = parts.path.lstrip("/") or "(default database)"
    return f"{host}:{port}/{dbname}"
