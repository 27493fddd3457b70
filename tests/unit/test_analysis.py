from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.analysis import WatchConfig, analyze, plan_tasks
from chalicelib.domain.keywords import compile_queries
from chalicelib.domain.language import detect
from chalicelib.domain.routing import parse_route_config
from chalicelib.domain.tasks import task_id_for
from tests.factories import T0, make_leader, make_mention, make_query, make_team

TEAMS = [
    make_team("DL-CENTRAL-01", "DL", district="central-delhi"),
    make_team("DL-EAST-01", "DL", district="east-delhi"),
]
ROUTES = {
    "route": {
        "receivers": [{"teams_of": "state"}],
        "routes": [
            {"matchers": ["category=economy", "severity=~[45]"], "receivers": ["DL-EAST-01"]},
            {"matchers": ["language=en"], "receivers": [{"teams_of": "district"}]},
        ],
    }
}


def plan(text: str, routes: dict[str, object] | None = None, **leader: object) -> list[str]:
    query = make_query()
    config = WatchConfig.build(
        "7",
        [make_leader(**leader)],
        [query, make_query(id="q-cbi", query="CBI", category="governance", severity=3)],
        compile_queries([query, make_query(id="q-cbi", query="CBI", severity=3)]),
        parse_route_config(routes) if routes else None,
    )
    mention = make_mention(text=text)
    analyzed = analyze(mention, detect(mention.text), config, T0, timedelta(1), timedelta(2))
    return sorted(t.team_id for t in plan_tasks(analyzed, config, TEAMS, T0))


@pytest.mark.parametrize(
    ("text", "routes", "leader", "teams"),
    [
        ("नोटबंदी पर चर्चा", None, {}, ["DL-CENTRAL-01", "DL-EAST-01"]),
        ("नोटबंदी पर चर्चा", ROUTES, {}, ["DL-EAST-01"]),
        (
            "The CBI raided the office today",
            ROUTES,
            {"district": "central-delhi"},
            ["DL-CENTRAL-01"],
        ),
        ("The CBI raided the office today", ROUTES, {}, []),
        ("Good morning Delhi", None, {}, []),
        ("नोटबंदी पर चर्चा", None, {"state": "UP"}, []),
    ],
)
def test_routing_table(
    text: str, routes: dict[str, object] | None, leader: dict[str, object], teams: list[str]
) -> None:
    assert plan(text, routes, **leader) == teams


def test_a_task_keeps_the_route_snapshot_and_a_deterministic_id() -> None:
    query = make_query()
    config = WatchConfig.build(
        "7", [make_leader()], [query], compile_queries([query]), parse_route_config(ROUTES)
    )
    mention = make_mention()
    analyzed = analyze(mention, detect(mention.text), config, T0, timedelta(1), timedelta(2))
    [task] = plan_tasks(analyzed, config, TEAMS, T0)
    assert task.task_id == task_id_for("DL-EAST-01", mention.key)
    assert task.route["digest"] == config.routes.digest
    assert [r["path"] for r in task.route["routes"]] == ["route.routes[0]"]
    assert task.route["labels"]["category"] == "economy"
    assert task.route["config_version"] == "7"


def test_the_query_set_version_changes_exactly_when_the_queries_do() -> None:
    from dataclasses import replace

    from chalicelib.domain.keywords import query_set_version

    a, b = make_query(), make_query(id="q-cbi", query="CBI")
    assert query_set_version([a, b]) == query_set_version([b, a])
    assert query_set_version([a, b]) != query_set_version([a])
    assert query_set_version([a, b]) != query_set_version([a, replace(b, severity=5)])
    assert query_set_version([a, b]) != query_set_version([a, replace(b, enabled=False)])
