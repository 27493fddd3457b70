"""Routing: which teams get a task for a matched mention, as an Alertmanager-style route tree.

A mention carries labels (``state``, ``district``, ``party``, ``category``, ``severity``,
``language``, ``platform``...). The tree is data: the root matches everything and is the default
route; children are tried in order, the first that matches wins unless it sets ``continue``;
a route none of whose children match handles the mention itself. Receivers are explicit teams
or selectors ("every team of the leader's state / district", "every team everywhere"), resolved
against a :class:`TeamDirectory` built once, so routing costs the same for 10 teams or 50,000.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import regex

from chalicelib.domain.channels import DEFAULT_CHANNELS, parse_channels
from chalicelib.domain.org import Team
from chalicelib.errors import FieldProblem, InvalidInputError

LABELS = frozenset(
    {"state", "district", "party", "category", "severity", "language", "platform", "leader"}
)
LABEL_ALIASES = {"lang": "language"}  # analysis.py labels mentions with "lang"
OPERATORS = ("=~", "!~", "!=", "=")  # longest first, so "!=" is not read as "!" + "="
SELECTORS = frozenset({"state", "district", "all"})
_LABEL_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_ROUTE_KEYS = frozenset(
    {"name", "matchers", "receivers", "continue", "routes", "group_by", "escalation", "channels"}
)
# Alertmanager options that dispatch does not honour are refused, not stored and ignored
# (docs/response.md says why and what does the job instead).
_REFUSED = {
    "group_wait": "not supported: a new task is dispatched at once (paging limits and quiet "
    "hours of the team decide whether it pages or waits for the digest)",
    "group_interval": "not supported: updates of an open task page nobody",
    "repeat_interval": "not supported: an unacknowledged task is re-notified by its "
    "escalation chain (see escalation)",
}
_DEFAULTS: dict[str, Any] = {"group_by": ("incident",), "escalation": ""}
# A regex matcher runs with a time bound: a pattern that backtracks catastrophically costs a
# few milliseconds per mention, not seconds, and is refused on write when a probe finds it.
MATCH_TIMEOUT = 0.005
PROBE_TIMEOUT = 0.02


@dataclass(frozen=True)
class LabelMatcher:
    """``label op value``; regex operators are anchored at both ends, like Alertmanager."""

    label: str
    op: str
    value: str
    pattern: regex.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this matcher (a missing label is "").

        A regex that runs out of its time bound does not match, whatever the operator: a
        route must not catch mentions because its pattern gave up.
        """
        got = labels.get(self.label, "")
        if self.op == "=":
            return got == self.value
        if self.op == "!=":
            return got != self.value
        assert self.pattern is not None
        try:
            hit = self.pattern.fullmatch(got, timeout=MATCH_TIMEOUT) is not None
        except TimeoutError:
            return False
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f"{self.label}{self.op}{self.value}"


@dataclass(frozen=True)
class Receiver:
    """Explicit team ids, or a selector over the leader's ``state`` / ``district`` / ``all``."""

    teams: tuple[str, ...] = ()
    select: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The receiver in its config form."""
        return {"teams": list(self.teams)} if self.teams else {"teams_of": self.select}


@dataclass(frozen=True)
class Route:
    """One node of the tree, with inherited settings already applied."""

    path: str
    name: str
    matchers: tuple[LabelMatcher, ...]
    receivers: tuple[Receiver, ...]
    continue_: bool
    routes: tuple[Route, ...]
    group_by: tuple[str, ...]
    escalation: str  # the id of the escalation chain for the tasks this route makes
    # The delivery channels of the tasks this route makes (domain.channels); inherited.
    channels: tuple[str, ...] = DEFAULT_CHANNELS

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether every matcher of this route holds."""
        return all(m.matches(labels) for m in self.matchers)


@dataclass(frozen=True)
class Target:
    """Teams of one state chosen by one route; ``team_ids`` may be a shared directory tuple."""

    state: str
    team_ids: tuple[str, ...]
    route_path: str
    whole_state: bool = False


@dataclass(frozen=True)
class TeamDirectory:
    """Teams indexed once by state and district so selectors resolve in O(1)."""

    by_state: Mapping[str, tuple[str, ...]]
    by_district: Mapping[tuple[str, str], tuple[str, ...]]
    state_of: Mapping[str, str]

    @classmethod
    def build(cls, teams: Iterable[Team]) -> TeamDirectory:
        """Index teams; the order within a state is the order given."""
        by_state: dict[str, list[str]] = {}
        by_district: dict[tuple[str, str], list[str]] = {}
        state_of: dict[str, str] = {}
        for t in teams:
            by_state.setdefault(t.state, []).append(t.id)
            if t.district:
                by_district.setdefault((t.state, t.district), []).append(t.id)
            state_of[t.id] = t.state
        return cls(
            {k: tuple(v) for k, v in by_state.items()},
            {k: tuple(v) for k, v in by_district.items()},
            state_of,
        )


