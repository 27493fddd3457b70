from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from chalicelib.domain.org import Team
from chalicelib.domain.routing import (
    LabelMatcher,
    TeamDirectory,
    config_digest,
    parse_duration,
    parse_matcher,
    parse_route_config,
    route,
    tree_from_snapshot,
)
from chalicelib.errors import InvalidInputError

TEAMS = (
    Team("UP-LKO-1", "Lucknow 1", "UP", "LKO"),
    Team("UP-LKO-VID", "Lucknow video", "UP", "LKO"),
    Team("UP-VNS-1", "Varanasi 1", "UP", "VNS"),
    Team("DL-1", "Delhi 1", "DL", "NDL"),
    Team("DL-2", "Delhi 2", "DL", ""),
    Team("MH-1", "Mumbai 1", "MH", "MUM"),
)
DIRECTORY = TeamDirectory.build(TEAMS)

CONFIG: dict[str, Any] = {
    "route": {
        "name": "default",
        "receivers": [{"teams_of": "state"}],
        "escalation": "state-default",
        "routes": [
            {
                "name": "national-crisis",
                "matchers": ["severity=5", "category=~gaffe|scandal"],
                "receivers": [{"teams_of": "all"}],
                "escalation": "crisis",
            },
            {
                "name": "up-hindi",
                "matchers": ["state=UP", "language=~hi(-Latn)?"],
                "receivers": ["UP-LKO-1"],
                "continue": True,
                "routes": [
                    {
                        "name": "up-hindi-video",
                        "matchers": ["platform=youtube"],
                        "receivers": ["UP-LKO-VID"],
                    }
                ],
            },
            {
                "name": "up-district",
                "matchers": ["state=UP"],
                "receivers": [{"teams_of": "district"}],
            },
            {
                "name": "not-english-delhi",
                "matchers": ["state=DL", "language!~en.*"],
                "receivers": [{"teams": ["DL-2", "DL-1", "DL-2"]}],
            },
            {"name": "other-party", "matchers": ["party!=ours"], "receivers": ["MH-1"]},
        ],
    }
}
TREE = parse_route_config(CONFIG)


def labels(**kw: str) -> dict[str, str]:
    base = {"party": "ours", "severity": "3", "category": "policy", "platform": "x"}
    base.update(kw)
    return base


@pytest.mark.parametrize(
    ("lab", "route_names", "team_ids"),
    [
        # severity 5 gaffe: every team of every state, and nothing else (first match wins)
        (
            labels(state="UP", severity="5", category="gaffe"),
            ["national-crisis"],
            ["DL-1", "DL-2", "MH-1", "UP-LKO-1", "UP-LKO-VID", "UP-VNS-1"],
        ),
        # anchored regex: "gaffes" is not "gaffe"
        (
            labels(state="DL", severity="5", category="gaffes", language="en"),
            ["default"],
            ["DL-1", "DL-2"],
        ),
        # severity "5.0" is not "5": matchers compare strings
        (labels(state="MH", severity="5.0", category="gaffe"), ["default"], ["MH-1"]),
        # continue: UP Hindi goes to the Hindi team AND on to the district route
        (
            labels(state="UP", district="LKO", language="hi"),
            ["up-hindi", "up-district"],
            ["UP-LKO-1", "UP-LKO-VID"],
        ),
        # a child matches: the deepest match handles it, and continue still applies at its level
        (
            labels(state="UP", district="VNS", language="hi-Latn", platform="youtube"),
            ["up-hindi-video", "up-district"],
            ["UP-LKO-VID", "UP-VNS-1"],
        ),
        # language "hin" does not match hi(-Latn)? when anchored
        (labels(state="UP", district="VNS", language="hin"), ["up-district"], ["UP-VNS-1"]),
        # district with no teams: the route matches but resolves to nobody
        (labels(state="UP", district="AGR", language="en"), ["up-district"], []),
        # missing label is the empty string: != matches it, =~ en.* does not
        (labels(state="DL"), ["not-english-delhi"], ["DL-2", "DL-1"]),
        (labels(state="DL", language="en-IN"), ["default"], ["DL-1", "DL-2"]),
        # != on a present label
        (labels(state="KL", party="theirs"), ["other-party"], ["MH-1"]),
        # default route, state with no teams at all
        (labels(state="KL"), ["default"], []),
        # no state label at all
        (labels(), ["default"], []),
    ],
)
def test_route_table(lab: dict[str, str], route_names: list[str], team_ids: list[str]) -> None:
    matched = TREE.match(lab)
    assert [r.name for r in matched] == route_names
    got = [tid for tg in TREE.resolve(lab, DIRECTORY) for tid in tg.team_ids]
    assert got == team_ids


