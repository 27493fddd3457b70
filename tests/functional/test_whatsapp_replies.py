"""WhatsApp through the app: opt-in written through the members API, and a member's button
tap arriving from the event destination (SNS -> the ``whatsapp_events`` function) becoming
their event in GET /tasks/{id}. A second identical reply changes nothing.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.domain.channels import WHATSAPP
from chalicelib.domain.tasks import Task, TaskStatus, task_id_for
from chalicelib.domain.whatsapp import phone_key
from chalicelib.services.config_cache import load_teams
from chalicelib.services.contacts import ContactSync
from chalicelib.services.whatsapp_optin import PHONES
from tests.factories import T0
from tests.fakes import InMemoryDeliveryLedger, InMemoryInboundTimes, InMemoryReplayGuard
from tests.functional.conftest import NOW, SETTINGS, World, auth

TEAM = "DL-CENTRAL-01"
PHONE = "+919876543210"
WA_ID = "919876543210"
ASHA = {
    "id": "w-asha",
    "name": "Asha",
    "languages": ["hi"],
    "phone": PHONE,
    "contact_consent": True,
    "whatsapp_opt_in": True,
    "whatsapp_opt_in_source": "signup_form",
}
CLOCK = datetime.fromtimestamp(NOW, UTC)


@dataclasses.dataclass
class Stores:
    """What WhatsApp delivery remembers, through the channel seam's stores (in memory)."""

    deliveries: InMemoryDeliveryLedger
    replays: InMemoryReplayGuard
    inbound: InMemoryInboundTimes


@pytest.fixture
def stores(world: World) -> Iterator[Stores]:
    """The world with WhatsApp turned on for the stage."""
    settings = dataclasses.replace(SETTINGS, whatsapp=True)
    c = wiring.container()
    replays = c.replays  # the one guard Telegram's webhook uses too
    assert isinstance(replays, InMemoryReplayGuard)
    stores = Stores(InMemoryDeliveryLedger(), replays, InMemoryInboundTimes())
    c.__dict__["settings"] = settings
    c.__dict__["clock"] = lambda: CLOCK
    c.__dict__["delivery_ledger"] = stores.deliveries
    c.__dict__["inbound_times"] = stores.inbound
    c.__dict__["contact_sync"] = ContactSync(
        world.config,
        world.contacts,
        settings.state_topic_arn,
        settings.enabled_channels,
        lambda: CLOCK,
    )
    yield stores


def add(client: Client, member: dict[str, Any]) -> Any:
    return client.http.post(
        f"/teams/{TEAM}/members", headers=auth("state_head"), body=json.dumps(member)
    )


def put(client: Client, member: dict[str, Any]) -> Any:
    etag = client.http.get(f"/teams/{TEAM}", headers=auth("state_head")).headers["ETag"]
    return client.http.put(
        f"/teams/{TEAM}/members/{member['id']}",
        headers=auth("state_head", **{"If-Match": etag}),
        body=json.dumps(member),
    )


def stored(world: World, member_id: str) -> Any:
    [team] = [t for t in load_teams(world.config, "DL") if t.id == TEAM]
    return next(m for m in team.members if m.id == member_id)


def dispatched_task(world: World, team: str = TEAM, n: int = 1, district: str = "") -> Task:
    task = Task(
        task_id=task_id_for(team, f"x#{n}"),
        team_id=team,
        state="DL",
        district=district,
        incident_key=f"x#{n}",
        mention_key=f"x#{n}",
        created_at=T0,
        status=TaskStatus.DISPATCHED,
        version=2,
    )
    world.tasks.create(task)
    return task


