"""Grouping and limits: turn a flood of matching mentions into a few pages and a digest.

For each (team, incident) there is at most one open task: a new matching mention updates it
and pages nobody. A new incident for a team spends one token from the team's bucket
(``burst`` tokens, refilled at ``rate_per_hour``); with no token left, or inside the team's
quiet hours (local time, IST by default), the incident is held in the team's digest, which
goes out as ONE notice when it is due. Incidents at or above ``override_severity`` (5) page
immediately through quiet hours and an empty bucket. Everything here is a pure function of
the state passed in; the caller stores the returned state (one item per team).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum
from typing import Any

from chalicelib.domain.org import Team
from chalicelib.domain.tasks import TERMINAL, Task
from chalicelib.errors import FieldProblem, InvalidInputError

IST = timezone(timedelta(hours=5, minutes=30), "IST")


@dataclass(frozen=True)
class QuietHours:
    """A daily local-time window ``[start, end)``; it may wrap midnight; start == end is none."""

    start: time
    end: time
    tz: tzinfo = IST

    @classmethod
    def parse(cls, text: str, tz: tzinfo = IST) -> QuietHours | None:
        """``"22:00-07:00"`` -> QuietHours; ``""`` -> None."""
        if not text.strip():
            return None
        try:
            a, b = (part.strip() for part in text.split("-"))
            return cls(time.fromisoformat(a), time.fromisoformat(b), tz)
        except ValueError as exc:
            raise InvalidInputError(
                "quiet hours look like 22:00-07:00", [FieldProblem("quiet_hours", str(exc))]
            ) from exc

    def contains(self, at: datetime) -> bool:
        """Whether ``at`` (aware) falls inside the window, in the window's own time zone."""
        local = at.astimezone(self.tz).time().replace(tzinfo=None)
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_end(self, at: datetime) -> datetime:
        """The first end of the window strictly after ``at`` (aware, in ``at``'s zone)."""
        local = at.astimezone(self.tz)
        candidate = local.replace(
            hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0
        )
        if candidate <= local:
            candidate += timedelta(days=1)
        return candidate.astimezone(at.tzinfo)


@dataclass(frozen=True)
class ThrottlePolicy:
    """A team's limits; the defaults page at most 3 times at once and 6 times an hour."""

    rate_per_hour: float = 6.0
    burst: int = 3
    quiet_hours: QuietHours | None = None
    override_severity: int = 5
    digest_interval: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class TeamThrottle:
    """Per-team state: the token bucket and the digest being held back."""

    tokens: float
    updated_at: datetime
    digest: tuple[str, ...] = ()
    digest_due: datetime | None = None

    @classmethod
    def fresh(cls, policy: ThrottlePolicy, at: datetime) -> TeamThrottle:
        """A team never throttled before: a full bucket, nothing held."""
        return cls(float(policy.burst), at)


class Action(StrEnum):
    PAGE = "page"  # create the task and notify now
    UPDATE = "update"  # the team already has this incident: update, page nobody
    DIGEST = "digest"  # create the task, hold the notification for the team's digest


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    deliver_at: datetime | None = None


def refill(state: TeamThrottle, policy: ThrottlePolicy, at: datetime) -> TeamThrottle:
    """Add the tokens earned since the last update (never above ``burst``; time never rewinds)."""
    if at <= state.updated_at:
        return state
    hours = (at - state.updated_at).total_seconds() / 3600
    tokens = min(float(policy.burst), state.tokens + hours * policy.rate_per_hour)
    return replace(state, tokens=tokens, updated_at=at)


def next_token_at(state: TeamThrottle, policy: ThrottlePolicy) -> datetime:
    """When the bucket will next hold a whole token."""
    if state.tokens >= 1 or policy.rate_per_hour <= 0:
        return state.updated_at  # a bucket that never refills must not hold a digest forever
    return state.updated_at + timedelta(hours=(1 - state.tokens) / policy.rate_per_hour)


def _hold(
    state: TeamThrottle, policy: ThrottlePolicy, incident_key: str, at: datetime, quiet: bool
) -> tuple[Decision, TeamThrottle]:
    due = state.digest_due or max(at + policy.digest_interval, next_token_at(state, policy))
    if quiet and policy.quiet_hours is not None:
        due = max(due, policy.quiet_hours.next_end(at))
    new = replace(state, digest=(*state.digest, incident_key), digest_due=due)
    return Decision(Action.DIGEST, "quiet_hours" if quiet else "rate_limited", due), new


def admit(
    state: TeamThrottle,
    policy: ThrottlePolicy,
    *,
    incident_key: str,
    severity: int,
    at: datetime,
    open_task: Task | None = None,
) -> tuple[Decision, TeamThrottle]:
    """Decide what a matching mention of ``incident_key`` does to this team."""
    state = refill(state, policy, at)
    if open_task is not None:
        reason = "task_closed" if open_task.status in TERMINAL else "open_task"
        return Decision(Action.UPDATE, reason), state
    if incident_key in state.digest:
        return Decision(Action.UPDATE, "in_digest", state.digest_due), state
    urgent = severity >= policy.override_severity
    quiet = policy.quiet_hours is not None and policy.quiet_hours.contains(at)
    if urgent:
        # a crisis is never delayed; it still spends a token if there is one
        spent = replace(state, tokens=max(0.0, state.tokens - 1))
        return Decision(Action.PAGE, "override" if quiet or state.tokens < 1 else "new"), spent
    if quiet:
        return _hold(state, policy, incident_key, at, quiet=True)
    if state.tokens >= 1:
        return Decision(Action.PAGE, "new"), replace(state, tokens=state.tokens - 1)
    return _hold(state, policy, incident_key, at, quiet=False)


def flush_digest(
    state: TeamThrottle, policy: ThrottlePolicy, at: datetime
) -> tuple[tuple[str, ...], TeamThrottle]:
    """The incidents to send as one digest now (empty if none is due), and the new state.

    A due digest still waits for quiet hours to end; it spends one token, or goes out anyway
    once due, since holding it longer helps nobody.
    """
    state = refill(state, policy, at)
    if not state.digest or state.digest_due is None or at < state.digest_due:
        return (), state
    if policy.quiet_hours is not None and policy.quiet_hours.contains(at):
        return (), replace(state, digest_due=policy.quiet_hours.next_end(at))
    sent = state.digest
    return sent, replace(state, tokens=max(0.0, state.tokens - 1), digest=(), digest_due=None)


def policy_for(team: Team) -> ThrottlePolicy:
    """The team's paging limits, from its configuration."""
    return ThrottlePolicy(
        rate_per_hour=team.rate_per_hour,
        burst=team.burst,
        quiet_hours=QuietHours.parse(team.quiet_hours),
        digest_interval=timedelta(minutes=team.digest_minutes),
    )


def throttle_to_dict(state: TeamThrottle) -> dict[str, object]:
    return {
        "tokens": state.tokens,
        "updated_at": state.updated_at.isoformat(),
        "digest": list(state.digest),
        "digest_due": state.digest_due.isoformat() if state.digest_due else None,
    }


def throttle_from_dict(data: Mapping[str, Any]) -> TeamThrottle:
    due = data.get("digest_due")
    return TeamThrottle(
        tokens=float(data["tokens"]),
        updated_at=datetime.fromisoformat(str(data["updated_at"])),
        digest=tuple(str(k) for k in data.get("digest", ())),
        digest_due=datetime.fromisoformat(str(due)) if due else None,
    )
