from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.domain.webhook import sign
from tests.functional.conftest import NOW, SECRET, World

POST = {
    "platform": "x",
    "id": "1849000000000000001",
    "author": {"id": "1", "handle": "ArvindKejriwal", "name": "Arvind Kejriwal"},
    "created_at": "2026-11-01T10:00:00Z",
    "text": "नोटबंदी के बाद काला धन ख़त्म हो गया?",
    "url": "https://x.com/ArvindKejriwal/status/1849000000000000001",
}


def signed(body: bytes, secret: str = SECRET, ts: int = int(NOW)) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Tvarit-Timestamp": str(ts),
        "X-Tvarit-Signature": sign(secret, ts, body),
    }


def post(client: Client, body: bytes, headers: dict[str, str]) -> Any:
    return client.http.post("/ingest/webhook", headers=headers, body=body)


def test_health(client: Client) -> None:
    assert client.http.get("/health").json_body == {"status": "ok"}


def test_a_signed_post_is_accepted_and_queued_with_a_string_id(
    client: Client, world: World
) -> None:
    body = json.dumps(POST).encode()
    response = post(client, body, signed(body))
    assert response.status_code == 202
    assert response.json_body == {"accepted": 1, "keys": ["x#1849000000000000001"]}
    [queued] = world.queue.messages
    assert queued["native_id"] == "1849000000000000001"
    assert queued["author"]["handle"] == "ArvindKejriwal"
    assert queued["created_at"] == "2026-11-01T10:00:00.000000Z"


def test_a_batch_of_posts_is_accepted_whole(client: Client, world: World) -> None:
    body = json.dumps({"posts": [POST, {**POST, "id": "2"}]}).encode()
    response = post(client, body, signed(body))
    assert response.status_code == 202
    assert [m["native_id"] for m in world.queue.messages] == ["1849000000000000001", "2"]


@pytest.mark.parametrize(
    ("headers", "loc"),
    [
        ({"X-Tvarit-Signature": "sha256=" + "0" * 64}, "header:x-tvarit-signature"),
        ({"X-Tvarit-Timestamp": str(int(NOW) - 3600)}, "header:x-tvarit-timestamp"),
        ({"X-Tvarit-Signature": ""}, "header:x-tvarit-signature"),
    ],
)
def test_a_bad_signature_is_401_and_nothing_is_queued(
    client: Client, world: World, headers: dict[str, str], loc: str
) -> None:
    body = json.dumps(POST).encode()
    response = post(client, body, {**signed(body), **headers})
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json_body
    assert problem["status"] == 401
    assert problem["type"] == "/problems/unauthenticated"
    assert [e["loc"] for e in problem["errors"]] == [loc]
    assert world.queue.messages == []


def test_a_body_signed_with_another_secret_is_refused(client: Client, world: World) -> None:
    body = json.dumps(POST).encode()
    assert post(client, body, signed(body, secret="someone-else")).status_code == 401
    assert world.queue.messages == []


def test_malformed_json_is_400_naming_the_problem(client: Client, world: World) -> None:
    body = b'{"platform": "x", "id": '
    response = post(client, body, signed(body))
    assert response.status_code == 400
    problem = response.json_body
    assert problem["type"] == "/problems/malformed-input"
    assert problem["detail"] == "body is not valid JSON"
    assert problem["errors"][0]["loc"] == "body"
    assert "line 1 column 25" in problem["errors"][0]["msg"]
    assert world.queue.messages == []


def test_invalid_fields_are_422_with_every_location(client: Client, world: World) -> None:
    bad = {**POST, "id": 8.26e17, "platform": "myspace", "created_at": "yesterday"}
    del bad["text"]
    body = json.dumps({"posts": [POST, bad]}).encode()
    response = post(client, body, signed(body))
    assert response.status_code == 422
    errors = {e["loc"]: e["msg"] for e in response.json_body["errors"]}
    assert set(errors) == {
        "posts[1].platform",
        "posts[1].id",
        "posts[1].text",
        "posts[1].created_at",
    }
    assert errors["posts[1].id"] == "expected a string"
    # All or nothing: the valid post in the same batch is not queued either.
    assert world.queue.messages == []


def test_an_oversized_body_is_413(client: Client, world: World) -> None:
    body = json.dumps({**POST, "text": "x" * 300_000}).encode()
    response = post(client, body, signed(body))
    assert response.status_code == 413
    assert world.queue.messages == []


def test_a_queue_outage_is_503_not_500(client: Client, world: World) -> None:
    world.queue.fail = True
    body = json.dumps(POST).encode()
    response = post(client, body, signed(body))
    assert response.status_code == 503
    assert response.json_body["type"] == "/problems/upstream-unavailable"


@pytest.mark.parametrize(
    ("body", "msg"),
    [
        (b"[" * 5000 + b"]" * 5000, "nested deeper than 32 at char 32"),
        (b'{"id": ' + b"1" * 5000 + b"}", "number over 40 chars at char 7"),
    ],
)
def test_signed_but_hostile_json_is_400_not_500(
    client: Client, world: World, body: bytes, msg: str
) -> None:
    response = post(client, body, signed(body))
    assert response.status_code == 400
    assert response.json_body["errors"] == [{"loc": "body", "msg": msg}]
    assert world.queue.messages == []
