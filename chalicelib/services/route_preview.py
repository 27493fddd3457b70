"""Which teams a mention would reach: a draft (or the stored) route tree, validated exactly as
``PUT /routes`` and ``tvarit route`` validate it, resolved against the stored teams.

The labels come from a stored mention (as the analyze stage derives them: its leader's state,
district, party, the top matched query's category and severity, platform and language) or are
typed by the head. Teams in states the caller may not see are counted, not named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.access import Principal, Scope, Verb, authorize, visible
from chalicelib.domain.analysis import default_route_tree
from chalicelib.domain.config_kinds import validate_routes
from chalicelib.domain.routing import (
    LABEL_ALIASES,
    LABELS,
    RouteTree,
    TeamDirectory,
    states_needed,
)
from chalicelib.domain.states import STATE_CODES
from chalicelib.errors import FieldProblem, InvalidInputError
from chalicelib.services.config_cache import load_teams, load_watch_config
from chalicelib.services.monitoring import read_mention
from chalicelib.services.ports import ConfigStore, MentionRecord, MentionRepository

LABEL_NAMES = LABELS | frozenset(LABEL_ALIASES)


@dataclass(frozen=True)
class ReachedState:
    state: str
    team_ids: tuple[str, ...]  # those the caller may see
    count: int
    route_paths: tuple[str, ...]


@dataclass(frozen=True)
class RoutePreview:
    digest: str
    labels: Mapping[str, str]
    routes: tuple[tuple[str, str], ...]  # (path, name) of the routes that handle the labels
    reached: tuple[ReachedState, ...]
    draft: bool  # a draft tree was previewed (not the one in force)


def labels_of_mention(mention: MentionRecord, store: ConfigStore) -> dict[str, str]:
    """The labels routing would match for a stored mention (``analysis.route_labels``)."""
    config = load_watch_config(store)
    leader = config.leaders.get(mention.leader_id)
    if leader is None or not mention.matches:
        raise InvalidInputError(
            "this mention routes nowhere: no watched leader wrote it or no query matched it",
            [FieldProblem("mention_key", "not a matched mention of a watched leader")],
        )
    queries = [config.queries[m.query_id] for m in mention.matches if m.query_id in config.queries]
    top = max(queries, key=lambda q: q.severity, default=None)
    return {
        "state": leader.state,
        "district": leader.district,
        "party": leader.party,
        "leader": leader.id,
        "platform": mention.platform,
        "lang": mention.lang,
        "category": top.category if top else "",
        "severity": str(top.severity if top else 3),
    }


def check_labels(labels: Any) -> dict[str, str]:
    """Typed labels: known names, string values (422 naming the label otherwise)."""
    if not isinstance(labels, dict):
        raise InvalidInputError("labels is an object", [FieldProblem("labels", "an object")])
    problems = [
        FieldProblem(f"labels.{k}", f"one of {', '.join(sorted(LABEL_NAMES))}")
        for k in labels
        if k not in LABEL_NAMES
    ]
    problems += [
        FieldProblem(f"labels.{k}", "a string") for k, v in labels.items() if not isinstance(v, str)
    ]
    if problems:
        raise InvalidInputError("unknown or malformed labels", problems)
    return {str(k): str(v) for k, v in labels.items()}


def preview_routes(
    store: ConfigStore,
    mentions: MentionRepository,
    p: Principal,
    config: Any | None = None,
    labels: Mapping[str, str] | None = None,
    mention_key: str = "",
) -> RoutePreview:
    """Resolve ``labels`` (or a stored mention's) through the draft tree ``config`` (None: the
    tree in force) to the teams it reaches."""
    authorize(p, "routes", Verb.READ, Scope())
    tree = _tree(store, config)
    if mention_key:
        wanted = labels_of_mention(read_mention(mentions, p, mention_key), store)
    elif labels:
        wanted = dict(labels)
    else:
        raise InvalidInputError(
            "say which mention, or which labels",
            [FieldProblem("labels", "give labels or a mention_key")],
        )
    routes = tree.match(wanted)
    states = states_needed(routes, wanted.get("state", ""), _state_of_team(store), STATE_CODES)
    teams = [t for s in sorted(states) for t in load_teams(store, s)]
    per_state: dict[str, tuple[dict[str, None], dict[str, None]]] = {}
    for target in tree.resolve(wanted, TeamDirectory.build(teams)):
        ids, paths = per_state.setdefault(target.state, ({}, {}))
        ids.update(dict.fromkeys(target.team_ids))
        paths[target.route_path] = None
    by_id = {t.id: t for t in teams}

    def shown(team_id: str) -> bool:
        t = by_id[team_id]
        return visible(p, Scope(state=t.state, district=t.district, team=t.id))

    reached = tuple(
        ReachedState(state, tuple(i for i in ids if shown(i)), len(ids), tuple(paths))
        for state, (ids, paths) in per_state.items()
    )
    return RoutePreview(
        tree.digest,
        wanted,
        tuple((r.path, r.name) for r in routes),
        reached,
        config is not None,
    )


def _tree(store: ConfigStore, config: Any | None) -> RouteTree:
    if config is not None:
        return validate_routes(config)  # the check PUT /routes and `tvarit route` make
    routes = load_watch_config(store).routes
    return routes or default_route_tree()


def _state_of_team(store: ConfigStore) -> Any:
    from chalicelib.services.config_cache import team_record

    def state_of(team_id: str) -> str | None:
        record = team_record(store, team_id)
        return None if record is None else str(record.data.get("state", ""))

    return state_of
