"""common.Periodic: a first run at once, then one every interval; a failed run is one log line
and the loop goes on; stop waits for the run in progress."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pytest

from common import Periodic
from protocol import Unavailable


class Counter(Periodic[int]):
    name = "test-counter"
    what = "counting"

    def __init__(self, interval: float, fail: Callable[[int], BaseException | None] = lambda n: None) -> None:
        super().__init__(interval=interval, log=logging.getLogger("test.periodic"))
        self.calls = 0
        self.fail = fail

    def work(self) -> int:
        self.calls += 1
        problem = self.fail(self.calls)
        if problem is not None:
            raise problem
        return self.calls


def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_runs_at_once_then_every_interval_until_stopped() -> None:
    counter = Counter(interval=0.05)
    assert counter.run_once() == 1 and counter.last == 1 and counter.runs == 1
    started = counter.start()
    assert started is counter and counter.start() is counter  # a second start adds no thread
    _until(lambda: counter.runs >= 4)
    counter.stop()
    assert counter._thread is None
    ended = counter.runs
    time.sleep(0.2)
    assert counter.runs == ended  # stopped for good
    assert not [t for t in threading.enumerate() if t.name == "test-counter"]


def test_a_failed_run_is_one_line_and_the_next_run_comes(caplog: pytest.LogCaptureFixture) -> None:
    failures = {1: Unavailable("the registry did not answer"), 2: RuntimeError("boom")}
    counter = Counter(interval=0.05, fail=failures.get)
    with caplog.at_level(logging.INFO, logger="test.periodic"):
        counter.start()
        _until(lambda: counter.last is not None)
        counter.stop()
    assert counter.last is not None and counter.last >= 3 and counter.runs >= 3
    coded = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert [r.getMessage() for r in coded] == ["counting failed (unavailable: the registry did not answer)"]
    assert coded[0].exc_info is None  # a coded error needs no traceback
    other = [r for r in caplog.records if r.exc_info]
    assert len(other) == 1 and "boom" in str(other[0].exc_info[1])  # type: ignore[index]


@pytest.mark.parametrize("interval", [0, -1])
def test_the_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(ValueError):
        Counter(interval=interval)
