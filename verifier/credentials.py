"""A bounded cache of verified credentials, keyed by their exact bytes.

A data user presents the same consent credential again and again (each time in a new, freshly
signed presentation).  Verifying the same bytes gives the same answer every time, so the decoded
credential and its CID are kept for the next request; only *successful* decodes are cached,
and everything that depends on time or state (validity, links, status) is still checked on every
request.  The key is the full byte string (dict equality compares all of it), so no collision
can swap one credential for another.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from protocol import ConsentCredential, cid_of

__all__ = ["CredentialCache", "DEFAULT_CREDENTIAL_CACHE"]

#: Credentials remembered (about 1 KiB each).
DEFAULT_CREDENTIAL_CACHE = 4096


class CredentialCache:
    """``decode(bytes) -> (credential, cid)``, verifying each distinct credential once."""

    def __init__(self, size: int = DEFAULT_CREDENTIAL_CACHE) -> None:
        self.size = size
        self._items: OrderedDict[bytes, tuple[ConsentCredential, str]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def decode(self, data: bytes) -> tuple[ConsentCredential, str]:
        """The verified credential in ``data`` and its CID; raises what ``ConsentCredential.decode`` raises."""
        with self._lock:
            found = self._items.get(data)
            if found is not None:
                self._items.move_to_end(data)
                self.hits += 1
                return found
        credential = ConsentCredential.decode(data)
        entry = (credential, cid_of(data))
        with self._lock:
            self.misses += 1
            if self.size > 0:
                self._items[data] = entry
                if len(self._items) > self.size:
                    self._items.popitem(last=False)
        return entry