def test_targets_are_grouped_by_state_and_whole_states_are_flagged() -> None:
    targets = TREE.resolve(labels(state="UP", severity="5", category="scandal"), DIRECTORY)
    assert [(t.state, t.whole_state) for t in targets] == [("DL", True), ("MH", True), ("UP", True)]
    # selectors share the directory's tuples instead of copying 50,000 ids per incident
    assert targets[2].team_ids is DIRECTORY.by_state["UP"]


def test_overlapping_continue_routes_task_each_team_once() -> None:
    cfg = {
        "route": {
            "receivers": ["MH-1"],
            "routes": [
                {"matchers": ["state=UP"], "receivers": ["UP-VNS-1"], "continue": True},
                {"matchers": ["state=UP"], "receivers": [{"teams_of": "state"}]},
            ],
        }
    }
    targets = parse_route_config(cfg).resolve(labels(state="UP"), DIRECTORY)
    assert [(t.team_ids, t.whole_state) for t in targets] == [
        (("UP-VNS-1",), False),
        (("UP-LKO-1", "UP-LKO-VID"), False),
    ]


def test_children_inherit_settings_unless_they_override_them() -> None:
    crisis, up_hindi = TREE.root.routes[0], TREE.root.routes[1]
    assert (TREE.root.escalation, crisis.escalation) == ("state-default", "crisis")
    video = up_hindi.routes[0]
    assert video.path == "route.routes[1].routes[0]"
    assert (video.group_by, video.escalation) == (("incident",), "state-default")


def test_a_child_without_receivers_inherits_its_parents() -> None:
    cfg = {"route": {"receivers": ["DL-1"], "routes": [{"matchers": ["state=DL"]}]}}
    tree = parse_route_config(cfg)
    assert [t.team_ids for t in tree.resolve(labels(state="DL"), DIRECTORY)] == [("DL-1",)]


@pytest.mark.parametrize(
    ("mutate", "loc"),
    [
        (lambda c: c["route"].update(matchers=["state=UP"]), "route.matchers"),
        (lambda c: c["route"].pop("receivers"), "route.receivers"),
        (lambda c: c["route"].update(**{"continue": True}), "route.continue"),
        (
            lambda c: c["route"]["routes"][0].update(matchers=["severity>5"]),
            "route.routes[0].matchers[0]",
        ),
        (
            lambda c: c["route"]["routes"][0].update(matchers=["colour=red"]),
            "route.routes[0].matchers[0]",
        ),
        (
            lambda c: c["route"]["routes"][0].update(matchers=["state=~(UP"]),
            "route.routes[0].matchers[0]",
        ),
        (lambda c: c["route"]["routes"][0].update(matchers=[5]), "route.routes[0].matchers[0]"),
        (lambda c: c["route"]["routes"][0].update(matchers="state=UP"), "route.routes[0].matchers"),
        (
            lambda c: c["route"]["routes"][1]["routes"][0].update(
                receivers=[{"teams_of": "nation"}]
            ),
            "route.routes[1].routes[0].receivers[0].teams_of",
        ),
        (
            lambda c: c["route"]["routes"][1].update(receivers=[{"teams": []}]),
            "route.routes[1].receivers[0].teams",
        ),
        (lambda c: c["route"]["routes"][1].update(receivers=[42]), "route.routes[1].receivers[0]"),
        (lambda c: c["route"]["routes"][1].update(receivers="UP-1"), "route.routes[1].receivers"),
        # Options dispatch does not honour are refused, whatever their value (docs/response.md).
        (lambda c: c["route"]["routes"][2].update(group_wait="30s"), "route.routes[2].group_wait"),
        (lambda c: c["route"].update(group_interval="5m"), "route.group_interval"),
        (
            lambda c: c["route"]["routes"][2].update(repeat_interval="4h"),
            "route.routes[2].repeat_interval",
        ),
        (lambda c: c["route"]["routes"][2].update(group_by="state"), "route.routes[2].group_by"),
        (
            lambda c: c["route"]["routes"][2].update(group_by=["leader", "category"]),
            "route.routes[2].group_by",
        ),
        (
            lambda c: c["route"]["routes"][2].update(matchers=["category=~(a|aa)+"]),
            "route.routes[2].matchers[0]",
        ),
        (
            lambda c: c["route"]["routes"][2].update(**{"continue": "yes"}),
            "route.routes[2].continue",
        ),
        (lambda c: c["route"]["routes"][2].update(recievers=[]), "route.routes[2].recievers"),
        (lambda c: c["route"]["routes"][3].update(escalation=3), "route.routes[3].escalation"),
        (lambda c: c["route"].update(routes={}), "route.routes"),
        (lambda c: c["route"]["routes"].append("catch-all"), "route.routes[5]"),
        (lambda c: c.update(receivers=[]), "receivers"),
    ],
)
def test_invalid_configs_name_the_path(mutate: Any, loc: str) -> None:
    cfg = copy.deepcopy(CONFIG)
    mutate(cfg)
    with pytest.raises(InvalidInputError) as err:
        parse_route_config(cfg)
    assert loc in [p.loc for p in err.value.problems]


