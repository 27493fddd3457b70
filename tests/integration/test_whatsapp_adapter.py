"""WhatsApp delivery against fakes of AWS End User Messaging Social and under moto.

* The adapter through a real boto3 ``socialmessaging`` client, pointed at a local server that
  answers SendWhatsAppMessage at its real path (local/fake_socialmessaging.py): the blob's
  encoding, the answer and the errors as botocore parses them.
* The sender (opt-in, the 24-hour window, (task, version) dedup, the limiter) through that
  adapter; the fake port of the functional tests passes the same checks.
* The ledger: the DynamoDB adapter (moto) and the in-memory fake behave alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import botocore.config
import pytest

from chalicelib.adapters.whatsapp import SocialMessagingWhatsAppClient
from chalicelib.domain.org import Member, Team
from chalicelib.domain.tasks import Task, TaskStatus, task_id_for
from chalicelib.domain.whatsapp import SendLimiter, SendLimits, message_bytes, phone_key
from chalicelib.errors import InvalidInputError, RateLimitedError, UpstreamError
from chalicelib.services.whatsapp import WhatsAppSender, load_templates
from local.fake_socialmessaging import FakeSocialMessaging
from tests.factories import T0
from tests.whatsapp_fakes import FakeWhatsAppClient, InMemoryWhatsAppLedger

NUMBER_ID = "phone-number-id-01234567890123456789012345678901"
VERSION = "v20.0"
TEXT = {
    "messaging_product": "whatsapp",
    "to": "919876543210",
    "type": "text",
    "text": {"body": "x"},
}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeSocialMessaging]:
    fake = FakeSocialMessaging().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(server: FakeSocialMessaging) -> FakeSocialMessaging:
    server.accepted.clear()
    server.times.clear()
    server.faults.clear()
    return server


def boto_client(url: str, attempts: int = 1) -> Any:
    return boto3.client(
        "socialmessaging",
        region_name="ap-south-1",
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=botocore.config.Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )


def test_a_message_goes_as_the_documented_request_and_its_id_comes_back(
    fake: FakeSocialMessaging,
) -> None:
    adapter = SocialMessagingWhatsAppClient(boto_client(fake.url))
    message_id = adapter.send_message(NUMBER_ID, message_bytes(TEXT), VERSION)
    assert message_id == "fake-000001"
    [request] = fake.accepted
    assert request == {
        "originationPhoneNumberId": NUMBER_ID,
        "message": TEXT,  # arrived base64-encoded, decoded by the fake
        "metaApiVersion": VERSION,
    }


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("ThrottledRequestException", RateLimitedError),
        ("ValidationException", InvalidInputError),
        ("InvalidParametersException", InvalidInputError),
        ("AccessDeniedException", UpstreamError),
        ("ResourceNotFoundException", UpstreamError),
        ("InternalServiceException", UpstreamError),
    ],
)
def test_errors_are_translated_at_the_boundary(
    fake: FakeSocialMessaging, code: str, error: type[Exception]
) -> None:
    fake.inject(code)
    adapter = SocialMessagingWhatsAppClient(boto_client(fake.url))
    with pytest.raises(error) as caught:
        adapter.send_message(NUMBER_ID, message_bytes(TEXT), VERSION)
    assert "9876543210" not in str(caught.value)
    assert fake.accepted == []


def test_a_throttle_is_retried_by_botocore_standard_retries(fake: FakeSocialMessaging) -> None:
    fake.inject("ThrottledRequestException", "ThrottledRequestException")
    adapter = SocialMessagingWhatsAppClient(boto_client(fake.url, attempts=5))
    assert adapter.send_message(NUMBER_ID, message_bytes(TEXT), VERSION)
    assert len(fake.accepted) == 1


def test_an_unreachable_endpoint_is_an_upstream_error() -> None:
    adapter = SocialMessagingWhatsAppClient(boto_client("http://127.0.0.1:9"))
    with pytest.raises(UpstreamError):
        adapter.send_message(NUMBER_ID, message_bytes(TEXT), VERSION)


# ---------------------------------------------------------------------------------------------
# The sender


def member(n: int, **kw: Any) -> Member:
    values: dict[str, Any] = {
        "id": f"w{n}",
        "name": f"W{n}",
        "team_id": "DL-1",
        "languages": ("hi",),
        "phone": f"+9198765{n:05d}",
        "contact_consent": True,
        "whatsapp_opt_in": True,
        "whatsapp_opt_in_source": "signup_form",
    }
    values.update(kw)
    return Member(**values)


TASK = Task(
    task_id=task_id_for("DL-1", "x#1"),
    team_id="DL-1",
    state="DL",
    incident_key="x#1",
    mention_key="x#1",
    created_at=T0,
    status=TaskStatus.DISPATCHED,
    version=2,
    leader_name="Arvind Kejriwal",
    terms=("black money",),
    severity=4,
)


class Clock:
    def __init__(self) -> None:
        self.now = T0
        self.slept: list[float] = []

    def __call__(self) -> Any:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def sender(client: Any, ledger: Any, clock: Clock, limits: SendLimits) -> WhatsAppSender:
    return WhatsAppSender(
        client,
        ledger,
        load_templates(),
        SendLimiter(limits),
        NUMBER_ID,
        VERSION,
        clock,
        clock.sleep,
        lambda task: f"https://tvarit.test/t/{task.task_id}",
    )


@pytest.fixture(params=["http-fake", "port-fake"])
def port(request: pytest.FixtureRequest, fake: FakeSocialMessaging) -> Any:
    """The WhatsApp port two ways: the adapter over boto3 to the local server, and the fake."""
    if request.param == "http-fake":
        return SocialMessagingWhatsAppClient(boto_client(fake.url))
    return FakeWhatsAppClient()


def sent(port: Any, fake: FakeSocialMessaging) -> list[dict[str, Any]]:
    if isinstance(port, FakeWhatsAppClient):
        return port.sent
    return [r["message"] for r in fake.accepted]


def test_only_opted_in_members_get_it_once_per_task_version(
    port: Any, fake: FakeSocialMessaging
) -> None:
    team = Team(
        "DL-1",
        "DL Central",
        "DL",
        members=(
            member(1),
            member(2, whatsapp_opt_in=False),
            member(3, contact_consent=False),
            member(4, phone=""),
        ),
    )
    ledger, clock = InMemoryWhatsAppLedger(), Clock()
    s = sender(port, ledger, clock, SendLimits())
    report = s.send_task(TASK, team)
    assert [(x.member_id, x.kind) for x in report.sent] == [("w1", "template")]
    assert set(report.skipped) == {"w2", "w3", "w4"}
    [message] = sent(port, fake)
    assert message["to"] == "919876500001" and message["type"] == "template"
    assert f"https://tvarit.test/t/{TASK.task_id}" in json.dumps(message)
    # The same task and version again (a redelivered stream record): nothing sent.
    again = s.send_task(TASK, team)
    assert again.sent == [] and again.skipped["w1"] == "sent already"
    # A new version (the incident was updated) is a new message.
    newer = s.send_task(Task(**{**TASK.__dict__, "version": 3}), team)
    assert len(newer.sent) == 1
    assert len(sent(port, fake)) == 2


def test_inside_the_window_a_free_form_message_goes(port: Any, fake: FakeSocialMessaging) -> None:
    team = Team("DL-1", "DL Central", "DL", members=(member(1),))
    ledger, clock = InMemoryWhatsAppLedger(), Clock()
    ledger.note_inbound(phone_key(member(1).phone), T0 - timedelta(hours=2))
    report = sender(port, ledger, clock, SendLimits()).send_task(TASK, team)
    assert [x.kind for x in report.sent] == ["free_form"]
    assert sent(port, fake)[0]["type"] == "interactive"


def test_a_failed_send_can_be_retried(fake: FakeSocialMessaging) -> None:
    team = Team("DL-1", "DL Central", "DL", members=(member(1),))
    ledger, clock = InMemoryWhatsAppLedger(), Clock()
    s = sender(SocialMessagingWhatsAppClient(boto_client(fake.url)), ledger, clock, SendLimits())
    fake.inject("ThrottledRequestException")
    assert set(s.send_task(TASK, team).failed) == {"w1"}
    assert [x.member_id for x in s.send_task(TASK, team).sent] == ["w1"]


def test_the_sender_obeys_throughput_and_the_tier(port: Any, fake: FakeSocialMessaging) -> None:
    team = Team("DL-1", "DL Central", "DL", members=tuple(member(n) for n in range(12)))
    ledger, clock = InMemoryWhatsAppLedger(), Clock()
    # 5 messages a second (a small bucket so the test is short), tier of 250 users.
    s = sender(port, ledger, clock, SendLimits(5, "TIER_250"))
    report = s.send_task(TASK, team)
    assert len(report.sent) == 12
    # 5 at once, then one every 1/5 s: 7 waits adding up to 7/5 s on the injected clock.
    assert len(clock.slept) == 7 and sum(clock.slept) == pytest.approx(7 / 5)
    tight = sender(port, InMemoryWhatsAppLedger(), Clock(), SendLimits(80, "TIER_250"))
    tight.limiter._users = {f"k{i}": T0 for i in range(250)}  # 250 users reached today
    over = tight.send_task(TASK, team)
    assert over.sent == [] and set(over.failed) == {m.id for m in team.members}


# ---------------------------------------------------------------------------------------------
# The ledger: DynamoDB (moto) and the fake alike


@pytest.fixture(params=["memory", "dynamo"])
def ledger(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return InMemoryWhatsAppLedger()
    request.getfixturevalue("tables")
    from chalicelib.adapters.dynamo.whatsapp import DynamoWhatsAppLedger

    return DynamoWhatsAppLedger()


def test_a_message_id_is_seen_once_until_it_expires_or_is_forgotten(ledger: Any) -> None:
    day = timedelta(days=1)
    assert ledger.first_sighting("in#wamid.1", T0, T0 + day) is True
    assert ledger.first_sighting("in#wamid.1", T0 + timedelta(hours=1), T0 + day) is False
    assert ledger.first_sighting("in#wamid.2", T0, T0 + day) is True
    ledger.forget("in#wamid.2")
    assert ledger.first_sighting("in#wamid.2", T0, T0 + day) is True
    assert ledger.first_sighting("in#wamid.1", T0 + 2 * day, T0 + 3 * day) is True  # expired


def test_the_last_inbound_time_only_moves_forward(ledger: Any) -> None:
    assert ledger.last_inbound("p_x") is None
    ledger.note_inbound("p_x", T0)
    ledger.note_inbound("p_x", T0 - timedelta(minutes=5))  # an older message, delivered late
    assert ledger.last_inbound("p_x") == T0
    ledger.note_inbound("p_x", T0 + timedelta(minutes=5))
    assert ledger.last_inbound("p_x") == T0 + timedelta(minutes=5)