@dataclass(frozen=True)
class RouteTree:
    """A parsed, validated route config; ``digest`` identifies the config in force."""

    root: Route
    config: Mapping[str, Any]
    digest: str

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """The routes that handle ``labels``: never empty, the root is the default."""
        found = _walk(self.root, canonical_labels(labels))
        return found if found else [self.root]

    def resolve(self, labels: Mapping[str, str], directory: TeamDirectory) -> list[Target]:
        """Teams to task, grouped per state and route, in route order, each team once."""
        raw: list[Target] = []
        state = labels.get("state", "")
        district = labels.get("district", "")
        for rt in self.match(labels):
            for rcv in rt.receivers:
                if rcv.select == "all":
                    for code in sorted(directory.by_state):
                        raw.append(Target(code, directory.by_state[code], rt.path, True))
                elif rcv.select == "state":
                    ids = directory.by_state.get(state, ())
                    if ids:
                        raw.append(Target(state, ids, rt.path, True))
                elif rcv.select == "district":
                    ids = directory.by_district.get((state, district), ())
                    if ids:
                        raw.append(Target(state, ids, rt.path))
                else:
                    by_state: dict[str, list[str]] = {}
                    for tid in rcv.teams:
                        st = directory.state_of.get(tid)
                        if st is not None:
                            by_state.setdefault(st, []).append(tid)
                    raw.extend(
                        Target(st, tuple(dict.fromkeys(ids)), rt.path)
                        for st, ids in by_state.items()
                    )
        return _dedupe(raw)

    def snapshot(self) -> dict[str, Any]:
        """The whole config in force with its digest: what a task keeps as evidence."""
        return {"digest": self.digest, "config": json.loads(json.dumps(self.config))}

    def route_snapshot(self, routes: Sequence[Route]) -> dict[str, Any]:
        """What goes into a task: the config digest and the settings of the routes that chose it."""
        return {
            "digest": self.digest,
            "routes": [
                {
                    "path": r.path,
                    "name": r.name,
                    "matchers": [str(m) for m in r.matchers],
                    "receivers": [x.as_dict() for x in r.receivers],
                    "group_by": list(r.group_by),
                    "escalation": r.escalation,
                    "channels": list(r.channels),
                }
                for r in routes
            ],
        }


def canonical_labels(labels: Mapping[str, str]) -> Mapping[str, str]:
    """Labels under their canonical names (``lang`` -> ``language``); no copy when none differ."""
    if not any(alias in labels for alias in LABEL_ALIASES):
        return labels
    out = dict(labels)
    for alias, name in LABEL_ALIASES.items():
        if alias in out:
            value = out.pop(alias)
            out.setdefault(name, value)
    return out


def _dedupe(raw: list[Target]) -> list[Target]:
    # Targets of different states cannot overlap, so only states seen twice need a set;
    # checking every 1,000-team state tuple would cost more than the whole route walk.
    counts: dict[str, int] = {}
    for tg in raw:
        counts[tg.state] = counts.get(tg.state, 0) + 1
    out: list[Target] = []
    taken: dict[str, set[str]] = {}
    for tg in raw:
        if counts[tg.state] == 1:  # each target's own ids are already unique
            out.append(tg)
            continue
        seen = taken.setdefault(tg.state, set())
        ids = tuple(dict.fromkeys(i for i in tg.team_ids if i not in seen))
        seen.update(ids)
        if ids:
            out.append(Target(tg.state, ids, tg.route_path, tg.whole_state and ids == tg.team_ids))
    return out


def _walk(node: Route, labels: Mapping[str, str]) -> list[Route]:
    found: list[Route] = []
    for child in node.routes:
        if not child.matches(labels):
            continue
        below = _walk(child, labels)
        found.extend(below if below else [child])
        if not child.continue_:
            break
    return found


