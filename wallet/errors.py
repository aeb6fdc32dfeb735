"""The wallet's own reason codes, for cases the shared protocol errors do not name.

The tree (all under :class:`protocol.CopyMeError`)::

    CopyMeError
    ├── WrongPassphrase          wrong_passphrase   the passphrase does not open the key file
    ├── WalletLocked             locked             a signing operation on a wallet opened without passphrase
    ├── WalletExists             wallet_exists      ``init``/``restore`` refuse to overwrite a wallet
    ├── NotInitialised           not_initialised    no wallet in this home folder yet
    ├── CorruptStore             corrupt_store      the database or key file is damaged (nothing is reset)
    ├── Undelivered              undelivered        the consent is stored, but its callback did not take it
    ├── BadBackup                bad_backup         not a CopyMe wallet backup, or a newer version
    ├── BadPhrase                bad_phrase         a recovery phrase with a word off the list or a bad checksum
    ├── UnverifiedRequester      unverified_requester  accepting an UNVERIFIED request without saying so
    ├── Unauthorised             unauthorised       a local API call without the bearer token (the dashboard's
    │                                               refusals subclass it with 403)
    ├── NoRightsEndpoint         no_rights_endpoint the data user declared no endpoint for rights requests
    └── Conflict                 conflict           (protocol's)
        └── AlreadyReplaced      conflict           replacing a relationship key that was already replaced
"""

from __future__ import annotations

from protocol import Conflict, CopyMeError

__all__ = [
    "AlreadyReplaced",
    "BadBackup",
    "BadPhrase",
    "CorruptStore",
    "NoRightsEndpoint",
    "NotInitialised",
    "Unauthorised",
    "Undelivered",
    "UnverifiedRequester",
    "WalletExists",
    "WalletLocked",
    "WrongPassphrase",
]


class WrongPassphrase(CopyMeError):
    """The passphrase does not decrypt the key file (or the backup)."""

    code = "wrong_passphrase"
    http_status = 401
    exit_status = 3


class WalletLocked(CopyMeError):
    """The wallet was opened without its passphrase, and this operation needs its keys."""

    code = "locked"
    http_status = 401
    exit_status = 3


class WalletExists(CopyMeError):
    """There is already a wallet in this home folder; it is never overwritten."""

    code = "wallet_exists"
    http_status = 409
    exit_status = 5


class NotInitialised(CopyMeError):
    """No wallet in this home folder: run ``copyme wallet init`` (or ``restore``) first."""

    code = "not_initialised"
    http_status = 404
    exit_status = 4


class CorruptStore(CopyMeError):
    """The database or key file cannot be read; it is left untouched for the user to recover."""

    code = "corrupt_store"
    http_status = 500
    exit_status = 7


class Undelivered(CopyMeError):
    """The consent is kept in the wallet, but the data user's callback did not accept it."""

    code = "undelivered"
    http_status = 502
    exit_status = 6


class BadBackup(CopyMeError):
    """The file is not a CopyMe wallet backup this version can read."""

    code = "bad_backup"
    exit_status = 2


class BadPhrase(CopyMeError):
    """A recovery phrase that is not one: wrong length, a word not on the list, or a bad checksum.

    The detail names the first bad word (``word 7: 'abandn' is not on the word list``) so the
    user can fix that word; nothing is created.
    """

    code = "bad_phrase"
    http_status = 422
    exit_status = 2


class UnverifiedRequester(CopyMeError):
    """The requester is not on the trust list, and the answer did not say it accepts that.

    The CLI needs ``--accept-unverified`` for such a request (privacy by default): its name is
    the requester's own claim, nobody vouches for it.
    """

    code = "unverified_requester"
    http_status = 409
    exit_status = 5


class Unauthorised(CopyMeError):
    """No or a wrong bearer token for the local API (the web pages answer a missing session with
    their own subclass, 403)."""

    code = "unauthorised"
    http_status = 401


class NoRightsEndpoint(CopyMeError):
    """The consent's request declared no ``rights`` endpoint: there is nowhere to send a rights request."""

    code = "no_rights_endpoint"
    http_status = 409
    exit_status = 5


class AlreadyReplaced(Conflict):
    """A key replacement of a relationship key that was already replaced (a second click, a
    replayed call): nothing changes.  The shared ``conflict`` code; its own class so a page can
    say exactly this in plain words."""
