"""Members' contact details: E.164 and e-mail validation, masking, consent, who may get SMS."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.contacts import (
    check_contacts,
    desired_contacts,
    mask_email,
    mask_phone,
    normalize_email,
    normalize_phone,
    redact_contacts,
    stamp_consent,
)
from chalicelib.domain.org import team_from_dict
from chalicelib.domain.subscriptions import filter_policy
from chalicelib.settings import Settings

ALL = frozenset({"push", "sms", "email"})


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+919876543210", "+919876543210"),
        ("+91 98765 43210", "+919876543210"),
        ("+91-98765-43210", "+919876543210"),
        ("+91 (98765) 43210", "+919876543210"),
        ("+14155550123", "+14155550123"),  # general E.164 elsewhere
        ("+442079460958", "+442079460958"),
        ("+9779812345678", "+9779812345678"),  # Nepal: +977, not +91
    ],
)
def test_phone_numbers_become_e164(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize(
    "raw",
    [
        "9876543210",  # no country code
        "0919876543210",
        "+91987654321",  # 9 digits
        "+9198765432100",  # 11 digits
        "+915876543210",  # Indian, not a mobile number
        "+910876543210",
        "+0123456789",  # country codes never start with 0
        "+12345",  # too short
        "+1234567890123456",  # 16 digits: longer than E.164 allows
        "+91 98765 4321O",  # letter O
        "",
    ],
)
def test_bad_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match=r"E\.164|Indian mobile"):
        normalize_phone(raw)


@pytest.mark.parametrize(
    ("raw", "ok"),
    [
        ("asha@example.in", "asha@example.in"),
        (" Asha.V@Example.IN ", "Asha.V@example.in"),  # the mailbox keeps its case
        ("a+tvarit@mail.co.in", "a+tvarit@mail.co.in"),
    ],
)
def test_email_addresses(raw: str, ok: str) -> None:
    assert normalize_email(raw) == ok


@pytest.mark.parametrize("raw", ["asha", "asha@", "@example.in", "a b@example.in", "a@example"])
def test_bad_email_addresses_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="e-mail"):
        normalize_email(raw)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("+919876543210", "+91******3210"),
        ("+14155550123", "+1******0123"),
        ("+12345", "******"),
    ],
)
def test_phone_masks_keep_country_and_last_four(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


def test_email_mask_and_redaction_of_a_team() -> None:
    assert mask_email("asha@example.in") == "a***@example.in"
    team = {"id": "T", "members": [{"id": "m", "phone": "+919876543210", "email": "a@b.in"}]}
    red = redact_contacts(team)
    assert red is not None
    assert red["members"][0] == {"id": "m", "phone": "+91******3210", "email": "a***@b.in"}
    assert team["members"][0]["phone"] == "+919876543210"  # the stored object is untouched
    assert redact_contacts(None) is None
    assert redact_contacts({"id": "leader"}) == {"id": "leader"}


def team(*members: dict[str, Any], audience: str = "leads") -> dict[str, Any]:
    return {
        "id": "UP-1",
        "name": "UP 1",
        "state": "UP",
        "district": "LKO",
        "sms_audience": audience,
        "members": [{"name": "x", "team_id": "UP-1", **m} for m in members],
    }


LEAD = {
    "id": "l",
    "role": "lead",
    "channels": ["sms", "email"],
    "phone": "+919876543210",
    "email": "l@x.in",
    "contact_consent": True,
}


@pytest.mark.parametrize(
    ("member", "audience", "enabled", "problems"),
    [
        (LEAD, "leads", ALL, []),
        ({**LEAD, "contact_consent": False}, "leads", ALL, ["members[0].contact_consent"]),
        ({**LEAD, "channels": ["push"], "contact_consent": False}, "leads", ALL, [
            "members[0].contact_consent"  # no channel, but a number without consent
        ]),
        ({**LEAD, "phone": ""}, "leads", ALL, ["members[0].phone"]),
        ({**LEAD, "email": ""}, "leads", ALL, ["members[0].email"]),
        ({**LEAD, "role": "warrior"}, "leads", ALL, ["members[0].channels"]),
        ({**LEAD, "role": "warrior"}, "everyone", ALL, []),
        ({**LEAD, "role": "district_head"}, "leads", ALL, []),
        (LEAD, "leads", frozenset({"push", "email"}), ["members[0].channels"]),
        (LEAD, "leads", frozenset({"push"}), ["members[0].channels", "members[0].channels"]),
        ({"id": "w", "channels": ["push"]}, "leads", frozenset({"push"}), []),
        (LEAD, "nobody", ALL, ["sms_audience"]),
    ],
)  # fmt: skip
def test_contact_rules(
    member: dict[str, Any], audience: str, enabled: frozenset[str], problems: list[str]
) -> None:
    got = check_contacts(team(member, audience=audience), enabled)
    assert [p.loc for p in got] == problems


def test_a_lead_named_by_the_team_counts_as_a_lead() -> None:
    data = team({**LEAD, "role": "warrior"})
    data["lead_id"] = "l"
    assert check_contacts(data, ALL) == []


def test_consent_is_stamped_and_kept_while_the_details_stay() -> None:
    [first] = stamp_consent([LEAD], [], "head-1", "2026-11-01T00:00:00+00:00")
    assert (first["contact_consent_at"], first["contact_consent_by"]) == (
        "2026-11-01T00:00:00+00:00",
        "head-1",
    )
    [same] = stamp_consent([{**LEAD, "name": "new"}], [first], "head-2", "2026-12-01T00:00:00")
    assert same["contact_consent_by"] == "head-1"
    [moved] = stamp_consent([{**LEAD, "phone": "+919811111111"}], [first], "head-2", "T2")
    assert (moved["contact_consent_at"], moved["contact_consent_by"]) == ("T2", "head-2")
    [gone] = stamp_consent([{**first, "phone": "", "email": ""}], [first], "h", "T3")
    assert "contact_consent_at" not in gone


def test_desired_contacts_use_the_device_filter_policy() -> None:
    t = team_from_dict(team(LEAD, {"id": "w", "channels": ["email"], "email": "w@x.in"}))
    wanted = desired_contacts(t)
    lead = next(m for m in t.members if m.id == "l")
    assert wanted == {
        ("l", "sms"): ("+919876543210", filter_policy(lead, t)),
        ("l", "email"): ("l@x.in", filter_policy(lead, t)),
    }  # the warrior's e-mail has no consent: no subscription
    assert desired_contacts(None) == {}


ENV = {"TVARIT_CHANNELS": "sms,email"}


@pytest.mark.parametrize(
    ("env", "enabled", "notes"),
    [
        ({}, {"push"}, ["TVARIT_PUBLIC_BASE_URL is not set", "SMS is off: not listed"]),
        (ENV, {"push", "email"}, ["TVARIT_PUBLIC_BASE_URL", "SMS is off: set TVARIT_SMS_ENTITY"]),
        (
            {**ENV, "TVARIT_SMS_ENTITY_ID": "1101", "TVARIT_PUBLIC_BASE_URL": "https://t.in/"},
            {"push", "email"},
            ["SMS is off: set"],
        ),
        (
            {
                **ENV,
                "TVARIT_SMS_ENTITY_ID": "1101",
                "TVARIT_SMS_TEMPLATE_ID": "1107",
                "TVARIT_PUBLIC_BASE_URL": "https://t.in/",
            },
            {"push", "sms", "email"},
            [],
        ),
    ],
)
def test_channels_and_what_startup_says(
    env: dict[str, str], enabled: set[str], notes: list[str]
) -> None:
    s = Settings.from_env(env)
    assert s.enabled_channels == enabled
    said = s.startup_warnings()
    assert len(said) == len(notes)
    for note, line in zip(notes, said, strict=True):
        assert line.startswith(note)
    assert s.public_base_url[-1:] != "/"


def test_an_unknown_channel_is_refused_at_startup() -> None:
    with pytest.raises(ValueError, match="fax"):
        Settings.from_env({"TVARIT_CHANNELS": "sms,fax"})
