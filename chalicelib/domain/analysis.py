"""The analyze stage as pure functions: a mention and the config in force in, records out."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from chalicelib.domain.channels import DEFAULT_CHANNELS
from chalicelib.domain.escalation import EscalationChain, chain_for, next_step
from chalicelib.domain.incidents import (
    IncidentProbe,
    Signature,
    engagement,
    engagement_velocity,
    priority,
)
from chalicelib.domain.keywords import KeywordQuery, Matcher, QueryMatch
from chalicelib.domain.language import LanguageResult
from chalicelib.domain.mention import Mention, mention_key
from chalicelib.domain.org import Leader, Team, account_id_key, account_index_key
from chalicelib.domain.routing import RouteTree, TeamDirectory, parse_route_config
from chalicelib.domain.tasks import Task, task_id_for

EXCERPT_CHARS = 280
MAX_TERMS = 10  # a task keeps at most this many matched terms

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
    chains: tuple[EscalationChain, ...] = ()

    @classmethod
    def build(
        cls,
        version: str,
        leaders: Sequence[Leader],
        queries: Sequence[KeywordQuery],
        matcher: Matcher,
        routes: RouteTree | None = None,
        chains: Sequence[EscalationChain] = (),
    ) -> WatchConfig:
        accounts = {
            account_index_key(a.platform, a.handle): leader.id
            for leader in leaders
            for a in leader.accounts
        }
        accounts.update(
            (account_id_key(a.platform, a.platform_id), leader.id)
            for leader in leaders
            for a in leader.accounts
            if a.platform_id
        )
        return cls(
            version=version,
            leaders={leader.id: leader for leader in leaders},
            queries={q.id: q for q in queries},
            matcher=matcher,
            accounts=accounts,
            routes=routes or default_route_tree(),
            chains=tuple(chains),
        )

    def leader_for(self, platform: str, handle: str, author_id: str = "") -> Leader | None:
        """The watched leader behind an author, by handle or, failing that, platform id.

        Some platforms name authors by id only (a YouTube channel id, a Bluesky DID, a
        Telegram chat), so both are indexed.
        """
        leader_id = self.accounts.get(account_index_key(platform, handle))
        if leader_id is None and author_id:
            leader_id = self.accounts.get(account_id_key(platform, author_id))
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

    def incident_probe(self, signature_of: Callable[[str], Signature]) -> IncidentProbe:
        """What the incident index needs to place this (matched) mention."""
        m = self.mention
        return IncidentProbe(
            mention_key=m.key,
            leader_id=self.leader.id if self.leader else "",
            query_ids=tuple(q.query_id for q in self.matches),
            signature=signature_of(m.text),
            at=m.created_at,
            references=tuple(mention_key(m.platform, r.id) for r in m.references),
        )


def analyze(
    mention: Mention,
    language: LanguageResult,
    config: WatchConfig,
    now: datetime,
    mention_ttl: timedelta,
    matched_ttl: timedelta,
) -> AnalyzedMention:
    """Match every compiled query regardless of language, link the author to a leader."""
    leader = config.leader_for(mention.platform, mention.author.handle, mention.author.id)
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


def matched_terms(matches: Sequence[QueryMatch], limit: int = MAX_TERMS) -> tuple[str, ...]:
    """The words that matched, over every query, first seen first (what notices show)."""
    return tuple(dict.fromkeys(t for m in matches for t in m.terms))[:limit]


def _top_query(analyzed: AnalyzedMention, config: WatchConfig) -> KeywordQuery | None:
    queries = [config.queries[m.query_id] for m in analyzed.matches if m.query_id in config.queries]
    return max(queries, key=lambda q: q.severity, default=None)


def route_labels(analyzed: AnalyzedMention, config: WatchConfig) -> dict[str, str]:
    """The labels routing matches on; empty when the mention routes nowhere."""
    leader = analyzed.leader
    if leader is None or not analyzed.matches:
        return {}
    top = _top_query(analyzed, config)
    return {
        "state": leader.state,
        "district": leader.district,
        "party": leader.party,
        "leader": leader.id,
        "platform": analyzed.mention.platform,
        "lang": analyzed.language.lang,
        "category": top.category if top else "",
        "severity": str(top.severity if top else 3),
    }


def plan_tasks(
    analyzed: AnalyzedMention,
    config: WatchConfig,
    teams: Sequence[Team],
    now: datetime,
    incident_key: str = "",
) -> list[Task]:
    """The tasks a matched mention of a watched leader should create, one per routed team.

    ``teams`` are the teams routing may choose from (those of the leader's state); the route
    tree's own snapshot goes into every task, so later edits never change tasks in flight.
    """
    leader = analyzed.leader
    if leader is None or not analyzed.matches:
        return []
    incident_key = incident_key or analyzed.mention.key
    labels = route_labels(analyzed, config)
    top = _top_query(analyzed, config)
    routes = config.routes.match(labels)
    snapshot = {
        **config.routes.route_snapshot(routes),
        "labels": labels,
        "config_version": config.version,
    }
    by_id = {t.id: t for t in teams}
    # The route that chose a team may name the escalation chain and channels of its tasks.
    named = {r.path: r.escalation for r in routes}
    channels = {r.path: list(r.channels) for r in routes}
    chosen = [
        (by_id[team_id], target.route_path)
        for target in config.routes.resolve(labels, TeamDirectory.build(teams))
        for team_id in target.team_ids
        if team_id in by_id
    ]
    picked = [(team, chain_for(team, config.chains, named.get(path, ""))) for team, path in chosen]
    mention = analyzed.mention
    # Reach: the author's followers when the platform says, else the leader's known reach.
    score = priority(
        top.severity if top else 3,
        mention.author.followers if mention.author.followers is not None else leader.reach,
        engagement_velocity(mention.created_at, [(now, engagement(mention.metrics))]),
    ).score
    text = analyzed.mention.text
    excerpt = text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"
    tasks = [
        Task(
            task_id=task_id_for(team.id, incident_key),
            team_id=team.id,
            state=team.state,
            district=team.district,
            incident_key=incident_key,
            mention_key=analyzed.mention.key,
            created_at=now,
            leader_id=leader.id,
            leader_name=leader.name,
            query_ids=tuple(m.query_id for m in analyzed.matches),
            terms=matched_terms(analyzed.matches),
            category=labels["category"],
            severity=top.severity if top else 3,
            lang=analyzed.language.lang,
            excerpt=excerpt,
            url=analyzed.mention.url,
            route={
                **snapshot,
                "escalation": chain.as_dict(),
                "channels": channels.get(path, list(DEFAULT_CHANNELS)),
            },
            priority=score,
        )
        for (team, chain), (_, path) in zip(picked, chosen, strict=True)
    ]
    # The chain in force is part of the snapshot; its first notify step sets the first due time.
    return [
        replace(t, escalate_at=next_step(t, chain, now).due)
        for t, (_, chain) in zip(tasks, picked, strict=True)
    ]
