"""The WhatsApp channel: one message per opted-in member, queued for the sender.

Dispatch hands it a delivery (the tasks of one plan); it enqueues one SQS message per
(task, notice version, member) WhatsApp may message. The queue's one consumer
(``whatsapp_send``, reserved concurrency 1) sends them through End User Messaging Social
within the business number's throughput and tier, so its limiter is the number's. Dedup on
(task id, version) is per member, at send time (``services.whatsapp.WhatsAppSender``, in the
one delivery ledger with a ``MemberDeliveryKey``): a redelivered plan enqueues again and the
sender drops what went out already.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib.domain.channels import TASK, WHATSAPP, Delivery, DeliveryKey, delivery_key
from chalicelib.domain.org import team_from_dict
from chalicelib.domain.whatsapp import may_message
from chalicelib.services.config_cache import team_record
from chalicelib.services.ports import ConfigStore, MentionQueue


@dataclass
class WhatsAppChannel:
    store: ConfigStore
    queue: MentionQueue  # any SQS queue of JSON messages

    @property
    def name(self) -> str:
        return WHATSAPP

    def reachable(self, team_ids: Sequence[str]) -> frozenset[str]:
        return frozenset(team_ids)  # a member channel: who is opted in is decided per member

    def delivered(self, keys: Sequence[DeliveryKey]) -> frozenset[DeliveryKey]:
        return frozenset()  # per member, at send time (see the module docstring)

    def deliver(self, delivery: Delivery) -> list[str]:
        """Enqueue one send per opted-in member; the (task, member) pairs queued."""
        if delivery.kind != TASK:
            return []  # WhatsApp cannot edit what it sent: updates page nobody here
        messages: list[dict[str, object]] = []
        for task in delivery.tasks:
            record = team_record(self.store, task.team_id)
            if record is None:
                continue
            task_id, version = delivery_key(task)
            for member in team_from_dict(dict(record.data)).members:
                if may_message(member):
                    messages.append(
                        {
                            "task_id": task_id,
                            "version": version,
                            "team_id": task.team_id,
                            "member_id": member.id,
                        }
                    )
        if messages:
            self.queue.send(messages)  # batched by the queue adapter; UpstreamError unless all
        return [f"{m['task_id']}#{m['member_id']}" for m in messages]
