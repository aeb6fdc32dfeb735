"""The data user's SDK: sign consent requests, show the CopyMe button, receive consents, fetch data."""

from __future__ import annotations

__all__: list[str] = []
