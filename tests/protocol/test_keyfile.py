"""Service key files: created once with mode 0600, reused, and damaged files refused by code."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol import DecodeError, Unavailable
from protocol.keyfile import load_or_create_key_file


def test_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "home" / "service.key"
    first = load_or_create_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_key_file(path).did == first.did
    assert not list(path.parent.glob(".*.tmp"))


@pytest.mark.parametrize("content", ["", "zz", "00" * 31, "00" * 33, "\xff"])
def test_damaged_file_is_malformed_not_a_traceback(tmp_path: Path, content: str) -> None:
    path = tmp_path / "service.key"
    path.write_text(content, encoding="latin-1")
    with pytest.raises((DecodeError, Unavailable)) as err:
        load_or_create_key_file(path)
    assert err.value.code in ("malformed", "unavailable")
    assert path.read_text(encoding="latin-1") == content  # nothing stored is lost


def test_missing_without_create(tmp_path: Path) -> None:
    with pytest.raises(Unavailable):
        load_or_create_key_file(tmp_path / "none.key", create=False)
