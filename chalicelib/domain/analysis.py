"""The analyze stage as pure functions: a mention and the config in force in, records out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib.domain.keywords import KeywordQuery, Matcher, QueryMatch
from chalicelib.domain.language import LanguageResult
from chalicelib.domain.mention import Mention
from chalicelib.domain.org import Leader, Team, account_index_key
from chalicelib.domain.routing import RouteTree, TeamDirectory, parse_route_config
from chalicelib.domain.tasks import Task, task_id_for

EXCERPT_CHARS = 280

# What routing does until a cell head configures routes: every team of the leader's state.
DEFAULT_ROUTE_CONFIG = {
    "route": {
        "name": "default: every team of the leader's state",
        "receivers": [{"teams_of": "state"}],
    }
}


def default_route_tree() -> RouteTree:
    return parse_route_config(DEFAULT_ROUTE_CONFIG)


@dataclass(frozen=True)
class WatchConfig:
    """What the analyze stage needs from configuration: leaders, accounts and queries."""

    version: str
    leaders: Mapping[str, Leader]
    queries: Mapping[str, KeywordQuery]
    matcher: Matcher
    accounts: Mapping[str, str] = field(default_factory=dict)
    routes: RouteTree = field(default_factory=default_route_tree)

    @classmethod
    def build(
        cls,
        version: str,
        leaders: Sequence[Leader],
        queries: Sequence[KeywordQuery],
        matcher: Matcher,
        routes: RouteTree | None = None,
    ) -> WatchConfig:
        accounts = {
            account_index_key(a.platform, a.handle): leader.id
            for leader in leaders
            for a in leader.accounts
        }
        return cls(
            version=version,
            leaders={leader.id: leader for leader in leaders},
            queries={q.id: q for q in queries},
            matcher=matcher,
            accounts=accounts,
            routes=routes or default_route_tree(),
        )

    def leader_for(self, platform: str, handle: str) -> Leader | None:
        leader_id = self.accounts.get(account_index_key(platform, handle))
        return None if leader_id is None else self.leaders.get(leader_id)


@dataclass(frozen=True)
class AnalyzedMention:
    """A mention with everything the analyze stage learned about it."""

    mention: Mention
    language: LanguageResult
    matches: tuple[QueryMatch, ...]
    leader: Leader | None
    ingested_at: datetime
    expires_at: datetime

    @property
    def incident_key(self) -> str:
        # One incident per post for now; near-duplicate clustering deepens this (issue #6).
        return self.mention.key


def analyze(
    mention: Mention,
    language: LanguageResult,
    config: WatchConfig,
    now: datetime,
    mention_ttl: timedelta,
    matched_ttl: timedelta,
) -> AnalyzedMention:
    """Match every compiled query regardless of language, link the author to a leader."""
    leader = config.leader_for(mention.platform, mention.author.handle)
    matches = tuple(
        config.matcher.match(
            mention.text,
            lang=language.lang,
            platform=mention.platform,
            author=mention.author.handle,
        )
    )
    ttl = matched_ttl if matches else mention_ttl
    return AnalyzedMention(mention, language, matches, leader, now, now + ttl)


def plan_tasks(
    analyzed: AnalyzedMention, config: WatchConfig, teams: Sequence[Team], now: datetime
) -> list[Task]:
    """The tasks a matched mention of a watched leader should create, one per routed team.

    ``teams`` are the teams routing may choose from (those of the leader's state); the route
    tree's own snapshot goes into every task, so later edits never change tasks in flight.
    """
    leader = analyzed.leader
    if leader is None or not analyzed.matches:
        return []
    queries = [config.queries[m.query_id] for m in analyzed.matches if m.query_id in config.queries]
    top = max(queries, key=lambda q: q.severity, default=None)
    labels = {
        "state": leader.state,
        "district": leader.district,
        "party": leader.party,
        "leader": leader.id,
        "platform": analyzed.mention.platform,
        "lang": analyzed.language.lang,
        "category": top.category if top else "",
        "severity": str(top.severity if top else 3),
    }
    routes = config.routes.match(labels)
    snapshot = {
        **config.routes.route_snapshot(routes),
        "labels": labels,
        "config_version": config.version,
    }
    by_id = {t.id: t for t in teams}
    chosen = [
        by_id[team_id]
        for target in config.routes.resolve(labels, TeamDirectory.build(teams))
        for team_id in target.team_ids
        if team_id in by_id
    ]
    text = analyzed.mention.text
    excerpt = text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"
    return [
        Task(
            task_id=task_id_for(team.id, analyzed.incident_key),
            team_id=team.id,
            state=team.state,
            district=team.district,
            incident_key=analyzed.incident_key,
            mention_key=analyzed.mention.key,
            created_at=now,
            leader_id=leader.id,
            leader_name=leader.name,
            query_ids=tuple(m.query_id for m in analyzed.matches),
            category=labels["category"],
            severity=top.severity if top else 3,
            lang=analyzed.language.lang,
            excerpt=excerpt,
            url=analyzed.mention.url,
            route=snapshot,
        )
        for team in chosen
    ]
