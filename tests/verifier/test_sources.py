"""Data sources: the demo source hands out copies, cheaply, and never its own records."""

from __future__ import annotations

from verifier.sources import DEMO_CUSTOMERS, demo_source, fetch_items, json_copy


def test_json_copy_is_equal_and_independent() -> None:
    original = {"a": [1, {"b": "x", "c": None, "d": 1.5, "e": True}], "t": (1, [2])}
    copied = json_copy(original)
    assert copied == original
    copied["a"][1]["b"] = "changed"
    copied["t"][1].append(3)
    assert original == {"a": [1, {"b": "x", "c": None, "d": 1.5, "e": True}], "t": (1, [2])}


def test_released_items_cannot_alter_the_source() -> None:
    items = fetch_items(demo_source(), "C-1001", ("transactions",))
    items["transactions"][0]["amount"] = 0
    items["transactions"].clear()
    assert DEMO_CUSTOMERS["C-1001"]["transactions"][0]["amount"] == 285_000
