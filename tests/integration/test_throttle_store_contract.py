from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.throttle import TeamThrottle
from tests.factories import T0
from tests.fakes import InMemoryThrottleStore


@pytest.fixture(params=["memory", "dynamo"])
def store(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return InMemoryThrottleStore()
    request.getfixturevalue("tables")
    from chalicelib.adapters.dynamo.throttle import DynamoThrottleStore

    return DynamoThrottleStore()


def test_paging_state_is_optimistic_and_due_digests_are_found(store: Any) -> None:
    assert store.load("DL-1") == (None, 0)
    fresh = TeamThrottle(3.0, T0)
    assert store.save("DL-1", "DL", fresh, 0) is True
    assert store.save("DL-1", "DL", fresh, 0) is False  # someone else created it first
    held = TeamThrottle(0.5, T0, ("inc_1", "inc_2"), T0 + timedelta(minutes=30))
    assert store.save("DL-1", "DL", held, 1) is True
    assert store.load("DL-1") == (held, 2)
    store.save("UP-1", "UP", TeamThrottle(0.0, T0, ("inc_9",), T0 + timedelta(hours=2)), 0)
    assert store.due(T0) == []
    assert store.due(T0 + timedelta(minutes=30)) == [("DL-1", "DL")]
    assert sorted(store.due(T0 + timedelta(hours=3))) == [("DL-1", "DL"), ("UP-1", "UP")]
    store.save("DL-1", "DL", TeamThrottle(0.0, T0 + timedelta(minutes=30)), 2)
    assert store.due(T0 + timedelta(hours=3)) == [("UP-1", "UP")]
