"""The verifier's own errors; everything else it raises comes from :mod:`protocol.errors`.

The tree (added under :class:`protocol.CopyMeError`)::

    CopyMeError
    ├── _Refusal (403)
    │   └── LinkCodeInvalid            link_code_invalid   no such link code for this holder
    ├── DataUnavailable (503)          data_unavailable    the data source failed after a valid grant
    ├── NoDataSource                   no_data_source      a holder started without a data source
    └── RecordsTampered                records_tampered    the records' hash chain is broken (or the receipts have a hole)

A used link code is refused as ``replayed`` and an out-of-date one as ``expired`` (the codes
the protocol already has); only an unknown code needs its own.
"""

from __future__ import annotations

from protocol.errors import CopyMeError, NotLinked

__all__ = ["DataUnavailable", "LinkCodeInvalid", "NoDataSource", "RecordsTampered"]


class LinkCodeInvalid(NotLinked):
    """A link code this holder never issued (or a mistyped one): the DID stays unlinked."""

    code = "link_code_invalid"


class DataUnavailable(CopyMeError):
    """The data source could not answer for a verified grant; nothing is released."""

    code = "data_unavailable"
    http_status = 503
    exit_status = 6


class NoDataSource(CopyMeError):
    """A holder was asked to start (or release) without a data source.

    There is no silent default: built-in demo customers are served only when asked for
    (``source=demo_source()``, or ``copyme verifier serve --demo``).
    """

    code = "no_data_source"
    http_status = 500
    exit_status = 2


class RecordsTampered(CopyMeError):
    """A provision record no longer matches its hash chain, or a customer's usage receipts have a hole
    (one missing or unsigned before a later signed one): the holder's log was edited."""

    code = "records_tampered"
    http_status = 500
    exit_status = 7
