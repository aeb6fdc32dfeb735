"""Worker configuration handed from ``serve --workers N`` to each worker process."""

from __future__ import annotations

import pytest

from common import worker_config


def test_worker_config_reads_what_the_parent_wrote(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYME_TEST_SERVE", '{"home": "/h", "workers": 4, "db": null}')
    assert worker_config("COPYME_TEST_SERVE") == {"home": "/h", "workers": 4, "db": None}


def test_worker_config_that_is_not_a_map_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYME_TEST_SERVE", "[1, 2]")
    with pytest.raises(ValueError):
        worker_config("COPYME_TEST_SERVE")
