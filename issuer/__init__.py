"""The data user's SDK: sign consent requests, show the CopyMe button, receive consents, fetch data.

Modules: :mod:`~issuer.requests` (build and sign a request), :mod:`~issuer.button` (publish it,
QR code and deep link), :mod:`~issuer.callback` (receive and check a consent),
:mod:`~issuer.status_watch` (follow revocations), :mod:`~issuer.rights` (stop-use and
erasure requests, the deletion hook), :mod:`~issuer.fetch` (present a consent to
the data holder), :mod:`~issuer.records` (APPI recipient records), :mod:`~issuer.store`
(SQLite), :mod:`~issuer.service` (all of it for one company) and :mod:`~issuer.app` (the
Kakeibo demo web app).
"""

from __future__ import annotations

from .button import CopyMeButton, publish, request_url
from .callback import receive_consent
from .fetch import FetchedData, fetch_data, fetch_nonce
from .records import ProviderProfile, RecipientRecord, export_csv, list_records, record_receipt
from .requests import build_request
from .rights import (
    ErasureFailed,
    ErasureHook,
    ErasureOutcome,
    ErasureTask,
    complete_rights,
    erase_copied_data,
    receive_rights_request,
)
from .service import Issuer, IssuerConfig, load_or_create_key
from .status_watch import StatusWatcher
from .store import CopiedItem, IssuerStorage, IssuerStore, StoredConsent, StoredRequest, StoredRights, open_store

__all__ = [
    "CopiedItem",
    "CopyMeButton",
    "ErasureFailed",
    "ErasureHook",
    "ErasureOutcome",
    "ErasureTask",
    "FetchedData",
    "Issuer",
    "IssuerConfig",
    "IssuerStorage",
    "IssuerStore",
    "ProviderProfile",
    "RecipientRecord",
    "StatusWatcher",
    "StoredConsent",
    "StoredRequest",
    "StoredRights",
    "build_request",
    "complete_rights",
    "erase_copied_data",
    "export_csv",
    "fetch_data",
    "fetch_nonce",
    "list_records",
    "load_or_create_key",
    "open_store",
    "publish",
    "receive_consent",
    "receive_rights_request",
    "record_receipt",
    "request_url",
]
