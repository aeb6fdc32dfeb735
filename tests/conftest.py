"""Shared, cheap fixtures: fixed keys, a clock value, and the sample objects of the flow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import postgres, samples


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

@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[postgres.Cluster]:
    """One throwaway PostgreSQL cluster for the whole run, started on first use.

    It fails (never skips) when PostgreSQL cannot start: the PostgreSQL backends are tested.
    """
    cluster = postgres.start()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def pg_dsn(pg_cluster: postgres.Cluster) -> str:
    """A fresh, empty database in the test cluster."""
    return pg_cluster.create_database()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str | None:
    """Runs a test once per storage backend: ``None`` (SQLite in the home folder) or a DSN."""
    if request.param == "sqlite":
        return None
    dsn: str = request.getfixturevalue("pg_dsn")
    return dsn
