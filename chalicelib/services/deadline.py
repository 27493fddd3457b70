"""Leave time to report: stop taking records when the invocation's deadline is near.

Lambda kills an invocation at its timeout; a batch handler killed mid-batch reports nothing,
so SQS redelivers the whole batch (records already done included, each one more receive
towards the dead-letter queue) and a stream retries it from the start. A handler that checks
its remaining time before each record instead hands the rest back as batch item failures and
returns while it still can.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import OutOfTimeError

# One record's worst case under the AWS budget (adapters/aws_budget.py: about 12 s for a call
# that keeps timing out) would leave the 30 s event functions little; the common slow case,
# a throttled call retried with backoff, fits in 5 s with time to answer.
DEFAULT_MARGIN_MS = 5_000


@dataclass(frozen=True)
class Deadline:
    """The invocation's remaining time (``context.get_remaining_time_in_millis``) and a margin."""

    remaining_ms: Callable[[], float]
    margin_ms: int = DEFAULT_MARGIN_MS

    @classmethod
    def of(cls, context: Any, margin_ms: int = DEFAULT_MARGIN_MS) -> Deadline:
        """The deadline of a Lambda context, read when the invocation starts; none without one.

        The margin is at most a quarter of the time the invocation starts with, so a function
        with a short timeout (Lambda's default and ``chalice local``'s is 3 s) still works.
        """
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if remaining is None:
            return cls(lambda: float("inf"), margin_ms)
        return cls(remaining, int(min(margin_ms, remaining() / 4)))

    def near(self) -> bool:
        return self.remaining_ms() < self.margin_ms

    def check(self) -> None:
        """Raise :class:`OutOfTimeError` when a new record should not be started."""
        if self.near():
            raise OutOfTimeError(
                f"under {self.margin_ms} ms of the invocation left: handed back for a retry"
            )
