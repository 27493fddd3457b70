"""What was ingested and how it was grouped: heads read mentions and incidents of their state.

Mentions and incidents are scoped by the watched leader's state (a district head sees the whole
state's: posts are per leader, not per district). Mentions of no watched leader carry no state:
they are not listed by state, and by key they read as national objects (``access.visible``).
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.access import Principal, Role, Scope, Verb, authorize, may, visible
from chalicelib.domain.config_kinds import LEADERS
from chalicelib.domain.incidents import IncidentRecord
from chalicelib.domain.tasks import Task
from chalicelib.errors import FieldProblem, ForbiddenError, InvalidInputError, NotFoundError
from chalicelib.services.ports import (
    ConfigStore,
    IncidentIndex,
    MentionRecord,
    MentionRepository,
    TaskRepository,
)
from chalicelib.services.task_flow import task_scope


def mentions_of_state(
    repo: MentionRepository,
    p: Principal,
    state: str | None,
    limit: int,
    cursor: str | None = None,
    matched: bool | None = None,
) -> tuple[list[MentionRecord], str | None]:
    """A state's stored mentions, newest first; ``state`` defaults to the caller's own."""
    if not may(p, "mention", Verb.READ):  # before asking for a state the role cannot use
        raise ForbiddenError(f"a {p.role.value} may not read mention objects")
    wanted = state or p.state
    if not wanted:
        raise InvalidInputError("say which state", [FieldProblem("state", "required")])
    authorize(p, "mention", Verb.READ, Scope(state=wanted))
    return repo.list_by_state(wanted, limit, cursor, matched)


def read_mention(repo: MentionRepository, p: Principal, key: str) -> MentionRecord:
    mention = repo.get(key)
    if mention is None:
        if not may(p, "mention", Verb.READ):
            raise ForbiddenError(f"a {p.role.value} may not read mention objects")
        raise NotFoundError("no such mention")
    authorize(p, "mention", Verb.READ, Scope(state=mention.state))
    return mention


@dataclass(frozen=True)
class IncidentView:
    record: IncidentRecord
    state: str  # the leader's state ("" when the leader is no longer watched nor stored)
    tasks: tuple[Task, ...]


def read_incident(
    incidents: IncidentIndex,
    mentions: MentionRepository,
    tasks: TaskRepository,
    config: ConfigStore,
    p: Principal,
    incident_key: str,
) -> IncidentView:
    """An incident with the tasks its mentions made (those the caller may see)."""
    if not may(p, "incident", Verb.READ):
        raise ForbiddenError(f"a {p.role.value} may not read incident objects")
    record = incidents.get(incident_key)
    if record is None:
        raise NotFoundError("no such incident")
    stored = mentions.get_many(record.mention_keys)
    leader = (
        config.get_item(LEADERS.fixed_partition, record.leader_id) if record.leader_id else None
    )
    # The leader's state now; a leader since removed from the watchlist: as their mentions were.
    state = str(leader.data.get("state", "")) if leader else ""
    state = state or next((m.state for m in stored if m.state), "")
    if not state and p.role is not Role.NATIONAL_ADMIN:
        raise NotFoundError("no such incident")  # no state to scope it by: national admins only
    authorize(p, "incident", Verb.READ, Scope(state=state))
    order = {k: i for i, k in enumerate(record.mention_keys)}
    task_ids = dict.fromkeys(
        t for m in sorted(stored, key=lambda m: order.get(m.key, 0)) for t in m.task_ids
    )
    found = (tasks.get(t) for t in task_ids)
    # A district head sees the incident but only their district's teams' tasks (GET /tasks/{id}).
    mine = tuple(t for t in found if t is not None and visible(p, task_scope(t)))
    return IncidentView(record, state, mine)
