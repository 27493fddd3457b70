from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.worker import PLUGIN_ENV
from tests.e2e.iam import (
    CALLS_DIR_ENV,
    WORKER_PLUGIN,
    Need,
    acting_as,
    granted,
    record_by_function,
    worker_calls,
)


# Package scope: the recording ends with the e2e tests, so the tiers that run after them (a
# functional test's own AWS stand-in, say) are not judged against the deployed policies.
@pytest.fixture(scope="package", autouse=True)
def every_aws_call_is_granted() -> Iterator[None]:
    """Across every end-to-end test: each function's AWS calls are allowed by its policy.

    The local stack's pump invokes event functions by name, and the API runs in Chalice's
    local gateway: both are wrapped so the calls made inside are attributed to the function
    (the pump's own receive/delete calls are the event source mapping's, made with the same
    role in AWS). Worker processes of a multi-process stack record theirs into a directory
    (``iam.record_in_worker``). Checked once, when the session ends.
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
    workers = Path(tempfile.mkdtemp(prefix="tvarit-iam-"))
    saved = {name: os.environ.get(name) for name in (PLUGIN_ENV, CALLS_DIR_ENV)}
    os.environ.update({PLUGIN_ENV: WORKER_PLUGIN, CALLS_DIR_ENV: str(workers)})
    EventPump._invoke = invoke_as  # type: ignore[method-assign]
    LocalGateway.handle_request = handle_as  # type: ignore[method-assign]
    try:
        with record_by_function(calls):
            yield
    finally:
        EventPump._invoke = invoke  # type: ignore[method-assign]
        LocalGateway.handle_request = handle  # type: ignore[method-assign]
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    for function, needs in worker_calls(workers).items():
        calls.setdefault(function, set()).update(needs)
    for path in workers.iterdir():
        path.unlink()
    workers.rmdir()
    missing = {name: sorted(c - granted(name)) for name, c in calls.items() if c - granted(name)}
    assert not missing, f"calls the functions' IAM policies do not allow: {missing}"
