"""The deployment template: ``chalice package`` + infra/ merge template, checked for what matters.

The template is packaged once per session, offline (``--template-only``: no requirements, so
Chalice runs no pip), for prod and dev. Expectations are written from the AWS side and from the
PynamoDB models, not from infra/stack.py's own tables, so a slip there shows up here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import settings as cfg
from chalicelib.adapters.dynamo.models import ALL_MODELS
from chalicelib.domain.states import STATE_CODES
from infra import build

Template = dict[str, Any]

# Actions that have no resource-level permissions in IAM: "*" is their only valid resource.
RESOURCELESS_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "sns:SetSMSAttributes",
    "sns:CreatePlatformEndpoint",
    "sns:DeleteEndpoint",
    "sns:Unsubscribe",
    "sns:SetSubscriptionAttributes",  # like Unsubscribe: a subscription has no IAM resource
}


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    out = tmp_path_factory.mktemp("package")
    yield {
        stage: build.chalice_package(stage, out / stage, template_only=True)
        for stage in ("prod", "dev")
    }


@pytest.fixture(scope="session")
def prod(packaged: dict[str, Path]) -> Template:
    return dict(json.loads((packaged["prod"] / "sam.json").read_text()))


@pytest.fixture(scope="session")
def dev(packaged: dict[str, Path]) -> Template:
    return dict(json.loads((packaged["dev"] / "sam.json").read_text()))


def of_type(template: Template, kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def logical_id(value: Any) -> str:
    """The resource a ``Ref`` / ``Fn::GetAtt`` points at."""
    if "Ref" in value:
        return str(value["Ref"])
    return str(value["Fn::GetAtt"][0])


def functions(template: Template) -> dict[str, Any]:
    return of_type(template, "AWS::Serverless::Function")


def test_the_policy_files_are_generated_from_infra_stack() -> None:
    assert build.write_policies(check=True) == [], "run `make policies`"


@pytest.mark.parametrize("stage", ["prod", "dev"])
def test_the_packaged_template_passes_cfn_lint(packaged: dict[str, Path], stage: str) -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), str(packaged[stage] / "sam.json")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_queue_has_a_dead_letter_queue(prod: Template) -> None:
    queues = of_type(prod, "AWS::SQS::Queue")
    dead_letter_targets = {
        logical_id(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for q in queues.values()
        if "RedrivePolicy" in q["Properties"]
    }
    on_failure = {
        logical_id(e["Properties"]["DestinationConfig"]["OnFailure"]["Destination"])
        for f in functions(prod).values()
        for e in f["Properties"].get("Events", {}).values()
        if "DestinationConfig" in e["Properties"]
    }
    assert dead_letter_targets and on_failure
    for name, queue in queues.items():
        if name in dead_letter_targets | on_failure:
            assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
            continue
        redrive = queue["Properties"].get("RedrivePolicy")
        assert redrive, f"queue {name} has no dead-letter queue"
        assert logical_id(redrive["deadLetterTargetArn"]) in queues
        assert 1 <= redrive["maxReceiveCount"] <= 10


def test_every_sqs_trigger_reports_batch_item_failures(prod: Template) -> None:
    import app

    sqs_sources = [e for e in app.app.event_sources if type(e).__name__ == "SQSEventConfig"]
    triggers = [
        (name, event)
        for name, fn in functions(prod).items()
        for event in fn["Properties"].get("Events", {}).values()
        if event["Type"] == "SQS"
    ]
    assert len(triggers) == len(sqs_sources) >= 1
    queues = of_type(prod, "AWS::SQS::Queue")
    for name, event in triggers:
        props = event["Properties"]
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"], name
        # The queue is the stack's own (a dependency), and Lambda's visibility advice holds.
        queue_ref = props["Queue"]["Fn::Sub"].rsplit("${", 1)[1].split(".")[0]
        assert queue_ref in queues
        timeout = functions(prod)[name]["Properties"]["Timeout"]
        assert queues[queue_ref]["Properties"]["VisibilityTimeout"] >= 6 * timeout


def test_the_tasks_stream_drives_dispatch_with_retries_and_an_on_failure_queue(
    prod: Template,
) -> None:
    dispatch = functions(prod)["Dispatch"]
    assert dispatch["Properties"]["Handler"] == "chalicelib.lambda_entry.dispatch_tasks"
    (event,) = (e for e in dispatch["Properties"]["Events"].values() if e["Type"] == "DynamoDB")
    props = event["Properties"]
    assert props["Stream"] == {"Fn::GetAtt": ["TasksTable", "StreamArn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert 0 <= props["MaximumRetryAttempts"] <= 10
    assert props["MaximumRecordAgeInSeconds"] > 0
    destination = props["DestinationConfig"]["OnFailure"]
    assert destination["Type"] == "SQS"
    assert of_type(prod, "AWS::SQS::Queue")[logical_id(destination["Destination"])]


def _statements(template: Template) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, role in of_type(template, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                yield name, statement


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_iam_statement_uses_wildcards_where_a_resource_can_be_named(prod: Template) -> None:
    statements = list(_statements(prod))
    assert len(statements) > 10
    for role, statement in statements:
        assert statement["Effect"] == "Allow"
        actions = _as_list(statement["Action"])
        for action in actions:
            assert action != "*" and not action.endswith(":*"), (role, action)
        resources = _as_list(statement["Resource"])
        if "*" in resources:
            assert set(actions) <= RESOURCELESS_ACTIONS, (role, actions)
        for resource in resources:
            if isinstance(resource, str):
                assert resource == "*" or "*" not in resource.split(":")[4:5], (role, resource)


def test_each_function_has_its_own_written_role(prod: Template) -> None:
    from infra.stack import FUNCTIONS

    roles = {logical_id(fn["Properties"]["Role"]) for fn in functions(prod).values()}
    assert len(roles) == len(functions(prod))
    assert set(functions(prod)) == {f.logical_id for f in FUNCTIONS}
    assert "DefaultRole" not in prod["Resources"]  # Chalice's generated policy is not used
    policies = {
        name: role["Properties"]["Policies"][0]["PolicyDocument"]
        for name, role in of_type(prod, "AWS::IAM::Role").items()
    }
    actions = {
        name: {a for s in doc["Statement"] for a in _as_list(s["Action"])}
        for name, doc in policies.items()
    }
    assert "sns:Publish" in actions["DispatchRole"]
    assert "sns:Publish" not in actions["AnalyzeRole"] | actions["ApiHandlerRole"]
    assert "sqs:SendMessage" in actions["ApiHandlerRole"]
    # Only the API writes configuration and its audit; nothing deletes tasks or audit records.
    writers = {
        n for n, a in actions.items() if "dynamodb:UpdateItem" in a or "dynamodb:PutItem" in a
    }
    assert "ApiHandlerRole" in writers
    for name, doc in policies.items():
        for statement in doc["Statement"]:
            targets = json.dumps(statement["Resource"])
            if "AuditTable" in targets or "TaskEventsTable" in targets:
                assert set(_as_list(statement["Action"])) <= {
                    "dynamodb:PutItem",
                    "dynamodb:Query",
                }, (name, statement)
    assert "dynamodb:GetRecords" in actions["DispatchRole"]
    publish = next(s for s in policies["DispatchRole"]["Statement"] if "sns:Publish" in s["Action"])
    assert len(publish["Resource"]) == len(STATE_CODES)


def _model_schema(model: Any) -> dict[str, Any]:
    """PynamoDB's own CreateTable schema for the model (what create_table would send)."""
    schema = model._get_schema()
    assert not schema["local_secondary_indexes"]
    return _table_schema(
        {
            "KeySchema": schema["key_schema"],
            "AttributeDefinitions": schema["attribute_definitions"],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": i["index_name"],
                    "KeySchema": i["key_schema"],
                    "Projection": i["projection"],
                }
                for i in schema["global_secondary_indexes"]
            ],
        }
    )