@pytest.mark.parametrize("bad", [None, [], "route", {"routes": []}])
def test_config_must_be_an_object_with_a_route(bad: Any) -> None:
    with pytest.raises(InvalidInputError):
        parse_route_config(bad)


def test_every_problem_is_reported_not_just_the_first() -> None:
    cfg = copy.deepcopy(CONFIG)
    cfg["route"]["routes"][0]["matchers"] = ["bogus", "state~UP"]
    cfg["route"]["routes"][2]["group_wait"] = "30s"
    with pytest.raises(InvalidInputError) as err:
        parse_route_config(cfg)
    assert [p.loc for p in err.value.problems] == [
        "route.routes[0].matchers[0]",
        "route.routes[0].matchers[1]",
        "route.routes[2].group_wait",
    ]


@pytest.mark.parametrize(
    ("text", "label", "op", "value"),
    [
        ("state=UP", "state", "=", "UP"),
        ("state != UP", "state", "!=", "UP"),
        ('category=~"gaffe|scandal"', "category", "=~", "gaffe|scandal"),
        ("language!~hi.*", "language", "!~", "hi.*"),
        ("district=", "district", "=", ""),
        ("category=a=b", "category", "=", "a=b"),
        ("category=~a=b", "category", "=~", "a=b"),
        ("leader=मोदी", "leader", "=", "मोदी"),
        ("lang=hi", "language", "=", "hi"),  # alias used by analysis.py
    ],
)
def test_parse_matcher(text: str, label: str, op: str, value: str) -> None:
    m = parse_matcher(text)
    assert (m.label, m.op, m.value) == (label, op, value)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h30m", 5400),
        ("2h", 7200),
        (0, 0),
        (45, 45),
        ("", None),
        ("1d", None),
        ("m", None),
        (True, None),
        (-1, None),
        (1.5, None),
    ],
)
def test_parse_duration(value: Any, seconds: int | None) -> None:
    assert parse_duration(value) == seconds


def test_snapshot_round_trips_and_is_independent_of_later_edits() -> None:
    cfg = copy.deepcopy(CONFIG)
    tree = parse_route_config(cfg)
    snap = tree.snapshot()
    cfg["route"]["routes"].clear()  # a cell head edits the live config afterwards
    again = tree_from_snapshot(snap)
    assert again.digest == tree.digest
    lab = labels(state="UP", district="LKO", language="hi")
    assert [r.name for r in again.match(lab)] == ["up-hindi", "up-district"]


