from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.cli import main

CONFIG = {
    "route": {
        "receivers": [{"teams_of": "state"}],
        "routes": [
            {"name": "crisis", "matchers": ["severity=5"], "receivers": [{"teams_of": "all"}]}
        ],
    }
}
TEAMS = [
    {"id": "UP-1", "state": "UP", "district": "LKO"},
    {"id": "DL-1", "state": "DL"},
]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    config, teams = tmp_path / "routes.json", tmp_path / "teams.json"
    config.write_text(json.dumps(CONFIG))
    teams.write_text(json.dumps(TEAMS))
    return config, teams


@pytest.mark.parametrize(
    ("labels", "routes", "teams"),
    [
        (["state=UP"], ["route"], {"UP": ["UP-1"]}),
        (["state=UP", "severity=5"], ["route.routes[0]"], {"DL": ["DL-1"], "UP": ["UP-1"]}),
        (["state=KL"], ["route"], {}),
    ],
)
def test_preview(
    files: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    labels: list[str],
    routes: list[str],
    teams: dict[str, list[str]],
) -> None:
    config, team_file = files
    argv = ["route", str(config), "--teams", str(team_file)]
    for label in labels:
        argv += ["--label", label]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["path"] for r in out["routes"]] == routes
    assert out["teams"] == teams


def test_invalid_config_prints_every_problem_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"route": {"receivers": [], "routes": [{"matchers": ["x=1", "state~UP"]}]}})
    )
    assert main(["route", str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    prefix = f"tvarit route: {bad}: "
    assert all(line.startswith(prefix) for line in err)
    assert [line.removeprefix(prefix).split(":")[0] for line in err] == [
        "route.routes[0].matchers[0]",
        "route.routes[0].matchers[1]",
    ]


@pytest.mark.parametrize("argv_tail", [["--label", "stateUP"], []])
def test_usage_errors(files: tuple[Path, Path], argv_tail: list[str], tmp_path: Path) -> None:
    config, _ = files
    if argv_tail:
        assert main(["route", str(config), *argv_tail]) == 2
    else:
        assert main(["route", str(tmp_path / "missing.json")]) == 2
