"""Members' phone and e-mail: validated, stored with consent, subscribed to the state topic.

The team of the world is DL-CENTRAL-01 (make_team: one warrior ``DL-CENTRAL-01-w1``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.domain.contacts import DEFAULT_SMS_AUDIENCE
from chalicelib.domain.subscriptions import filter_policy
from chalicelib.services.config_cache import load_teams
from chalicelib.services.contacts import CONTACTS, ContactSync
from tests.functional.conftest import SETTINGS, World, auth

TEAM = "DL-CENTRAL-01"
PHONE = "+91 98765 43210"
E164 = "+919876543210"
LEAD = {
    "id": "lead-1",
    "name": "Asha",
    "role": "lead",
    "languages": ["hi"],
    "channels": ["push", "sms", "email"],
    "phone": PHONE,
    "email": "Asha@Example.IN",
    "contact_consent": True,
}


def add(client: Client, member: dict[str, Any], who: str = "state_head") -> Any:
    return client.http.post(f"/teams/{TEAM}/members", headers=auth(who), body=json.dumps(member))


def etag(client: Client, team: str = TEAM) -> str:
    return str(client.http.get(f"/teams/{team}", headers=auth("state_head")).headers["ETag"])


def put(client: Client, member: dict[str, Any]) -> Any:
    return client.http.put(
        f"/teams/{TEAM}/members/{member['id']}",
        headers=auth("state_head", **{"If-Match": etag(client)}),
        body=json.dumps(member),
    )


def stored_team(world: World) -> Any:
    [team] = [t for t in load_teams(world.config, "DL") if t.id == TEAM]
    return team


def test_a_lead_with_consent_gets_sms_and_email_subscriptions_with_the_device_policy(
    client: Client, world: World
) -> None:
    response = add(client, LEAD)
    assert response.status_code == 201, response.json_body
    team = stored_team(world)
    lead = next(m for m in team.members if m.id == "lead-1")
    assert (lead.phone, lead.email) == (E164, "Asha@example.in")  # normalised
    assert lead.contact_consent_by == "shead-dl" and lead.contact_consent_at
    policy = filter_policy(lead, team)
    [sms] = world.contacts.of("sms")
    [email] = world.contacts.of("email")
    assert sms == {
        "topic": SETTINGS.state_topic_arn("DL"),
        "protocol": "sms",
        "endpoint": E164,
        "policy": policy,
    }
    assert email["endpoint"] == "Asha@example.in" and email["policy"] == policy
    assert "@lead:DL-CENTRAL-01" in policy["team_ids"]  # escalations reach the lead's phone
    # the subscriptions are remembered without the phone number or address
    records = world.config.list_items(f"{CONTACTS}lead-1")
    assert sorted(r.id for r in records) == ["email", "sms"]
    assert E164 not in json.dumps([r.data for r in records])


def test_removing_a_channel_or_the_member_unsubscribes(client: Client, world: World) -> None:
    assert add(client, LEAD).status_code == 201
    assert put(client, {**LEAD, "channels": ["push", "email"]}).status_code == 200
    assert world.contacts.of("sms") == [] and len(world.contacts.of("email")) == 1
    assert [r.id for r in world.config.list_items(f"{CONTACTS}lead-1")] == ["email"]
    gone = client.http.delete(
        f"/teams/{TEAM}/members/lead-1",
        headers=auth("state_head", **{"If-Match": etag(client)}),
    )
    assert gone.status_code == 200
    assert world.contacts.subscriptions == {}
    assert world.config.list_items(f"{CONTACTS}lead-1") == []


def test_an_unchanged_member_keeps_its_subscriptions_and_consent(
    client: Client, world: World
) -> None:
    assert add(client, LEAD).status_code == 201
    before = dict(world.contacts.subscriptions)
    consent_at = next(m for m in stored_team(world).members if m.id == "lead-1").contact_consent_at
    assert put(client, {**LEAD, "name": "Asha V."}).status_code == 200
    assert world.contacts.subscriptions == before and world.contacts.created == 2
    after = next(m for m in stored_team(world).members if m.id == "lead-1")
    assert after.contact_consent_at == consent_at
    # a new number: a new subscription, and the consent is recorded again
    assert put(client, {**LEAD, "phone": "+919812345678"}).status_code == 200
    assert [s["endpoint"] for s in world.contacts.of("sms")] == ["+919812345678"]


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"phone": "98765 43210"}, "phone"),  # no country code
        ({"phone": "+91987654321"}, "phone"),  # 9 digits after +91
        ({"phone": "+9198765432101"}, "phone"),  # 11 digits after +91
        ({"phone": "+915876543210"}, "phone"),  # not a mobile number
        ({"phone": "+1 (415)"}, "phone"),  # too short for E.164
        ({"email": "asha@"}, "email"),
        ({"email": "asha example.in"}, "email"),
    ],
)
def test_bad_phone_numbers_and_addresses_are_422_at_their_field(
    client: Client, world: World, change: dict[str, str], loc: str
) -> None:
    response = add(client, {**LEAD, **change})
    assert response.status_code == 422
    [problem] = response.json_body["errors"]
    assert problem["loc"] == loc
    assert change[loc] not in json.dumps(response.json_body)  # never echoed back
    assert world.contacts.subscriptions == {}


@pytest.mark.parametrize(
    ("change", "loc", "words"),
    [
        ({"contact_consent": False}, "contact_consent", "consent"),
        ({"channels": ["sms"], "phone": ""}, "phone", "required for sms"),
        ({"channels": ["email"], "email": ""}, "email", "required for email"),
        ({"role": "warrior"}, "channels", "sms goes to leads"),
    ],
)
def test_contact_rules_are_422_naming_the_member(
    client: Client, world: World, change: dict[str, Any], loc: str, words: str
) -> None:
    response = add(client, {**LEAD, **change})
    assert response.status_code == 422, response.json_body
    locs = {p["loc"]: p["msg"] for p in response.json_body["errors"]}
    assert loc in locs and words in locs[loc]  # the member's own field: the body is the member
    assert world.contacts.subscriptions == {}
    assert all(m.id != "lead-1" for m in stored_team(world).members)


def test_a_team_write_names_the_member_by_its_place(client: Client, world: World) -> None:
    team = {
        "id": "DL-NORTH-01",
        "name": "North",
        "state": "DL",
        "members": [{"id": "w-1", "name": "A"}, {**LEAD, "id": "w-2", "role": "warrior"}],
    }
    response = client.http.post("/teams", headers=auth("state_head"), body=json.dumps(team))
    assert response.status_code == 422
    assert [p["loc"] for p in response.json_body["errors"]] == ["members[1].channels"]


def test_a_team_may_open_sms_to_everyone(client: Client, world: World) -> None:
    team = {
        "id": "DL-SOUTH-01",
        "name": "South",
        "state": "DL",
        "sms_audience": "everyone",
        "members": [{**LEAD, "id": "w-9", "role": "warrior", "channels": ["sms"]}],
    }
    created = client.http.post("/teams", headers=auth("state_head"), body=json.dumps(team))
    assert created.status_code == 201, created.json_body
    [sms] = world.contacts.of("sms")
    [stored] = [t for t in load_teams(world.config, "DL") if t.id == "DL-SOUTH-01"]
    assert sms["policy"] == filter_policy(stored.members[0], stored)
    assert DEFAULT_SMS_AUDIENCE == "leads"
    gone = client.http.delete(
        "/teams/DL-SOUTH-01",
        headers=auth("state_head", **{"If-Match": etag(client, "DL-SOUTH-01")}),
    )
    assert gone.status_code == 204 and world.contacts.subscriptions == {}


def test_a_channel_the_stage_does_not_offer_is_refused(client: Client, world: World) -> None:
    off = dataclasses.replace(SETTINGS, sms_template_id="")  # SMS without its DLT template id
    c = wiring.container()
    c.__dict__["contact_sync"] = ContactSync(
        world.config, world.contacts, off.state_topic_arn, off.enabled_channels, c.clock
    )
    assert "sms" not in off.enabled_channels and "email" in off.enabled_channels
    response = add(client, LEAD)
    assert response.status_code == 422
    locs = {p["loc"]: p["msg"] for p in response.json_body["errors"]}
    assert locs == {"channels": "sms is not offered on this stage"}
    assert add(client, {**LEAD, "channels": ["push", "email"]}).status_code == 201


def test_audit_records_mask_the_phone_and_the_logs_never_hold_it(
    client: Client,
    world: World,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert add(client, LEAD).status_code == 201
    assert put(client, {**LEAD, "phone": "+44 20 7946 0958"}).status_code == 200
    audit = client.http.get("/audit?scope=DL", headers=auth("state_head")).json_body["items"]
    text = json.dumps(audit)
    assert E164 not in text and "Asha@example.in" not in text
    assert "+91******3210" in text and "A***@example.in" in text
    out = capfd.readouterr()
    logged = out.out + out.err + caplog.text
    for secret in (E164, "9876543210", "+442079460958", "Asha@example.in"):
        assert secret not in logged


def test_a_container_says_at_start_what_is_off(caplog: pytest.LogCaptureFixture) -> None:
    bare = dataclasses.replace(SETTINGS, public_base_url="", sms_entity_id="", sms_template_id="")
    c = wiring.Container(bare)
    assert c.outbound.public_base_url == "" and not c.outbound.sms_ready
    # This thread's records only: caplog takes every thread's, and a stack's abandoned pump or
    # phone thread (LocalStack.stop abandons what runs past its grace) may still log a warning.
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and _mine(r)]
    assert said == [
        "TVARIT_PUBLIC_BASE_URL is not set: notifications go out without a task page link",
        "SMS is off: set TVARIT_SMS_ENTITY_ID and TVARIT_SMS_TEMPLATE_ID (India DLT) to send it; "
        "members' sms channel is refused meanwhile",
    ]
    caplog.clear()
    ready = wiring.Container(SETTINGS)
    assert ready.outbound.sms_ready and ready.outbound.public_base_url == "https://tvarit.test"
    assert [r for r in caplog.records if r.levelname == "WARNING" and _mine(r)] == []


def _mine(record: logging.LogRecord) -> bool:
    return record.thread == threading.get_ident()
