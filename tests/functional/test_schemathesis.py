"""schemathesis fuzzes the API from its OpenAPI document: no 500s, no answer outside the schema.

The app runs in Chalice's local HTTP server (what ``chalice local`` serves) with the in-memory
fakes wired in; requests carry a national admin's token so they reach the handlers. Examples
are bounded to keep ``make test`` fast on a shared machine.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chalicelib.api.openapi import document
from chalicelib.domain.tasks import Task, TaskStatus
from tests.factories import T0
from tests.functional.conftest import World, store_mention, token

schema = schemathesis.openapi.from_dict(document())
DOCUMENTED = document()["paths"]
STATEFUL_EXAMPLES = 30  # scenarios of up to 6 linked calls; ~? s on one core
# No 500s, and every answer within the document: status, media type, headers and body.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    from chalice.config import Config
    from chalice.local import LocalDevServer

    from app import app
    from local.gateway import ProblemRequestHandler

    config = Config.create(chalice_stage="local", app_name="tvarit", chalice_app=app)
    dev = LocalDevServer(app, config, "127.0.0.1", 0, handler_cls=ProblemRequestHandler)
    host, port = dev.server.server_address[:2]
    thread = threading.Thread(target=dev.server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{host}:{port}"
    dev.shutdown()
    dev.server.server_close()


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case: Any, server: str, world: World) -> None:
    if case.method.lower() not in DOCUMENTED[case.path]:
        # Undeclared methods (TRACE...) are answered by the HTTP server in front of the app
        # (chalice local: 501, API Gateway: 403), not by the app.
        return
    case.call_and_validate(
        base_url=server,
        headers={"Authorization": f"Bearer {token('national_admin')}"},
        checks=CHECKS,
    )


@schema.include(path_regex="^/(me|tasks)/").parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_warrior_routes_conform_to_the_schema(case: Any, server: str, world: World) -> None:
    # As a warrior: the task and device routes then run their handlers through to the end.
    if case.method.lower() not in DOCUMENTED[case.path]:
        return
    case.call_and_validate(
        base_url=server, headers={"Authorization": f"Bearer {token('warrior')}"}, checks=CHECKS
    )


def test_stateful_workflows_conform(server: str, world: World) -> None:
    """The stateful phase: chains of calls joined by the document's links (create a team, then
    read, replace and delete it; list tasks, then read and act on one...)."""
    bearer = {"Authorization": f"Bearer {token('national_admin')}"}
    # Tasks and a mention to reach through the links (team tasks -> task -> act, mention).
    for n in range(3):
        key = store_mention(world, f"s{n}", task_ids=(f"t-s{n}",))
        world.tasks.create(
            Task(f"t-s{n}", "DL-CENTRAL-01", "DL", key, key, T0, status=TaskStatus.DISPATCHED)
        )

    # Every scenario starts from the same world: Hypothesis replays scenarios and calls state
    # that one scenario left behind (a team it created) "inconsistent data generation".
    start = {name: copy.deepcopy(vars(fake)) for name, fake in vars(world).items()}

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            for name, fake in vars(world).items():
                vars(fake).clear()
                vars(fake).update(copy.deepcopy(start[name]))

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": server, "headers": bearer}

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(response, checks=CHECKS, headers=bearer)

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
    )
