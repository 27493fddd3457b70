"""Demo configuration and recorded posts for the local stack (see local/demo/PROVENANCE.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.domain.keywords import KeywordQuery, keyword_query_from_dict
from chalicelib.domain.org import Leader, Team, leader_from_dict, team_from_dict, team_to_dict
from chalicelib.services.contacts import ContactSync
from chalicelib.services.ports import ConfigRepository

DEMO_DIR = Path(__file__).resolve().parent / "demo"
SEED_ACTOR = "local:seed"


@dataclass(frozen=True)
class DemoConfig:
    leaders: tuple[Leader, ...]
    queries: tuple[KeywordQuery, ...]
    teams: tuple[Team, ...]
    chains: tuple[dict[str, Any], ...] = ()


def load_demo_config(path: Path = DEMO_DIR / "config.json") -> DemoConfig:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return DemoConfig(
        leaders=tuple(leader_from_dict(d) for d in raw["leaders"]),
        queries=tuple(keyword_query_from_dict(d) for d in raw["queries"]),
        teams=tuple(team_from_dict(d) for d in raw["teams"]),
        chains=tuple(raw.get("escalation_chains", ())),
    )


def seed(repo: ConfigRepository, demo: DemoConfig, actor: str = SEED_ACTOR) -> None:
    """Write the demo configuration through the same repository the API uses (audited)."""
    for leader in demo.leaders:
        repo.put_leader(leader, actor)
    for query in demo.queries:
        repo.put_query(query, actor)
    for team in demo.teams:
        repo.put_team(team, actor)
    for chain in demo.chains:
        repo.put_chain(chain, actor)


def subscribe_contacts(sync: ContactSync, demo: DemoConfig, actor: str = SEED_ACTOR) -> None:
    """Create the demo members' SMS/e-mail subscriptions, as the API does after a team write."""
    for team in demo.teams:
        sync.sync(actor, None, team_to_dict(team))


def load_posts(path: Path = DEMO_DIR / "posts.jsonl") -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
