"""What the API answers, as typed dictionaries: one home for every response body's shape.

The views build these (mypy checks every key), and the OpenAPI document generates its response
schemas from the same classes (``openapi.document``, with ``additionalProperties: false``), so a
field a view adds is in the document, or the type check fails. No pydantic here: it is imported
only when the document is first built, off the cold-start path. ``typing_extensions.TypedDict``
because pydantic reads only that one on Python 3.11.
"""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict


class Health(TypedDict):
    status: str


class Accepted(TypedDict):
    """Posts accepted from a push or webhook: how many, and their mention keys."""

    accepted: int
    keys: list[str]


class FieldProblemOut(TypedDict):
    loc: str
    msg: str


class Problem(TypedDict):
    """RFC 9457 problem details; ``instance`` is the path that was asked for."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: NotRequired[list[FieldProblemOut]]


class Task(TypedDict):
    """A task as a warrior reads it."""

    task_id: str
    team_id: str
    state: str
    district: str
    status: str
    version: int
    created_at: str
    updated_at: str | None
    incident_key: str
    mention_key: str
    leader_id: str
    leader_name: str
    query_ids: list[str]
    category: str
    severity: int
    lang: str
    excerpt: str
    url: str
    response_url: str
    priority: float
    page_url: str  # the task page; empty without a configured public base URL


class TaskEvent(TypedDict):
    seq: int
    action: str
    actor: str
    at: str
    from_status: str
    to_status: str
    detail: dict[str, Any]


class TaskDetail(Task):
    events: list[TaskEvent]


class TaskList(TypedDict):
    items: list[Task]
    next_cursor: str | None


class MatchOut(TypedDict):
    """One keyword query matching a mention: the terms found and their [start, end) spans."""

    query_id: str
    terms: list[str]
    spans: list[list[int]]


class Mention(TypedDict):
    key: str
    platform: str
    author_handle: str
    leader_id: str | None
    state: str | None
    created_at: str
    ingested_at: str
    text: str
    url: str
    lang: str
    script: str
    mixed: bool
    matches: list[MatchOut]
    status: str
    task_ids: list[str]


class MentionList(TypedDict):
    items: list[Mention]
    next_cursor: str | None


class Incident(TypedDict):
    incident_key: str
    leader_id: str
    state: str | None
    query_ids: list[str]
    first_seen: str
    last_seen: str
    mention_keys: list[str]
    tasks: list[Task]


class ResponseStats(TypedDict):
    """Response statistics of one team, or of the state (``key``)."""

    key: str
    tasks: int
    open: int
    acknowledged: int
    completed: int
    declined: int
    expired: int
    completion_rate: float | None
    ack_p50_s: float | None
    ack_p90_s: float | None
    complete_p50_s: float | None
    complete_p90_s: float | None


class Stats(TypedDict):
    state: str
    total: ResponseStats
    teams: list[ResponseStats]


class AuditRecord(TypedDict):
    scope: str
    at: str
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditList(TypedDict):
    items: list[AuditRecord]
    next_cursor: str | None


class DeviceOut(TypedDict):
    id: str
    platform: str
    team_id: str
    state: str
    filter_policy: dict[str, Any]
    version: int


class DeviceList(TypedDict):
    items: list[DeviceOut]
    next_cursor: str | None


class Routes(TypedDict):
    """The route tree in force; ``config`` is null (and ``version`` 0) before the first one."""

    config: dict[str, Any] | None
    version: int
    updated_by: NotRequired[str]


class PreviewHit(TypedDict):
    key: str
    text: str
    lang: str
    state: str
    terms: list[str]
    spans: list[list[int]]


class Preview(TypedDict):
    scanned: int
    matched: int
    items: list[PreviewHit]


class StatsDay(TypedDict):
    """One day of the daily rollup (India time); durations are histogram upper bounds."""

    day: str
    tasks: int
    acknowledged: int
    completed: int
    declined: int
    ack_p50_s: float | None
    ack_p90_s: float | None
    complete_p50_s: float | None
    complete_p90_s: float | None


class StatsDaily(TypedDict):
    state: str
    district: str  # a district head's own district; "" for the whole state
    days: list[StatsDay]


class TeamResponse(TypedDict):
    team_id: str
    district: str
    tasks: int
    acknowledged: int
    completed: int
    declined: int
    never_responds: bool


class StatsTeams(TypedDict):
    state: str
    first_day: str
    last_day: str
    teams: list[TeamResponse]


class ImportProblemRow(TypedDict):
    line: int
    team_id: str
    member_id: str
    errors: list[FieldProblemOut]


class MemberImport(TypedDict):
    rows: int
    valid: int
    invalid: list[ImportProblemRow]
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    applied: bool


class WatchedAccount(TypedDict):
    """One account of a watched leader and its poll health (times: ISO 8601, null if never)."""

    platform: str
    handle: str
    platform_id: str
    account_key: str  # "" when the account is not polled (pushed, or no platform id)
    last_polled_at: str | None
    last_success_at: str | None
    next_due_at: str | None
    failures: int
    healthy: bool
    last_error: str
    quota_used: int
    quota_units: int | None
    quota_window_seconds: float


class WatchedLeader(TypedDict):
    id: str
    name: str
    state: str
    district: str
    party: str
    version: int
    accounts: list[WatchedAccount]


class Watchlist(TypedDict):
    items: list[WatchedLeader]
    next_cursor: str | None


class QueryTerm(TypedDict):
    """What one term of a query also matches (``how``: variants, exact, no_variants, handle,
    english, short or shared)."""

    term: str
    column: int
    how: str
    spellings: list[str]
    roman_key: str
    reaches_devanagari: bool
    example: str


class QueryCheck(TypedDict):
    """A draft query checked by the parser that saving uses; ``column`` is 1-based."""

    valid: bool
    column: int | None
    message: str
    terms: list[QueryTerm]


class RouteRef(TypedDict):
    path: str
    name: str


class RouteReach(TypedDict):
    state: str
    team_ids: list[str]  # the teams the caller may see
    teams: int  # every team reached in the state
    route_paths: list[str]


class RoutePreview(TypedDict):
    digest: str
    draft: bool
    labels: dict[str, str]
    routes: list[RouteRef]
    reached: list[RouteReach]


# Response bodies by the name the OpenAPI document gives them.
class ChatLink(TypedDict):
    """A one-time Telegram deep link (issue 13) and when it stops working."""

    url: str
    expires_at: str


RESPONSES: tuple[type[Any], ...] = (
    Health,
    Accepted,
    Problem,
    Task,
    TaskDetail,
    TaskList,
    Mention,
    MentionList,
    Incident,
    Stats,
    AuditList,
    DeviceOut,
    DeviceList,
    Routes,
    Preview,
    ChatLink,
    StatsDaily,
    StatsTeams,
    MemberImport,
    Watchlist,
    QueryCheck,
    RoutePreview,
)

# What a field means, where its name alone could mislead a reader.
FIELD_DOCS: dict[tuple[str, str], str] = {
    ("ResponseStats", "completion_rate"): (
        "completed / tasks: the share of all tasks (open ones included) that were completed, "
        "0..1, rounded to 4 places; null when there are no tasks. Open tasks are in the "
        "denominator on purpose: nothing expires a task nobody works, so a rate over closed "
        "tasks alone would show a team that ignores 99 tasks and completes one as 1.0."
    ),
    ("ResponseStats", "open"): "tasks not completed, declined or expired",
    ("ResponseStats", "acknowledged"): "tasks acknowledged (or completed, which implies it)",
    ("ResponseStats", "ack_p50_s"): "median seconds from creation to the first ack; nearest rank",
    ("ResponseStats", "ack_p90_s"): "90th percentile of the same, nearest rank",
    ("ResponseStats", "complete_p50_s"): "median seconds from creation to completion",
    ("ResponseStats", "complete_p90_s"): "90th percentile of the same, nearest rank",
    ("Task", "priority"): "severity x author reach x engagement velocity; only ever raised",
    ("Task", "url"): "the post on its platform",
    ("Task", "excerpt"): "the start of the post's text",
    ("Problem", "instance"): "the request path",
    ("StatsDay", "ack_p50_s"): (
        "median seconds from creation to the first ack of the day's tasks, read from a "
        "log histogram (ratio 1.25): the upper bound of the bucket holding it"
    ),
    ("TeamResponse", "never_responds"): "had tasks and acknowledged or declined none of them",
    ("MemberImport", "applied"): "false: a report only, nothing was written",
}