def _table_schema(props: dict[str, Any]) -> dict[str, Any]:
    return {
        "keys": sorted((k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]),
        "indexes": sorted(
            (
                i["IndexName"],
                tuple(sorted((k["AttributeName"], k["KeyType"]) for k in i["KeySchema"])),
                i["Projection"]["ProjectionType"],
            )
            for i in props.get("GlobalSecondaryIndexes", [])
        ),
        "attributes": sorted(
            (a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]
        ),
    }


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_the_tables_match_the_pynamodb_models(prod: Template, dev: Template, model: Any) -> None:
    from pynamodb.attributes import TTLAttribute

    settings = cfg.Settings.from_env({cfg.ENV_TABLE_PREFIX: "tvarit-"})
    from chalicelib.adapters.dynamo.models import _TABLE_SUFFIX

    name = f"{settings.table_prefix}{_TABLE_SUFFIX[model]}"
    tables = {
        t["Properties"]["TableName"]: t for t in of_type(prod, "AWS::DynamoDB::Table").values()
    }
    assert len(tables) == len(ALL_MODELS)
    table = tables[name]
    props = table["Properties"]
    assert _table_schema(props) == _model_schema(model)
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    stream = getattr(model.Meta, "stream_view_type", None)
    assert props.get("StreamSpecification", {}).get("StreamViewType") == stream
    ttl = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
    spec = props.get("TimeToLiveSpecification")
    assert (spec == {"AttributeName": ttl[0], "Enabled": True}) if ttl else spec is None
    dev_table = next(
        t
        for t in of_type(dev, "AWS::DynamoDB::Table").values()
        if t["Properties"]["TableName"] == name
    )
    assert dev_table["Properties"]["DeletionProtectionEnabled"] is False


