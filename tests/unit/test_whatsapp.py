"""WhatsApp's pure rules as tables: the 24-hour window, opt-in, templates, messages, inbound
events, and the per-number limits."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.org import Member
from chalicelib.domain.tasks import TaskAction
from chalicelib.domain.whatsapp import (
    SendLimiter,
    SendLimits,
    check_whatsapp,
    in_service_window,
    may_message,
    message_kind,
    parameter_text,
    parse_event,
    phone_key,
    stamp_whatsapp,
    task_message,
    validate_templates,
)
from chalicelib.errors import InvalidInputError, MalformedInputError
from chalicelib.services.whatsapp import load_templates

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
PHONE = "+919876543210"
TASK = "t_" + "a" * 24


@pytest.mark.parametrize(
    ("last", "now", "inside"),
    [
        (None, T, False),  # never wrote to us: templates only
        (T, T, True),
        (T - 23 * H, T, True),
        (T - 24 * H + timedelta(seconds=1), T, True),
        (T - 24 * H, T, False),  # exactly 24 h: the window has closed
        (T - 25 * H, T, False),
        (T - 30 * 24 * H, T, False),
        (T + timedelta(seconds=5), T, True),  # clocks a little apart: counts as just now
    ],
)
def test_the_24_hour_customer_service_window(
    last: datetime | None, now: datetime, inside: bool
) -> None:
    assert in_service_window(last, now) is inside
    assert message_kind(last, now) == ("free_form" if inside else "template")


def member(**kw: Any) -> Member:
    values: dict[str, Any] = {
        "id": "w1",
        "name": "Asha",
        "team_id": "T",
        "phone": PHONE,
        "contact_consent": True,
        "whatsapp_opt_in": True,
        "whatsapp_opt_in_source": "signup_form",
    }
    values.update(kw)
    return Member(**values)


@pytest.mark.parametrize(
    ("changes", "allowed"),
    [
        ({}, True),
        ({"whatsapp_opt_in": False}, False),
        ({"phone": ""}, False),
        ({"contact_consent": False}, False),
    ],
)
def test_no_message_without_opt_in_number_and_consent(
    changes: dict[str, Any], allowed: bool
) -> None:
    assert may_message(member(**changes)) is allowed


OPTED = {"id": "w1", "phone": PHONE, "whatsapp_opt_in": True, "whatsapp_opt_in_source": "verbal"}


@pytest.mark.parametrize(
    ("m", "enabled", "problems"),
    [
        (OPTED, True, []),
        ({"id": "w1", "phone": PHONE}, False, []),  # not opted in: nothing to check
        (OPTED, False, [("members[0].whatsapp_opt_in", "not offered")]),
        ({**OPTED, "phone": ""}, True, [("members[0].phone", "required for WhatsApp")]),
        (
            {**OPTED, "whatsapp_opt_in_source": ""},
            True,
            [("members[0].whatsapp_opt_in_source", "how the member opted in")],
        ),
        (
            {**OPTED, "whatsapp_opt_in_source": "bought list"},
            True,
            [("members[0].whatsapp_opt_in_source", "how the member opted in")],
        ),
    ],
)
def test_opt_in_checks(m: dict[str, Any], enabled: bool, problems: list[tuple[str, str]]) -> None:
    found = check_whatsapp({"members": [m]}, enabled)
    assert [p.loc for p in found] == [loc for loc, _ in problems]
    for p, (_, text) in zip(found, problems, strict=True):
        assert text in p.msg


def stamps(m: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in m.items() if k.startswith("whatsapp_")}


def test_opt_in_is_stamped_kept_and_withdrawal_recorded() -> None:
    first = stamp_whatsapp([OPTED], [], "head-1", "2026-03-01T12:00:00+00:00")
    assert stamps(first[0]) == {
        "whatsapp_opt_in": True,
        "whatsapp_opt_in_source": "verbal",
        "whatsapp_opt_in_at": "2026-03-01T12:00:00+00:00",
        "whatsapp_opt_in_by": "head-1",
    }
    # Written again unchanged (another field edited): the original stamp stays.
    again = stamp_whatsapp([{**OPTED, "name": "A"}], first, "head-2", "2026-03-02T00:00:00+00:00")
    assert stamps(again[0]) == stamps(first[0])
    # Withdrawn: when and by whom, and the opt-in it ends stays on record.
    out = stamp_whatsapp(
        [{"id": "w1", "phone": PHONE}], again, "lead-1", "2026-03-03T00:00:00+00:00"
    )
    assert stamps(out[0]) == {
        "whatsapp_opt_in": False,
        "whatsapp_opt_in_source": "verbal",
        "whatsapp_opt_in_at": "2026-03-01T12:00:00+00:00",
        "whatsapp_opt_in_by": "head-1",
        "whatsapp_opt_out_at": "2026-03-03T00:00:00+00:00",
        "whatsapp_opt_out_by": "lead-1",
    }
    # Later writes keep the withdrawal as it was.
    later = stamp_whatsapp([{"id": "w1", "phone": PHONE}], out, "x", "2026-04-01T00:00:00+00:00")
    assert stamps(later[0]) == stamps(out[0])
    # Opting in again starts a new record and clears the withdrawal.
    back = stamp_whatsapp([OPTED], later, "head-3", "2026-05-01T00:00:00+00:00")
    assert stamps(back[0])["whatsapp_opt_in_at"] == "2026-05-01T00:00:00+00:00"
    assert "whatsapp_opt_out_at" not in back[0]


def test_a_new_number_is_a_new_opt_in() -> None:
    first = stamp_whatsapp([OPTED], [], "head-1", "2026-03-01T00:00:00+00:00")
    moved = stamp_whatsapp(
        [{**OPTED, "phone": "+919812345678"}], first, "head-2", "2026-03-05T00:00:00+00:00"
    )
    assert moved[0]["whatsapp_opt_in_at"] == "2026-03-05T00:00:00+00:00"
    assert moved[0]["whatsapp_opt_in_by"] == "head-2"


def test_phone_keys_hide_the_number_and_match_wa_ids() -> None:
    assert phone_key(PHONE) == phone_key("919876543210")  # wa_id: digits, no +
    assert phone_key(PHONE) != phone_key("+919876543211")
    assert "9876543210" not in phone_key(PHONE)


# ---------------------------------------------------------------------------------------------
# Templates as data

SHIPPED = json.loads(
    (
        __import__("pathlib").Path(__file__).resolve().parents[2]
        / "chalicelib/domain/whatsapp_templates.json"
    ).read_text(encoding="utf-8")
)


def test_the_shipped_templates_are_valid_in_hindi_and_english() -> None:
    templates = load_templates()
    assert set(templates.templates) >= {"hi", "en"}
    for t in templates.templates.values():
        assert [b.action for b in t.buttons] == [
            TaskAction.ACK,
            TaskAction.COMPLETE,
            TaskAction.DECLINE,
        ]
        assert "link" in t.parameters


def broken(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(SHIPPED)
    target: Any = data["templates"][0]
    *parents, last = path.split(".")
    for p in parents:
        target = target[int(p)] if p.isdigit() else target[p]
    if value is DELETE:
        del target[int(last) if last.isdigit() else last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return data


DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "loc"),
    [
        ("name", "Tvarit Task", "templates[0].name"),
        ("language", "english", "templates[0].language"),
        ("language", "hi", "templates[1].language"),  # hi twice (and en missing)
        ("category", "MARKETING", "templates[0].category"),
        ("body", "", "templates[0].body"),
        ("body", "x" * 1025, "templates[0].body"),
        ("body", "New task {{1}} {{3}} {{2}} {{4}}", "templates[0].body"),  # out of order
        ("body", "New task {{1}} {{2}} {{3}}", "templates[0].body"),  # one parameter unused
        ("parameters", ["team", "summary", "severity"], "templates[0].parameters"),  # no link
        ("parameters", ["team", "phone", "severity", "link"], "templates[0].parameters"),
        ("buttons.0.text", "Acknowledge this task now", "templates[0].buttons[0].text"),
        ("buttons.0.text", "", "templates[0].buttons[0].text"),
        ("buttons.1.action", "expire", "templates[0].buttons[1].action"),
        ("buttons.2", DELETE, "templates[0].buttons"),
        ("buttons.0.action", "decline", "templates[0].buttons"),  # order and each once
        ("footer", "x", "templates[0].footer"),
        ("done_prompt", DELETE, "templates[0].done_prompt"),
        ("done_prompt", "Add your link on the task page", "templates[0].done_prompt"),  # no {{1}}
        ("done_prompt", "{{1}} {{2}}", "templates[0].done_prompt"),
    ],
)
def test_template_validator_refuses_what_meta_or_we_would(path: str, value: Any, loc: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_templates(broken(path, value))
    assert loc in [p.loc for p in caught.value.problems]


@pytest.mark.parametrize("data", [None, [], {"templates": {}}, {"templates": []}])
def test_template_file_shape(data: Any) -> None:
    with pytest.raises(InvalidInputError):
        validate_templates(data)


# ---------------------------------------------------------------------------------------------
# Messages

VALUES = {
    "summary": "Arvind Kejriwal: black money",
    "severity": "4",
    "link": f"https://tvarit.test/t/{TASK}",
    "team": "DL-CENTRAL-01",
}


def test_outside_the_window_a_template_with_quick_replies_naming_the_task() -> None:
    kind, msg = task_message(member(languages=("hi",)), load_templates(), VALUES, TASK, None, T)
    assert kind == "template"
    assert msg["to"] == "919876543210" and msg["messaging_product"] == "whatsapp"
    template = msg["template"]
    assert template["language"] == {"code": "hi"}
    body, *buttons = template["components"]
    assert [p["text"] for p in body["parameters"]] == [
        "DL-CENTRAL-01",
        "Arvind Kejriwal: black money",
        "4",
        VALUES["link"],
    ]
    assert [(b["sub_type"], b["index"], b["parameters"][0]["payload"]) for b in buttons] == [
        ("quick_reply", "0", f"ack:{TASK}"),
        ("quick_reply", "1", f"complete:{TASK}"),
        ("quick_reply", "2", f"decline:{TASK}"),
    ]


def test_inside_the_window_free_form_reply_buttons_with_the_link_in_the_text() -> None:
    kind, msg = task_message(member(languages=("en",)), load_templates(), VALUES, TASK, T - H, T)
    assert kind == "free_form"
    interactive = msg["interactive"]
    assert interactive["type"] == "button"
    assert VALUES["link"] in interactive["body"]["text"]
    assert "{{" not in interactive["body"]["text"]
    assert [(b["reply"]["id"], b["reply"]["title"]) for b in interactive["action"]["buttons"]] == [
        (f"ack:{TASK}", "Acknowledge"),
        (f"complete:{TASK}", "Done"),
        (f"decline:{TASK}", "Decline"),
    ]


@pytest.mark.parametrize(
    ("languages", "code"),
    [(("hi",), "hi"), (("hi-Latn", "en"), "hi"), (("ta", "en"), "en"), ((), "en"), (("ta",), "en")],
)
def test_template_language_follows_the_member(languages: tuple[str, ...], code: str) -> None:
    _, msg = task_message(member(languages=languages), load_templates(), VALUES, TASK, None, T)
    assert msg["template"]["language"]["code"] == code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\nb", "a b"),
        ("a\tb", "a b"),
        ("a     b", "a b"),
        ("", "-"),
        ("x" * 500, "x" * 199 + "…"),
    ],
)
def test_template_parameters_meta_accepts(raw: str, expected: str) -> None:
    assert parameter_text(raw) == expected


# ---------------------------------------------------------------------------------------------
# Inbound events (AWS header + whatsAppWebhookEntry, a JSON string of the webhook's entry)


def event(*messages: dict[str, Any], statuses: list[dict[str, Any]] | None = None) -> str:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "911140000000", "phone_number_id": "1234567890"},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": "Asha"}, "wa_id": "919876543210"}]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = statuses
    entry = {"id": "waba-1", "changes": [{"value": value, "field": "messages"}]}
    return json.dumps(
        {
            "context": {
                "MetaWabaIds": [{"wabaId": "waba-1", "arn": "arn:aws:social-messaging:x"}],
                "MetaPhoneNumberIds": [{"metaPhoneNumberId": "1234567890", "arn": "arn:y"}],
            },
            "whatsAppWebhookEntry": json.dumps(entry),
            "aws_account_id": "123456789012",
            "message_timestamp": "2026-03-01T12:00:00.000000000Z",
            "messageId": "6d69f07a-c317-4278-9d5c-6a84078419ec",
        }
    )


def tap(payload: str, wamid: str = "wamid.A", kind: str = "button") -> dict[str, Any]:
    base = {"from": "919876543210", "id": wamid, "timestamp": str(int(T.timestamp()))}
    if kind == "button":
        return {**base, "type": "button", "button": {"payload": payload, "text": "Acknowledge"}}
    return {
        **base,
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": payload, "title": "Done"}},
    }


@pytest.mark.parametrize(
    ("msg", "action", "task"),
    [
        (tap(f"ack:{TASK}"), TaskAction.ACK, TASK),
        (tap(f"decline:{TASK}"), TaskAction.DECLINE, TASK),
        (tap(f"complete:{TASK}", kind="interactive"), TaskAction.COMPLETE, TASK),
        (tap(f"expire:{TASK}"), None, ""),  # not a button of ours
        (tap("ack:t_short"), None, ""),
        (tap(f"ack:{TASK}x"), None, ""),
        (
            {
                "from": "919876543210",
                "id": "wamid.T",
                "timestamp": "1772366400",
                "type": "text",
                "text": {"body": "hello"},
            },
            None,
            "",
        ),
    ],
)
def test_inbound_messages_and_our_button_payloads(
    msg: dict[str, Any], action: TaskAction | None, task: str
) -> None:
    [inbound] = parse_event(event(msg))
    assert (inbound.action, inbound.task_id) == (action, task)
    assert inbound.sender == "919876543210" and inbound.phone_number_id == "1234567890"
    assert inbound.message_id == msg["id"]


def test_status_events_carry_no_inbound_messages() -> None:
    statuses = [{"id": "wamid.X", "status": "delivered", "timestamp": "1772366400"}]
    assert parse_event(event(statuses=statuses)) == []


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        json.dumps({"context": {}}),
        json.dumps({"whatsAppWebhookEntry": "{"}),
        json.dumps({"whatsAppWebhookEntry": json.dumps({"changes": "x"})}),
        json.dumps(
            {"whatsAppWebhookEntry": json.dumps({"changes": [{"value": {"messages": [{}]}}]})}
        ),
    ],
)
def test_malformed_events_are_refused(raw: str) -> None:
    with pytest.raises(MalformedInputError):
        parse_event(raw)


# ---------------------------------------------------------------------------------------------
# Limits


@pytest.mark.parametrize(
    ("per_second", "tier", "ok"),
    [
        (80, "TIER_250", True),
        (80, "TIER_UNLIMITED", True),
        (1000, "TIER_UNLIMITED", True),
        (1000, "TIER_100K", False),  # 1,000/s only once the number is unlimited
        (1001, "TIER_UNLIMITED", False),
        (0, "TIER_1K", False),
        (80, "TIER_2K", False),
    ],
)
def test_send_limits(per_second: int, tier: str, ok: bool) -> None:
    if ok:
        SendLimits(per_second, tier)
    else:
        with pytest.raises(ValueError):
            SendLimits(per_second, tier)


def test_throughput_is_a_bucket_of_one_second() -> None:
    limiter = SendLimiter(SendLimits(80, "TIER_UNLIMITED"))
    admitted = [limiter.admit(f"p{i}", T).ok for i in range(81)]
    assert admitted.count(True) == 80 and admitted[-1] is False
    wait = limiter.admit("p81", T).wait
    assert wait == pytest.approx(1 / 80)
    assert limiter.admit("p81", T + timedelta(seconds=wait)).ok
    # A full second refills the bucket, never beyond its size.
    later = T + timedelta(seconds=10)
    assert sum(limiter.admit(f"q{i}", later).ok for i in range(100)) == 80


@pytest.mark.parametrize(("tier", "cap"), [("TIER_250", 250), ("TIER_1K", 1000)])
def test_the_tier_caps_unique_users_per_rolling_24_hours(tier: str, cap: int) -> None:
    limiter = SendLimiter(SendLimits(80, tier))
    at = T
    for i in range(cap):
        at += timedelta(seconds=1)
        assert limiter.admit(f"p{i}", at).ok
    at += timedelta(seconds=1)
    refused = limiter.admit("new", at)
    assert refused.over_tier and not refused.ok
    assert limiter.admit("p0", at + timedelta(seconds=1)).ok  # known users still get messages
    # 24 h after the first users, their places free up.
    assert limiter.admit("new", T + 24 * H + timedelta(seconds=2)).ok
    assert limiter.unique_users(T + 24 * H + timedelta(seconds=2)) < cap


@pytest.mark.parametrize(
    ("env", "on", "warned"),
    [
        ({}, False, False),
        ({"TVARIT_WHATSAPP": "true"}, True, True),  # on without a number: said at start
        (
            {"TVARIT_WHATSAPP": "1", "TVARIT_WHATSAPP_PHONE_NUMBER_ID": "phone-number-id-1"},
            True,
            False,
        ),
        ({"TVARIT_WHATSAPP": "no"}, False, False),
    ],
)
def test_the_stage_flag_is_off_by_default(env: dict[str, str], on: bool, warned: bool) -> None:
    from chalicelib.settings import Settings

    settings = Settings.from_env({**env, "TVARIT_WHATSAPP_TIER": "", "TVARIT_WHATSAPP_MPS": ""})
    assert settings.whatsapp is on
    assert ("whatsapp" in settings.enabled_channels) is on
    assert (settings.whatsapp_tier, settings.whatsapp_mps) == ("TIER_250", 80)
    assert any("WhatsApp" in n for n in settings.startup_warnings()) is warned


def test_done_prompt_is_free_form_text_with_the_link() -> None:
    from chalicelib.domain.whatsapp import done_prompt_message

    template = load_templates().templates["hi"]
    msg = done_prompt_message(PHONE, template, VALUES["link"])
    assert msg["type"] == "text" and msg["to"] == "919876543210"
    assert msg["text"]["body"].endswith(VALUES["link"]) and "{{" not in msg["text"]["body"]
