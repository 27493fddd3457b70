"""One helper for recorded platform payloads under ``tests/events/<platform>/``."""

from __future__ import annotations

from pathlib import Path

EVENTS = Path(__file__).parent / "events"
SHARED_PAYLOADS = Path(__file__).parent.parent / ".." / "shared" / "data" / "payloads"


def event_path(platform: str, name: str) -> Path:
    """The path of a committed fixture."""
    return EVENTS / platform / name


def event_bytes(platform: str, name: str) -> bytes:
    """The raw bytes of a committed fixture."""
    return event_path(platform, name).read_bytes()
