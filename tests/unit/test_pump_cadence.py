"""The pump reads a stream shard as Lambda does (issue 17): 4 times a second while it finds
nothing, counted from the start of each read, and again at once after records."""

from __future__ import annotations

import threading
import time

from local.pump import STREAM_POLLS_PER_SECOND, EventPump


class CountedStop(threading.Event):
    """Records each idle wait the pump asks for; stops the loop after ``steps`` of them."""

    def __init__(self, steps: int) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.steps = steps

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(float(timeout or 0.0))
        if len(self.waits) >= self.steps:
            self.set()
        return self.is_set()


def pump_with(stop: CountedStop) -> EventPump:
    pump = EventPump({"sqs": None, "dynamodbstreams": None}, "ap-south-1")
    pump._stop = stop
    return pump


def test_lambda_reads_a_shard_four_times_a_second() -> None:
    assert STREAM_POLLS_PER_SECOND == 4.0


def test_a_slow_read_does_not_stretch_the_cadence() -> None:
    stop = CountedStop(steps=3)

    def slow_empty_read() -> int:
        time.sleep(0.1)  # a loaded machine: the read itself took 0.1 s or more
        return 0

    pump_with(stop)._guard(slow_empty_read, 1.0 / STREAM_POLLS_PER_SECOND)
    # The next read starts 0.25 s after this one began: at most 0.15 s of waiting is left.
    assert len(stop.waits) == 3 and all(w <= 0.15 for w in stop.waits), stop.waits


def test_a_read_that_found_records_is_followed_at_once() -> None:
    stop = CountedStop(steps=1)
    found = iter([5, 3, 0])
    pump_with(stop)._guard(lambda: next(found), 1.0 / STREAM_POLLS_PER_SECOND)
    assert len(stop.waits) == 1  # only after the empty read
