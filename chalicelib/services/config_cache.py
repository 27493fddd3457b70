"""The pipeline's loaders of configuration, and their per-container cache.

Analyze, dispatch and escalate read configuration only through these functions, which read
each kind where ``domain.config_kinds`` says it lives and check it with the kind's own
validator: what the API wrote is what the pipeline reads. A stored object the validator refuses
(written before validation existed) is left out and logged loudly, never silently.

A Lambda container handles many batches; re-reading leaders, queries and teams for each one would
cost DynamoDB reads and a matcher rebuild every time. Entries live ``ttl`` seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from chalicelib.domain.analysis import WatchConfig
from chalicelib.domain.config_kinds import (
    CHAINS,
    LEADERS,
    QUERIES,
    ROUTES,
    TEAM_INDEX,
    TEAMS,
    VERSION_KEY,
    ConfigKind,
    state_of_teams_partition,
    teams_partition,
    validate_chain,
    validate_leader,
    validate_query,
    validate_routes,
    validate_team,
)
from chalicelib.domain.keywords import MatcherCache, keyword_query_from_dict, query_set_version
from chalicelib.domain.org import Team
from chalicelib.errors import InvalidInputError
from chalicelib.observability import logger
from chalicelib.services.ports import ConfigRecord, ConfigStore

__all__ = ["TEAM_INDEX", "CachedConfig", "load_teams", "load_watch_config", "team_record"]

T = TypeVar("T")


def _valid(
    kind: ConfigKind, records: Sequence[ConfigRecord], check: Callable[[dict[str, Any]], T]
) -> list[T]:
    out: list[T] = []
    for r in records:
        try:
            out.append(check(r.data))
        except InvalidInputError as err:
            logger.error(
                "stored configuration is invalid; left out",
                extra={"kind": kind.name, "id": r.id, "problem": err.detail},
            )
    return out


def _partition(kind: ConfigKind) -> str:
    return kind.fixed_partition


def load_watch_config(
    store: ConfigStore, matchers: MatcherCache | None = None, version: str | None = None
) -> WatchConfig:
    """What analyze reads: leaders, keyword queries (compiled), the route tree and chains.

    ``version``: the configuration version just read by the caller (read here otherwise).
    """
    if version is None:
        item = store.get_item(*VERSION_KEY)
        version = str(item.version) if item else "0"
    leaders = _valid(LEADERS, store.list_items(_partition(LEADERS)), validate_leader)
    stored = store.list_items(_partition(QUERIES))
    queries = _valid(QUERIES, stored, keyword_query_from_dict)
    chains = _valid(CHAINS, store.list_items(_partition(CHAINS)), validate_chain)
    tree = store.get_item(*ROUTES.key({}))
    routes = _valid(ROUTES, [tree] if tree else [], validate_routes)
    cache = matchers or MatcherCache()
    return WatchConfig.build(
        version,
        leaders,
        queries,
        # Parsing every query costs ~0.1 ms each: the full check runs when the set changes, and
        # only queries that pass it are compiled.
        cache.get(query_set_version(queries), lambda: _valid(QUERIES, stored, validate_query)),
        routes[0] if routes else None,
        chains,
    )


def load_teams(store: ConfigStore, state: str) -> list[Team]:
    """What routing, dispatch and escalation read of a state: its teams with their members."""
    return _valid(TEAMS, store.list_items(teams_partition(state)), validate_team)


def team_record(store: ConfigStore, team_id: str) -> ConfigRecord | None:
    """A team's stored record, found by its id alone through its pointer; None if unknown."""
    if not team_id:
        return None
    pointer = store.get_item(TEAM_INDEX, team_id)
    if pointer is None:
        return None
    return store.get_item(str(pointer.data["pk"]), team_id)


@dataclass
class CachedConfig:
    store: ConfigStore
    ttl: float
    monotonic: Callable[[], float]
    # Compiling 1,000 queries takes ~0.2 s: a container rebuilds only when they change.
    matchers: MatcherCache = field(default_factory=MatcherCache)
    _watch: tuple[float, WatchConfig] | None = None
    _teams: dict[str, tuple[float, list[Team]]] = field(default_factory=dict)
    _team_states: dict[str, tuple[float, str | None]] = field(default_factory=dict)
    _checked: tuple[float, str] | None = None  # (when, config version) last known current

    def _still_current(self) -> None:
        """Past the ttl, one GetItem of the version: every write bumps it, so an unchanged
        version keeps everything cached for another ttl (loaded once per container and
        version), and a changed one drops it all."""
        now = self.monotonic()
        if self._checked is not None and now - self._checked[0] <= self.ttl:
            return
        item = self.store.get_item(*VERSION_KEY)
        version = str(item.version) if item else "0"
        if self._checked is None:
            # First use: what gets loaded now is at least this version (a write meanwhile
            # only makes the next check reload).
            self.invalidate()
            self._checked = (now, version)
            return
        if version != self._checked[1]:
            self.invalidate()
            self._checked = (now, version)
            return
        self._checked = (now, version)
        self._watch = (now, self._watch[1]) if self._watch else None
        self._teams = {k: (now, v) for k, (_, v) in self._teams.items()}
        self._team_states = {k: (now, v) for k, (_, v) in self._team_states.items()}

    def watch_config(self) -> WatchConfig:
        self._still_current()
        now = self.monotonic()
        if self._watch is None or now - self._watch[0] > self.ttl:
            # The version _still_current just read (read before the items, as it would be
            # here): a container's first load reads it once, not twice.
            version = self._checked[1] if self._checked else None
            self._watch = (now, load_watch_config(self.store, self.matchers, version))
        return self._watch[1]

    def teams_in_state(self, state: str) -> list[Team]:
        self._still_current()
        now = self.monotonic()
        cached = self._teams.get(state)
        if cached is None or now - cached[0] > self.ttl:
            cached = (now, load_teams(self.store, state))
            self._teams[state] = cached
        return cached[1]

    def state_of_team(self, team_id: str) -> str | None:
        """The state a team belongs to, from its ("TEAMIDX", id) pointer; None if unknown."""
        self._still_current()
        now = self.monotonic()
        cached = self._team_states.get(team_id)
        if cached is None or now - cached[0] > self.ttl:
            pointer = self.store.get_item(TEAM_INDEX, team_id) if team_id else None
            state = state_of_teams_partition(str(pointer.data.get("pk", ""))) if pointer else None
            cached = (now, state)
            self._team_states[team_id] = cached
        return cached[1]

    def invalidate(self) -> None:
        self._checked = None
        self._watch = None
        self._teams.clear()
        self._team_states.clear()
