"""Against the full real timelines in ../shared/data/posts (skipped when that is absent)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from chalicelib.domain.keywords import compile_queries, keyword_query_from_dict
from chalicelib.domain.keywords.reference import reference_match

ROOT = Path(__file__).resolve().parents[2]
SHARED_POSTS = ROOT / "../shared/data/posts"
DATA = ROOT / "tests" / "data"

pytestmark = pytest.mark.shared


def shared_posts() -> list[dict[str, str]]:
    files = sorted(SHARED_POSTS.glob("*.jsonl")) if SHARED_POSTS.is_dir() else []
    if not files:
        pytest.skip("../shared/data/posts is not available")
    return [json.loads(line) for f in files for line in f.open(encoding="utf-8")]


def test_fixture_posts_are_verbatim_from_the_shared_timelines() -> None:
    shared = {(str(r["id"]), r["text"]) for r in shared_posts()}
    for line in (DATA / "keyword_posts.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        assert (row["id"], row["text"]) in shared


def test_demo_queries_match_like_the_reference_on_real_posts() -> None:
    posts = random.Random(5).sample(shared_posts(), 1500)
    raw = json.loads((DATA / "demo_queries.json").read_text(encoding="utf-8"))
    queries = [keyword_query_from_dict(q) for q in raw]
    matcher = compile_queries(queries, strict=True)
    matched = 0
    for post in posts:
        got = matcher.match(post["text"], lang="hi")
        assert got == reference_match(queries, post["text"], lang="hi")
        matched += bool(got)
    # the demo set is meant to find something in real timelines, not everything
    assert 0.05 < matched / len(posts) < 0.8
