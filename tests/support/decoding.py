"""Helpers shared by the decoder tests and the atheris harness: a typed view of decoded values
(so that ``1`` and ``True`` compare unequal) and byte-level mutations of known-good inputs."""

from __future__ import annotations

from typing import Any

import cbor2
from hypothesis import strategies as st

__all__ = ["mutations", "typed"]


def typed(value: Any) -> Any:
    """``value`` with the type of every part spelled out, so that ``1`` and ``True`` differ."""
    if isinstance(value, cbor2.CBORTag):
        return ("tag", value.tag, typed(value.value))
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    return (type(value).__name__, value)


@st.composite
def mutations(draw: st.DrawFn, seeds: st.SearchStrategy[bytes]) -> bytes:
    """One of ``seeds`` with one to four bit flips, cuts, insertions, deletions or byte changes."""
    data = bytearray(draw(seeds))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete", "byte"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            data = data[:pos]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and data:
            del data[pos]
        elif data:
            data[pos] = draw(st.integers(0, 255))
    return bytes(data)
