"""WhatsApp delivery against fakes of AWS End User Messaging Social and under moto.

* The adapter through a real boto3 ``socialmessaging`` client, pointed at a local server that
  answers SendWhatsAppMessage at its real path (local/fake_socialmessaging.py): the blob's
  encoding, the answer and the errors as botocore parses them.
* The sender (opt-in, the 24-hour window, (task, version) dedup, the limiter) through that
  adapter; the fake port of the functional tests passes the same checks.
* What WhatsApp delivery remembers, in the channel seam's stores (the channel-state table):
  the DynamoDB adapters (moto) and the in-memory fakes behave alike, and the one delivery
  ledger keeps Telegram's and WhatsApp's records of a task apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
import botocore.config
import pytest

from chalicelib.adapters.whatsapp import SocialMessagingWhatsAppClient
from chalicelib.domain.channels import TELEGRAM, WHATSAPP, delivery_key
from chalicelib.domain.org import Member, Team
from chalicelib.domain.tasks import Task, TaskStatus, task_id_for
from chalicelib.domain.whatsapp import SendLimiter, SendLimits, message_bytes, phone_key
from chalicelib.errors import InvalidInputError, RateLimitedError, UpstreamError
from chalicelib.services.whatsapp import WhatsAppSender, load_templates
from local.fake_socialmessaging import FakeSocialMessaging
from tests.factories import T0
from tests.fakes import InMemoryDeliveryLedger, InMemoryInboundTimes, InMemoryReplayGuard
from tests.whatsapp_fakes import FakeWhatsAppClient

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


@dataclass
class Stores:
    deliveries: Any
    replays: Any
    inbound: Any


def in_memory() -> Stores:
    return Stores(InMemoryDeliveryLedger(), InMemoryReplayGuard(), InMemoryInboundTimes())


def sender(client: Any, stores: Stores, clock: Clock, limits: SendLimits) -> WhatsAppSender:
    return WhatsAppSender(
        client,
        stores.deliveries,
        stores.replays,
        stores.inbound,
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
    stores, clock = in_memory(), Clock()
    s = sender(port, stores, clock, SendLimits())
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
    stores, clock = in_memory(), Clock()
    at = T0 - timedelta(hours=2)
    stores.inbound.note_inbound(WHATSAPP, phone_key(member(1).phone), at, at + timedelta(days=1))
    report = sender(port, stores, clock, SendLimits()).send_task(TASK, team)
    assert [x.kind for x in report.sent] == ["free_form"]
    assert sent(port, fake)[0]["type"] == "interactive"


def test_a_failed_send_can_be_retried(fake: FakeSocialMessaging) -> None:
    team = Team("DL-1", "DL Central", "DL", members=(member(1),))
    stores, clock = in_memory(), Clock()
    s = sender(SocialMessagingWhatsAppClient(boto_client(fake.url)), stores, clock, SendLimits())
    fake.inject("ThrottledRequestException")
    assert set(s.send_task(TASK, team).failed) == {"w1"}
    assert [x.member_id for x in s.send_task(TASK, team).sent] == ["w1"]


def test_the_sender_obeys_throughput_and_the_tier(port: Any, fake: FakeSocialMessaging) -> None:
    team = Team("DL-1", "DL Central", "DL", members=tuple(member(n) for n in range(12)))
    stores, clock = in_memory(), Clock()
    # 5 messages a second (a small bucket so the test is short), tier of 250 users.
    s = sender(port, stores, clock, SendLimits(5, "TIER_250"))
    report = s.send_task(TASK, team)
    assert len(report.sent) == 12
    # 5 at once, then one every 1/5 s: 7 waits adding up to 7/5 s on the injected clock.
    assert len(clock.slept) == 7 and sum(clock.slept) == pytest.approx(7 / 5)
    tight = sender(port, in_memory(), Clock(), SendLimits(80, "TIER_250"))
    tight.limiter._users = {f"k{i}": T0 for i in range(250)}  # 250 users reached today
    over = tight.send_task(TASK, team)
    assert over.sent == [] and set(over.failed) == {m.id for m in team.members}


# ---------------------------------------------------------------------------------------------
# The channel seam's stores: DynamoDB (moto, one channel-state table) and the fakes alike


@pytest.fixture(params=["memory", "dynamo"])
def stores(request: pytest.FixtureRequest) -> Stores:
    if request.param == "memory":
        return in_memory()
    request.getfixturevalue("tables")
    from chalicelib.adapters.dynamo.channel_state import (
        DynamoDeliveryLedger,
        DynamoInboundTimes,
        DynamoReplayGuard,
    )

    return Stores(DynamoDeliveryLedger(), DynamoReplayGuard(), DynamoInboundTimes())


def test_a_message_id_is_seen_once_until_it_expires_or_is_forgotten(stores: Stores) -> None:
    day, seen = timedelta(days=1), stores.replays
    assert seen.first_time(WHATSAPP, "wamid.1", T0 + day, T0) is True
    assert seen.first_time(WHATSAPP, "wamid.1", T0 + day, T0 + timedelta(hours=1)) is False
    assert seen.first_time(TELEGRAM, "wamid.1", T0 + day, T0) is True  # per channel
    assert seen.first_time(WHATSAPP, "wamid.2", T0 + day, T0) is True
    seen.forget(WHATSAPP, "wamid.2")
    assert seen.first_time(WHATSAPP, "wamid.2", T0 + day, T0) is True
    assert seen.first_time(WHATSAPP, "wamid.1", T0 + 3 * day, T0 + 2 * day) is True  # expired
    # Without ``now`` (Telegram's webhook) a record counts until TTL deletes it.
    assert seen.first_time(TELEGRAM, "wamid.1", T0 + 3 * day) is False


def test_the_last_inbound_time_only_moves_forward(stores: Stores) -> None:
    times, kept = stores.inbound, T0 + timedelta(days=1)
    assert times.last_inbound(WHATSAPP, "p_x") is None
    times.note_inbound(WHATSAPP, "p_x", T0, kept)
    times.note_inbound(WHATSAPP, "p_x", T0 - timedelta(minutes=5), kept)  # delivered late
    assert times.last_inbound(WHATSAPP, "p_x") == T0
    times.note_inbound(WHATSAPP, "p_x", T0 + timedelta(minutes=5), kept)
    assert times.last_inbound(WHATSAPP, "p_x") == T0 + timedelta(minutes=5)
    assert times.last_inbound(TELEGRAM, "p_x") is None


def test_telegram_and_whatsapp_deliveries_of_a_task_are_deduped_apart_in_one_ledger(
    stores: Stores,
) -> None:
    ledger, task, until = stores.deliveries, TASK.task_id, T0 + timedelta(days=7)
    assert ledger.record(TELEGRAM, (task, 1), "42", "-100123", until) is True
    # WhatsApp's records of the same (task, version) are per member, beside Telegram's.
    assert ledger.record(WHATSAPP, (task, 1, "w1"), "", "", until) is True
    assert ledger.record(WHATSAPP, (task, 1, "w2"), "", "", until) is True
    assert ledger.record(WHATSAPP, (task, 1, "w1"), "", "", until) is False
    assert ledger.record(TELEGRAM, (task, 1), "43", "-100123", until) is False
    assert ledger.record(WHATSAPP, (task, 2, "w1"), "", "", until) is True  # a new version
    # A member's record is not a channel-wide delivery: dispatch still plans WhatsApp.
    assert ledger.delivered(TELEGRAM, [(task, 1), (task, 2)]) == {(task, 1)}
    assert ledger.delivered(WHATSAPP, [(task, 1)]) == frozenset()
    assert ledger.first(TELEGRAM, task) == ("42", "-100123")  # what Telegram edits
    # A failed WhatsApp send forgets its member's record only.
    ledger.forget(WHATSAPP, (task, 1, "w1"))
    assert ledger.record(WHATSAPP, (task, 1, "w1"), "", "", until) is True
    assert ledger.record(WHATSAPP, (task, 1, "w2"), "", "", until) is False
    assert ledger.first(TELEGRAM, task) == ("42", "-100123")


def test_one_ledger_under_both_senders_keeps_their_dedup_apart(stores: Stores) -> None:
    """The real WhatsApp sender on the ledger where Telegram recorded its post of the task:
    each member gets the task once, and Telegram's record (what it edits) stays as it was."""
    ledger = stores.deliveries
    assert ledger.record(TELEGRAM, delivery_key(TASK), "42", "-100123", T0 + timedelta(days=30))
    team = Team("DL-1", "DL Central", "DL", members=(member(1), member(2)))
    s = sender(FakeWhatsAppClient(), stores, Clock(), SendLimits())
    assert [x.member_id for x in s.send_task(TASK, team).sent] == ["w1", "w2"]
    again = s.send_task(TASK, team)
    assert again.sent == [] and again.skipped == {"w1": "sent already", "w2": "sent already"}
    assert ledger.first(TELEGRAM, TASK.task_id) == ("42", "-100123")
    assert ledger.delivered(TELEGRAM, [delivery_key(TASK)]) == {delivery_key(TASK)}