def parse_duration(value: Any) -> int | None:
    """``"1h30m"``, ``"45s"`` or a number of seconds; None when unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value:
        m = _DURATION.fullmatch(value)
        if m and any(m.groups()):
            h, mi, s = (int(g or 0) for g in m.groups())
            return h * 3600 + mi * 60 + s
    return None


def parse_matcher(text: str) -> LabelMatcher:
    """Parse ``label=value``, ``label!=value``, ``label=~regex``, ``label!~regex``."""
    for op in OPERATORS:
        idx = text.find(op)
        if idx <= 0:
            continue
        # "!=" must not be taken for "=" with label "x!"; OPERATORS order guarantees that.
        label, value = text[:idx].strip(), text[idx + len(op) :].strip()
        label = LABEL_ALIASES.get(label, label)
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if not _LABEL_NAME.fullmatch(label):
            raise ValueError(f"bad label name {label!r}")
        if label not in LABELS:
            raise ValueError(f"unknown label {label!r} (known: {', '.join(sorted(LABELS))})")
        pattern = None
        if op in ("=~", "!~"):
            try:
                pattern = regex.compile(value)
            except (regex.error, RecursionError) as exc:
                raise ValueError(f"bad regex {value!r}: {exc}") from exc
            _probe(pattern)
        return LabelMatcher(label, op, value, pattern)
    raise ValueError(f"no operator in {text!r} (use =, !=, =~ or !~)")


def _probe(pattern: regex.Pattern[str]) -> None:
    """Refuse a pattern that backtracks catastrophically on a long run of its own letters."""
    letters = dict.fromkeys(c for c in pattern.pattern if c.isalnum())
    for c in [*list(letters)[:8], "a", "0"]:
        for text in (c * 64 + "\x00", c * 64):
            try:
                pattern.fullmatch(text, timeout=PROBE_TIMEOUT)
            except TimeoutError:
                raise ValueError(
                    f"regex {pattern.pattern!r} backtracks catastrophically (on {c * 8}...); "
                    "avoid nested repeats such as (a+)+"
                ) from None


def _parse_receivers(raw: Any, path: str, problems: list[FieldProblem]) -> tuple[Receiver, ...]:
    if not isinstance(raw, list):
        problems.append(FieldProblem(path, "must be a list"))
        return ()
    out: list[Receiver] = []
    for i, item in enumerate(raw):
        here = f"{path}[{i}]"
        if isinstance(item, str):
            out.append(Receiver(teams=(item,)))
        elif isinstance(item, dict) and set(item) == {"teams"} and isinstance(item["teams"], list):
            teams = item["teams"]
            if not teams or not all(isinstance(t, str) and t for t in teams):
                problems.append(FieldProblem(f"{here}.teams", "a non-empty list of team ids"))
            else:
                out.append(Receiver(teams=tuple(teams)))
        elif isinstance(item, dict) and set(item) == {"teams_of"}:
            if not isinstance(item["teams_of"], str) or item["teams_of"] not in SELECTORS:
                problems.append(
                    FieldProblem(f"{here}.teams_of", f"one of {', '.join(sorted(SELECTORS))}")
                )
            else:
                out.append(Receiver(select=item["teams_of"]))
        else:
            problems.append(
                FieldProblem(
                    here, 'a team id, {"teams": [...]} or {"teams_of": state|district|all}'
                )
            )
    return tuple(out)


def _parse_route(
    raw: Any, path: str, parent: Route | None, problems: list[FieldProblem]
) -> Route | None:
    if not isinstance(raw, dict):
        problems.append(FieldProblem(path, "must be an object"))
        return None
    for key in sorted(set(raw) - _ROUTE_KEYS - set(_REFUSED)):
        problems.append(FieldProblem(f"{path}.{key}", "unknown field"))
    matchers: list[LabelMatcher] = []
    raw_matchers = raw.get("matchers", [])
    if not isinstance(raw_matchers, list):
        problems.append(FieldProblem(f"{path}.matchers", "must be a list of strings"))
        raw_matchers = []
    if parent is None and raw_matchers:
        problems.append(FieldProblem(f"{path}.matchers", "the root route must match everything"))
    for i, text in enumerate(raw_matchers):
        if not isinstance(text, str):
            problems.append(FieldProblem(f"{path}.matchers[{i}]", "must be a string"))
            continue
        try:
            matchers.append(parse_matcher(text))
        except ValueError as exc:
            problems.append(FieldProblem(f"{path}.matchers[{i}]", str(exc)))
    if "receivers" in raw:
        receivers = _parse_receivers(raw["receivers"], f"{path}.receivers", problems)
    elif parent is not None:
        receivers = parent.receivers
    else:
        problems.append(FieldProblem(f"{path}.receivers", "the root route needs receivers"))
        receivers = ()
    cont = raw.get("continue", False)
    if not isinstance(cont, bool):
        problems.append(FieldProblem(f"{path}.continue", "must be true or false"))
        cont = False
    if parent is None and cont:
        problems.append(FieldProblem(f"{path}.continue", "the root route cannot continue"))
    settings: dict[str, Any] = {}
    for key, default in _DEFAULTS.items():
        inherited = getattr(parent, key) if parent is not None else default
        if key not in raw:
            settings[key] = inherited
        elif key == "group_by":
            # A team's task is one per incident (task ids hash team and incident); wider
            # groups are not implemented, so only the default is accepted.
            if raw[key] != ["incident"]:
                problems.append(
                    FieldProblem(f"{path}.group_by", 'only ["incident"]: one task per incident')
                )
            settings[key] = inherited
        elif not isinstance(raw[key], str):
            problems.append(FieldProblem(f"{path}.escalation", "an escalation chain id"))
            settings[key] = inherited
        else:
            settings[key] = raw[key]
    for key, why in _REFUSED.items():
        if key in raw:
            problems.append(FieldProblem(f"{path}.{key}", why))
    name = raw.get("name", "")
    if not isinstance(name, str):
        problems.append(FieldProblem(f"{path}.name", "must be a string"))
        name = ""
    channels = parent.channels if parent is not None else DEFAULT_CHANNELS
    if "channels" in raw:
        chosen, found = parse_channels(raw["channels"], f"{path}.channels")
        problems.extend(FieldProblem(loc, msg) for loc, msg in found)
        channels = chosen or channels
    node = Route(
        path,
        name,
        tuple(matchers),
        receivers,
        cont,
        (),
        settings["group_by"],
        settings["escalation"],
        channels,
    )
    raw_children = raw.get("routes", [])
    if not isinstance(raw_children, list):
        problems.append(FieldProblem(f"{path}.routes", "must be a list of routes"))
        raw_children = []
    children = []
    for i, child_raw in enumerate(raw_children):
        child = _parse_route(child_raw, f"{path}.routes[{i}]", node, problems)
        if child is not None:
            children.append(child)
    return Route(
        node.path,
        node.name,
        node.matchers,
        node.receivers,
        node.continue_,
        tuple(children),
        node.group_by,
        node.escalation,
        node.channels,
    )


def config_digest(config: Mapping[str, Any]) -> str:
    """A stable digest of a config: key order and whitespace do not change it."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "rc_" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def parse_route_config(config: Any) -> RouteTree:
    """Validate a route config (``{"route": {...}}``); every problem names its path."""
    problems: list[FieldProblem] = []
    if not isinstance(config, dict) or "route" not in config:
        raise InvalidInputError(
            "a route config is an object with a 'route' key", [FieldProblem("route", "required")]
        )
    for key in sorted(set(config) - {"route"}):
        problems.append(FieldProblem(key, "unknown field"))
    root = _parse_route(config["route"], "route", None, problems)
    if problems or root is None:
        raise InvalidInputError(
            f"invalid route config: {len(problems)} problem(s), first at {problems[0].loc}",
            problems,
        )
    return RouteTree(root, config, config_digest(config))