def test_one_topic_per_state_and_ut_with_delivery_status_logging(prod: Template) -> None:
    topics = of_type(prod, "AWS::SNS::Topic")
    names = {t["Properties"]["TopicName"] for t in topics.values()}
    assert {f"tvarit-state-{c}" for c in STATE_CODES} <= names
    assert len(STATE_CODES) == 36
    for topic in topics.values():
        if topic["Properties"]["TopicName"].startswith("tvarit-state-"):
            (logging,) = topic["Properties"]["DeliveryStatusLogging"]
            assert logging["Protocol"] == "application"
    sms = of_type(prod, "AWS::CloudFormation::CustomResource")["SmsSettings"]["Properties"]
    assert sms["MonthlySpendLimit"] == {"Ref": "SmsMonthlySpendLimit"}
    assert sms["DefaultSenderID"] == {"Ref": "SmsSenderId"}


def test_functions_get_the_environment_the_code_reads(prod: Template) -> None:
    for name, fn in functions(prod).items():
        env = fn["Properties"]["Environment"]["Variables"]
        assert env[cfg.ENV_STAGE] == "prod", name
        assert env[cfg.ENV_MENTIONS_QUEUE_URL] == {"Ref": "MentionsQueue"}
        assert env[cfg.ENV_TABLE_PREFIX] == "tvarit-"
        assert env[cfg.ENV_TOPIC_ARN_PREFIX]["Fn::Sub"].endswith(":tvarit-state-")
        assert env[cfg.ENV_SECRETS_PATH] == "/tvarit/"
        for secret in cfg.SECRET_FIELDS:  # secrets never sit in the template, only in SSM
            assert not any(secret.upper() in name for name in env), (name, secret)
        assert fn["Properties"]["Tracing"] == "Active"
    assert functions(prod)["Analyze"]["Properties"]["ReservedConcurrentExecutions"] > 0


