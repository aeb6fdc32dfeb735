"""The ``copyme`` command: one CLI over the wallet, issuer, verifier and registry, plus the demo."""

from __future__ import annotations

from protocol import __version__

__all__ = ["__version__"]
