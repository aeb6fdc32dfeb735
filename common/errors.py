"""The error classes that only the shared web glue raises.

Both are HTTP-side codes: a route the service does not have is ``not_found`` (a
:class:`~protocol.errors.NotFound`), a route it has under another method is
``method_not_allowed``, and an unexpected exception is ``internal``.  They subclass
:class:`~protocol.errors.CopyMeError` so that clients rebuild them like any other code.
"""

from __future__ import annotations

from protocol import CopyMeError

__all__ = ["Internal", "MethodNotAllowed"]


class MethodNotAllowed(CopyMeError):
    """The route exists, but not for this HTTP method (the ``Allow`` header lists the ones it has)."""

    code = "method_not_allowed"
    http_status = 405


class Internal(CopyMeError):
    """An unexpected failure inside a service; the body never says more than ``internal error``."""

    code = "internal"
    http_status = 500
    exit_status = 1
