"""The status registry: serves signed status lists and pushes their changes; holds no consents.

Library front door: :class:`Registry` (the write rules and the trust list over a SQLite file or a
PostgreSQL database, see :class:`RegistryStore`),
:func:`create_app` (the FastAPI service), :func:`check_list_id`, and the admission policy
(:class:`Admission`: a size cap on new lists, new lists per client).  The HTTP client lives in
the shared glue package (``common.RegistryClient``) so that wallets and verifiers need not
import this package.
"""

from __future__ import annotations

import typing as _typing

from .admission import Admission, RateLimited
from .council import load_council_key
from .service import LIST_ID_PATTERN, MAX_TOKEN_SIZE, Published, Registry, check_list_id
from .store import Event, ListRow, RegistryStore

__all__ = [
    "Admission",
    "Event",
    "LIST_ID_PATTERN",
    "ListRow",
    "MAX_TOKEN_SIZE",
    "Published",
    "RateLimited",
    "Registry",
    "RegistryStore",
    "check_list_id",
    "create_app",
    "load_council_key",
]


def __getattr__(name: str) -> _typing.Any:
    """Load the FastAPI app factory only when asked for: every ``copyme`` command imports this
    package, and FastAPI alone costs about half a second of start-up."""
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
