"""Escalation chains, as data, in the manner of Grafana OnCall.

A chain is an ordered list of steps, ``wait`` (minutes) and ``notify`` (team, team lead,
district head, state head), run from the task's creation and repeated from the start at most
5 times. ``next_step(task, chain, now, done)`` is pure: given how many notify steps were
already carried out it says what to do now: notify, wait until a time, or stop (the task was
acknowledged or closed, or the chain is exhausted). The schedule handler re-reads the task
before each step, so an acknowledgement always stops the chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from chalicelib.domain.notify import (
    OFFLINE,
    Notice,
    Outbound,
    delivery_languages,
    notice_version,
)
from chalicelib.domain.org import Team
from chalicelib.domain.routing import parse_duration
from chalicelib.domain.tasks import Task, TaskStatus
from chalicelib.errors import FieldProblem, InvalidInputError

MAX_REPEAT = 5
STOPPED = frozenset(
    {TaskStatus.ACKNOWLEDGED, TaskStatus.COMPLETED, TaskStatus.DECLINED, TaskStatus.EXPIRED}
)


class Level(StrEnum):
    TEAM = "team"
    TEAM_LEAD = "team_lead"
    DISTRICT_HEAD = "district_head"
    STATE_HEAD = "state_head"


@dataclass(frozen=True)
class Step:
    """``wait`` for ``seconds``, or ``notify`` a ``level``."""

    kind: str
    seconds: int = 0
    level: Level = Level.TEAM


@dataclass(frozen=True)
class EscalationChain:
    id: str
    steps: tuple[Step, ...]
    repeat: int = 0
    scope: str = "state"  # team | state | default
    owner: str = ""  # the team id or state code it belongs to

    def schedule(self) -> list[tuple[timedelta, Level, int]]:
        """Every notify step of every pass: (offset from task creation, level, pass)."""
        out: list[tuple[timedelta, Level, int]] = []
        offset = timedelta()
        for p in range(self.repeat + 1):
            for step in self.steps:
                if step.kind == "wait":
                    offset += timedelta(seconds=step.seconds)
                else:
                    out.append((offset, step.level, p))
        return out

    def as_dict(self) -> dict[str, Any]:
        """The chain as data, for the task's snapshot."""
        return {
            "id": self.id,
            "scope": self.scope,
            "owner": self.owner,
            "repeat": self.repeat,
            "steps": [
                {"wait": f"{s.seconds}s"} if s.kind == "wait" else {"notify": s.level.value}
                for s in self.steps
            ],
        }


DEFAULT_CHAIN = EscalationChain(
    "default",
    (
        Step("wait", 15 * 60),
        Step("notify", level=Level.TEAM_LEAD),
        Step("wait", 15 * 60),
        Step("notify", level=Level.DISTRICT_HEAD),
        Step("wait", 30 * 60),
        Step("notify", level=Level.STATE_HEAD),
    ),
    repeat=2,
    scope="default",
)


def parse_chain(data: Any, path: str = "chain") -> EscalationChain:
    """Validate a chain from its JSON form; problems name their path."""
    problems: list[FieldProblem] = []
    if not isinstance(data, dict):
        raise InvalidInputError("a chain is an object", [FieldProblem(path, "must be an object")])
    for key in sorted(set(data) - {"id", "scope", "owner", "repeat", "steps"}):
        problems.append(FieldProblem(f"{path}.{key}", "unknown field"))
    cid = data.get("id")
    if not isinstance(cid, str) or not cid:
        problems.append(FieldProblem(f"{path}.id", "required"))
    scope = data.get("scope", "state")
    owner = data.get("owner", "")
    if scope not in ("team", "state", "default"):
        problems.append(FieldProblem(f"{path}.scope", "team, state or default"))
    if scope != "default" and (not isinstance(owner, str) or not owner):
        problems.append(FieldProblem(f"{path}.owner", "the team id or state code"))
    repeat = data.get("repeat", 0)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 0 <= repeat <= MAX_REPEAT:
        problems.append(FieldProblem(f"{path}.repeat", f"an integer from 0 to {MAX_REPEAT}"))
        repeat = 0
    raw_steps = data.get("steps")
    steps: list[Step] = []
    if not isinstance(raw_steps, list) or not raw_steps:
        problems.append(FieldProblem(f"{path}.steps", "a non-empty list"))
        raw_steps = []
    for i, raw in enumerate(raw_steps):
        here = f"{path}.steps[{i}]"
        if isinstance(raw, dict) and set(raw) == {"wait"}:
            secs = parse_duration(raw["wait"])
            if secs is None or secs <= 0:
                problems.append(FieldProblem(f"{here}.wait", "a positive duration such as 10m"))
            else:
                steps.append(Step("wait", secs))
        elif isinstance(raw, dict) and set(raw) == {"notify"}:
            try:
                steps.append(Step("notify", level=Level(raw["notify"])))
            except ValueError:
                levels = ", ".join(v.value for v in Level)
                problems.append(FieldProblem(f"{here}.notify", f"one of {levels}"))
        else:
            problems.append(FieldProblem(here, 'one of {"wait": "10m"} or {"notify": "team_lead"}'))
    if steps and not any(s.kind == "notify" for s in steps):
        problems.append(FieldProblem(f"{path}.steps", "needs at least one notify step"))
    if steps and all(s.kind == "notify" for s in steps) and repeat:
        # without a wait, repeats would fire all at once
        problems.append(FieldProblem(f"{path}.repeat", "a repeating chain needs a wait step"))
    if problems:
        raise InvalidInputError(f"invalid escalation chain at {problems[0].loc}", problems)
    return EscalationChain(str(cid), tuple(steps), repeat, str(scope), str(owner))


