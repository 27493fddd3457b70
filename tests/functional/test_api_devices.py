"""A warrior registers their phone: one endpoint, one filtered subscription on the state topic."""

from __future__ import annotations

import json

from chalice.test import Client

from chalicelib.domain.subscriptions import filter_policy
from chalicelib.services.config_cache import load_teams
from tests.factories import make_team
from tests.functional.conftest import SETTINGS, World, auth

BODY = {"platform": "fcm", "token": "fcm-token-0123456789"}


def test_register_list_and_remove_a_device(client: Client, world: World) -> None:
    created = client.http.post("/me/devices", headers=auth("warrior"), body=json.dumps(BODY))
    assert created.status_code == 201
    team = make_team("DL-CENTRAL-01", "DL")
    expected_policy = filter_policy(team.members[0], team)
    assert created.json_body["filter_policy"] == expected_policy
    [(sub_arn, sub)] = world.devices.subscriptions.items()
    assert sub_arn.startswith(SETTINGS.state_topic_arn("DL"))
    assert sub["policy"] == expected_policy
    again = client.http.post("/me/devices", headers=auth("warrior"), body=json.dumps(BODY))
    assert again.status_code == 200 and again.json_body["id"] == created.json_body["id"]
    listed = client.http.get("/me/devices", headers=auth("warrior")).json_body["items"]
    assert [d["id"] for d in listed] == [created.json_body["id"]]
    gone = client.http.delete(f"/me/devices/{created.json_body['id']}", headers=auth("warrior"))
    assert gone.status_code == 204
    assert client.http.get("/me/devices", headers=auth("warrior")).json_body["items"] == []
    # the other registration's subscription is still there; the endpoint is gone
    assert world.devices.endpoints == {}


def test_a_token_sns_refuses_is_422(client: Client, world: World) -> None:
    world.devices.refuse = True
    response = client.http.post("/me/devices", headers=auth("warrior"), body=json.dumps(BODY))
    assert response.status_code == 422
    assert response.json_body["errors"] == [{"loc": "token", "msg": "refused by SNS"}]


def test_members_created_with_their_team_get_a_device_and_route(
    client: Client, world: World
) -> None:
    team = {
        "id": "RJ-JAIPUR-01",
        "name": "Jaipur",
        "state": "RJ",
        "district": "JAIPUR",
        "members": [{"id": "w-rj-1", "name": "Meena", "languages": ["hi"]}],
    }
    head = {"sub": "h", "custom:role": "state_head", "custom:state": "RJ"}
    assert client.http.post("/teams", headers=auth(head), body=json.dumps(team)).status_code == 201
    [stored] = load_teams(world.config, "RJ")  # the analyze stage reads teams like this
    assert stored.members[0].team_id == "RJ-JAIPUR-01"
    warrior = {"sub": "w-rj-1", "custom:role": "warrior", "custom:team": "RJ-JAIPUR-01"}
    response = client.http.post("/me/devices", headers=auth(warrior), body=json.dumps(BODY))
    assert response.status_code == 201
    assert response.json_body["filter_policy"]["team_ids"] == [
        "RJ-JAIPUR-01",
        "@district:RJ/JAIPUR",
        "@state:RJ",
    ]


def sns_event(client: Client, message: dict[str, object]) -> dict[str, object]:
    event: dict[str, object] = client.events.generate_sns_event(
        message=json.dumps(message), subject=None
    )
    return event


