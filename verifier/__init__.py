"""The data holder's gate: release data only under a valid, current consent.

``verify_presentation(data, ...) -> Grant`` is the whole decision; :class:`Holder` ties it to a
key, stores (links, replay cache, nonces, provision records) in a SQLite file or, shared by many
workers, in PostgreSQL (:class:`HolderDatabase`, :func:`open_store`), a status cache that follows
the registry's change feed, recipient names from its trust list, and a data source.  ``verifier.app.create_app`` serves it over HTTP.
"""

from __future__ import annotations

from .commits import GroupCommit
from .credentials import CredentialCache
from .errors import DataUnavailable, LinkCodeInvalid, NoDataSource, RecordsTampered
from .grant import Grant
from .holder import Holder, Release, load_or_create_key
from .links import LinkStore
from .receipts import Attempt, ReceiptLog, ReceiptPage, StoredReceipt
from .records import Records
from .replay import Claims, NonceStore, ReplayCache
from .sources import DEMO_CUSTOMERS, DataSource, demo_source, fetch_items, load_source
from .sql_source import SqlSource
from .status_cache import DEFAULT_MAX_STALENESS, StatusCache
from .store import HolderDatabase, open_database, open_store
from .trust import TrustNames
from .verify import MAX_PRESENTATION_SIZE, verify_presentation

__all__ = [
    "Attempt",
    "Claims",
    "CredentialCache",
    "DEFAULT_MAX_STALENESS",
    "DEMO_CUSTOMERS",
    "DataSource",
    "DataUnavailable",
    "Grant",
    "GroupCommit",
    "Holder",
    "HolderDatabase",
    "LinkCodeInvalid",
    "LinkStore",
    "MAX_PRESENTATION_SIZE",
    "NoDataSource",
    "NonceStore",
    "ReceiptLog",
    "ReceiptPage",
    "Records",
    "RecordsTampered",
    "Release",
    "ReplayCache",
    "SqlSource",
    "StatusCache",
    "StoredReceipt",
    "TrustNames",
    "demo_source",
    "fetch_items",
    "load_or_create_key",
    "load_source",
    "open_database",
    "open_store",
    "verify_presentation",
]
