"""The user's consent wallet: keys, consents, status lists; CLI, local API and dashboard.

Front door: :class:`Wallet` (``Wallet.init`` / ``Wallet.open``), the views it returns
(:class:`Review`, :class:`ConsentView`, :class:`ConsentDetail`, :class:`ChangeResult`,
:class:`PublishResult`, :class:`HeldReceipt`, :class:`PullResult`, :class:`PullState`, :class:`RightsView`) and the wallet's own errors.  ``wallet.cli`` and
``wallet.api`` are thin layers over it.
"""

from __future__ import annotations

from .backup import read_backup, restore, write_backup
from .consents import ConsentView, ItemView, PurposeView, Review
from .derive import Seed
from .errors import (
    AlreadyReplaced,
    BadBackup,
    BadPhrase,
    CorruptStore,
    NoRightsEndpoint,
    NotInitialised,
    Unauthorised,
    Undelivered,
    UnverifiedRequester,
    WalletExists,
    WalletLocked,
    WrongPassphrase,
)
from .home import Home
from .pull import PullResult, ReceiptPuller
from .receipts import HeldReceipt, PullState
from .results import ChangeResult, ConsentDetail
from .rights import RightsDesk, RightsView
from .status import PublishResult
from .trust import TrustCheck
from .wallet import Wallet

__all__ = [
    "AlreadyReplaced",
    "BadBackup",
    "BadPhrase",
    "ChangeResult",
    "ConsentDetail",
    "ConsentView",
    "CorruptStore",
    "HeldReceipt",
    "Home",
    "ItemView",
    "NoRightsEndpoint",
    "NotInitialised",
    "PublishResult",
    "PullResult",
    "PullState",
    "PurposeView",
    "ReceiptPuller",
    "Review",
    "RightsDesk",
    "RightsView",
    "Seed",
    "TrustCheck",
    "Unauthorised",
    "Undelivered",
    "UnverifiedRequester",
    "Wallet",
    "WalletExists",
    "WalletLocked",
    "WrongPassphrase",
    "read_backup",
    "restore",
    "write_backup",
]