def test_a_device_fcm_disabled_is_unsubscribed_deleted_and_audited(
    client: Client, world: World
) -> None:
    client.http.post("/me/devices", headers=auth("warrior"), body=json.dumps(BODY))
    [endpoint] = world.devices.endpoints.values()
    assert world.devices.subscriptions
    failure = {
        "EventType": "DeliveryFailure",
        "FailureType": "EndpointDisabled",
        "EndpointArn": endpoint,
    }
    result = client.lambda_.invoke("push_events", sns_event(client, failure)).payload
    assert result == {"retired": 1}
    assert world.devices.endpoints == {}
    assert world.devices.subscriptions == {}
    assert client.http.get("/me/devices", headers=auth("warrior")).json_body["items"] == []
    last = world.config.audit[-1]
    assert (last.actor, last.entity, last.after) == ("system:sns-events", "device", None)
    # The same event again, or one for an endpoint we never had: nothing to do.
    assert client.lambda_.invoke("push_events", sns_event(client, failure)).payload == {
        "retired": 0
    }
    other = {**failure, "EndpointArn": "arn:aws:sns:ap-south-1:1:endpoint/GCM/x/unknown"}
    assert client.lambda_.invoke("push_events", sns_event(client, other)).payload == {"retired": 0}


def test_other_push_events_leave_the_device_alone(client: Client, world: World) -> None:
    client.http.post("/me/devices", headers=auth("warrior"), body=json.dumps(BODY))
    [endpoint] = world.devices.endpoints.values()
    event = {
        "EventType": "DeliveryFailure",
        "FailureType": "DeliveryFailedPerm",
        "EndpointArn": endpoint,
    }
    assert client.lambda_.invoke("push_events", sns_event(client, event)).payload == {"retired": 0}
    assert world.devices.endpoints


def _rj_team_with_a_lead(client: Client) -> dict[str, str]:
    team = {
        "id": "RJ-JAIPUR-01",
        "name": "Jaipur",
        "state": "RJ",
        "district": "JAIPUR",
        "lead_id": "",
        "members": [{"id": "l-rj-1", "name": "Meena", "role": "lead", "languages": ["hi"]}],
    }
    head = {"sub": "h", "custom:role": "state_head", "custom:state": "RJ"}
    assert client.http.post("/teams", headers=auth(head), body=json.dumps(team)).status_code == 201
    lead = {"sub": "l-rj-1", "custom:role": "team_lead", "custom:team": "RJ-JAIPUR-01"}
    device = client.http.post("/me/devices", headers=auth(lead), body=json.dumps(BODY))
    assert device.status_code == 201
    assert "@lead:RJ-JAIPUR-01" in json.dumps(device.json_body["filter_policy"])
    return head


def test_a_demoted_lead_stops_receiving_the_leads_escalations(client: Client, world: World) -> None:
    """A role change rewrites the member's device filter policies at once (issue 12)."""
    head = _rj_team_with_a_lead(client)
    etag = client.http.get("/teams/RJ-JAIPUR-01", headers=auth(head)).headers["ETag"]
    demoted = {"id": "l-rj-1", "name": "Meena", "role": "warrior", "languages": ["hi"]}
    response = client.http.put(
        "/teams/RJ-JAIPUR-01/members/l-rj-1",
        headers=auth(head, **{"If-Match": etag}),
        body=json.dumps(demoted),
    )
    assert response.status_code == 200, response.json_body
    [sub] = world.devices.subscriptions.values()
    assert "@lead:" not in json.dumps(sub["policy"])
    [team] = [t for t in load_teams(world.config, "RJ") if t.id == "RJ-JAIPUR-01"]
    assert sub["policy"] == filter_policy(team.members[0], team)
    lead = {"sub": "l-rj-1", "custom:role": "warrior", "custom:team": "RJ-JAIPUR-01"}
    [stored] = client.http.get("/me/devices", headers=auth(lead)).json_body["items"]
    assert stored["filter_policy"] == sub["policy"]


def test_a_member_removed_from_the_team_loses_their_devices(client: Client, world: World) -> None:
    head = _rj_team_with_a_lead(client)
    etag = client.http.get("/teams/RJ-JAIPUR-01", headers=auth(head)).headers["ETag"]
    response = client.http.delete(
        "/teams/RJ-JAIPUR-01/members/l-rj-1", headers=auth(head, **{"If-Match": etag})
    )
    assert response.status_code in (200, 204), response.json_body
    assert world.devices.subscriptions == {} and world.devices.endpoints == {}
    assert world.config.list_items("DEVICES#l-rj-1") == []