def tree_from_snapshot(snapshot: Mapping[str, Any]) -> RouteTree:
    """Rebuild the tree a task was routed with; refuses a snapshot whose digest does not match."""
    tree = parse_route_config(snapshot.get("config"))
    if tree.digest != snapshot.get("digest"):
        raise InvalidInputError(
            "route snapshot digest does not match its config", [FieldProblem("digest", "mismatch")]
        )
    return tree


STATE_ONLY = {"route": {"name": "default", "receivers": [{"teams_of": "state"}]}}


def route(labels: Mapping[str, str], teams: Sequence[Team]) -> list[Team]:
    """Interim interface kept for callers: the default tree (every team of the leader's state)."""
    tree = parse_route_config(STATE_ONLY)
    directory = TeamDirectory.build(teams)
    by_id = {t.id: t for t in teams}
    return [by_id[i] for tg in tree.resolve(labels, directory) for i in tg.team_ids]


def states_needed(
    routes: Sequence[Route],
    leader_state: str,
    state_of_team: Callable[[str], str | None],
    all_states: Iterable[str],
) -> set[str]:
    """The states whose teams the matched ``routes`` may choose, so the caller loads only those.

    ``teams_of: all`` needs every state; explicit team ids need the states they belong to.
    """
    states = {leader_state} if leader_state else set()
    for rt in routes:
        for rcv in rt.receivers:
            if rcv.select == "all":
                states.update(all_states)
            for team_id in rcv.teams:
                state = state_of_team(team_id)
                if state:
                    states.add(state)
    return states