def test_alarms_cover_dead_letters_errors_and_dispatch_lag(prod: Template) -> None:
    alarms = of_type(prod, "AWS::CloudWatch::Alarm").values()

    def watched(metric: str) -> set[str]:
        return {
            logical_id(d["Value"])
            for a in alarms
            if a["Properties"]["MetricName"] == metric
            for d in a["Properties"]["Dimensions"]
        }

    queues = of_type(prod, "AWS::SQS::Queue")
    dead_letters = {
        n for n, q in queues.items() if "RedrivePolicy" not in q["Properties"]
    }  # DLQs and the on-failure queue
    assert dead_letters <= watched("ApproximateNumberOfMessagesVisible")
    assert set(functions(prod)) <= watched("Errors")
    assert "Dispatch" in watched("IteratorAge")
    assert all(a["Properties"]["AlarmActions"] for a in alarms)
    (dashboard,) = of_type(prod, "AWS::CloudWatch::Dashboard").values()
    body = json.loads(dashboard["Properties"]["DashboardBody"]["Fn::Sub"])
    assert len(body["widgets"]) >= 5


def test_bytecode_is_added_for_every_module(tmp_path: Path) -> None:
    package = tmp_path / "deployment.zip"
    with zipfile.ZipFile(package, "w") as zf:
        zf.writestr("app.py", "VALUE = 42\n")
        zf.writestr("lib/__init__.py", "")
        zf.writestr("lib/data.json", "{}")
    assert build.add_bytecode(package) == 2
    with zipfile.ZipFile(package) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path / "x")
    assert f"__pycache__/app.cpython-{sys.version_info.major}{sys.version_info.minor}.pyc" in names
    assert "lib/data.json" in names
    # The pyc is used even though extraction gave the source a new mtime (unchecked hash).
    (tmp_path / "x" / "app.py").write_text("VALUE = 0\n")
    result = subprocess.run(
        [sys.executable, "-B", "-c", "import app; print(app.VALUE)"],
        cwd=tmp_path / "x",
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "42"


def test_every_metric_the_code_emits_is_on_the_dashboard(prod: Template) -> None:
    import re

    root = Path(__file__).resolve().parents[2] / "chalicelib"
    emitted = {
        m
        for path in root.rglob("*.py")
        for m in re.findall(r'add_metric\(\s*name="(\w+)"', path.read_text(encoding="utf-8"))
    }
    assert {"MentionsIngested", "TasksDispatched", "DispatchLag"} <= emitted
    (dashboard,) = of_type(prod, "AWS::CloudWatch::Dashboard").values()
    body = json.loads(dashboard["Properties"]["DashboardBody"]["Fn::Sub"])
    shown = {
        metric[1]
        for widget in body["widgets"]
        for metric in widget["properties"]["metrics"]
        if isinstance(metric[0], str) and metric[0] == "Tvarit"
    }
    assert emitted <= shown, f"not on the dashboard: {sorted(emitted - shown)}"


def test_event_functions_enter_through_app_py_so_the_middleware_runs(prod: Template) -> None:
    # Chalice's handler strings for blueprint functions skip app.py (aws/chalice#1566).
    for name, fn in functions(prod).items():
        handler = fn["Properties"]["Handler"]
        if name == "APIHandler":
            assert handler == "app.app"
        else:
            assert handler.startswith("chalicelib.lambda_entry."), (name, handler)
    code = (
        "import importlib, sys\n"
        "entry = importlib.import_module('chalicelib.lambda_entry')\n"
        f"for h in {sorted(f['Properties']['Handler'] for f in functions(prod).values())!r}:\n"
        "    module, name = h.rsplit('.', 1)\n"
        "    handler = getattr(importlib.import_module(module), name)\n"
        "    if module != 'app':\n"
        "        assert list(handler.middleware_handlers), h\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {"PATH": "", "AWS_DEFAULT_REGION": "ap-south-1"}
    subprocess.run([sys.executable, "-c", code], cwd=root, env=env, check=True)


# What API Gateway answers by itself must look like the app's errors and echo nothing.
GATEWAY_STATUS = {
    "MISSING_AUTHENTICATION_TOKEN": 404,  # no authorizer is configured: an unknown route
    "INCOMPLETE_SIGNATURE": 404,  # "Bearer x" parsed as SigV4 on an unknown route
    "UNAUTHORIZED": 401,
    "ACCESS_DENIED": 403,
    "THROTTLED": 429,
    "REQUEST_TOO_LARGE": 413,
    "DEFAULT_4XX": 400,
    "DEFAULT_5XX": 502,
}


def test_gateway_responses_are_problem_json_and_echo_nothing(prod: Template) -> None:
    api = prod["Resources"]["RestAPI"]
    assert api["Type"] == "AWS::Serverless::Api"
    answers = api["Properties"]["GatewayResponses"]
    assert set(GATEWAY_STATUS) <= set(answers)
    for kind, answer in answers.items():
        headers = answer["ResponseParameters"]["Headers"]
        assert headers["Content-Type"] == "'application/problem+json'", kind
        (template,) = answer["ResponseTemplates"].values()
        # Only $context.requestId may be filled in: $context.error.message, $input and the
        # request's headers or path are how API Gateway echoes a bearer token.
        assert template.count("$") == 1 and "$context.requestId" in template, kind
        body = json.loads(template.replace("$context.requestId", "req-1"))
        assert set(body) == {"type", "title", "status", "detail", "instance"}, kind
        assert body["status"] == int(answer["StatusCode"]), kind
        assert body["type"].startswith("/problems/"), kind
        if kind in GATEWAY_STATUS:
            assert body["status"] == GATEWAY_STATUS[kind], kind
    assert answers["THROTTLED"]["ResponseParameters"]["Headers"]["Retry-After"] == "'1'"
    assert answers["UNAUTHORIZED"]["ResponseParameters"]["Headers"]["WWW-Authenticate"] == (
        "'Bearer'"
    )


def test_the_language_model_is_packaged_with_its_marshal_cache(tmp_path: Path) -> None:
    from chalicelib.domain.language import latin

    model = Path(latin.__file__).with_name(latin.MODEL_FILE).read_bytes()
    package = tmp_path / "deployment.zip"
    with zipfile.ZipFile(package, "w") as zf:
        zf.writestr(f"chalicelib/domain/language/{latin.MODEL_FILE}", model)
    build.add_bytecode(package)
    with zipfile.ZipFile(package) as zf:
        cache = zf.read(f"chalicelib/domain/language/{latin.MODEL_CACHE_FILE}")
    assert latin.model_from_cache(model, cache) is not None


def test_whatsapp_exists_only_where_the_stage_turns_it_on(prod: Template) -> None:
    """The event-destination topic, its policy, the function, its role, log group and alarms
    carry the WhatsAppEnabled condition (parameter WhatsApp, off by default)."""
    assert prod["Parameters"]["WhatsApp"]["Default"] == "off"
    assert prod["Conditions"]["WhatsAppEnabled"] == {"Fn::Equals": [{"Ref": "WhatsApp"}, "on"]}
    whatsapp = {k: v for k, v in prod["Resources"].items() if k.lower().startswith("whatsapp")}
    # WhatsApp's state lives in the channel-state table with Telegram's: no table of its own.
    tables = [v for v in prod["Resources"].values() if v["Type"] == "AWS::DynamoDB::Table"]
    assert "tvarit-whatsapp" not in {t["Properties"].get("TableName") for t in tables}
    assert not [k for k, v in whatsapp.items() if v["Type"] == "AWS::DynamoDB::Table"]
    assert {
        "WhatsappEvents",
        "WhatsappEventsRole",
        "WhatsappEventsLogGroup",
        "WhatsAppEventsTopic",
        "WhatsAppEventsTopicPolicy",
    } <= set(whatsapp)
    assert {k: v.get("Condition") for k, v in whatsapp.items()} == {
        k: "WhatsAppEnabled" for k in whatsapp
    }
    fn = prod["Resources"]["WhatsappEvents"]
    (trigger,) = fn["Properties"]["Events"].values()
    assert trigger["Type"] == "SNS"
    assert "${WhatsAppEventsTopic.TopicName}" in trigger["Properties"]["Topic"]["Fn::Sub"]
    assert fn["Properties"]["Environment"]["Variables"][cfg.ENV_WHATSAPP] == "true"
    policy = prod["Resources"]["WhatsAppEventsTopicPolicy"]["Properties"]["PolicyDocument"]
    [statement] = policy["Statement"]
    assert statement["Principal"] == {"Service": "social-messaging.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
