from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.cli import main
from chalicelib.commands.parse import PARSERS
from tests.eventdata import EVENTS, SHARED_PAYLOADS, event_path

FIXTURES = [
    ("x", "user_timeline.json", 12),
    ("x", "filtered_stream_truncated.jsonl", 3),
    ("youtube", "commentThreads_list.json", 5),
    ("youtube", "websub_notification.xml", 1),
    ("rss", "timesofindia_topstories.xml", 48),
    ("bluesky", "jetstream_events.jsonl", 1),
    ("mastodon", "streaming_update_event.txt", 1),
    ("telegram", "desktop_export_messages_excerpt.json", 4),
    ("facebook", "page_feed_default_fields.json", 3),
]


@pytest.mark.parametrize(("platform", "name", "count"), FIXTURES)
def test_prints_one_json_line_per_mention_with_key_first(
    platform: str, name: str, count: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["parse", platform, str(event_path(platform, name))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == count
    for line in lines:
        doc = json.loads(line)
        assert next(iter(doc)) == "key"
        assert doc["key"] == f"{doc['platform']}#{doc['native_id']}"
        assert isinstance(doc["native_id"], str)
        assert doc["created_at"].endswith("Z")


def test_truncated_stream_warns_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "x", str(event_path("x", "filtered_stream_truncated.jsonl"))]) == 0
    assert "last line cut off" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("platform", "content", "message"),
    [
        ("x", b'{"data": [{"id": 8.26e+17, "text": "t"}]}', "/data/0/id"),
        ("rss", b"<html>not a feed", "not an RSS or Atom feed"),
        ("telegram", b"", "empty input"),
        ("mastodon", b"\xff\xfe", "not UTF-8"),
    ],
)
def test_unparseable_input_exits_2_with_a_clear_message(
    platform: str, content: bytes, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "capture"
    path.write_bytes(content)
    assert main(["parse", platform, str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"tvarit parse: {platform}: {path}: ")
    assert message in captured.err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "x", str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_unknown_platform_is_a_usage_error() -> None:
    assert main(["parse", "orkut", "file"]) == 2


def _shared_payloads() -> list[tuple[str, Path]]:
    if not SHARED_PAYLOADS.is_dir():
        return []
    out = []
    for path in sorted(SHARED_PAYLOADS.iterdir()):
        platform = path.name.split("_")[0]
        if platform in PARSERS:
            out.append((platform, path))
    return out


@pytest.mark.shared
@pytest.mark.parametrize(("platform", "path"), _shared_payloads() or [("x", Path("absent"))])
def test_every_shared_payload_parses(
    platform: str, path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not path.exists():
        pytest.skip("../shared/data is absent")
    assert main(["parse", platform, str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines, f"{path.name} gave no mentions"
    assert all(json.loads(line)["native_id"] for line in lines)


def test_fixture_directory_has_a_provenance_note() -> None:
    assert (EVENTS / "PROVENANCE.md").read_text().count("Licence") >= 1
