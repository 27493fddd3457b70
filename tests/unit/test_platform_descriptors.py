"""One descriptor per platform: which production files name each platform, as a table.

A platform is named by a quoted name (``"mastodon"``), an adapter import
(``platforms.mastodon`` / ``platforms import mastodon``) or a message key (``platform_mastodon``).
A new source must touch at most three production files: its descriptor row
(``chalicelib/domain/platforms.py``), its adapter module and its routes on the fake server.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chalicelib.domain.mention import PLATFORM_HOSTS, PLATFORMS
from chalicelib.domain.platforms import NAMES
from chalicelib.domain.platforms import PLATFORMS as DESCRIPTORS

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = [
    *sorted((ROOT / "chalicelib").rglob("*.py")),
    *sorted((ROOT / "local").glob("*.py")),
    ROOT / "app.py",
    *sorted((ROOT / "infra").glob("*.py")),
]
# Display names in the message catalogues are optional (pages fall back to the platform's
# name), so they are not a file a new source has to touch; demo data is data, not code.
# Files that name a platform for another reason, with the reason.
NOT_A_SOURCE_FILE = {
    ("x", "infra/stack.py"): "a dashboard widget's x coordinate",
    ("x", "local/make_demo_posts.py"): "rebuilds local/demo/posts.jsonl by hand from X posts",
    (
        "telegram",
        "chalicelib/domain/channels.py",
    ): "the Telegram delivery channel's name (issue 13)",
}
DESCRIPTOR = "chalicelib/domain/platforms.py"
FAKE = "local/fake_platforms.py"

EXPECTED: dict[str, set[str]] = {
    "x": {DESCRIPTOR, "chalicelib/adapters/platforms/x.py", FAKE},
    "youtube": {DESCRIPTOR, "chalicelib/adapters/platforms/youtube.py", FAKE},
    "facebook": {DESCRIPTOR, "chalicelib/adapters/platforms/facebook.py", FAKE},
    "telegram": {DESCRIPTOR, "chalicelib/adapters/platforms/telegram.py", FAKE},
    "bluesky": {DESCRIPTOR, "chalicelib/adapters/platforms/bluesky.py", FAKE},
    "mastodon": {DESCRIPTOR, "chalicelib/adapters/platforms/mastodon.py", FAKE},
    "rss": {DESCRIPTOR, "chalicelib/adapters/platforms/rss.py", FAKE},
}


def _names(platform: str) -> re.Pattern[str]:
    p = re.escape(platform)
    quoted = rf"""(?<![A-Za-z])(["']){p}\1"""
    imported = rf"platforms\.{p}\b|platforms import [^\n]*\b{p}\b"
    return re.compile(rf"{quoted}|{imported}|platform_{p}\b")


def files_naming(platform: str) -> set[str]:
    pattern = _names(platform)
    return {
        name
        for path in PRODUCTION
        if pattern.search(path.read_text(encoding="utf-8"))
        and (platform, name := str(path.relative_to(ROOT))) not in NOT_A_SOURCE_FILE
    }


@pytest.mark.parametrize("platform", sorted(EXPECTED))
def test_each_platform_is_named_in_at_most_three_production_files(platform: str) -> None:
    found = files_naming(platform)
    assert found == EXPECTED[platform]
    assert len(found) <= 3


def test_the_table_covers_every_descriptor_with_an_adapter() -> None:
    assert {p.name for p in DESCRIPTORS if p.adapter} == set(EXPECTED)


def test_the_counter_finds_a_name_where_one_is_written(tmp_path: Path) -> None:
    # The table is only as good as its pattern: each way of naming a platform is caught.
    for text in (
        'x = "mastodon"',
        "from chalicelib.adapters.platforms.mastodon import A",
        "from chalicelib.adapters.platforms import mastodon",
        "m('platform_mastodon')",
    ):
        assert _names("mastodon").search(text), text
    assert not _names("x").search("max_id = 'xy'")


def test_the_domain_reads_hosts_and_names_from_the_descriptors() -> None:
    assert tuple(sorted(PLATFORMS)) == tuple(sorted(NAMES))
    assert {p.name: p.hosts for p in DESCRIPTORS if p.hosts} == PLATFORM_HOSTS


def test_every_adapter_has_what_its_descriptor_promises() -> None:
    import importlib

    for p in DESCRIPTORS:
        if not p.adapter:
            continue
        module = importlib.import_module(p.adapter)
        assert callable(getattr(module, p.parser)), p.name
        if p.pollable:
            assert callable(module.make_client), p.name
        for ep in p.push:
            assert callable(getattr(module, ep.handler)), (p.name, ep.op_id)
        for stream in p.streams:
            assert callable(getattr(module, stream.consumer)), (p.name, stream.consumer)
        for job in p.jobs:
            assert callable(getattr(module, job.function)), (p.name, job.function)
