"""Editing a decoded claims tree in a test: put a value at a path, or take away what is there."""

from __future__ import annotations

from typing import Any

__all__ = ["GONE", "put"]

#: Put this at a path to take away what is there.
GONE: Any = object()


def put(claims: Any, path: tuple[Any, ...], value: Any) -> None:
    """Put ``value`` at ``path`` (keys and indexes, outermost first) in ``claims``, in place;
    :data:`GONE` takes away what is there instead."""
    parent = claims
    for step in path[:-1]:
        parent = parent[step]
    if value is GONE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
