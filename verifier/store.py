"""The holder's one SQLite file: opened once, WAL mode, shared by the stores behind one lock.

FastAPI runs sync work in a thread pool, so the connection is shared across threads
(``check_same_thread=False``) and every store serialises its statements on :data:`Database.lock`.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import sqlite_utils

__all__ = ["Database", "open_database"]


class Database(sqlite_utils.Database):
    """A ``sqlite_utils.Database`` with a re-entrant lock that its users hold around statements."""

    lock: threading.RLock


def open_database(path: str | Path | None) -> Database:
    """Open (creating) the SQLite file at ``path``, or an in-memory database for ``None``."""
    conn = sqlite3.connect(":memory:" if path is None else str(path), check_same_thread=False,
                           isolation_level=None)
    db = Database(conn)
    db.lock = threading.RLock()
    if path is not None:
        conn.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL survives a crash of the process (what a restart is); only a power cut can
        # lose the last transactions, and those are at most a replay window old.
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    return db
