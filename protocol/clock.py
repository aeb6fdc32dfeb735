"""The one place that reads the wall clock, so every check can take ``now=`` instead."""

from __future__ import annotations

import time

__all__ = ["now"]


def now(value: int | None = None) -> int:
    """``value`` if given, else the current Unix time in whole seconds (CWT NumericDate)."""
    return int(time.time()) if value is None else int(value)
