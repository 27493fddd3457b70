"""The publish plan against moto's SNS: requests accepted, filter policies deliver as planned.

moto drops fan-out to push/SMS/e-mail, so each device is stood in for by an SQS queue
subscribed with the exact filter policy its push endpoint would carry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

from chalicelib.domain.escalation import Level, escalation_notices, next_step, parse_chain  # noqa: E402
from chalicelib.domain.links import incident_page_url, task_page_url  # noqa: E402
from chalicelib.domain.notify import Outbound, plan_notices, plan_publishes  # noqa: E402
from chalicelib.domain.org import Member, Team  # noqa: E402
from chalicelib.domain.routing import TeamDirectory  # noqa: E402
from chalicelib.domain.subscriptions import filter_policy, policy_matches  # noqa: E402
from chalicelib.domain.tasks import Task, task_id_for  # noqa: E402

T0 = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)
BASE = "https://tvarit.example.in"
REGION = "ap-south-1"
TEAMS = [Team(f"UP-{i}", "", "UP", "LKO" if i < 2 else "VNS", lead_id=f"lead{i}") for i in range(4)]
DEVICES = [
    (Member("w0", "", "UP-0", languages=("hi",)), TEAMS[0]),
    (Member("w0en", "", "UP-0", languages=("en",)), TEAMS[0]),
    (Member("w1", "", "UP-1", languages=("hi",), min_severity=5), TEAMS[1]),
    (Member("lead2", "", "UP-2", languages=("hi",), min_severity=4), TEAMS[2]),
    (Member("w3", "", "UP-3", languages=("ur",)), TEAMS[3]),
]


@pytest.fixture
def sns_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any, str, dict[str, str]]]:
    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with moto.mock_aws():
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic = sns.create_topic(Name="tvarit-UP")["TopicArn"]
        queues: dict[str, str] = {}
        for member, team in DEVICES:
            url = sqs.create_queue(QueueName=f"phone-{member.id}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            sns.subscribe(
                TopicArn=topic,
                Protocol="sqs",
                Endpoint=arn,
                Attributes={
                    "FilterPolicy": json.dumps(filter_policy(member, team)),
                    "RawMessageDelivery": "false",
                },
            )
            queues[member.id] = url
        yield sns, sqs, topic, queues


def received(sqs: Any, url: str) -> list[dict[str, Any]]:
    """The ``default`` payloads a queue got (SNS delivers that key to SQS subscribers)."""
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        for m in got:
            out.append(json.loads(json.loads(m["Body"])["Message"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def send(sns: Any, topic: str, calls: list[Any]) -> None:
    for call in calls:
        req = call.request(topic)
        if call.api == "Publish":
            sns.publish(**req)
        else:
            resp = sns.publish_batch(**req)
            assert not resp.get("Failed"), resp.get("Failed")


def task(team: str, severity: int) -> Task:
    return Task(
        task_id_for(team, "inc_1"),
        team,
        "UP",
        "inc_1",
        "x#1",
        T0,
        severity=severity,
        district="LKO",
        leader_name="नेता",
        excerpt="अर्थव्यवस्था ठीक है",
        url="https://x.com/1",
    )


@pytest.mark.parametrize(
    ("tasked", "severity", "expected"),
    [
        # UP-0 and UP-1 tasked at severity 4: both UP-0 devices (one per language), not w1 (5+)
        (["UP-0", "UP-1"], 4, {"w0": ["hi"], "w0en": ["en"]}),
        (["UP-0", "UP-1"], 5, {"w0": ["hi"], "w0en": ["en"], "w1": ["hi"]}),
        # every team of the state: one @state token
        (
            ["UP-0", "UP-1", "UP-2", "UP-3"],
            4,
            {"w0": ["hi"], "w0en": ["en"], "lead2": ["hi"], "w3": ["ur"]},
        ),
        (["UP-3"], 2, {"w3": ["ur"]}),
    ],
)
def test_moto_delivers_exactly_what_the_plan_and_policies_say(
    sns_world: tuple[Any, Any, str, dict[str, str]],
    tasked: list[str],
    severity: int,
    expected: dict[str, list[str]],
) -> None:
    sns, sqs, topic, queues = sns_world
    calls = plan_publishes(
        [task(t, severity) for t in tasked], Outbound(BASE), directory=TeamDirectory.build(TEAMS)
    )
    assert len(calls) == 1  # one entry per language, whatever the number of teams
    # many teams: the incident link, which each reader's page resolves; one team: its task page
    link = (
        incident_page_url(BASE, "inc_1")
        if len(tasked) > 1
        else task_page_url(BASE, task_id_for(tasked[0], "inc_1"))
    )
    send(sns, topic, calls)
    got = {}
    for member, team in DEVICES:
        msgs = received(sqs, queues[member.id])
        # the offline matcher agrees with SNS for every device and entry
        offline = [
            e.notice.lang
            for c in calls
            for e in c.entries
            if policy_matches(filter_policy(member, team), e.attributes)
        ]
        langs = [m["lang"] for m in msgs]
        assert sorted(langs) == sorted(offline)
        if msgs:
            got[member.id] = langs
            for m in msgs:
                assert (m["incident"], m["v"], m["page_url"]) == ("inc_1", "1", link)
    assert got == expected


def test_moto_delivers_an_escalation_to_the_lead_only(
    sns_world: tuple[Any, Any, str, dict[str, str]],
) -> None:
    sns, sqs, topic, queues = sns_world
    chain = parse_chain(
        {"id": "c", "owner": "UP", "steps": [{"wait": "5m"}, {"notify": "team_lead"}]}
    )
    t = task("UP-2", 2)
    step = next_step(t, chain, datetime(2026, 11, 2, 5, 0, tzinfo=UTC))
    assert step.level is Level.TEAM_LEAD
    send(sns, topic, plan_notices(escalation_notices(t, step, TEAMS[2])))
    assert [m["type"] for m in received(sqs, queues["lead2"])] == ["escalation"]
    for other in ("w0", "w0en", "w1", "w3"):
        assert received(sqs, queues[other]) == []
