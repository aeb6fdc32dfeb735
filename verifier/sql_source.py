"""A ready data source over one table of a holder's own database (SQLite or PostgreSQL).

One row per customer; one column per data item (the column is named like the item, or mapped
with ``columns``).  Only the columns of the granted items are read, with the customer id as a
bound parameter; table and column names are checked against a strict pattern (they cannot be
parameters).  A column listed in ``json_columns`` holds JSON text (e.g. a list of transactions)
and is decoded::

    from verifier import Holder, SqlSource

    source = SqlSource("sqlite:////srv/bank/customers.db", table="customers", key="customer_id",
                       json_columns=("transactions",))
    holder = Holder.open("/srv/bank/verifier", registry, source=source)

The same from the command line: ``copyme verifier serve --sql sqlite:////srv/bank/customers.db
--sql-table customers --sql-key customer_id --sql-json transactions``.  A PostgreSQL URL
(``postgresql://…``) needs ``psycopg`` (``pip install "psycopg[binary]"``).
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from protocol.errors import InvalidArgument

from .errors import DataUnavailable

__all__ = ["SqlSource"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _name(value: str, field: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise InvalidArgument(f"{field} must be a plain SQL name (letters, digits, _; at most 63)", field=field)
    return value


class SqlSource:
    """A :data:`~verifier.sources.DataSource` reading one row per customer from ``table``.

    ``url`` is ``sqlite:///relative.db`` / ``sqlite:////absolute/path.db`` (or a plain file
    path) or ``postgresql://…``.
    ``key`` is the column holding the customer id the holder links consents to.
    """

    def __init__(self, url: str, *, table: str, key: str = "customer_id",
                 columns: Mapping[str, str] | None = None, json_columns: Iterable[str] = ()) -> None:
        self.table = _name(table, "table")
        self.key = _name(key, "key")
        self.columns = {item: _name(col, "columns") for item, col in (columns or {}).items()}
        self.json_columns = frozenset(json_columns)
        self.url = url
        parts = urlsplit(url)
        self._lock = threading.Lock()
        self._sqlite: str | None = None
        self._pg: str | None = None
        if parts.scheme in ("postgresql", "postgres"):
            self._pg = url
        elif parts.scheme == "sqlite" and not parts.netloc:
            # as SQLAlchemy spells it: sqlite:///relative.db, sqlite:////absolute/path.db
            self._sqlite = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        elif parts.scheme == "" and url:
            self._sqlite = url
        else:
            raise InvalidArgument("the SQL source URL must be sqlite:///path, a file path or postgresql://…",
                                  field="url")
        self.known: frozenset[str] = frozenset()
        self._check()

    def __repr__(self) -> str:
        return f"SqlSource(table={self.table!r}, key={self.key!r})"

    def _column(self, item: str) -> str:
        return self.columns.get(item) or _name(item, "item")

    def _query(self, columns: list[str], placeholder: str) -> str:
        cols = ", ".join(f'"{c}"' for c in columns)
        return f'SELECT {cols} FROM "{self.table}" WHERE "{self.key}" = {placeholder} LIMIT 1'

    def _check(self) -> None:
        """Read the table's column names once: a wrong path, table or key fails at start-up, and
        an item is only ever looked up in a column that exists (SQLite reads an unknown
        double-quoted name as a string literal, which would release the column's name)."""
        if self._sqlite is not None:
            try:
                with self._lock, contextlib.closing(
                        sqlite3.connect(f"file:{quote(self._sqlite)}?mode=ro", uri=True, timeout=5)) as conn:
                    rows = conn.execute("SELECT name FROM pragma_table_info(?)", (self.table,)).fetchall()
            except sqlite3.Error as err:
                raise DataUnavailable(f"the SQL source cannot be read ({type(err).__name__}: {err})") from None
        else:
            rows = self._pg_rows("SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                                 (self.table,))
        self.known = frozenset(str(r[0]) for r in rows)
        if not self.known:
            raise DataUnavailable(f"the SQL source has no table {self.table!r}")
        if self.key not in self.known:
            raise DataUnavailable(f"the table {self.table!r} has no column {self.key!r}")

    def _fetch(self, columns: list[str], customer_id: str) -> tuple[Any, ...] | None:
        try:
            if self._sqlite is not None:
                # read-only, and never creating a file for a mistyped path
                with self._lock, contextlib.closing(
                        sqlite3.connect(f"file:{quote(self._sqlite)}?mode=ro", uri=True, timeout=5)) as conn:
                    row: tuple[Any, ...] | None = conn.execute(self._query(columns, "?"), (customer_id,)).fetchone()
                    return row
            return self._fetch_pg(columns, customer_id)
        except sqlite3.Error as err:
            raise DataUnavailable(f"the SQL source cannot be read ({type(err).__name__}: {err})") from None

    def _fetch_pg(self, columns: list[str], customer_id: str) -> tuple[Any, ...] | None:
        rows = self._pg_rows(self._query(columns, "%s"), (customer_id,))
        return tuple(rows[0]) if rows else None

    def _pg_rows(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        try:
            import psycopg
        except ImportError:
            raise InvalidArgument("a postgresql:// source needs psycopg: pip install 'psycopg[binary]'",
                                  field="url") from None
        assert self._pg is not None
        try:
            query: Any = sql  # names checked by _name; psycopg wants a literal type
            with psycopg.connect(self._pg, connect_timeout=5) as conn:
                return list(conn.execute(query, params).fetchall())
        except psycopg.Error as err:
            raise DataUnavailable(f"the SQL source cannot be read ({type(err).__name__})") from None

    def __call__(self, customer_id: str, items: tuple[str, ...]) -> dict[str, Any]:
        """The customer's values of ``items``; ``data_unavailable`` for an unknown customer."""
        columns = [self._column(i) for i in items]
        if unknown := [c for c in columns if c not in self.known]:
            raise DataUnavailable(f"the SQL source has no column {', '.join(unknown)}")
        row = self._fetch(columns, customer_id)
        if row is None:
            raise DataUnavailable(f"no customer {customer_id!r} in the SQL source")
        out: dict[str, Any] = {}
        for item, value in zip(items, row, strict=True):
            if value is None:
                continue  # a missing value: fetch_items answers data_unavailable, never a partial release
            if item in self.json_columns and isinstance(value, (str, bytes)):
                try:
                    value = json.loads(value)
                except ValueError:
                    raise DataUnavailable(f"the SQL source's {item} is not JSON") from None
            out[item] = value
        return out
