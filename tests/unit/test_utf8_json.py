"""JSON answers leave as UTF-8 text; other media types and ready-made bodies are untouched."""

from __future__ import annotations

from typing import Any

import pytest
from chalice import Response

from chalicelib.api.http import JSON_UTF8, as_utf8_json

NAME = "अरविंद"


@pytest.mark.parametrize(
    ("headers", "body", "out_type", "out_body"),
    [
        ({}, {"name": NAME}, JSON_UTF8, '{"name":"अरविंद"}'),
        ({"Content-Type": "application/json"}, [NAME], JSON_UTF8, '["अरविंद"]'),
        ({"content-type": "application/json"}, {"a": 1}, JSON_UTF8, '{"a":1}'),
        (
            {"Content-Type": "application/problem+json"},
            {"detail": NAME},
            "application/problem+json",
            '{"detail":"अरविंद"}',
        ),
        ({"Content-Type": "text/plain"}, NAME, "text/plain", NAME),  # already text
        ({}, "", None, ""),  # 204's empty body
        ({"Content-Type": "application/json"}, '{"ready":true}', "application/json", None),
    ],
)
def test_as_utf8_json(
    headers: dict[str, str], body: Any, out_type: str | None, out_body: str | None
) -> None:
    response = as_utf8_json(Response(body=body, headers=dict(headers)))
    got_type = next((v for k, v in response.headers.items() if k.lower() == "content-type"), None)
    assert got_type == out_type
    assert response.body == (body if out_body is None else out_body)
    if isinstance(response.body, str):
        assert "\\u" not in response.body