def reply(
    client: Client, payload: str, wamid: str = "wamid.1", sender: str = WA_ID, **kw: Any
) -> dict[str, Any]:
    message = {
        "from": sender,
        "id": wamid,
        "timestamp": str(int(kw.get("at", CLOCK - timedelta(seconds=5)).timestamp())),
        "type": "button",
        "button": {"payload": payload, "text": "Acknowledge"},
    }
    entry = {
        "id": "102290129340398",
        "changes": [
            {
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {
                        "display_phone_number": "911140000000",
                        "phone_number_id": "106540352242922",
                    },
                    "contacts": [{"profile": {"name": "Asha"}, "wa_id": sender}],
                    "messages": [message],
                },
            }
        ],
    }
    notification = {
        "context": {
            "MetaWabaIds": [
                {
                    "wabaId": "102290129340398",
                    "arn": "arn:aws:social-messaging:ap-south-1:123456789012:waba/abc",
                }
            ],
            "MetaPhoneNumberIds": [
                {
                    "metaPhoneNumberId": "106540352242922",
                    "arn": "arn:aws:social-messaging:ap-south-1:123456789012:phone-number-id/def",
                }
            ],
        },
        "whatsAppWebhookEntry": json.dumps(entry),
        "aws_account_id": "123456789012",
        "message_timestamp": "2026-03-01T12:00:00.000000000Z",
        "messageId": "6d69f07a-c317-4278-9d5c-6a84078419ec",
    }
    event = client.events.generate_sns_event(message=json.dumps(notification), subject=None)
    payload: dict[str, Any] = client.lambda_.invoke("whatsapp_events", event).payload
    return payload


def events_of(client: Client, task_id: str) -> list[tuple[str, str]]:
    body = client.http.get(f"/tasks/{task_id}", headers=auth("team_lead")).json_body
    return [(e["action"], e["actor"]) for e in body["events"]]


def test_a_tap_on_acknowledge_is_the_members_event_and_a_repeat_changes_nothing(
    client: Client, world: World, stores: Stores
) -> None:
    assert add(client, ASHA).status_code == 201
    task = dispatched_task(world)
    assert reply(client, f"ack:{task.task_id}") == {"acted": 1, "refused": 0, "noted": 0}
    assert events_of(client, task.task_id) == [("ack", "w-asha")]
    assert world.tasks.get(task.task_id).status is TaskStatus.ACKNOWLEDGED  # type: ignore[union-attr]
    # The same notification again (SNS redelivers): refused as a replay, nothing changes.
    assert reply(client, f"ack:{task.task_id}") == {"acted": 0, "refused": 1, "noted": 0}
    # A second tap (a new message id): the transition is idempotent, no second event.
    reply(client, f"ack:{task.task_id}", wamid="wamid.2")
    assert events_of(client, task.task_id) == [("ack", "w-asha")]
    # The tap opened Asha's 24-hour window.
    assert stores.inbound.last_inbound(WHATSAPP, phone_key(PHONE)) is not None


def test_decline_by_tap(client: Client, world: World, stores: Stores) -> None:
    add(client, ASHA)
    task = dispatched_task(world)
    assert reply(client, f"decline:{task.task_id}")["acted"] == 1
    assert events_of(client, task.task_id) == [("decline", "w-asha")]


@pytest.mark.parametrize(
    ("sender", "member"),
    [
        ("919800000000", ASHA),  # a number we do not know
        (WA_ID, {**ASHA, "whatsapp_opt_in": False, "whatsapp_opt_in_source": ""}),  # no opt-in
    ],
)
def test_unknown_numbers_and_members_without_opt_in_are_refused(
    client: Client, world: World, stores: Stores, sender: str, member: Any
) -> None:
    add(client, member)
    task = dispatched_task(world)
    assert reply(client, f"ack:{task.task_id}", sender=sender)["refused"] == 1
    assert events_of(client, task.task_id) == []
    assert stores.inbound.times == {}  # nothing kept about strangers


def test_a_withdrawn_opt_in_stops_acting_and_is_stamped(
    client: Client, world: World, stores: Stores
) -> None:
    add(client, ASHA)
    assert put(client, {**ASHA, "whatsapp_opt_in": False}).status_code == 200
    asha = stored(world, "w-asha")
    assert asha.whatsapp_opt_out_at == CLOCK.isoformat()
    assert asha.whatsapp_opt_out_by == "shead-dl"
    assert asha.whatsapp_opt_in_source == "signup_form"  # the ended opt-in stays on record
    assert world.config.get_item(PHONES, phone_key(PHONE)) is None
    task = dispatched_task(world)
    assert reply(client, f"ack:{task.task_id}")["refused"] == 1
    assert events_of(client, task.task_id) == []


