"""The phone sink: warriors' devices, played by SQS queues subscribed like real endpoints.

moto drops SNS fan-out to push, SMS and e-mail, so each demo device is an SQS queue subscribed
to its state's topic with the filter policy its real push endpoint would carry. The SMS and
e-mail subscriptions the API creates on the topics are real (moto keeps them, it only drops their
deliveries): :meth:`PhoneSink.mirror_contacts` finds them and stands an SQS queue beside each,
with the same filter policy, and shows the SMS text (rendered from the delivered payload by the
same function that renders the published ``sms`` text) or the e-mail subject. What arrives is
printed the way a warrior would see it; repeats (same task id and version) are dropped, as the
app does. Phone numbers and addresses are shown masked.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.contacts import mask_email, mask_phone
from chalicelib.domain.notify import email_subject_from_data, sms_from_data
from chalicelib.domain.org import Member, Team
from chalicelib.domain.subscriptions import filter_policy
from chalicelib.domain.tasks import task_id_for

CONTACT_PROTOCOLS = ("sms", "email")


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
    channel: str = "push"  # push | sms | email
    post_lang: str = ""
    terms: str = ""
    page_url: str = ""
    text: str = ""  # the SMS text, or the e-mail subject
    to: str = ""  # the masked phone number or address of an SMS or e-mail


@dataclass
class Device:
    member: Member
    team: Team
    queue_url: str
    subscription_arn: str


@dataclass
class Contact:
    """An SMS or e-mail subscription on a state topic, mirrored by an SQS queue."""

    protocol: str
    masked: str
    subscription_arn: str  # the real (moto) sms/email subscription
    filter_policy: dict[str, Any]
    queue_url: str


@dataclass
class PhoneSink:
    sqs: Any
    sns: Any
    topic_arn_for: Callable[[str], str]
    on_delivery: Callable[[Delivery], None] | None = None
    devices: list[Device] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    repeats_dropped: int = 0
    outages: int = 0  # times the phones found AWS away (keep_polling)
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

    def _queue(self, name: str) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        return str(url), str(arn)

    def mirror_contacts(self) -> list[Contact]:
        """Stand an SQS queue beside every SMS/e-mail subscription not yet mirrored; new ones.

        A subscription that is gone (the member dropped the channel) stops being mirrored.
        """
        live: dict[str, dict[str, Any]] = {}
        for page in self.sns.get_paginator("list_subscriptions").paginate():
            for sub in page.get("Subscriptions", []):
                if sub.get("Protocol") in CONTACT_PROTOCOLS:
                    live[sub["SubscriptionArn"]] = sub
        with self._lock:
            self.contacts = [c for c in self.contacts if c.subscription_arn in live]
            known = {c.subscription_arn for c in self.contacts}
        added: list[Contact] = []
        for arn, sub in live.items():
            if arn in known:
                continue
            attrs = self.sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
            policy = json.loads(attrs.get("FilterPolicy") or "{}")
            protocol, endpoint = sub["Protocol"], sub["Endpoint"]
            masked = mask_phone(endpoint) if protocol == "sms" else mask_email(endpoint)
            url, queue_arn = self._queue(f"tvarit-{protocol}-{arn.rsplit(':', 1)[-1][:36]}")
            self.sns.subscribe(
                TopicArn=sub["TopicArn"],
                Protocol="sqs",
                Endpoint=queue_arn,
                Attributes={"FilterPolicy": json.dumps(policy), "RawMessageDelivery": "true"},
            )
            added.append(Contact(protocol, masked, arn, policy, url))
        with self._lock:
            self.contacts.extend(added)
        return added

    def poll_once(self) -> int:
        got = 0
        for contact in list(self.contacts):
            response = self.sqs.receive_message(
                QueueUrl=contact.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            for m in response.get("Messages", []):
                got += 1
                self._receive_contact(contact, m["Body"])
                self.sqs.delete_message(
                    QueueUrl=contact.queue_url, ReceiptHandle=m["ReceiptHandle"]
                )
        for device in self.devices:
            response = self.sqs.receive_message(
                QueueUrl=device.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            for m in response.get("Messages", []):
                got += 1
                self._receive(device, m["Body"])
                self.sqs.delete_message(QueueUrl=device.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return got

    def listen(self, stop: threading.Event, wait_seconds: int = 1) -> list[threading.Thread]:
        """Long-poll every device queue on a thread of its own until ``stop``: a message is
        taken the moment SNS delivers it, as a phone with a live push connection would
        (``poll_once`` sweeps the queues one after another; each empty sweep costs a wait)."""
        threads = []
        for device in list(self.devices):

            def run(device: Device = device) -> None:
                while not stop.is_set():
                    try:
                        response = self.sqs.receive_message(
                            QueueUrl=device.queue_url,
                            MaxNumberOfMessages=10,
                            WaitTimeSeconds=wait_seconds,
                        )
                    except Exception:  # the stack is stopping under us
                        if stop.wait(0.5):
                            return
                        continue
                    for m in response.get("Messages", []):
                        self._receive(device, m["Body"])
                        self.sqs.delete_message(
                            QueueUrl=device.queue_url, ReceiptHandle=m["ReceiptHandle"]
                        )

            t = threading.Thread(target=run, name=f"phone-{device.member.id}", daemon=True)
            t.start()
            threads.append(t)
        return threads

    def _receive_contact(self, contact: Contact, body: str) -> None:
        data = json.loads(body)
        kind = data.get("type", "task")
        step = data.get("escalation_step", "") if kind == "escalation" else ""
        incident = data.get("incident", "")
        team_ids = _policy_teams(contact.filter_policy)
        # A notice to many teams names no task: the contact's team derives its own, as a phone
        # does (task ids are task_id_for(team, incident)).
        task_id = data.get("task_id", "") or (
            task_id_for(team_ids[0], incident)
            if team_ids and kind != "digest"
            else f"digest:{incident}"
        )
        key = (
            f"{contact.protocol}:{contact.subscription_arn}",
            f"{task_id}#{step}",
            int(data["v"]),
        )
        text = sms_from_data(data) if contact.protocol == "sms" else email_subject_from_data(data)
        self._deliver(
            key,
            data,
            task_id,
            member_id="",
            member_name="",
            team_id=",".join(team_ids),
            kind=kind,
            channel=contact.protocol,
            text=text,
            to=contact.masked,
        )

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
        self._deliver(
            key,
            payload,
            task_id,
            member_id=device.member.id,
            member_name=device.member.name,
            team_id=device.team.id,
            kind=payload.get("type", "task"),
        )

    def _deliver(
        self, key: tuple[str, str, int], data: dict[str, Any], task_id: str, **who: str
    ) -> None:
        """Keep one delivery per dedupe key, as a phone (or inbox) drops a repeat."""
        with self._lock:
            if key in self._seen:
                self.repeats_dropped += 1
                return
            self._seen.add(key)
            delivery = Delivery(
                state=data.get("state", ""),
                task_id=task_id,
                version=int(data.get("v", 0)),
                severity=int(data.get("severity", 0)),
                lang=data.get("lang", ""),
                leader=data.get("leader", ""),
                excerpt=data.get("excerpt", ""),
                url=data.get("url", ""),
                post_lang=data.get("post_lang", ""),
                terms=data.get("terms", ""),
                page_url=data.get("page_url", ""),
                **who,
            )
            self.deliveries.append(delivery)
        if self.on_delivery is not None:
            self.on_delivery(delivery)


def _policy_teams(policy: dict[str, Any]) -> list[str]:
    branches = policy.get("$or", [policy])
    return [t for b in branches for t in b.get("team_ids", []) if not t.startswith("@")][:1]


def format_delivery(d: Delivery) -> str:
    """One line, as the notification (or the SMS, or the e-mail's subject) would read."""
    tag = {"escalation": "⚠️  ESCALATION ", "digest": "📰 DIGEST "}.get(d.kind, "")
    if d.channel == "sms":
        return f"💬 {tag}SMS to {d.to} [{d.state} {d.team_id}]: {d.text}"
    if d.channel == "email":
        return f"📧 {tag}e-mail to {d.to} [{d.state} {d.team_id}]: {d.text}  → {d.page_url}"
    excerpt = " ".join(d.excerpt.split())
    if len(excerpt) > 90:
        excerpt = excerpt[:89] + "…"
    terms = f" «{d.terms}»" if d.terms else ""
    link = f"  → {d.page_url}" if d.page_url else ""
    return (
        f"📱 {tag}{d.member_name:<16} [{d.state} {d.team_id}] sev {d.severity} "
        f"post:{d.post_lang or '?':<7}{terms} {d.leader}: {excerpt}  "
        f"({d.task_id} v{d.version}){link}"
    )


def keep_polling(
    sink: PhoneSink,
    stop: threading.Event,
    say: Callable[[str], None],
    mirror_every: float = 2.0,
    idle_wait: float = 0.2,
    max_backoff: float = 5.0,
) -> None:
    """The phones' loop until ``stop``: deliveries, and SMS/e-mail members added meanwhile.

    AWS may be away (moto frozen, stopped, overloaded): the phones say so once, back off and
    resume when it answers again, as a phone would reconnect; a delivery is never lost, since
    SQS keeps it until the phone deletes it.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    last_mirror = time.monotonic()
    backoff = 0.0
    while not stop.is_set():
        try:
            if time.monotonic() - last_mirror > mirror_every:
                sink.mirror_contacts()
                last_mirror = time.monotonic()
            got = sink.poll_once()
        except (BotoCoreError, ClientError) as err:
            if not backoff:
                say(f"phones: AWS unreachable ({type(err).__name__}); retrying")
            sink.outages += 0 if backoff else 1
            backoff = min(max(backoff * 2, 0.5), max_backoff)
            stop.wait(backoff)
            continue
        if backoff:
            say("phones: AWS answers again; resuming")
            backoff = 0.0
        if got == 0:
            stop.wait(idle_wait)
