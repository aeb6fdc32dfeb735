"""Who may create a list at this registry, and how big it may be: the admission policy.

Anyone may publish (a list is pinned to its own key at first upload, and that key, not an
account, authorises later versions), so without limits anyone could fill the disk: an outside
review created 40 lists of 1 MiB in 6 s.  The policy:

- **Size cap.** Lists have fixed sizes (a wallet makes every list the same size, so that a
  list's size says nothing about its owner), so a registry accepts new lists of at most
  ``max_list_size`` entries (default ``protocol.DEFAULT_LIST_SIZE``, 16,384; ``too_large``
  otherwise), and a body no larger than a token of that size can be
  (:attr:`Admission.max_token_size`, ``too_large`` before reading past it).
- **New lists per client.** Each client address may create ``new_lists_per_minute`` lists per
  minute, with bursts up to ``burst`` (a token bucket); beyond that ``rate_limited`` (HTTP 429,
  ``Retry-After``).  Updates of an existing list are not counted: they replace, they do not grow.

Behind a reverse proxy every client has the proxy's address; give such a registry a larger
allowance, or limit at the proxy.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from protocol import DEFAULT_LIST_SIZE, CopyMeError, TooLarge

__all__ = ["DEFAULT_NEW_LISTS_PER_MINUTE", "TOKEN_OVERHEAD", "Admission", "RateLimited"]

#: New lists one client may create per minute (and in one burst), by default.
DEFAULT_NEW_LISTS_PER_MINUTE = 120
#: Bytes a StatusListToken carries besides its compressed list: COSE structure, header, claims
#: (a list URI of up to 1 KiB, the signer's DID, times), and the signature.  Generous on purpose.
TOKEN_OVERHEAD = 2048
#: Client addresses whose buckets are remembered (the least recently seen are forgotten first).
_MAX_CLIENTS = 10_000


class RateLimited(CopyMeError):
    """This client created too many lists too quickly; ``retry_after`` says when to try again."""

    code = "rate_limited"
    http_status = 429
    exit_status = 6

    def __init__(self, detail: str = "", *, retry_after: int = 60) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        #: Sent with the HTTP answer (see ``common.web``).
        self.http_headers = {"Retry-After": str(retry_after)}


def zlib_bound(size: int) -> int:
    """The most bytes zlib can make of ``size`` input bytes (zlib's ``compressBound``)."""
    return size + (size >> 12) + (size >> 14) + (size >> 25) + 13


class Admission:
    """The registry's admission policy (see the module docstring); safe to share between threads."""

    def __init__(self, *, max_list_size: int = DEFAULT_LIST_SIZE,
                 new_lists_per_minute: float = DEFAULT_NEW_LISTS_PER_MINUTE, burst: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_list_size < 4 or max_list_size % 4 or new_lists_per_minute <= 0:
            raise ValueError("max_list_size must be a positive multiple of 4 and the rate positive")
        self.max_list_size = max_list_size
        self.new_lists_per_minute = float(new_lists_per_minute)
        self.burst = int(burst if burst is not None else max(1, math.ceil(new_lists_per_minute)))
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def max_token_size(self) -> int:
        """The largest token a list of :attr:`max_list_size` 2-bit entries can make."""
        return zlib_bound(self.max_list_size // 4) + TOKEN_OVERHEAD

    def check_new_list(self, size: int) -> None:
        """``too_large`` if a new list has more entries than this registry takes."""
        if size > self.max_list_size:
            raise TooLarge(f"this registry takes lists of at most {self.max_list_size} entries, not {size}")

    def admit_new_list(self, client: str) -> None:
        """Count one new list for ``client``; ``rate_limited`` if its allowance is used up."""
        rate = self.new_lists_per_minute / 60.0
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / rate))
                raise RateLimited(f"this client may create {self.new_lists_per_minute:g} lists a minute; "
                                  f"try again in {wait} s", retry_after=wait)
            self._buckets[client] = (tokens - 1.0, now)
            while len(self._buckets) > _MAX_CLIENTS:
                self._buckets.popitem(last=False)