def test_tampered_snapshot_is_refused() -> None:
    snap = TREE.snapshot()
    snap["config"]["route"]["receivers"] = ["MH-1"]
    with pytest.raises(InvalidInputError):
        tree_from_snapshot(snap)


def test_route_snapshot_records_digest_and_chosen_routes() -> None:
    lab = labels(state="UP", district="LKO", language="hi")
    snap = TREE.route_snapshot(TREE.match(lab))
    assert snap["digest"] == TREE.digest
    assert [r["path"] for r in snap["routes"]] == ["route.routes[1]", "route.routes[2]"]
    assert snap["routes"][0]["matchers"] == ["state=UP", "language=~hi(-Latn)?"]


def test_digest_ignores_key_order() -> None:
    reordered = {"route": dict(reversed(list(CONFIG["route"].items())))}
    assert config_digest(reordered) == config_digest(CONFIG)
    changed = copy.deepcopy(CONFIG)
    changed["route"]["escalation"] = "other"
    assert config_digest(changed) != config_digest(CONFIG)


def test_interim_route_function_still_sends_to_the_leaders_state() -> None:
    assert [t.id for t in route({"state": "DL"}, TEAMS)] == ["DL-1", "DL-2"]
    assert route({"state": "KL"}, TEAMS) == []


label_values = st.sampled_from(["UP", "DL", "MH", "KL", "", "hi", "en", "5", "gaffe", "youtube"])


@given(
    st.fixed_dictionaries(
        {
            "state": label_values,
            "district": st.sampled_from(["LKO", "VNS", "NDL", ""]),
            "language": label_values,
            "severity": st.sampled_from(["1", "3", "5"]),
            "category": st.sampled_from(["gaffe", "policy", "scandal"]),
            "platform": st.sampled_from(["x", "youtube"]),
            "party": st.sampled_from(["ours", "theirs"]),
        }
    )
)
def test_resolution_never_repeats_a_team_and_never_crosses_states(lab: dict[str, str]) -> None:
    targets = TREE.resolve(lab, DIRECTORY)
    ids = [tid for tg in targets for tid in tg.team_ids]
    assert len(ids) == len(set(ids))
    for tg in targets:
        assert all(DIRECTORY.state_of[tid] == tg.state for tid in tg.team_ids)
    assert TREE.match(lab)  # the default route always catches


def test_group_by_accepts_only_the_incident() -> None:
    tree = parse_route_config({"route": {"receivers": ["DL-1"], "group_by": ["incident"]}})
    assert tree.root.group_by == ("incident",)


@pytest.mark.parametrize(
    "pattern", ["(a+)+$", "(a|aa)+", "(a|a)*b", "(x+x+)+y", "(\\w+\\s?)*$", "(.*a){20}"]
)
def test_a_backtracking_regex_is_refused_or_bounded(pattern: str) -> None:
    """Refused on write when the probe catches it; run with the engine's timeout either way."""
    from chalicelib.domain.routing import MATCH_TIMEOUT

    class Engine:
        """Records the timeout each match is given, and times out as a runaway match would."""

        def __init__(self) -> None:
            self.timeouts: list[float | None] = []

        def fullmatch(self, text: str, timeout: float | None = None) -> None:
            self.timeouts.append(timeout)
            raise TimeoutError

    try:
        parse_matcher(f"category=~{pattern}")
    except ValueError as err:
        assert "backtracks catastrophically" in str(err)
    for op in ("=~", "!~"):
        engine = Engine()
        matcher = LabelMatcher("category", op, pattern, engine)  # type: ignore[arg-type]
        # A match cut off by the timeout matches under neither operator.
        assert matcher.matches({"category": "a" * 60 + "!"}) is False
        assert engine.timeouts == [MATCH_TIMEOUT] * len(engine.timeouts) != []


def test_the_hostile_regex_of_the_issue_is_refused() -> None:
    with pytest.raises(ValueError, match="backtracks catastrophically"):
        parse_matcher("category=~(a|aa)+$")


