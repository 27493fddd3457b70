"""Real answers of the handlers validate against the OpenAPI response schemas, which are closed.

The schemas are generated from ``chalicelib.api.wire``, the types the views build; with
``additionalProperties: false`` and every key required, a field a view sends that the document
lacks (or the reverse) fails here.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

import jsonschema
import pytest
from chalice.test import Client

from chalicelib.api.http import task_json
from chalicelib.api.openapi import document
from chalicelib.domain.incidents import IncidentRecord
from chalicelib.domain.tasks import Task, TaskAction, TaskStatus, transition
from tests.factories import T0
from tests.functional.conftest import World, auth, store_mention

TASK = Task(
    task_id="t-1",
    team_id="DL-CENTRAL-01",
    state="DL",
    district="CENTRAL",
    incident_key="inc_1",
    mention_key="x#1",
    created_at=T0,
    status=TaskStatus.DISPATCHED,
    version=2,
    leader_id="arvind-kejriwal",
    leader_name="अरविंद केजरीवाल",
    query_ids=("q-demonetisation",),
    category="economy",
    severity=4,
    lang="hi",
    excerpt="नोटबंदी के बाद",
    url="https://x.com/a/status/1",
    priority=12.5,
)


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    root = {**schema, "components": document()["components"]}
    return jsonschema.Draft202012Validator(root)


def _response_schema(method: str, template: str, status: int) -> dict[str, Any]:
    response = document()["paths"][template][method.lower()]["responses"][str(status)]
    (media,) = response["content"].values()
    return dict(media["schema"])


@pytest.fixture
def full_world(world: World) -> World:
    world.tasks.create(TASK)
    current = world.tasks.get(TASK.task_id)
    assert current is not None
    acked, event = transition(current, TaskAction.ACK, "w1", T0 + timedelta(minutes=2), "")
    assert event is not None
    world.tasks.save_transition(acked, event, current.version)
    store_mention(world, "1", task_ids=(TASK.task_id,))
    world.incidents.index.records["inc_1"] = IncidentRecord(
        "inc_1", "arvind-kejriwal", ("q-demonetisation",), (), T0, T0, ("x#1",)
    )
    return world


# (method, url, route template, who, body, status)
CALLS: list[tuple[str, str, str, str, Any, int]] = [
    ("GET", "/health", "/health", "warrior", None, 200),
    ("GET", "/me/tasks", "/me/tasks", "warrior", None, 200),
    ("GET", "/teams/DL-CENTRAL-01/tasks", "/teams/{team_id}/tasks", "state_head", None, 200),
    ("GET", "/tasks/t-1", "/tasks/{task_id}", "warrior", None, 200),
    (
        "POST",
        "/tasks/t-1/complete",
        "/tasks/{task_id}/complete",
        "warrior",
        {"response_url": "https://x.com/r/1"},
        200,
    ),
    ("GET", "/mentions?state=DL", "/mentions", "state_head", None, 200),
    ("GET", "/mentions/x%231", "/mentions/{key}", "state_head", None, 200),
    ("GET", "/incidents/inc_1", "/incidents/{incident_key}", "state_head", None, 200),
    ("GET", "/stats?state=DL", "/stats", "state_head", None, 200),
    ("GET", "/stats?state=RJ", "/stats", "national_admin", None, 200),  # no tasks at all
    ("GET", "/audit?scope=DL", "/audit", "state_head", None, 200),
    ("GET", "/routes", "/routes", "state_head", None, 200),
    ("POST", "/me/devices", "/me/devices", "warrior", {"platform": "fcm", "token": "t" * 20}, 201),
    ("GET", "/me/devices", "/me/devices", "warrior", None, 200),
    (
        "POST",
        "/keyword-queries/preview",
        "/keyword-queries/preview",
        "state_head",
        {"query": "नोटबंदी"},
        200,
    ),
    ("GET", "/leaders/nobody", "/leaders/{object_id}", "state_head", None, 404),
]


@pytest.mark.parametrize(("method", "url", "template", "who", "body", "status"), CALLS)
def test_a_real_answer_validates_against_its_closed_schema(
    client: Client,
    full_world: World,
    method: str,
    url: str,
    template: str,
    who: str,
    body: Any,
    status: int,
) -> None:
    # Something to audit, in DL.
    client.http.post(
        "/leaders",
        headers=auth("national_admin"),
        body=json.dumps({"id": "l-a", "name": "A", "state": "DL"}),
    )
    response = client.http.request(
        method, url, headers=auth(who), body="" if body is None else json.dumps(body)
    )
    assert response.status_code == status, response.body
    answer = json.loads(response.body)
    errors = list(_validator(_response_schema(method, template, status)).iter_errors(answer))
    assert errors == [], [e.message for e in errors]


def test_the_task_schema_is_exactly_what_task_json_sends() -> None:
    schema = document()["components"]["schemas"]["Task"]
    sent = task_json(TASK)
    assert set(schema["properties"]) == set(sent)
    assert set(schema["required"]) == set(sent)
    assert schema["additionalProperties"] is False
    assert {"url", "excerpt", "leader_name", "lang"} <= set(schema["properties"])


def test_a_field_the_document_lacks_fails_validation() -> None:
    # The check above would pass vacuously if the schemas were open.
    extra = {**task_json(TASK), "sns_message_id": "leaked"}
    assert not _validator({"$ref": "#/components/schemas/Task"}).is_valid(extra)
    missing = task_json(TASK)
    del missing["url"]  # type: ignore[misc]
    assert not _validator({"$ref": "#/components/schemas/Task"}).is_valid(missing)
    assert _validator({"$ref": "#/components/schemas/Task"}).is_valid(task_json(TASK))


def test_stats_fields_match_the_domain_and_completion_rate_is_defined() -> None:
    from chalicelib.domain.stats import ResponseStats

    schema = document()["components"]["schemas"]["ResponseStats"]
    assert set(schema["properties"]) == {f.name for f in dataclasses.fields(ResponseStats)}
    assert "open ones included" in schema["properties"]["completion_rate"]["description"]
