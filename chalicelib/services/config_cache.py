"""Per-container cache of the configuration the hot path reads.

A Lambda container handles many batches; re-reading leaders, queries and teams for each one would
cost DynamoDB reads and a matcher rebuild every time. Entries live ``ttl`` seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from chalicelib.domain.analysis import WatchConfig
from chalicelib.domain.org import Team
from chalicelib.services.ports import ConfigRepository

TEAM_INDEX = "TEAMIDX"  # ("TEAMIDX", team id) -> {"pk": "TEAMS#<state>"}, written with the team


@dataclass
class CachedConfig:
    repo: ConfigRepository
    ttl: float
    monotonic: Callable[[], float]
    _watch: tuple[float, WatchConfig] | None = None
    _teams: dict[str, tuple[float, list[Team]]] = field(default_factory=dict)
    _team_states: dict[str, tuple[float, str | None]] = field(default_factory=dict)

    def watch_config(self) -> WatchConfig:
        now = self.monotonic()
        if self._watch is None or now - self._watch[0] > self.ttl:
            self._watch = (now, self.repo.load_watch_config())
        return self._watch[1]

    def teams_in_state(self, state: str) -> list[Team]:
        now = self.monotonic()
        cached = self._teams.get(state)
        if cached is None or now - cached[0] > self.ttl:
            cached = (now, self.repo.teams_in_state(state))
            self._teams[state] = cached
        return cached[1]

    def state_of_team(self, team_id: str) -> str | None:
        """The state a team belongs to, from its ("TEAMIDX", id) pointer; None if unknown."""
        now = self.monotonic()
        cached = self._team_states.get(team_id)
        if cached is None or now - cached[0] > self.ttl:
            pointer = self.repo.get_item(TEAM_INDEX, team_id)
            pk = str(pointer.data.get("pk", "")) if pointer else ""
            cached = (now, pk.removeprefix("TEAMS#") if pk.startswith("TEAMS#") else None)
            self._team_states[team_id] = cached
        return cached[1]

    def invalidate(self) -> None:
        self._watch = None
        self._teams.clear()
        self._team_states.clear()
