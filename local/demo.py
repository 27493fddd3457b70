"""Demo configuration and recorded posts for the local stack (see local/demo/PROVENANCE.md)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.domain.config_kinds import CHAINS, LEADERS, QUERIES, TEAMS
from chalicelib.domain.keywords import KeywordQuery, keyword_query_from_dict
from chalicelib.domain.org import Leader, Team, leader_from_dict, team_from_dict
from chalicelib.services.config_admin import ConfigAdmin, system_principal
from chalicelib.services.contacts import ContactSync
from chalicelib.services.ports import ConfigStore

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


def seed(
    store: ConfigStore,
    demo: DemoConfig,
    actor: str = SEED_ACTOR,
    contacts: ContactSync | None = None,
) -> None:
    """Write the demo configuration through the use cases the API calls (checked, audited
    as ``actor``, members' SMS/e-mail subscribed with ``contacts``); running it again
    replaces what it wrote."""
    admin = ConfigAdmin(store, contacts)
    seeder = system_principal(actor)
    for leader in demo.leaders:
        admin.put(LEADERS, seeder, dataclasses.asdict(leader))
    for query in demo.queries:
        admin.put(QUERIES, seeder, dataclasses.asdict(query))
    for team in demo.teams:
        admin.put(TEAMS, seeder, dataclasses.asdict(team))
    for chain in demo.chains:
        admin.put(CHAINS, seeder, dict(chain))


def load_posts(path: Path = DEMO_DIR / "posts.jsonl") -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
