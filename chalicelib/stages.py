"""Per-stage timestamps of a post's way to a phone, and the AWS calls made on the way.

Each stage of the pipeline marks when a mention (or a task made from it) passed it:

    created (the platform's time) → received (webhook) → queued (SQS SentTimestamp)
    → analyzed → stored → task_written → published (SNS message id) → delivered (a phone)

Every mark is a powertools metric (``Stage<Name>LagMs``: milliseconds since the previous mark
known to the same invocation), so CloudWatch shows where a post waits without a trace store.
Listeners registered with :func:`listen` receive the marks themselves: ``bench/latency.py``
and the tests join them by mention key and task id. Production registers none.

AWS calls are counted on every botocore session the app makes
(``adapters/botocore_sessions.new_session`` registers :func:`count_aws_call`): the analyze
handler reports ``AwsCallsPerMention`` from the count's difference over its batch, which is
exact because a Lambda container runs one invocation at a time.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

STAGES = (
    "created",
    "received",
    "queued",
    "analyzed",
    "stored",
    "task_written",
    "published",
    "delivered",
)
_METRIC = {s: "Stage" + "".join(p.title() for p in s.split("_")) + "LagMs" for s in STAGES}


@dataclass(frozen=True)
class StageMark:
    stage: str
    mention_key: str
    at: float  # epoch seconds
    task_id: str = ""
    message_id: str = ""


Listener = Callable[[StageMark], None]
_listeners: list[Listener] = []
_listeners_lock = threading.Lock()


def listen(listener: Listener) -> Callable[[], None]:
    """Receive every mark made in this process from now on; returns the way to stop."""
    with _listeners_lock:
        _listeners.append(listener)

    def stop() -> None:
        with _listeners_lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return stop


def mark(
    stage: str,
    mention_key: str,
    at: float,
    *,
    since: float | None = None,
    task_id: str = "",
    message_id: str = "",
    metrics: Any = None,
) -> None:
    """Record that ``mention_key`` (or its task) passed ``stage`` at ``at`` (epoch seconds).

    ``since`` is the previous mark this code knows: the lag goes to ``metrics`` (powertools).
    """
    if stage not in _METRIC:
        raise ValueError(f"unknown stage {stage!r}; one of {', '.join(STAGES)}")
    if metrics is not None and since is not None:
        metrics.add_metric(
            name=_METRIC[stage], unit="Milliseconds", value=max(0.0, (at - since) * 1e3)
        )
    if not _listeners:
        return
    m = StageMark(stage, mention_key, at, task_id, message_id)
    with _listeners_lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(m)


class AwsCallCounter:
    """AWS requests sent by this process's botocore sessions, by ``service.Operation``."""

    def __init__(self) -> None:
        self.by_operation: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._local = threading.local()

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.by_operation.values())

    @property
    def in_this_thread(self) -> int:
        """The calls this thread made: one invocation's own, where the local stack runs
        several functions' containers as threads of one process."""
        return int(getattr(self._local, "count", 0))

    def __call__(self, event_name: str = "", **_: Any) -> None:
        # before-send.<service>.<Operation>: one per HTTP attempt, retries included.
        name = event_name.removeprefix("before-send.")
        self._local.count = self.in_this_thread + 1
        with self._lock:
            self.by_operation[name] += 1

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.by_operation)


aws_calls = AwsCallCounter()


def count_aws_call(event_name: str = "", **kwargs: Any) -> None:
    """botocore ``before-send`` handler; returns None so the request goes on."""
    aws_calls(event_name=event_name, **kwargs)
