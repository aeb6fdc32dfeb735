"""The user's consent wallet: keys, consents, status lists; CLI, local API and dashboard."""

from __future__ import annotations

__all__: list[str] = []
