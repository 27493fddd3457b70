"""The wait before a retried contended write (adapters/dynamo/incidents.contention_pause)."""

from __future__ import annotations

import pytest

from chalicelib.adapters.dynamo.incidents import PAUSE_SECONDS, contention_pause


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [
        (0, 0.99, None),  # the first try never waits
        (1, 0.0, 0.0),  # full jitter: a retry may go at once ...
        (1, 0.5, PAUSE_SECONDS / 2),
        (1, 1.0, PAUSE_SECONDS),  # ... or wait up to the bound
        (2, 1.0, PAUSE_SECONDS * 2),  # each later retry doubles the bound
        (4, 0.25, PAUSE_SECONDS * 2),
    ],
)
def test_contention_pause(attempt: int, rand: float, expected: float | None) -> None:
    slept: list[float] = []
    contention_pause(attempt, rand=lambda: rand, sleep=slept.append)
    assert slept == ([] if expected is None else [pytest.approx(expected)])