def test_a_tap_on_another_teams_task_is_refused(
    client: Client, world: World, stores: Stores
) -> None:
    add(client, ASHA)
    other = dispatched_task(world, team="DL-EAST-01", district="EAST")
    assert reply(client, f"ack:{other.task_id}")["refused"] == 1
    assert world.tasks.events(other.task_id) == []


def test_opt_in_is_stamped_with_when_and_who(client: Client, world: World, stores: Stores) -> None:
    assert add(client, ASHA).status_code == 201
    asha = stored(world, "w-asha")
    assert (asha.whatsapp_opt_in, asha.whatsapp_opt_in_source) == (True, "signup_form")
    assert (asha.whatsapp_opt_in_at, asha.whatsapp_opt_in_by) == (CLOCK.isoformat(), "shead-dl")
    pointer = world.config.get_item(PHONES, phone_key(PHONE))
    assert pointer is not None
    assert pointer.data == {
        "id": phone_key(PHONE),
        "member_id": "w-asha",
        "team_id": TEAM,
        "state": "DL",
    }
    assert PHONE not in json.dumps(pointer.data)


@pytest.mark.parametrize(
    ("member", "loc"),
    [
        ({**ASHA, "whatsapp_opt_in_source": ""}, "whatsapp_opt_in_source"),
        ({**ASHA, "phone": "", "contact_consent": False}, "phone"),
        ({**ASHA, "whatsapp_opt_in_source": "bought_list"}, "whatsapp_opt_in_source"),
    ],
)
def test_bad_opt_ins_are_422_naming_the_field(
    client: Client, world: World, stores: Stores, member: Any, loc: str
) -> None:
    response = add(client, member)
    assert response.status_code == 422
    assert loc in [p["loc"].split(".")[-1] for p in response.json_body["errors"]]


def test_a_number_opted_in_for_another_member_is_refused(
    client: Client, world: World, stores: Stores
) -> None:
    add(client, ASHA)
    response = add(client, {**ASHA, "id": "w-other", "name": "Other"})
    assert response.status_code == 422
    assert [p["loc"] for p in response.json_body["errors"]] == ["phone"]


def test_opt_in_is_refused_where_whatsapp_is_off(client: Client, world: World) -> None:
    response = add(client, ASHA)
    assert response.status_code == 422
    assert [p["loc"] for p in response.json_body["errors"]] == ["whatsapp_opt_in"]


def test_with_whatsapp_off_an_event_is_left_alone(client: Client, world: World) -> None:
    task = dispatched_task(world)
    assert reply(client, f"ack:{task.task_id}") == {"acted": 0, "refused": 0, "noted": 0}
    assert world.tasks.events(task.task_id) == []


def test_an_unreadable_notification_is_refused_not_retried(
    client: Client, world: World, stores: Stores
) -> None:
    event = client.events.generate_sns_event(message='{"context": {}}', subject=None)
    result = client.lambda_.invoke("whatsapp_events", event).payload
    assert result == {"acted": 0, "refused": 1, "noted": 0}


# ---------------------------------------------------------------------------------------------
# Sending: dispatch plans the WhatsApp channel, which queues one send per opted-in member; the
# queue's consumer (``whatsapp_send``) sends it through the port.


@pytest.fixture
def sending(world: World, stores: Stores) -> tuple[Any, Any]:
    from tests.fakes import FakeMentionQueue
    from tests.whatsapp_fakes import FakeWhatsAppClient

    c = wiring.container()
    queue, port = FakeMentionQueue(), FakeWhatsAppClient()
    c.__dict__["whatsapp_queue"] = queue
    c.__dict__["whatsapp_client"] = port
    c.__dict__["settings"] = dataclasses.replace(
        c.settings, whatsapp_phone_number_id="phone-number-id-0123456789"
    )
    return queue, port


def new_task(world: World, n: int = 7) -> Task:
    task = Task(
        task_id=task_id_for(TEAM, f"x#{n}"),
        team_id=TEAM,
        state="DL",
        incident_key=f"x#{n}",
        mention_key=f"x#{n}",
        created_at=CLOCK,
        leader_name="Arvind Kejriwal",
        terms=("black money",),
    )
    world.tasks.create(task)
    return task


