"""Stage marks and the AWS call counter (issue 17): what bench-latency and the metrics read."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from chalicelib.stages import STAGES, AwsCallCounter, StageMark, listen, mark


@dataclass
class RecordingMetrics:
    added: list[tuple[str, str, float]] = field(default_factory=list)

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.added.append((name, unit, value))


def test_listeners_receive_marks_until_they_stop() -> None:
    seen: list[StageMark] = []
    stop = listen(seen.append)
    mark("received", "x#1", 100.0)
    mark("published", "x#1", 101.5, task_id="t_1", message_id="m-1")
    stop()
    mark("delivered", "x#1", 102.0)
    assert seen == [
        StageMark("received", "x#1", 100.0),
        StageMark("published", "x#1", 101.5, "t_1", "m-1"),
    ]


@pytest.mark.parametrize(
    ("stage", "at", "since", "metric"),
    [
        ("queued", 10.25, 10.0, ("StageQueuedLagMs", "Milliseconds", 250.0)),
        ("task_written", 12.0, 11.5, ("StageTaskWrittenLagMs", "Milliseconds", 500.0)),
        # Clocks of two machines (SQS's SentTimestamp, ours) may disagree: never negative.
        ("analyzed", 9.9, 10.0, ("StageAnalyzedLagMs", "Milliseconds", 0.0)),
    ],
)
def test_a_mark_with_its_previous_stage_is_a_lag_metric(
    stage: str, at: float, since: float, metric: tuple[str, str, float]
) -> None:
    metrics = RecordingMetrics()
    mark(stage, "x#1", at, since=since, metrics=metrics)
    assert metrics.added == [metric]


def test_no_previous_stage_no_metric() -> None:
    metrics = RecordingMetrics()
    mark("received", "x#1", 1.0, metrics=metrics)
    assert metrics.added == []


def test_an_unknown_stage_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown stage 'phoned'"):
        mark("phoned", "x#1", 1.0)
    assert STAGES[0] == "created" and STAGES[-1] == "delivered"


def test_the_counter_counts_by_operation_and_by_thread() -> None:
    counter = AwsCallCounter()
    counter(event_name="before-send.dynamodb.GetItem")
    counter(event_name="before-send.dynamodb.GetItem")
    other: list[Any] = []

    def elsewhere() -> None:
        counter(event_name="before-send.sns.Publish")
        other.append(counter.in_this_thread)

    t = threading.Thread(target=elsewhere)
    t.start()
    t.join()
    assert counter.snapshot() == {"dynamodb.GetItem": 2, "sns.Publish": 1}
    assert (counter.total, counter.in_this_thread, other) == (3, 2, [1])


def test_every_lag_metric_is_on_the_dashboard() -> None:
    from chalicelib.stages import _METRIC
    from infra.stack import STAGE_METRICS

    # created and received start the way; delivered happens on a phone: no lag metric.
    emitted = {_METRIC[s] for s in STAGES if s not in ("created", "received", "delivered")}
    assert emitted == set(STAGE_METRICS)
