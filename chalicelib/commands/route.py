"""``tvarit route``: check a route config and preview which teams a mention would reach."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.domain.org import Team


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The config file, optional teams file and labels."""
    parser.add_argument("config", type=Path, help='route config JSON ({"route": {...}})')
    parser.add_argument(
        "--teams", type=Path, help="JSON list of teams ({id, name, state, district}) to resolve"
    )
    parser.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a label of the mention to preview (repeatable), e.g. --label state=UP",
    )


def run(args: argparse.Namespace) -> int:
    """Exit 0 with a JSON preview; 2 when the config, a label or the teams file is wrong."""
    from chalicelib.commands import EXIT_OK, read_json
    from chalicelib.domain.routing import TeamDirectory, parse_route_config
    from chalicelib.errors import InvalidInputError

    labels = _labels(args.label)
    if args.teams and not labels:
        raise InvalidInputError("--teams resolves the teams of a mention: give its --label too")
    config = read_json(args.config, str(args.config))
    try:
        tree = parse_route_config(config)
    except InvalidInputError as err:
        raise InvalidInputError(str(args.config), err.problems) from None
    out: dict[str, object] = {"valid": True, "digest": tree.digest}
    if labels:
        routes = tree.match(labels)
        out["routes"] = [{"path": r.path, "name": r.name} for r in routes]
        if args.teams:
            teams = _teams(read_json(args.teams, f"--teams {args.teams}"), f"--teams {args.teams}")
            targets = tree.resolve(labels, TeamDirectory.build(teams))
            out["teams"] = {tg.state: list(tg.team_ids) for tg in targets}
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return EXIT_OK


def _labels(items: list[str]) -> dict[str, str]:
    from chalicelib.errors import InvalidInputError

    labels: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInputError(f"--label wants NAME=VALUE, got {item!r}")
        labels[name.strip()] = value.strip()
    return labels


def _teams(raw: object, label: str) -> list[Team]:
    """Teams from the teams file: every problem at once, with its index."""
    from chalicelib.domain.org import Team
    from chalicelib.errors import FieldProblem, InvalidInputError

    if not isinstance(raw, list):
        raise InvalidInputError(label, [FieldProblem("", "expected a JSON list of teams")])
    problems: list[FieldProblem] = []
    teams: list[Team] = []
    seen: set[str] = set()
    for i, t in enumerate(raw):
        if not isinstance(t, dict):
            problems.append(FieldProblem(f"[{i}]", "expected an object"))
            continue
        fields = {name: t.get(name, "") for name in ("id", "name", "state", "district")}
        bad = [n for n, v in fields.items() if not isinstance(v, str)]
        bad += [n for n in ("id", "state") if n not in bad and not fields[n]]
        for name in bad:
            problems.append(FieldProblem(f"[{i}].{name}", "expected a non-empty string"))
        if fields["id"] in seen:
            problems.append(FieldProblem(f"[{i}].id", f"{fields['id']!r} is already used"))
        if not bad:
            seen.add(fields["id"])
            teams.append(Team(fields["id"], fields["name"], fields["state"], fields["district"]))
    if problems:
        raise InvalidInputError(label, problems)
    return teams
