""":func:`wallet.linking.link_code`: the one rule for a link code a person typed or pasted, which the
local API, the dashboard's link form and ``copyme wallet link`` all go through."""

from __future__ import annotations

import pytest

from protocol import MAX_LINK_CODE, InvalidArgument
from wallet.linking import link_code

#: Typed codes every door refuses as ``invalid`` (field ``code``): nothing, only whitespace, too long.
REFUSED = ["", " ", " \n\t\r\n ", "A" * (MAX_LINK_CODE + 1), "  " + "A" * (MAX_LINK_CODE + 1) + "\n"]


@pytest.mark.parametrize("typed,code", [
    ("K7PQ-2M9X", "K7PQ-2M9X"),
    ("  K7PQ-2M9X\n", "K7PQ-2M9X"),
    ("\tk7pq 2m9x\r\n", "k7pq 2m9x"),  # inner spaces and case are the holder's to judge
    (" " + "A" * MAX_LINK_CODE + "\n", "A" * MAX_LINK_CODE),
    ("A", "A"),
])
def test_a_code_loses_the_whitespace_around_it(typed: str, code: str) -> None:
    assert link_code(typed) == code


@pytest.mark.parametrize("typed", [*REFUSED, None])
def test_nothing_blank_or_too_long_is_invalid(typed: str | None) -> None:
    with pytest.raises(InvalidArgument) as raised:
        link_code(typed)
    assert raised.value.code == "invalid" and raised.value.field == "code"
    assert isinstance(raised.value, ValueError)