def sqs(client: Client, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    event: dict[str, Any] = client.events.generate_sqs_event(
        message_bodies=[json.dumps(b) for b in bodies], queue_name="tvarit-whatsapp-sends"
    )
    for i, record in enumerate(event["Records"]):
        record["messageId"] = f"m-{i}"
    payload: dict[str, Any] = client.lambda_.invoke("whatsapp_send", event).payload
    return payload


def test_a_dispatched_task_reaches_opted_in_members_once(
    client: Client, world: World, sending: tuple[Any, Any]
) -> None:
    from tests.functional.test_event_handlers import stream_event

    queue, port = sending
    add(client, ASHA)
    add(
        client,
        {"id": "w-no", "name": "No opt-in", "phone": "+919812345678", "contact_consent": True},
    )
    task = new_task(world)
    result = client.lambda_.invoke("dispatch", stream_event([task])).payload
    assert result == {"batchItemFailures": []}
    assert queue.messages == [
        {"task_id": task.task_id, "version": 1, "team_id": TEAM, "member_id": "w-asha"}
    ]
    assert sqs(client, queue.messages) == {"batchItemFailures": []}
    [message] = port.sent
    assert message["type"] == "template"  # Asha never wrote to us: outside the window
    assert message["to"] == WA_ID and message["template"]["language"]["code"] == "hi"
    assert f"ack:{task.task_id}" in json.dumps(message)
    [request] = port.requests
    assert request["originationPhoneNumberId"] == "phone-number-id-0123456789"
    # The same queued send again (SQS at least once): nothing more goes out.
    assert sqs(client, queue.messages) == {"batchItemFailures": []}
    assert len(port.sent) == 1


def test_a_throttled_send_is_reported_for_retry(
    client: Client, world: World, sending: tuple[Any, Any]
) -> None:
    from chalicelib.errors import RateLimitedError

    _queue, port = sending
    add(client, ASHA)
    task = dispatched_task(world)
    body = {"task_id": task.task_id, "version": 1, "team_id": TEAM, "member_id": "w-asha"}
    other = dispatched_task(world, n=2)
    later = {**body, "task_id": other.task_id}
    port.fail_next.append(RateLimitedError("throttled"))
    # The first is throttled: reported, so SQS gives it again later; the second goes.
    assert sqs(client, [body, later]) == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert sqs(client, [body]) == {"batchItemFailures": []}
    assert len(port.sent) == 2


def test_an_acknowledged_task_is_not_sent(
    client: Client, world: World, sending: tuple[Any, Any]
) -> None:
    _queue, port = sending
    add(client, ASHA)
    task = dispatched_task(world)
    reply(client, f"ack:{task.task_id}")
    body = {"task_id": task.task_id, "version": 1, "team_id": TEAM, "member_id": "w-asha"}
    assert sqs(client, [body]) == {"batchItemFailures": []}
    assert port.sent == []


def test_done_without_a_link_asks_for_it_inside_the_window(
    client: Client, world: World, sending: tuple[Any, Any]
) -> None:
    queue, port = sending
    add(client, ASHA)
    task = dispatched_task(world)
    result = reply(client, f"complete:{task.task_id}", wamid="wamid.done")
    assert result == {"acted": 0, "refused": 1, "noted": 0}
    assert events_of(client, task.task_id) == []  # completing needs the response link
    assert queue.messages == [
        {
            "kind": "done_prompt",
            "member_id": "w-asha",
            "team_id": TEAM,
            "task_id": task.task_id,
            "reply_to": "wamid.done",
            "version": 0,
        }
    ]
    assert sqs(client, queue.messages) == {"batchItemFailures": []}
    [prompt] = port.sent
    assert prompt["type"] == "text"  # free-form: the tap opened Asha's window
    assert prompt["text"]["body"].endswith(f"https://tvarit.test/t/{task.task_id}")
    assert "{{" not in prompt["text"]["body"]
    # The same queued ask again: asked once per tap.
    sqs(client, queue.messages)
    assert len(port.sent) == 1
