"""Every AWS call a function makes on a post's journey is allowed by its written IAM policy.

The local stack runs the journey one function at a time (API, then analyze with its SQS
mapping, then dispatch with its stream mapping: the mapping's own calls are made with the
function's role in AWS too). Each botocore call is recorded, translated into the IAM action and
resource it needs, and checked against the grants of that function in ``infra/stack.py``. A
new AWS call without a grant fails here instead of with AccessDenied in production.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.client import BaseClient

from chalicelib import wiring
from infra.stack import FUNCTIONS, merge_template
from local.demo import load_demo_config, seed
from local.replay import signed_request
from local.stack import LocalStack

Need = tuple[str, str]  # (IAM action, resource name such as "table/tvarit-tasks")

POST = {
    "platform": "x",
    "id": "1860000000000000777",
    "author": {"id": "ArvindKejriwal", "handle": "ArvindKejriwal", "name": "Arvind Kejriwal"},
    "created_at": "2016-11-20T10:00:00Z",
    "text": "नोटबंदी के बाद काला धन ख़त्म नहीं हुआ।",
    "url": "https://x.com/ArvindKejriwal/status/1860000000000000777",
}

# Batch and transaction operations are authorised per underlying action.
ACTION_OF = {
    ("sqs", "SendMessageBatch"): "sqs:SendMessage",
    ("sqs", "DeleteMessageBatch"): "sqs:DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "sqs:ChangeMessageVisibility",
    ("sns", "PublishBatch"): "sns:Publish",
}
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def needs(service: str, operation: str, params: dict[str, Any]) -> list[Need]:
    """What IAM must allow for one API call."""
    if service == "dynamodb" and operation == "TransactWriteItems":
        out = []
        for item in params["TransactItems"]:
            ((kind, body),) = item.items()
            out.append((f"dynamodb:{TRANSACT_ACTIONS[kind]}", f"table/{body['TableName']}"))
        return out
    if service == "dynamodb" and operation in ("BatchWriteItem", "BatchGetItem"):
        return [(f"dynamodb:{operation}", f"table/{t}") for t in params["RequestItems"]]
    if service == "dynamodb":
        resource = f"table/{params['TableName']}"
        if params.get("IndexName"):
            resource += f"/index/{params['IndexName']}"
        return [(f"dynamodb:{operation}", resource)]
    if service == "dynamodbstreams":
        table = (
            params["StreamArn"].split(":table/")[1].split("/stream/")[0]
            if "StreamArn" in params
            else "?"
        )
        return [(f"dynamodb:{operation}", f"table/{table}/stream")]
    action = ACTION_OF.get((service, operation), f"{service}:{operation}")
    if service == "sqs":
        return [(action, params["QueueUrl"].rstrip("/").rsplit("/", 1)[1])]
    if service == "sns":
        return [(action, params["TopicArn"].rsplit(":", 1)[1])]
    if service == "ssm":
        return [(action, f"parameter{params['Name']}")]
    return [(action, "?")]


def physical_names() -> dict[str, str]:
    """Logical id -> IAM resource name, from the rendered template."""
    names: dict[str, str] = {}
    for logical, resource in merge_template("prod", []).get("Resources", {}).items():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::DynamoDB::Table":
            names[logical] = f"table/{props['TableName']}"
        elif resource.get("Type") == "AWS::SQS::Queue":
            names[logical] = props["QueueName"]
        elif resource.get("Type") == "AWS::SNS::Topic":
            names[logical] = props["TopicName"]
    return names


def granted(chalice_name: str) -> set[Need]:
    fn = next(f for f in FUNCTIONS if f.chalice_name == chalice_name)
    names = physical_names()
    out: set[Need] = set()
    for statement in fn.policy()["Statement"]:
        for resource in statement["Resource"]:
            if isinstance(resource, dict) and "Fn::GetAtt" in resource:
                logical, attribute = resource["Fn::GetAtt"]
                name = names[logical] + ("/stream" if attribute == "StreamArn" else "")
            elif isinstance(resource, dict) and "Ref" in resource:
                name = names[resource["Ref"]]
            elif isinstance(resource, dict):  # Fn::Sub: an ARN or "${Table.Arn}/index/x"
                text = resource["Fn::Sub"]
                if text.startswith("${"):
                    logical = text[2:].split(".")[0]
                    name = names[logical] + text.split("}", 1)[1]
                else:
                    name = text.split(":", 5)[5]
            else:
                name = resource
            out.update((action, name) for action in statement["Action"])
    return out


class Recorder:
    def __init__(self, stream_arn: str) -> None:
        # GetRecords names only a shard iterator; the pump reads one stream, this one.
        self.stream_table = stream_arn.split(":table/")[1].split("/stream/")[0]
        self.calls: list[Need] = []
        self._original: Any = None

    def __enter__(self) -> Recorder:
        original = BaseClient._make_api_call
        recorder = self

        def record(client: Any, operation: str, params: dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            for action, resource in needs(service, operation, params):
                if resource == "table/?/stream":
                    resource = f"table/{recorder.stream_table}/stream"
                recorder.calls.append((action, resource))
            return original(client, operation, params)

        self._original = original
        BaseClient._make_api_call = record  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        BaseClient._make_api_call = self._original  # type: ignore[method-assign]

    def take(self) -> set[Need]:
        calls, self.calls = set(self.calls), []
        return calls


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    s = LocalStack(run_pump=False).start()
    try:
        seed(wiring.container().config_repo, load_demo_config())
        yield s
    finally:
        s.stop()


def fresh_container() -> None:
    """A new execution environment: nothing cached from another function's invocations."""
    wiring.use(wiring.Container(wiring.container().settings))


def test_each_function_is_granted_every_call_it_makes(stack: LocalStack) -> None:
    assert stack.pump is not None and stack.resources is not None
    (analyze,) = stack.pump.sqs
    (dispatch,) = stack.pump.streams
    schedules = {m.name: m for m in stack.pump.schedules}
    stack.pump.poll_stream_once(dispatch)  # leaves the seed's records behind
    by_function: dict[str, set[Need]] = {}
    with Recorder(stack.resources.tasks_stream_arn) as recorder:
        fresh_container()
        request = signed_request(stack.api_url, stack.webhook_secret, POST, int(time.time()))
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 202
        by_function["api_handler"] = recorder.take()
        fresh_container()
        assert stack.pump.poll_sqs_once(analyze) == 1
        by_function["analyze"] = recorder.take()
        fresh_container()
        assert stack.pump.poll_stream_once(dispatch) >= 2
        by_function["dispatch"] = recorder.take()
        for name in ("escalate", "flush_digests"):
            fresh_container()
            stack.pump.fire_schedule(schedules[name])
            by_function[name] = recorder.take()
    assert ("sqs:SendMessage", "tvarit-mentions") in by_function["api_handler"]
    assert any(a == "sns:Publish" for a, _ in by_function["dispatch"])
    assert ("dynamodb:Query", "table/tvarit-config") in by_function["dispatch"]
    assert any(r.endswith("/index/open-by-due") for _, r in by_function["escalate"])
    for name, calls in by_function.items():
        missing = calls - granted(name)
        assert not missing, f"{name} makes calls its policy does not allow: {sorted(missing)}"
