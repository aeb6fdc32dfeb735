"""The data holder's gate: release data only under a valid, current consent."""

from __future__ import annotations

__all__: list[str] = []