@pytest.mark.parametrize(
    ("text", "value", "hit"),
    [
        ("category=~gaffe|scandal", "gaffe", True),
        ("category=~gaffe|scandal", "gaffes", False),
        ("category=~(a+)+$", "aaaa", True),  # the engine handles this nesting fast: accepted
        ("category=~(a+)+$", "a" * 60 + "!", False),
        ("category!~gaffe.*", "policy", True),
        ("language=~hi(-Latn)?", "hi-Latn", True),
        ("district=~\\p{Lu}+", "LKO", True),
    ],
)
def test_ordinary_regexes_are_accepted_and_match(text: str, value: str, hit: bool) -> None:
    matcher = parse_matcher(text)
    assert matcher.matches({matcher.label: value}) is hit


@pytest.mark.parametrize(
    "lab",
    [
        labels(state="UP", district="LKO", language="hi"),
        labels(state="UP", district="LKO", lang="hi"),
        labels(state="UP", district="LKO", lang="en", language="hi"),  # canonical name wins
    ],
)
def test_lang_is_an_alias_of_language(lab: dict[str, str]) -> None:
    assert [r.name for r in TREE.match(lab)] == ["up-hindi", "up-district"]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.sampled_from(["", "UP", "state=UP", "5m", "all", "state", "x=~(", "teams_of"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "route",
                    "routes",
                    "matchers",
                    "receivers",
                    "teams",
                    "teams_of",
                    "continue",
                    "group_by",
                    "group_wait",
                    "name",
                    "escalation",
                    "x",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)


route_like = st.recursive(
    st.fixed_dictionaries(
        {},
        optional={
            "matchers": st.lists(st.sampled_from(["state=UP", "x=1", "severity=~[", 3]), max_size=3)
            | json_values,
            "receivers": st.lists(
                st.sampled_from(["DL-1", 7, {"teams_of": "all"}, {"teams": []}])
                | st.fixed_dictionaries({"teams_of": json_values})
                | st.fixed_dictionaries({"teams": json_values}),
                max_size=3,
            )
            | json_values,
            "continue": json_values,
            "group_wait": json_values,
            "name": json_values,
        },
    ),
    lambda inner: st.fixed_dictionaries(
        {"receivers": st.just(["DL-1"])}, optional={"routes": st.lists(inner, max_size=3)}
    ),
    max_leaves=6,
)


@example({"route": {"receivers": [{"teams_of": ["x"]}]}})
@given(json_values | st.fixed_dictionaries({"route": route_like}))
def test_any_json_either_parses_or_fails_with_located_problems(config: Any) -> None:
    try:
        tree = parse_route_config(config)
    except InvalidInputError as err:
        assert err.problems and all(p.loc for p in err.problems)
    else:
        assert tree.match({"state": "UP"})
        tree.resolve({"state": "UP"}, DIRECTORY)


@pytest.mark.parametrize(
    ("config", "labels", "expected"),
    [
        ({"route": {"receivers": [{"teams_of": "state"}]}}, {"state": "DL"}, {"DL"}),
        (
            {
                "route": {
                    "receivers": [{"teams_of": "state"}],
                    "routes": [{"matchers": ["severity=5"], "receivers": [{"teams_of": "all"}]}],
                }
            },
            {"state": "DL", "severity": "5"},
            {"DL", "UP", "RJ"},
        ),
        (
            {
                "route": {
                    "receivers": [{"teams_of": "state"}],
                    "routes": [{"matchers": ["severity=5"], "receivers": [{"teams_of": "all"}]}],
                }
            },
            {"state": "DL", "severity": "3"},
            {"DL"},
        ),
        (
            {"route": {"receivers": ["UP-1", "NOWHERE-9"]}},
            {"state": "DL"},
            {"DL", "UP"},  # an unknown team id adds nothing
        ),
    ],
)
def test_states_needed_by_the_matched_routes(
    config: dict[str, object], labels: dict[str, str], expected: set[str]
) -> None:
    from chalicelib.domain.routing import parse_route_config, states_needed

    tree = parse_route_config(config)
    state_of = {"UP-1": "UP"}.get
    assert (
        states_needed(tree.match(labels), labels["state"], state_of, ["DL", "UP", "RJ"]) == expected
    )
