"""Whatever arrives, a parser returns mentions or raises ParseError: never a stray exception."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.adapters.platforms.bluesky import parse_bluesky
from chalicelib.adapters.platforms.facebook import parse_facebook
from chalicelib.adapters.platforms.mastodon import parse_mastodon
from chalicelib.adapters.platforms.rss import parse_rss
from chalicelib.adapters.platforms.telegram import parse_telegram
from chalicelib.adapters.platforms.x import parse_x
from chalicelib.adapters.platforms.youtube import parse_youtube
from chalicelib.errors import ParseError
from tests.eventdata import event_bytes

PARSERS: dict[str, Callable[[bytes], list[Any]]] = {
    "x": parse_x,
    "youtube": parse_youtube,
    "rss": parse_rss,
    "bluesky": parse_bluesky,
    "mastodon": parse_mastodon,
    "telegram": parse_telegram,
    "facebook": parse_facebook,
}

SEEDS = {
    "x": "user_timeline.json",
    "youtube": "commentThreads_list.json",
    "bluesky": "getAuthorFeed_constructed.json",
    "mastodon": "status.json",
    "telegram": "bot_getUpdates_channel_post_2018_author_signature.json",
    "facebook": "page_feed_default_fields.json",
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


def _check(parse: Callable[[bytes], list[Any]], raw: bytes) -> None:
    try:
        result = parse(raw)
    except ParseError:
        return
    assert isinstance(result, list)


@pytest.mark.parametrize("platform", sorted(PARSERS))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=json_values)
def test_arbitrary_json(platform: str, value: Any) -> None:
    _check(PARSERS[platform], json.dumps(value).encode())


def _mutations(doc: Any) -> st.SearchStrategy[Any]:
    """The recorded document with one member somewhere replaced by an arbitrary value."""
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if len(paths) > 400:
            return
        if isinstance(node, dict):
            for k, v in node.items():
                paths.append((*path, k))
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node[:3]):
                paths.append((*path, i))
                walk(v, (*path, i))

    walk(doc, ())

    def mutate(args: tuple[tuple[Any, ...], Any]) -> Any:
        path, value = args
        copy = json.loads(json.dumps(doc))
        node = copy
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return copy

    return st.tuples(st.sampled_from(paths), json_values).map(mutate)


@pytest.mark.parametrize("platform", sorted(SEEDS))
def test_recorded_payload_with_one_field_broken(platform: str) -> None:
    doc = json.loads(event_bytes(platform, SEEDS[platform]))

    @settings(max_examples=120, deadline=None)
    @given(_mutations(doc))
    def run(mutated: Any) -> None:
        _check(PARSERS[platform], json.dumps(mutated).encode())

    run()


@pytest.mark.parametrize("platform", sorted(PARSERS))
@settings(max_examples=40, deadline=None)
@given(raw=st.binary(max_size=64))
def test_arbitrary_bytes(platform: str, raw: bytes) -> None:
    _check(PARSERS[platform], raw)


def test_rss_with_one_broken_item_element() -> None:
    raw = event_bytes("rss", "timesofindia_topstories.xml")

    @settings(max_examples=40, deadline=None)
    @given(st.integers(0, len(raw) - 1), st.binary(max_size=8))
    def run(at: int, junk: bytes) -> None:
        _check(parse_rss, raw[:at] + junk + raw[at + len(junk) :])

    run()