def chain_for(team: Team, chains: Iterable[EscalationChain], chain_id: str = "") -> EscalationChain:
    """The chain the route named (``chain_id``) if it exists, else the team's own chain, else
    its state's, else the default."""
    chains = tuple(chains)
    named = next((c for c in chains if chain_id and c.id == chain_id), None)
    by_scope: dict[tuple[str, str], EscalationChain] = {(c.scope, c.owner): c for c in chains}
    return (
        named
        or by_scope.get(("team", team.id))
        or by_scope.get(("state", team.state))
        or by_scope.get(("default", ""))
        or DEFAULT_CHAIN
    )


@dataclass(frozen=True)
class EscalationStep:
    action: str  # notify | wait | stop
    index: int = 0  # which notify step of the schedule (0-based)
    level: Level | None = None
    due: datetime | None = None
    repeat: int = 0
    reason: str = ""


def next_step(task: Task, chain: EscalationChain, now: datetime, done: int = 0) -> EscalationStep:
    """What the escalation of ``task`` should do at ``now``, ``done`` steps having been taken."""
    if task.status in STOPPED:
        reason = "acknowledged" if task.status is TaskStatus.ACKNOWLEDGED else task.status.value
        return EscalationStep("stop", done, reason=reason)
    plan = chain.schedule()
    if done >= len(plan):
        return EscalationStep("stop", done, reason="exhausted")
    offset, level, repeat = plan[done]
    due = task.created_at + offset
    if now < due:
        return EscalationStep("wait", done, level, due, repeat)
    return EscalationStep("notify", done, level, due, repeat)


def level_token(level: Level, team: Team) -> str:
    """The ``team_ids`` token that reaches ``level`` for ``team`` (see subscriptions.py)."""
    if level is Level.TEAM:
        return team.id
    if level is Level.TEAM_LEAD:
        return f"@lead:{team.id}"
    if level is Level.DISTRICT_HEAD and team.district:
        return f"@dhead:{team.state}/{team.district}"
    return f"@shead:{team.state}"  # a team outside any district escalates to the state head


def escalation_notice(
    task: Task,
    step: EscalationStep,
    team: Team,
    lang: str,
    extra: Mapping[str, str] | None = None,
    outbound: Outbound = OFFLINE,
) -> Notice:
    """The notice that carries one escalation step to its level (the same task page)."""
    assert step.level is not None
    return Notice(
        state=task.state,
        incident_key=task.incident_key,
        version=notice_version(task),
        severity=task.severity,
        lang=lang,
        team_ids=(level_token(step.level, team),),
        districts=(team.district,) if team.district else (),
        kind="escalation",
        leader_name=task.leader_name,
        category=task.category,
        excerpt=task.excerpt,
        url=task.url,
        task_id=task.task_id,
        post_lang=task.lang,
        terms=task.terms,
        page_url=outbound.task_url(task.task_id),
        extra={"escalation_step": str(step.index), "level": step.level.value, **(extra or {})},
    )


def escalation_notices(
    task: Task, step: EscalationStep, team: Team, outbound: Outbound = OFFLINE
) -> list[Notice]:
    """One notice per delivery language of the state: the recipient's subscription picks one."""
    return [
        escalation_notice(task, step, team, lang, outbound=outbound)
        for lang in delivery_languages(task.state)
    ]
