"""The status registry: serves signed status lists and pushes their changes; holds no consents."""

from __future__ import annotations

__all__: list[str] = []
