"""Idempotency-Key through the API: keyed by caller, method and full URL; claimed before it runs."""

from __future__ import annotations

import json

from chalice.test import Client

from chalicelib.services.idempotency import RECORD_TTL, Request, fingerprint, record_key
from chalicelib.wiring import utcnow
from tests.functional.conftest import CLAIMS, World, auth

MEMBER = json.dumps({"id": "m-new", "name": "New Warrior", "languages": ["hi"]})


def _members(world: World, team: str, state: str) -> list[str]:
    record = world.config.get_item(f"TEAMS#{state}", team)
    assert record is not None
    return [m["id"] for m in record.data["members"]]


def test_the_same_key_and_body_on_another_teams_url_is_not_a_replay(
    client: Client, world: World
) -> None:
    headers = auth("national_admin", **{"Idempotency-Key": "add-m-new"})
    first = client.http.post("/teams/DL-CENTRAL-01/members", headers=headers, body=MEMBER)
    second = client.http.post("/teams/UP-VARANASI-01/members", headers=headers, body=MEMBER)
    assert (first.status_code, second.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in second.headers
    assert second.json_body["id"] == "UP-VARANASI-01"  # the UP team's answer, not Delhi's
    assert "m-new" in _members(world, "UP-VARANASI-01", "UP")
    assert "m-new" in _members(world, "DL-CENTRAL-01", "DL")
    again = client.http.post("/teams/UP-VARANASI-01/members", headers=headers, body=MEMBER)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json_body == second.json_body


def test_a_key_in_progress_answers_409_and_a_failure_frees_the_key(
    client: Client, world: World
) -> None:
    path = "/teams/DL-CENTRAL-01/members"
    running = Request(CLAIMS["state_head"]["sub"], "POST", path, "k-busy", MEMBER.encode())
    now = utcnow()
    world.idempotency.claim(
        record_key(running), fingerprint(running.body), "other", now, now + RECORD_TTL, now
    )
    headers = auth("state_head", **{"Idempotency-Key": "k-busy"})
    busy = client.http.post(path, headers=headers, body=MEMBER)
    assert busy.status_code == 409
    assert busy.headers["Content-Type"] == "application/problem+json"
    assert busy.json_body["errors"] == [{"loc": "header:Idempotency-Key", "msg": "in progress"}]
    assert "m-new" not in _members(world, "DL-CENTRAL-01", "DL")  # it did not run
    # A request that fails leaves no record: the client may fix it and retry with its key.
    failing = auth("state_head", **{"Idempotency-Key": "k-fix"})
    missing = client.http.post("/teams/NO-SUCH/members", headers=failing, body=MEMBER)
    assert missing.status_code == 404
    retried = client.http.post("/teams/NO-SUCH/members", headers=failing, body=MEMBER)
    assert retried.status_code == 404 and "Idempotent-Replayed" not in retried.headers
