"""``tvarit route``: check a route config and preview which teams a mention would reach."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


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
    """Exit 0 with a JSON preview, 1 when the config is invalid, 2 on usage errors."""
    from chalicelib.domain.config_kinds import validate_routes
    from chalicelib.domain.org import Team
    from chalicelib.domain.routing import TeamDirectory
    from chalicelib.errors import InvalidInputError

    try:
        config = json.loads(args.config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"tvarit route: cannot read {args.config}: {exc}", file=sys.stderr)
        return 2
    try:
        tree = validate_routes(config)  # the API's check: PUT /routes would refuse the same
    except InvalidInputError as err:
        for p in err.problems:
            print(f"{p.loc}: {p.msg}", file=sys.stderr)
        return 1
    labels: dict[str, str] = {}
    for item in args.label:
        name, sep, value = item.partition("=")
        if not sep:
            print(f"tvarit route: --label wants NAME=VALUE, got {item!r}", file=sys.stderr)
            return 2
        labels[name.strip()] = value.strip()
    out: dict[str, object] = {"valid": True, "digest": tree.digest}
    if labels:
        routes = tree.match(labels)
        out["routes"] = [{"path": r.path, "name": r.name} for r in routes]
        if args.teams:
            raw = json.loads(args.teams.read_text(encoding="utf-8"))
            teams = [
                Team(
                    str(t["id"]),
                    str(t.get("name", "")),
                    str(t["state"]),
                    str(t.get("district", "")),
                )
                for t in raw
            ]
            targets = tree.resolve(labels, TeamDirectory.build(teams))
            out["teams"] = {tg.state: list(tg.team_ids) for tg in targets}
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0
