"""The console's data API: stats series from the rollup, members CSV import/export, team search.

Every endpoint with its 4xx answers (problem+json naming what and where) and its scope.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from chalice.test import Client

from chalicelib.adapters.dynamo.repositories import _task_to_model
from chalicelib.domain.member_csv import COLUMNS
from chalicelib.domain.rollup import IST, bucket_of, bucket_upper
from chalicelib.domain.tasks import Task, TaskStatus
from tests.factories import make_team
from tests.functional.conftest import World, auth
from tests.seeding import seed

HEADER = ",".join(COLUMNS)
DISTRICT_HEAD_EAST = {
    "sub": "dhead-dl-east",
    "custom:role": "district_head",
    "custom:state": "DL",
    "custom:district": "EAST",
}


def _image(task: Task) -> dict[str, Any]:
    return dict(_task_to_model(task).serialize())


def stream(changes: list[tuple[Task | None, Task]]) -> dict[str, Any]:
    records = []
    for i, (old, new) in enumerate(changes):
        data: dict[str, Any] = {"SequenceNumber": str(100 + i), "NewImage": _image(new)}
        if old is not None:
            data["OldImage"] = _image(old)
        records.append(
            {
                "eventName": "INSERT" if old is None else "MODIFY",
                "eventSource": "aws:dynamodb",
                "dynamodb": data,
            }
        )
    return {"Records": records}


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = json.loads(response.body)
    return body


def _districted(world: World) -> None:
    seed(
        world.config,
        make_team("DL-CENTRAL-01", "DL", district="CENTRAL"),
        make_team("DL-EAST-01", "DL", district="EAST"),
    )


# --- stats series -------------------------------------------------------------------------


def _worked_tasks(client: Client) -> datetime:
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    base = Task("t1", "DL-CENTRAL-01", "DL", "i1", "m1", now, district="CENTRAL")
    east = dataclasses.replace(base, task_id="t2", team_id="DL-EAST-01", district="EAST")
    silent = dataclasses.replace(east, task_id="t3")
    acked = dataclasses.replace(
        base, status=TaskStatus.ACKNOWLEDGED, version=2, updated_at=now + timedelta(minutes=4)
    )
    event = stream([(None, base), (None, east), (None, silent), (base, acked)])
    for _ in range(2):  # the stream delivers at least once: twice here
        result = client.lambda_.invoke("rollup", event).payload
        assert result == {"batchItemFailures": []}
    return now


def test_daily_series_and_team_table_come_from_the_rollup(client: Client, world: World) -> None:
    _districted(world)
    now = _worked_tasks(client)
    today = now.astimezone(IST).date().isoformat()
    r = client.http.get("/stats/daily?state=DL&days=7", headers=auth("state_head"))
    assert r.status_code == 200, r.body
    body = json.loads(r.body)
    assert (body["state"], body["district"], len(body["days"])) == ("DL", "", 7)
    last = body["days"][-1]
    assert last["day"] == today
    assert (last["tasks"], last["acknowledged"], last["completed"]) == (3, 1, 0)
    assert last["ack_p50_s"] == bucket_upper(bucket_of(240.0))
    assert last["complete_p50_s"] is None
    assert all(d["tasks"] == 0 for d in body["days"][:-1])
    teams = json.loads(client.http.get("/stats/teams?state=DL", headers=auth("state_head")).body)
    assert [(t["team_id"], t["tasks"], t["never_responds"]) for t in teams["teams"]] == [
        ("DL-EAST-01", 2, True),
        ("DL-CENTRAL-01", 1, False),
    ]
    assert teams["last_day"] == today


def test_a_district_head_sees_their_district_only(client: Client, world: World) -> None:
    _districted(world)
    _worked_tasks(client)
    body = json.loads(client.http.get("/stats/daily?days=1", headers=auth("district_head")).body)
    assert body["district"] == "CENTRAL" and body["days"][-1]["tasks"] == 1
    teams = json.loads(client.http.get("/stats/teams", headers=auth("district_head")).body)
    assert [t["team_id"] for t in teams["teams"]] == ["DL-CENTRAL-01"]


def test_stats_series_refusals(client: Client, world: World) -> None:
    for path in ("/stats/daily", "/stats/teams"):
        assert problem(client.http.get(f"{path}?state=DL", headers=auth("state_head_up")), 404)
        assert problem(client.http.get(f"{path}?state=DL", headers=auth("warrior")), 403)
        for days in ("0", "91", "abc", "1e3"):
            body = problem(
                client.http.get(f"{path}?state=DL&days={days}", headers=auth("state_head")), 422
            )
            assert body["errors"][0]["loc"] == "days"
        body = problem(client.http.get(f"{path}?state=XX", headers=auth("state_head")), 422)
        assert body["errors"][0]["loc"] == "state"
        body = problem(client.http.get(f"{path}?state=DL&dayz=3", headers=auth("state_head")), 422)
        assert body["errors"][0]["loc"] == "query:dayz"
        assert problem(client.http.get(path), 401)
    # A national admin names the state; they have none of their own.
    body = problem(client.http.get("/stats/daily", headers=auth("national_admin")), 422)
    assert body["errors"][0]["loc"] == "state"


# --- members CSV ------------------------------------------------------------------------------


def _csv(lines: list[str]) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def _import(client: Client, who: Any, body: bytes, apply: bool | None = None) -> Any:
    query = "" if apply is None else f"?apply={'true' if apply else 'false'}"
    headers = {**auth(who), "Content-Type": "text/csv"}
    return client.http.post(f"/imports/members{query}", headers=headers, body=body)


def _rows(n: int) -> list[str]:
    return [
        f"DL-NEW-{i // 40:02d},New {i // 40},DL,CENTRAL,m{i:04d},Member {i},warrior,hi,push,,,no"
        for i in range(n)
    ]


def test_import_reports_bad_rows_before_writing_then_applies_the_rest_once(
    client: Client, world: World
) -> None:
    lines = _rows(120)
    lines[10] = "DL-NEW-00,New 0,DL,CENTRAL,m0010,Member 10,captain,hi,push,,,no"  # role
    lines[50] = "DL-NEW-01,New 1,DL,CENTRAL,m0050,Member 50,warrior,hi,push,+91 98290 00000,,no"
    lines[99] = "DL-NEW-02,New 2,DL,CENTRAL,m0099,,warrior,hi,push,,,no"  # no name
    before = len(world.config.audit)
    r = _import(client, "state_head", _csv(lines))
    assert r.status_code == 200, r.body
    report = json.loads(r.body)
    assert (report["rows"], report["valid"], report["applied"]) == (120, 117, False)
    named = {(row["line"], row["member_id"], row["errors"][0]["loc"]) for row in report["invalid"]}
    assert named == {
        (12, "m0010", "role"),
        (52, "m0050", "contact_consent"),
        (101, "m0099", "name"),
    }
    assert report["created"] == ["DL-NEW-00", "DL-NEW-01", "DL-NEW-02"]
    assert len(world.config.audit) == before  # a report writes nothing
    r = _import(client, "state_head", _csv(lines), apply=True)
    report = json.loads(r.body)
    assert report["applied"] is True and len(report["invalid"]) == 3
    team = json.loads(client.http.get("/teams/DL-NEW-01", headers=auth("state_head")).body)
    assert len(team["members"]) == 39 and "m0050" not in {m["id"] for m in team["members"]}
    written = len(world.config.audit)
    assert written == before + 3
    again = json.loads(_import(client, "state_head", _csv(lines), apply=True).body)
    assert again["created"] == [] and again["updated"] == []
    assert again["unchanged"] == ["DL-NEW-00", "DL-NEW-01", "DL-NEW-02"]
    assert len(world.config.audit) == written  # the same rows twice: nothing the second time


def test_import_updates_members_in_place_and_keeps_what_the_file_does_not_name(
    client: Client, world: World
) -> None:
    body = _csv(["DL-CENTRAL-01,Central,DL,,DL-CENTRAL-01-w1,Renamed,,hi,push,,,no"])
    report = json.loads(_import(client, "state_head", body, apply=True).body)
    assert report["updated"] == ["DL-CENTRAL-01"]
    consented = _csv(
        ["DL-CENTRAL-01,Central,DL,,new-1,Asha,warrior,hi,push|email,,asha@EXAMPLE.in,yes"]
    )
    report = json.loads(_import(client, "state_head", consented, apply=True).body)
    assert report["invalid"] == []
    team = json.loads(client.http.get("/teams/DL-CENTRAL-01", headers=auth("state_head")).body)
    members = {m["id"]: m for m in team["members"]}
    assert members["DL-CENTRAL-01-w1"]["name"] == "Renamed"
    assert members["new-1"]["email"] == "asha@example.in"  # normalised as the API does
    assert members["new-1"]["contact_consent_by"] == "shead-dl"
    subs = world.contacts.subscriptions.values()  # the e-mail subscription, as through the API
    assert [(s["protocol"], s["endpoint"]) for s in subs] == [("email", "asha@example.in")]


def test_import_scope_refusals_are_row_problems(client: Client, world: World) -> None:
    _districted(world)
    body = _csv(
        [
            "UP-VARANASI-01,Varanasi,UP,,x1,X,warrior,hi,push,,,no",  # another state
            "DL-EAST-01,East,DL,EAST,x2,Y,warrior,hi,push,,,no",  # another district
            "DL-CENTRAL-01,Central,DL,CENTRAL,x3,Z,warrior,hi,push,,,no",
            "DL-CENTRAL-01,Central,DL,CENTRAL,x4,Boss,state_head,hi,push,,,no",  # outranks
        ]
    )
    report = json.loads(_import(client, "district_head", body).body)
    by_line = {r["line"]: r["errors"][0] for r in report["invalid"]}
    assert set(by_line) == {2, 3, 5}
    assert by_line[3] == {"loc": "team_id", "msg": "no such team in your scope"}
    assert report["updated"] == ["DL-CENTRAL-01"]


def test_bad_csv_is_a_problem_naming_where(client: Client, world: World) -> None:
    body = problem(_import(client, "state_head", b"team_id,phnoe\nDL-1,1\n"), 422)
    assert [e["loc"] for e in body["errors"]] == ["header.phnoe", "header.state"]
    body = problem(_import(client, "state_head", b""), 422)
    assert body["errors"][0]["loc"] == "header"
    body = problem(_import(client, "state_head", HEADER.encode() + b"\n\xff\n"), 400)
    assert body["errors"][0]["loc"] == "body"
    body = ()
    r = client.http.post(
        "/imports/members?apply=yes",
        headers={**auth("state_head"), "Content-Type": "text/csv"},
        body=_csv(_rows(1)),
    )
    assert problem(r, 422)["errors"][0]["loc"] == "apply"
    r = client.http.post("/imports/members", headers=auth("state_head"), body=b'{"a": 1}')
    assert problem(r, 415)
    assert problem(_import(client, "warrior", _csv(_rows(1))), 403)
    big = HEADER.encode() + b"\n" + b"x" * (4 * 1024 * 1024)
    assert problem(_import(client, "state_head", big), 413)


def test_export_is_scoped_and_imports_back_unchanged(client: Client, world: World) -> None:
    _districted(world)
    r = client.http.get("/exports/members?state=DL", headers=auth("state_head"))
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.body.decode())))
    assert {row["team_id"] for row in rows} == {"DL-CENTRAL-01", "DL-EAST-01"}
    report = json.loads(_import(client, "state_head", r.body, apply=True).body)
    assert report["invalid"] == [] and report["updated"] == []
    assert report["unchanged"] == ["DL-CENTRAL-01", "DL-EAST-01"]
    mine = client.http.get("/exports/members", headers=auth("district_head"))
    assert {row["team_id"] for row in csv.DictReader(io.StringIO(mine.body.decode()))} == {
        "DL-CENTRAL-01"
    }
    assert problem(client.http.get("/exports/members?state=DL", headers=auth("state_head_up")), 404)
    assert problem(client.http.get("/exports/members?state=DL", headers=auth("warrior")), 403)


# --- search -------------------------------------------------------------------------------------


def test_team_search_pages_through_matches(client: Client, world: World) -> None:
    seed(world.config, *(make_team(f"DL-S-{i:03d}", "DL", name=f"Seva {i}") for i in range(130)))
    first = json.loads(
        client.http.get("/teams?state=DL&q=seva&limit=100", headers=auth("state_head")).body
    )
    assert len(first["items"]) == 100 and first["next_cursor"]
    rest = json.loads(
        client.http.get(
            f"/teams?state=DL&q=SEVA&limit=100&cursor={first['next_cursor']}",
            headers=auth("state_head"),
        ).body
    )
    ids = [t["id"] for t in first["items"] + rest["items"]]
    assert ids == sorted(f"DL-S-{i:03d}" for i in range(130)) and rest["next_cursor"] is None
    by_member = json.loads(
        client.http.get("/teams?state=DL&q=dl-east-01-w1", headers=auth("state_head")).body
    )
    assert [t["id"] for t in by_member["items"]] == ["DL-EAST-01"]
    assert (
        json.loads(client.http.get("/teams?state=UP&q=varanasi", headers=auth("state_head")).body)[
            "items"
        ]
        == []
    )
    body = problem(client.http.get("/leaders?q=x", headers=auth("state_head")), 422)
    assert body["errors"][0]["loc"] == "query:q"
