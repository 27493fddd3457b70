"""The phone sink: warriors' devices, played by SQS queues subscribed like real endpoints.

moto drops SNS fan-out to push, SMS and e-mail, so each demo device is an SQS queue subscribed
to its state's topic with the filter policy its real push endpoint would carry. What arrives is
printed the way a warrior would see it; repeats (same task id and version) are dropped, as the app
does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.org import Member, Team
from chalicelib.domain.subscriptions import filter_policy
from chalicelib.domain.tasks import task_id_for


@dataclass(frozen=True)
class Delivery:
    member_id: str
    member_name: str
    team_id: str
    state: str
    task_id: str
    version: int
    severity: int
    lang: str
    leader: str
    excerpt: str
    url: str
    kind: str = "task"


@dataclass
class Device:
    member: Member
    team: Team
    queue_url: str
    subscription_arn: str


@dataclass
class PhoneSink:
    sqs: Any
    sns: Any
    topic_arn_for: Callable[[str], str]
    on_delivery: Callable[[Delivery], None] | None = None
    devices: list[Device] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    repeats_dropped: int = 0
    _seen: set[tuple[str, str, int]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_device(self, member: Member, team: Team) -> Device:
        name = f"tvarit-phone-{member.id}"
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sub = self.sns.subscribe(
            TopicArn=self.topic_arn_for(team.state),
            Protocol="sqs",
            Endpoint=arn,
            Attributes={
                "FilterPolicy": json.dumps(filter_policy(member, team)),
                "RawMessageDelivery": "true",
            },
            ReturnSubscriptionArn=True,
        )
        device = Device(member, team, url, sub["SubscriptionArn"])
        self.devices.append(device)
        return device

    def poll_once(self) -> int:
        got = 0
        for device in self.devices:
            response = self.sqs.receive_message(
                QueueUrl=device.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            for m in response.get("Messages", []):
                got += 1
                self._receive(device, m["Body"])
                self.sqs.delete_message(QueueUrl=device.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return got

    def _receive(self, device: Device, body: str) -> None:
        payload = json.loads(body)
        incident = payload.get("incident", "")
        if payload.get("type") == "digest":
            # A digest names its held tasks; it is deduped on its own key.
            held = payload.get("task_ids", "")
            task_id = f"digest:{held.split(',')[0] if held else incident}"
            key = (device.member.id, f"{incident}", int(payload.get("v", 0)))
            self._record(device, payload, task_id, key)
            return
        # As the app does: the id in the message, else the team's entry of the map, else derived.
        task_id = (
            payload.get("task_id")
            or payload.get("tasks", {}).get(device.team.id)
            or task_id_for(device.team.id, incident)
        )
        # An escalation is a new notice about the same task version: dedupe on its step too.
        kind = payload.get("type", "task")
        step = payload.get("escalation_step", "") if kind == "escalation" else ""
        key = (device.member.id, f"{task_id}{step and '#' + step}", int(payload.get("v", 0)))
        self._record(device, payload, task_id, key)

    def _record(
        self, device: Device, payload: dict[str, Any], task_id: str, key: tuple[str, str, int]
    ) -> None:
        with self._lock:
            if key in self._seen:
                self.repeats_dropped += 1
                return
            self._seen.add(key)
            delivery = Delivery(
                member_id=device.member.id,
                member_name=device.member.name,
                team_id=device.team.id,
                state=payload.get("state", ""),
                task_id=task_id,
                version=int(payload.get("v", 0)),
                severity=int(payload.get("severity", 0)),
                lang=payload.get("lang", ""),
                leader=payload.get("leader", ""),
                excerpt=payload.get("excerpt", ""),
                url=payload.get("url", ""),
                kind=payload.get("type", "task"),
            )
            self.deliveries.append(delivery)
        if self.on_delivery is not None:
            self.on_delivery(delivery)


def format_delivery(d: Delivery) -> str:
    """One line, as the notification would read on the warrior's phone."""
    excerpt = " ".join(d.excerpt.split())
    if len(excerpt) > 90:
        excerpt = excerpt[:89] + "…"
    tag = {"escalation": "⚠️  ESCALATION ", "digest": "📰 DIGEST "}.get(d.kind, "")
    return (
        f"📱 {tag}{d.member_name:<16} [{d.state} {d.team_id}] sev {d.severity} {d.lang:<7} "
        f"{d.leader}: {excerpt}  ({d.task_id} v{d.version})"
    )
