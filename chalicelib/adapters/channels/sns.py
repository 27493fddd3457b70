"""The SNS channel: push, SMS and e-mail through one publish per state topic.

Its dedup on (task id, version) is the outbox itself: only tasks still ``new`` are planned,
and the dispatch transition is written on condition of the version read; a crash in between
repeats the same (task id, version), which phones drop (``domain.notify``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from chalicelib.domain.channels import SNS, TASK, Delivery, DeliveryKey
from chalicelib.domain.notify import Outbound, plan_publishes
from chalicelib.domain.routing import TeamDirectory
from chalicelib.services.ports import TaskPublisher


@dataclass
class SnsChannel:
    publisher: TaskPublisher
    outbound: Outbound = field(default_factory=Outbound)
    directory: TeamDirectory | None = None

    @property
    def name(self) -> str:
        return SNS

    def reachable(self, team_ids: Sequence[str]) -> frozenset[str]:
        # Members subscribe themselves; the filter policy picks the team: every team is reached.
        return frozenset(team_ids)

    def delivered(self, keys: Sequence[DeliveryKey]) -> frozenset[DeliveryKey]:
        return frozenset()  # see the module docstring: the task's status is the record

    def deliver(self, delivery: Delivery) -> list[str]:
        if delivery.kind != TASK:
            return []  # updates page nobody on SNS (the planner does not send them here)
        message_ids: list[str] = []
        for call in plan_publishes(delivery.tasks, self.outbound, directory=self.directory):
            message_ids += self.publisher.send(call)
        return message_ids
