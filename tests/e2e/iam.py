"""IAM needs of botocore calls, and the grants of each function in infra/stack.py, by name."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.client import BaseClient

from infra.stack import FUNCTIONS, merge_template

Need = tuple[str, str]  # (IAM action, resource name such as "table/tvarit-tasks")


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
    if service == "sns" and "TopicArn" in params:
        return [(action, params["TopicArn"].rsplit(":", 1)[1])]
    if service == "sns":  # endpoints and subscriptions: IAM cannot name them
        return [(action, "*")]
    if service == "ssm":
        return [(action, f"parameter{params['Name']}")]
    return [(action, "?")]


def physical_names() -> dict[str, str]:
    """Logical id -> IAM resource name, from the rendered template."""
    names: dict[str, str] = {}
    for logical, resource in merge_template("prod").get("Resources", {}).items():
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


_current = threading.local()


@contextmanager
def acting_as(function: str) -> Iterator[None]:
    """Attribute the AWS calls of this thread to ``function`` (see :func:`record_by_function`)."""
    previous = getattr(_current, "function", None)
    _current.function = function
    try:
        yield
    finally:
        _current.function = previous


@contextmanager
def record_by_function(calls: dict[str, set[Need]]) -> Iterator[None]:
    """Record every botocore call made while a thread acts as a function."""
    original = BaseClient._make_api_call

    def record(client: Any, operation: str, params: dict[str, Any]) -> Any:
        function = getattr(_current, "function", None)
        if function:
            service = client.meta.service_model.service_name
            calls.setdefault(function, set()).update(needs(service, operation, params))
        return original(client, operation, params)

    BaseClient._make_api_call = record  # type: ignore[method-assign]
    try:
        yield
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


# The local stack's worker processes (local.worker) record into this directory, one file each.
CALLS_DIR_ENV = "TVARIT_IAM_CALLS_DIR"
WORKER_PLUGIN = "tests.e2e.iam:record_in_worker"


def record_in_worker(kind: str) -> None:
    """local.worker plugin: attribute this worker's AWS calls, as the conftest does, to a file.

    Each (function, action, resource) is appended once, as it is first seen, so nothing is
    lost however the worker ends.
    """
    from chalice.local import LocalGateway

    from local.pump import EventPump

    out = Path(os.environ[CALLS_DIR_ENV]) / f"{kind}-{os.getpid()}.jsonl"
    invoke, handle = EventPump._invoke, LocalGateway.handle_request

    def invoke_as(self: Any, name: str, handler: Any, event: Any) -> Any:
        with acting_as(name):
            return invoke(self, name, handler, event)

    def handle_as(self: Any, *args: Any, **kwargs: Any) -> Any:
        with acting_as("api_handler"):
            return handle(self, *args, **kwargs)

    EventPump._invoke = invoke_as  # type: ignore[method-assign]
    LocalGateway.handle_request = handle_as  # type: ignore[method-assign]
    seen: set[tuple[str, str, str]] = set()
    lock = threading.Lock()
    original = BaseClient._make_api_call

    def record(client: Any, operation: str, params: dict[str, Any]) -> Any:
        function = getattr(_current, "function", None)
        if function:
            service = client.meta.service_model.service_name
            for action, resource in needs(service, operation, params):
                key = (function, action, resource)
                with lock:
                    if key not in seen:
                        seen.add(key)
                        with out.open("a", encoding="utf-8") as f:
                            f.write(json.dumps(key) + "\n")
        return original(client, operation, params)

    BaseClient._make_api_call = record  # type: ignore[method-assign]


def worker_calls(directory: Path) -> dict[str, set[Need]]:
    """What the workers recorded (:func:`record_in_worker`), by function."""
    calls: dict[str, set[Need]] = {}
    for path in directory.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            function, action, resource = json.loads(line)
            calls.setdefault(function, set()).add((action, resource))
    return calls
