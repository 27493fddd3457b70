"""Factories for domain objects: sensible defaults, override what a test is about."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.keywords import KeywordQuery
from chalicelib.domain.mention import Author, Mention, mention_to_dict
from chalicelib.domain.org import Account, Leader, Member, Team

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def make_mention(**overrides: Any) -> Mention:
    values: dict[str, Any] = {
        "platform": "x",
        "native_id": "1849000000000000001",
        "author": Author(id="1", handle="ArvindKejriwal", name="Arvind Kejriwal"),
        "created_at": T0,
        "text": "मोदी जी तो कह रहे थे कि नोटबंदी के बाद काला धन ख़त्म हो गया।",
        "url": "https://x.com/ArvindKejriwal/status/1849000000000000001",
    }
    values.update(overrides)
    return Mention(**values)


def make_message(**overrides: Any) -> dict[str, Any]:
    return mention_to_dict(make_mention(**overrides))


def make_leader(**overrides: Any) -> Leader:
    values: dict[str, Any] = {
        "id": "arvind-kejriwal",
        "name": "Arvind Kejriwal",
        "state": "DL",
        "accounts": (Account("x", "ArvindKejriwal"),),
    }
    values.update(overrides)
    return Leader(**values)


def make_team(team_id: str = "DL-CENTRAL-01", state: str = "DL", **overrides: Any) -> Team:
    values: dict[str, Any] = {
        "id": team_id,
        "name": team_id,
        "state": state,
        "members": (Member(id=f"{team_id}-w1", name="Warrior", team_id=team_id),),
    }
    values.update(overrides)
    return Team(**values)


def make_query(**overrides: Any) -> KeywordQuery:
    values: dict[str, Any] = {
        "id": "q-demonetisation",
        "query": 'नोटबंदी OR demonetisation OR "black money"',
        "category": "economy",
        "severity": 4,
    }
    values.update(overrides)
    return KeywordQuery(**values)
