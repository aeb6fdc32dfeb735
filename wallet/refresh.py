"""Keeping the wallet's status lists fresh while ``copyme wallet serve`` runs.

A signed status list is good for :data:`~wallet.status.LIFETIME` (7 days); a data holder refuses
a consent whose list has expired (``status_unavailable``), so a wallet that only re-signs on
``copyme wallet sync`` would silently stop working for a user who never types it.
:class:`ListRefresher` runs :meth:`Wallet.sync <wallet.wallet.Wallet.sync>` in a background
thread: once when the server starts and then every ``interval`` seconds.  Each run re-signs the
lists that are past half their lifetime and publishes every version the registry does not have
yet (e.g. changes made while it was down).  A run that finds nothing to do is one small query.

The run takes the wallet's guard only around its reads and writes (the wallet's SQLite
connection is shared), never while it talks to the registry, and a failure is logged and
retried at the next run; it never stops the server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from common import Periodic

from .status import PublishResult
from .wallet import Wallet

__all__ = ["DEFAULT_INTERVAL", "ListRefresher"]

#: Seconds between two runs: small against half a list's lifetime (3.5 days), so a list is
#: re-signed within an hour of needing it, and a pending change is retried hourly.
DEFAULT_INTERVAL = 3600.0

log = logging.getLogger("wallet.refresh")


class ListRefresher(Periodic[list[PublishResult]]):
    """Runs ``wallet.sync()`` now and every ``interval`` seconds until :meth:`stop`."""

    name = "wallet-list-refresh"
    what = "status list refresh"

    def __init__(self, wallet: Wallet, *,
                 interval: float = DEFAULT_INTERVAL, now: Callable[[], int | None] = lambda: None) -> None:
        super().__init__(interval=interval, log=log)
        self.wallet = wallet
        self._now = now

    def work(self) -> list[PublishResult]:
        """One refresh: re-sign lists past half their lifetime, publish what is pending."""
        results = self.wallet.sync(now=self._now())  # guards itself, not over the network
        for result in results:
            if result.accepted:
                log.info("status list %s published (iat %s)", result.list_id, result.iat)
            else:
                log.warning("status list %s still pending (%s: %s); retrying in %.0f s",
                            result.list_id, result.error, result.detail, self.interval)
        return results
