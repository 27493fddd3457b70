from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.iam import Need, acting_as, granted, record_by_function


@pytest.fixture(scope="session", autouse=True)
def every_aws_call_is_granted() -> Iterator[None]:
    """Across every end-to-end test: each function's AWS calls are allowed by its policy.

    The local stack's pump invokes event functions by name, and the API runs in Chalice's
    local gateway: both are wrapped so the calls made inside are attributed to the function
    (the pump's own receive/delete calls are the event source mapping's, made with the same
    role in AWS). Checked once, when the session ends.
    """
    from chalice.local import LocalGateway

    from local.pump import EventPump

    invoke, handle = EventPump._invoke, LocalGateway.handle_request

    def invoke_as(self: Any, name: str, handler: Any, event: Any) -> Any:
        with acting_as(name):
            return invoke(self, name, handler, event)

    def handle_as(self: Any, *args: Any, **kwargs: Any) -> Any:
        with acting_as("api_handler"):
            return handle(self, *args, **kwargs)

    calls: dict[str, set[Need]] = {}
    EventPump._invoke = invoke_as  # type: ignore[method-assign]
    LocalGateway.handle_request = handle_as  # type: ignore[method-assign]
    try:
        with record_by_function(calls):
            yield
    finally:
        EventPump._invoke = invoke  # type: ignore[method-assign]
        LocalGateway.handle_request = handle  # type: ignore[method-assign]
    missing = {name: sorted(c - granted(name)) for name, c in calls.items() if c - granted(name)}
    assert not missing, f"calls the functions' IAM policies do not allow: {missing}"
