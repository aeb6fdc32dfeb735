"""Running one piece of work now and then every ``interval`` seconds, in a background thread.

Services keep things fresh while they serve: the wallet re-signs its status lists and pulls
usage receipts.  :class:`Periodic` is that loop, written once: a first run at once, then one
every ``interval`` seconds until :meth:`~Periodic.stop`; a run that fails is one log line (a
CopyMe error as its code and detail, anything else with its traceback) and the next run comes
as planned, so a background job never takes its service down and never dies silently.
"""

from __future__ import annotations

import logging
import threading
from typing import Generic, Self, TypeVar

from protocol import CopyMeError

__all__ = ["Periodic"]

T = TypeVar("T")


class Periodic(Generic[T]):
    """Calls :meth:`work` now and every ``interval`` seconds in a daemon thread named ``name``.

    Subclasses implement :meth:`work`; :attr:`last` holds the result of the last run that
    finished and :attr:`runs` counts the runs that ended, failed ones included.
    """

    #: The thread's name, and what a failed run is called in the log.
    name = "copyme-periodic"
    what = "background run"

    def __init__(self, *, interval: float, log: logging.Logger | None = None) -> None:
        if interval <= 0:
            raise ValueError("the interval must be positive")
        self.interval = interval
        self.log = log or logging.getLogger("copyme.periodic")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: The result of the last run, and how many runs have ended.
        self.last: T | None = None
        self.runs = 0

    def work(self) -> T:
        """One run's work (to be written by a subclass)."""
        raise NotImplementedError

    def run_once(self) -> T:
        """One run, now, in the caller's thread."""
        result = self.work()
        self.last = result
        self.runs += 1
        return result

    def _loop(self) -> None:
        while True:
            try:
                self.run_once()
            except CopyMeError as err:  # e.g. a locked or damaged store: say so, keep serving
                self.log.warning("%s failed (%s: %s)", self.what, err.code, err.detail)
                self.runs += 1
            except Exception:  # never let the thread die silently; the next run may succeed
                self.log.exception("%s failed", self.what)
                self.runs += 1
            if self._stop.wait(self.interval):
                return

    def start(self) -> Self:
        """Start the background thread (its first run happens at once); a second call does nothing."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread, waiting up to ``timeout`` seconds for a run in progress."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
