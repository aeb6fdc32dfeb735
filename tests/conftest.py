"""Shared, cheap fixtures: fixed keys, a clock value, and the sample objects of the flow."""

from __future__ import annotations

import pytest

from tests.support import samples


@pytest.fixture
def keys() -> samples.Keys:
    """Fixed-seed keys for the user, the data user, the data holder, a status list and a council."""
    return samples.KEYS


@pytest.fixture
def now() -> int:
    """The fixed time every sample object is issued at."""
    return samples.NOW

# The interop tests run in an environment of their own (pycose and python-cwt, without the
# product): `bash .ci/run` runs them there, so the main suite leaves them out.
collect_ignore = ["interop"]
