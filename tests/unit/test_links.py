from __future__ import annotations

import pytest

from chalicelib.domain.links import (
    incident_page_path,
    incident_page_url,
    task_page_path,
    task_page_url,
)
from chalicelib.settings import Settings


@pytest.mark.parametrize(
    ("base", "task_id", "expected"),
    [
        ("https://tvarit.example.in", "abc123", "https://tvarit.example.in/t/abc123"),
        ("https://tvarit.example.in/", "abc123", "https://tvarit.example.in/t/abc123"),
        ("http://127.0.0.1:8000", "a/b", "http://127.0.0.1:8000/t/a%2Fb"),
        ("", "abc123", ""),
    ],
)
def test_task_page_url(base: str, task_id: str, expected: str) -> None:
    assert task_page_url(base, task_id) == expected


def test_task_page_path() -> None:
    assert task_page_path("t1") == "/t/t1"


@pytest.mark.parametrize(
    ("base", "incident_key", "expected"),
    [
        ("https://tvarit.example.in", "inc_0a1b", "https://tvarit.example.in/i/inc_0a1b"),
        ("https://tvarit.example.in/", "inc_0a1b", "https://tvarit.example.in/i/inc_0a1b"),
        ("http://127.0.0.1:8000", "x:1/2", "http://127.0.0.1:8000/i/x%3A1%2F2"),
        ("", "inc_0a1b", ""),
    ],
)
def test_incident_page_url(base: str, incident_key: str, expected: str) -> None:
    assert incident_page_url(base, incident_key) == expected


def test_incident_page_path() -> None:
    assert incident_page_path("inc_1") == "/i/inc_1"


def test_public_base_url_setting_drops_trailing_slash() -> None:
    s = Settings.from_env({"TVARIT_PUBLIC_BASE_URL": "https://x.example/"})
    assert s.public_base_url == "https://x.example"
