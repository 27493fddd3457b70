from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest
import regex
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chalicelib.domain.links import incident_page_url, task_page_url
from chalicelib.domain.notify import (
    BATCH_MAX_ENTRIES,
    DELIVERY_LANGUAGES,
    FCM_PAYLOAD_LIMIT,
    Notice,
    Outbound,
    apns_payload,
    delivery_language,
    digest_notices,
    email_body,
    email_subject,
    gcm_payload,
    message_attributes,
    notice_version,
    notices_for_tasks,
    plan_notices,
    plan_publishes,
    render_message,
    sms_encoding,
    sms_fits_one_segment,
    sms_from_data,
    sms_segments,
    sms_text,
    sms_units,
    team_tokens,
)
from chalicelib.domain.org import Member, Team
from chalicelib.domain.routing import TeamDirectory
from chalicelib.domain.states import STATE_CODES
from chalicelib.domain.subscriptions import (
    check_policy,
    combinations,
    filter_policy,
    policy_matches,
)
from chalicelib.domain.tasks import Task, TaskAction, TaskStatus, task_id_for, transition
from chalicelib.errors import InvalidInputError

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
LINK = "tvr.in/i/ab12cd34.2"  # a short link: the clipping tables below work on one segment
BASE = "https://tvarit.example.in"
PAGE = task_page_url(BASE, task_id_for("UP-1", "inc_1"))
HINDI = "प्रधानमंत्री ने कहा कि अर्थव्यवस्था ठीक है और गरीब खुद संभाल लेंगे, यह शर्मनाक है"
LONG_EN = "He said the economy is fine and the poor will manage on their own. " * 4


def make_task(team: str, state: str = "UP", incident: str = "inc_1", **kw: object) -> Task:
    fields: dict[str, object] = {
        "task_id": task_id_for(team, incident),
        "team_id": team,
        "state": state,
        "incident_key": incident,
        "mention_key": "x#1",
        "created_at": T0,
        "severity": 4,
        "leader_name": "A. Leader",
        "category": "gaffe",
        "excerpt": "economy is fine, the poor will manage",
        "url": "https://x.com/a/status/1",
    }
    fields.update(kw)
    return Task(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "encoding", "units"),
    [
        ("", "GSM-7", 0),
        ("abc 123", "GSM-7", 7),
        ("a{b}", "GSM-7", 6),  # extension characters cost two septets
        ("€5", "GSM-7", 3),
        ("café à", "GSM-7", 6),  # é and à are in the GSM basic table
        ("ç", "UCS-2", 1),  # but lower-case ç is not (only Ç is)
        ("नमस्ते", "UCS-2", 6),
        ("क़", "UCS-2", 2),  # decomposed nukta: two code points, two units
        ("😀", "UCS-2", 2),  # outside the BMP: a surrogate pair
        ("don’t", "UCS-2", 5),
    ],
)
def test_sms_encoding_and_units(text: str, encoding: str, units: int) -> None:
    assert (sms_encoding(text), sms_units(text)) == (encoding, units)


@pytest.mark.parametrize(
    ("lang", "leader", "excerpt", "expected"),
    [
        (
            "en",
            "A. Leader",
            "short",
            "S4! A. Leader: short Reply tvr.in/i/ab12cd34.2",
        ),
        (  # curly quotes are folded so a Latin text keeps 160 characters
            "en",
            "A. Leader",
            "“don’t worry” – all fine",
            'S4! A. Leader: "don\'t worry" - all fine Reply tvr.in/i/ab12cd34.2',
        ),
        (  # clipped on a word-agnostic grapheme boundary with an ASCII ellipsis
            "hi-Latn",
            "Netaji",
            "garib log khud sambhal lenge " * 8,
            "S4! Netaji: "
            + ("garib log khud sambhal lenge " * 4).rstrip()  # 160 - 33 fixed - 3 - 8 = 116
            + "... Jawab do tvr.in/i/ab12cd34.2",
        ),
        (  # Devanagari: UCS-2, 70 units, never cuts a conjunct in half
            "hi",
            "राहुल",
            HINDI,
            "S4! राहुल: प्रधानमंत्री ने कहा कि अर्थ… जवाब दें tvr.in/i/ab12cd34.2",
        ),
        ("en", "", "no leader", "S4! no leader Reply tvr.in/i/ab12cd34.2"),
        ("en", "L", "", "S4! L: Reply tvr.in/i/ab12cd34.2"),
        ("en", "", "   ", "S4! Reply tvr.in/i/ab12cd34.2"),
        ("en", "{x}", "a {b} c", "S4! {x}: a {b} c Reply tvr.in/i/ab12cd34.2"),  # braces
        (  # an unknown language falls back to English words
            "xx",
            "L",
            "ok",
            "S4! L: ok Reply tvr.in/i/ab12cd34.2",
        ),
    ],
)
def test_sms_text_table(lang: str, leader: str, excerpt: str, expected: str) -> None:
    got = sms_text(lang=lang, severity=4, leader=leader, excerpt=excerpt, link=LINK, segments=1)
    assert got == expected
    assert sms_fits_one_segment(got)


def test_sms_keeps_the_link_even_when_nothing_else_fits() -> None:
    link = "tvr.in/i/" + "x" * 60
    got = sms_text(lang="hi", severity=2, leader="राहुल", excerpt=HINDI, link=link, segments=1)
    assert got.endswith(link) and sms_fits_one_segment(got)


def test_a_latin_sms_with_an_emoji_drops_to_the_70_unit_segment() -> None:
    got = sms_text(
        lang="en", severity=3, leader="L", excerpt="shame 😡 " + LONG_EN, link=LINK, segments=1
    )
    assert sms_encoding(got) == "UCS-2"
    assert sms_units(got) <= 70


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),  # concatenated: 153 septets a part
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("क" * 70, 1),
        ("क" * 71, 2),  # 67 units a part
        ("क" * 134, 2),
        ("क" * 135, 3),
    ],
)
def test_sms_segments_count_concatenation_headers(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


def test_a_hindi_sms_with_the_page_url_is_two_segments_hindi_first() -> None:
    got = sms_text(
        lang="hi", severity=4, leader="राहुल", excerpt=HINDI, link=PAGE, terms=["अर्थव्यवस्था"]
    )
    assert got.startswith("S4! [अर्थव्यवस्था] राहुल: प्रधानमंत्री")
    assert got.endswith("जवाब दें " + PAGE)
    assert sms_encoding(got) == "UCS-2" and sms_segments(got) == 2


@settings(max_examples=200, deadline=None)
@given(
    lang=st.sampled_from(["en", "hi", "mr", "ta", "ur", "hi-Latn", "zz"]),
    severity=st.integers(1, 5),
    leader=st.text(max_size=40),
    excerpt=st.text(max_size=400),
)
def test_sms_within_two_segments(lang: str, severity: int, leader: str, excerpt: str) -> None:
    got = sms_text(lang=lang, severity=severity, leader=leader, excerpt=excerpt, link=PAGE)
    assert sms_segments(got) <= 2
    assert got.startswith(f"S{severity}") and got.endswith(PAGE)


@example(" ")
@example("क्ष" * 80)
@given(st.text(alphabet="कखगमनरसह्िीुेैोौंँः़ ", min_size=1, max_size=300))
def test_sms_never_splits_a_devanagari_grapheme(excerpt: str) -> None:
    got = sms_text(lang="hi", severity=3, leader="", excerpt=excerpt, link=LINK)
    assert got.startswith("S3 ") and got.endswith("जवाब दें " + LINK)
    body = got.removeprefix("S3").removesuffix("जवाब दें " + LINK).strip().removesuffix("…")
    clusters = regex.findall(r"\X", " ".join(excerpt.split()))
    assert body == "".join(clusters[: len(regex.findall(r"\X", body))]).rstrip()


def notice(**kw: object) -> Notice:
    fields: dict[str, object] = {
        "state": "UP",
        "incident_key": "inc_1",
        "version": 1,
        "severity": 5,
        "lang": "hi",
        "team_ids": ("UP-1",),
        "districts": ("LKO",),
        "leader_name": "नेता",
        "category": "gaffe",
        "excerpt": HINDI,
        "url": "https://x.com/a/status/1",
        "task_id": task_id_for("UP-1", "inc_1"),
        "post_lang": "hi-Latn",
        "terms": ("notebandi", "काला धन"),
        "page_url": PAGE,
    }
    fields.update(kw)
    return Notice(**fields)  # type: ignore[arg-type]


def payloads(msg: dict[str, str]) -> dict[str, dict[str, object]]:
    gcm = json.loads(msg["GCM"])["fcmV1Message"]["message"]
    return {
        "default": json.loads(msg["default"]),
        "fcm.data": gcm["data"],
        "apns": json.loads(msg["APNS"]),
    }


def test_every_protocol_carries_page_post_language_terms_and_post_url() -> None:
    msg = render_message(notice())
    assert set(msg) == {"default", "GCM", "APNS", "APNS_SANDBOX", "sms", "email"}
    for where, payload in payloads(msg).items():
        assert payload["page_url"] == PAGE, where
        assert payload["post_lang"] == "hi-Latn", where  # the post's, not the delivery language
        assert payload["lang"] == "hi", where
        assert payload["terms"] == "notebandi, काला धन", where
        assert payload["url"] == "https://x.com/a/status/1", where
        assert (payload["incident"], payload["v"]) == ("inc_1", "1"), where
        assert payload["task_id"] == task_id_for("UP-1", "inc_1"), where
    assert msg["sms"].endswith(PAGE) and "notebandi" in msg["sms"]
    assert PAGE in msg["email"] and "https://x.com/a/status/1" in msg["email"]
    assert "hi-Latn" in msg["email"] and "काला धन" in msg["email"]
    assert "tvr.in" not in json.dumps(msg) and "tvarit://" not in json.dumps(msg)


@pytest.mark.parametrize("lang", ["hi", "ur", "en"])
def test_a_notice_to_many_teams_carries_the_incident_link_in_every_protocol(lang: str) -> None:
    tasks = [make_task(f"UP-{i}", excerpt=HINDI, terms=("notebandi",), lang="hi") for i in range(4)]
    [n] = [n for n in notices_for_tasks(tasks, Outbound(BASE)) if n.lang == lang]
    link = incident_page_url(BASE, "inc_1")
    msg = render_message(n)
    for where, payload in payloads(msg).items():
        assert payload["page_url"] == link, where
        assert "task_id" not in payload, where  # the reader's page finds their own task
        assert (payload["post_lang"], payload["terms"]) == ("hi", "notebandi"), where
    web = json.loads(msg["GCM"])["fcmV1Message"]["message"]["webpush"]
    assert web["fcm_options"] == {"link": link}
    assert web["notification"]["data"] == {"v": "1", "page_url": link}
    assert msg["sms"].endswith(" " + link) and sms_segments(msg["sms"]) <= 2  # never cut
    assert link in msg["email"] and "https://x.com/a/status/1" in msg["email"]


def test_fcm_carries_notification_and_webpush_blocks_that_open_the_page() -> None:
    gcm = json.loads(render_message(notice())["GCM"])["fcmV1Message"]["message"]
    data = gcm["data"]
    assert all(isinstance(v, str) for v in data.values())  # FCM v1 data values are strings
    assert gcm["notification"]["title"].startswith("त्वरित S5")
    assert gcm["notification"]["body"].startswith("[notebandi, काला धन] प्रधानमंत्री")
    web = gcm["webpush"]
    assert web["fcm_options"] == {"link": PAGE}
    assert web["notification"]["title"] == gcm["notification"]["title"]
    assert [a["action"] for a in web["notification"]["actions"]] == ["ack", "open"]
    assert web["notification"]["actions"][0]["title"] == "स्वीकार करें"
    assert web["notification"]["data"] == {
        "task_id": task_id_for("UP-1", "inc_1"),
        "v": "1",
        "page_url": PAGE,
    }
    assert web["headers"]["Urgency"] == "high"
    assert gcm["android"]["priority"] == "high"
    apns = json.loads(render_message(notice())["APNS"])
    assert apns["aps"]["alert"]["body"] == gcm["notification"]["body"]
    assert apns["aps"]["category"] == "TVARIT_TASK"
    assert apns["aps"]["interruption-level"] == "time-sensitive"


@pytest.mark.parametrize("page", ["", "http://127.0.0.1:8000/t/t_1"])
def test_no_https_page_means_no_fcm_link_and_no_page_means_no_link_at_all(page: str) -> None:
    msg = render_message(notice(page_url=page))
    web = json.loads(msg["GCM"])["fcmV1Message"]["message"]["webpush"]
    assert "fcm_options" not in web  # FCM refuses a non-HTTPS link: the whole message would fail
    if not page:
        for payload in payloads(msg).values():
            assert "page_url" not in payload
        assert "http" not in msg["sms"]
        assert "Open the task" not in msg["email"]


def test_sms_and_email_render_from_the_default_payload_alone() -> None:
    # The local phone rebuilds the SMS from the default payload; it must be the same text.
    for kind in ("task", "escalation", "digest"):
        for lang in ("hi", "en", "ta"):
            msg = render_message(notice(kind=kind, lang=lang))
            data = json.loads(msg["default"])
            assert sms_from_data(data) == msg["sms"]
    assert email_body(notice()) == render_message(notice())["email"]


def test_email_is_hindi_first_for_hindi_readers() -> None:
    hi, en = email_body(notice(lang="hi")), email_body(notice(lang="en"))
    assert f"काम खोलें / Open the task: {PAGE}" in hi
    assert f"Open the task: {PAGE}" in en and "काम खोलें" not in en
    assert hi.index(PAGE) < hi.index(HINDI)  # the link first: it is what the reader acts on


def test_the_first_notice_of_a_task_is_version_1() -> None:
    task = make_task("UP-1")
    dispatched, _ = transition(task, TaskAction.DISPATCH, "system", T0)
    assert (task.version, dispatched.version) == (1, 2)
    assert notice_version(task) == notice_version(dispatched) == 1
    [call] = plan_publishes([dispatched])
    for e in call.entries:
        assert e.notice.version == 1
        assert json.loads(json.loads(e.message)["default"])["v"] == "1"
        assert " v2" not in e.subject and "version 2" not in json.loads(e.message)["email"]
    acked, _ = transition(dispatched, TaskAction.ACK, "w", T0)
    assert acked.status is TaskStatus.ACKNOWLEDGED and notice_version(acked) == 2


@pytest.mark.parametrize("size", [0, 1_000, 5_000, 50_000])
def test_push_payloads_fit_four_kilobytes(size: int) -> None:
    n = notice(excerpt="ब" * size, severity=2)
    for payload in (gcm_payload(n), apns_payload(n)):
        assert len(payload.encode()) <= FCM_PAYLOAD_LIMIT
    assert json.loads(apns_payload(n))["aps"]["interruption-level"] == "active"


@pytest.mark.parametrize(
    ("leader", "category"), [("", ""), ("A" * 300, "gaffe"), ("नेता " * 40, "x\ny")]
)
def test_email_subject_is_one_short_ascii_line(leader: str, category: str) -> None:
    subject = email_subject(notice(leader_name=leader, category=category))
    assert len(subject) < 100 and "\n" not in subject and subject.isascii()
    assert subject.startswith("Tvarit S5") and subject.endswith(" [d5701cf0]")


@pytest.mark.parametrize(
    ("kind", "leader", "category", "subject"),
    [
        ("task", "A. Leader", "gaffe", "Tvarit S5 A. Leader: gaffe [d5701cf0]"),
        ("escalation", "नेता", "gaffe", "Tvarit S5 ESCALATION: gaffe [d5701cf0]"),
        ("digest", "", "", "Tvarit S5 Digest: mention [d5701cf0]"),
        ("update", "L", "घोटाला", "Tvarit S5 Update L: mention [d5701cf0]"),
    ],
)
def test_email_subject_table(kind: str, leader: str, category: str, subject: str) -> None:
    n = notice(kind=kind, leader_name=leader, category=category)
    assert email_subject(n) == subject


def test_message_attributes_shape() -> None:
    attrs = message_attributes(notice(team_ids=("UP-1", "@district:UP/LKO")))
    assert attrs["team_ids"] == {
        "DataType": "String.Array",
        "StringValue": '["UP-1","@district:UP/LKO"]',
    }
    assert attrs["severity"] == {"DataType": "Number", "StringValue": "5"}
    assert attrs["lang"]["StringValue"] == "hi"
    assert not any(k.startswith("AWS.") for k in attrs)  # no SMS configured: no DLT ids


def test_sms_publishes_carry_the_dlt_ids_and_transactional_type() -> None:
    outbound = Outbound(BASE, sms_entity_id="1101000000000000001", sms_template_id="1107000000002")
    attrs = message_attributes(notice(), outbound)
    assert attrs["AWS.MM.SMS.EntityId"] == {
        "DataType": "String",
        "StringValue": "1101000000000000001",
    }
    assert attrs["AWS.MM.SMS.TemplateId"]["StringValue"] == "1107000000002"
    assert attrs["AWS.SNS.SMS.SMSType"]["StringValue"] == "Transactional"
    assert len(attrs) <= 10
    half = Outbound(BASE, sms_entity_id="1101000000000000001")  # no template: SMS stays off
    assert not half.sms_ready and "AWS.MM.SMS.EntityId" not in message_attributes(notice(), half)
    [call] = plan_publishes([make_task("UP-1")], outbound)
    assert all("AWS.MM.SMS.TemplateId" in e.attributes for e in call.entries)


def test_every_state_has_delivery_languages() -> None:
    assert set(DELIVERY_LANGUAGES) == set(STATE_CODES)


@pytest.mark.parametrize(
    ("state", "preferred", "lang"),
    [
        ("UP", ("hi", "en"), "hi"),
        ("UP", ("en",), "en"),
        ("UP", ("ta",), "hi"),  # not offered in UP: the state's first language
        ("TN", ("hi", "ta"), "ta"),
        ("TN", (), "ta"),
        ("XX", ("hi",), "en"),  # unknown state
    ],
)
def test_delivery_language(state: str, preferred: tuple[str, ...], lang: str) -> None:
    assert delivery_language(state, preferred) == lang


# ---- publish planning ----------------------------------------------------------------------

TEAMS = [Team(f"UP-{i}", "", "UP", "LKO" if i < 3 else "VNS") for i in range(6)] + [
    Team("DL-1", "", "DL", "NDL"),
    Team("TN-1", "", "TN", "CHN"),
]
DIRECTORY = TeamDirectory.build(TEAMS)


def test_one_task_is_one_call_with_one_entry_per_delivery_language() -> None:
    calls = plan_publishes([make_task("UP-1")])
    assert [(c.state, c.api, len(c.entries)) for c in calls] == [("UP", "PublishBatch", 3)]
    assert sorted(e.notice.lang for e in calls[0].entries) == ["en", "hi", "ur"]
    assert all(e.notice.task_id == task_id_for("UP-1", "inc_1") for e in calls[0].entries)


def test_a_state_with_one_language_uses_plain_publish() -> None:
    calls = plan_publishes([make_task("X-1", state="NL")])
    assert [c.api for c in calls] == ["Publish"]


def test_tasks_in_three_states_cost_three_calls_one_entry_per_language() -> None:
    tasks = [make_task(t.id, state=t.state, district=t.district) for t in TEAMS]
    calls = plan_publishes(tasks, Outbound(BASE), directory=DIRECTORY)
    assert sorted((c.state, len(c.entries)) for c in calls) == [("DL", 2), ("TN", 2), ("UP", 3)]
    up = next(c for c in calls if c.state == "UP")
    for e in up.entries:  # one message serves all six teams: it links the incident
        assert json.loads(e.attributes["team_ids"]["StringValue"]) == ["@state:UP"]
        assert e.notice.task_id == ""
        assert json.loads(json.loads(e.message)["default"])["page_url"] == incident_page_url(
            BASE, "inc_1"
        )
    for c in calls:  # a notice to a single team links its task page directly
        if c.state != "UP":
            team = f"{c.state}-1"  # the state's only team: the whole state's token
            for e in c.entries:
                assert e.notice.task_id == task_id_for(team, "inc_1")
                page = json.loads(json.loads(e.message)["default"])["page_url"]
                assert page == task_page_url(BASE, task_id_for(team, "inc_1"))


def test_without_a_directory_the_notice_names_every_team() -> None:
    tasks = [make_task(t.id, district=t.district) for t in TEAMS[:6]]
    [call] = plan_publishes(tasks, Outbound(BASE))
    assert len(call.entries) == 3
    for e in call.entries:
        teams = json.loads(e.attributes["team_ids"]["StringValue"])
        assert teams == [f"UP-{i}" for i in range(6)]


@pytest.mark.parametrize(
    ("chosen", "tokens"),
    [
        (["UP-0", "UP-1", "UP-2"], ["@district:UP/LKO"]),
        (["UP-0", "UP-1", "UP-2", "UP-4"], ["@district:UP/LKO", "UP-4"]),
        (["UP-4", "UP-0"], ["UP-4", "UP-0"]),
        ([f"UP-{i}" for i in range(6)], ["@state:UP"]),
        ([], []),
    ],
)
def test_team_tokens(chosen: list[str], tokens: list[str]) -> None:
    assert list(team_tokens("UP", chosen, DIRECTORY)) == tokens
    assert list(team_tokens("UP", chosen, None)) == chosen


@pytest.mark.parametrize("limit", [8_000, 30_000, 262_144])
def test_size_limit_splits_the_audience_without_losing_a_team(limit: int) -> None:
    teams = [f"UP-TEAM-{i:05d}" for i in range(3_000)]
    tasks = [make_task(t) for t in teams]
    calls = plan_publishes(tasks, Outbound(BASE), limit=limit)
    for c in calls:
        assert c.size <= limit and len(c.entries) <= BATCH_MAX_ENTRIES
        assert len({e.id for e in c.entries}) == len(c.entries)
    for lang in ("hi", "ur", "en"):
        got = [
            t
            for c in calls
            for e in c.entries
            if e.notice.lang == lang
            for t in json.loads(e.attributes["team_ids"]["StringValue"])
        ]
        assert sorted(got) == teams
    assert len(calls) == 1 or limit < 262_144


def test_versions_and_incidents_are_separate_entries_and_batches_hold_ten() -> None:
    tasks = [make_task("UP-1", incident=f"inc_{i}") for i in range(7)]
    tasks.append(make_task("UP-2", incident="inc_0", version=3))
    calls = plan_publishes(tasks)
    entries = [e for c in calls for e in c.entries]
    assert len(entries) == 8 * 3
    assert all(len(c.entries) <= BATCH_MAX_ENTRIES for c in calls)
    assert len(calls) == 3  # ceil(24 / 10)
    kinds = Counter((e.notice.incident_key, e.notice.version, e.notice.kind) for e in entries)
    assert kinds[("inc_0", 3, "task")] == 3  # the version alone never decides the kind
    updates = plan_publishes(tasks[-1:], kind="update")
    assert {e.notice.kind for c in updates for e in c.entries} == {"update"}


# ---- subscriptions: the receiving side -------------------------------------------------------


def deliveries(policy: dict[str, object], calls: list) -> list:  # type: ignore[type-arg]
    return [e for c in calls for e in c.entries if policy_matches(policy, e.attributes)]


@pytest.mark.parametrize(
    ("member", "team", "min_sev", "tasks_for", "expected"),
    [
        # a Hindi warrior of a tasked team: exactly one entry, in Hindi
        (Member("m1", "", "UP-1", languages=("hi",)), TEAMS[1], 1, ["UP-1"], ["hi"]),
        # an English reader of the same team gets the English entry instead
        (Member("m2", "", "UP-1", languages=("en", "hi")), TEAMS[1], 1, ["UP-1"], ["en"]),
        # a Tamil reader in UP falls back to Hindi, still one entry
        (Member("m3", "", "UP-1", languages=("ta",)), TEAMS[1], 1, ["UP-1"], ["hi"]),
        # another team of the state gets nothing
        (Member("m4", "", "UP-2", languages=("hi",)), TEAMS[2], 1, ["UP-1"], []),
        # ... unless its whole district was tasked (token), or the whole state
        (
            Member("m5", "", "UP-2", languages=("hi",)),
            TEAMS[2],
            1,
            ["UP-0", "UP-1", "UP-2"],
            ["hi"],
        ),
        (
            Member("m6", "", "UP-5", languages=("hi",)),
            TEAMS[5],
            1,
            [t.id for t in TEAMS[:6]],
            ["hi"],
        ),
        # severity 4 task, member asked for 5+: filtered out by numeric matching
        (Member("m7", "", "UP-1", languages=("hi",)), TEAMS[1], 5, ["UP-1"], []),
        (Member("m8", "", "UP-1", languages=("hi",)), TEAMS[1], 4, ["UP-1"], ["hi"]),
    ],
)
def test_subscriptions_receive_exactly_their_entry(
    member: Member, team: Team, min_sev: int, tasks_for: list[str], expected: list[str]
) -> None:
    by_id = {t.id: t for t in TEAMS}
    tasks = [make_task(t, district=by_id[t].district) for t in tasks_for]
    calls = plan_publishes(tasks)
    policy = filter_policy(member, team, min_severity=min_sev)
    assert [e.notice.lang for e in deliveries(policy, calls)] == expected


def test_a_lead_gets_escalations_whatever_their_severity_floor() -> None:
    team = Team("UP-1", "", "UP", "LKO", lead_id="lead1")
    lead = Member("lead1", "", "UP-1", role="warrior", languages=("hi",))
    policy = filter_policy(lead, team, min_severity=5)
    esc = notice(kind="escalation", severity=2, team_ids=("@lead:UP-1",), lang="hi")
    task = notice(kind="task", severity=2, team_ids=("UP-1",), lang="hi")
    calls = plan_notices([esc, task])
    assert [e.notice.kind for e in deliveries(policy, calls)] == ["escalation"]
    warrior = filter_policy(Member("w", "", "UP-1", languages=("hi",)), team, min_severity=5)
    assert deliveries(warrior, calls) == []


@pytest.mark.parametrize(
    ("member", "tokens"),
    [
        (Member("w", "", "UP-1"), ["UP-1", "@district:UP/LKO", "@state:UP"]),
        (Member("h", "", "UP-1", role="district_head"), ["@dhead:UP/LKO"]),
        (Member("s", "", "UP-1", role="state_head"), ["@shead:UP"]),
        (Member("l", "", "UP-1", role="lead"), ["@lead:UP-1"]),
    ],
)
def test_filter_policy_tokens(member: Member, tokens: list[str]) -> None:
    policy = filter_policy(member, Team("UP-1", "", "UP", "LKO"))
    for token in tokens:
        assert token in policy["team_ids"]
    check_policy(policy)
    assert combinations(policy) <= 150


@pytest.mark.parametrize(
    "policy",
    [
        {f"k{i}": ["a"] for i in range(6)},
        {"a": [str(i) for i in range(13)], "b": [str(i) for i in range(12)]},
    ],
)
def test_policies_sns_would_refuse_are_refused(policy: dict[str, list[str]]) -> None:
    with pytest.raises(InvalidInputError):
        check_policy(policy)


@pytest.mark.parametrize("bad", [0, 6, -1])
def test_min_severity_is_checked(bad: int) -> None:
    with pytest.raises(InvalidInputError):
        filter_policy(Member("w", "", "UP-1"), TEAMS[1], min_severity=bad)


@pytest.mark.parametrize(
    ("policy", "attrs", "hit"),
    [
        ({"a": ["x"]}, {"a": {"DataType": "String", "StringValue": "x"}}, True),
        ({"a": ["x"]}, {"a": {"DataType": "String", "StringValue": "X"}}, False),  # case
        ({"a": ["x"]}, {}, False),  # missing attribute
        ({"a": ["x"]}, {"a": {"DataType": "String.Array", "StringValue": '["y","x"]'}}, True),
        ({"n": [{"numeric": [">=", 3]}]}, {"n": {"DataType": "Number", "StringValue": "3"}}, True),
        (
            {"n": [{"numeric": [">=", 3]}]},
            {"n": {"DataType": "Number", "StringValue": "2.9"}},
            False,
        ),
        ({"n": [{"numeric": [">=", 3]}]}, {"n": {"DataType": "String", "StringValue": "5"}}, False),
        ({"a": [{"anything-but": "x"}]}, {"a": {"DataType": "String", "StringValue": "y"}}, True),
        (
            {"a": [{"prefix": "@st"}]},
            {"a": {"DataType": "String", "StringValue": "@state:UP"}},
            True,
        ),
    ],
)
def test_policy_matches_follows_sns(policy: dict[str, object], attrs: dict, hit: bool) -> None:  # type: ignore[type-arg]
    assert policy_matches(policy, attrs) is hit


def test_the_members_own_severity_floor_is_the_default() -> None:
    picky = Member("m", "", "UP-1", languages=("hi",), min_severity=5)
    calls = plan_publishes([make_task("UP-1", district="LKO")])
    assert deliveries(filter_policy(picky, TEAMS[1]), calls) == []
    assert len(deliveries(filter_policy(picky, TEAMS[1], min_severity=1), calls)) == 1


ORG = [Team(f"{st_}-{i}", "", st_, f"D{i % 3}") for st_ in ("UP", "TN", "NL") for i in range(7)]
ORG_BY_ID = {t.id: t for t in ORG}


ORG_DIR = TeamDirectory.build(ORG)


@settings(max_examples=40, deadline=None)
@given(
    st.sets(st.sampled_from([t.id for t in ORG]), max_size=len(ORG)),
    st.sampled_from(["en", "hi", "ta", "ur"]),
    st.booleans(),
)
def test_every_targeted_device_gets_exactly_one_message_and_others_none(
    chosen: set[str], language: str, tokens: bool
) -> None:
    tasks = [make_task(t, state=ORG_BY_ID[t].state, district=ORG_BY_ID[t].district) for t in chosen]
    calls = plan_publishes(tasks, Outbound(BASE), directory=ORG_DIR if tokens else None)
    assert len(calls) <= len({ORG_BY_ID[t].state for t in chosen})  # one call per state topic
    for c in calls:  # PublishBatch refuses duplicate entry ids
        assert len({e.id for e in c.entries}) == len(c.entries)
    for team in ORG:
        policy = filter_policy(Member("m", "", team.id, languages=(language,)), team)
        got = [
            e
            for c in calls
            if c.state == team.state
            for e in c.entries
            if policy_matches(policy, e.attributes)
        ]
        assert len(got) == (1 if team.id in chosen else 0)
        alone = [t for t in chosen if ORG_BY_ID[t].state == team.state] == [team.id]
        for e in got:  # its own task page, or the incident link the page resolves per team
            page = json.loads(json.loads(e.message)["default"])["page_url"]
            own = task_page_url(BASE, task_id_for(team.id, "inc_1"))
            assert page == (own if alone else incident_page_url(BASE, "inc_1"))


def test_planning_is_deterministic_so_a_repeat_publish_is_byte_identical() -> None:
    tasks = [make_task(t.id, state=t.state, district=t.district) for t in ORG]
    first, again = plan_publishes(tasks), plan_publishes(list(reversed(tasks)))
    assert sorted((e.id, e.message, e.subject) for c in first for e in c.entries) == sorted(
        (e.id, e.message, e.subject) for c in again for e in c.entries
    )


def test_requests_have_the_boto3_shape() -> None:
    single = plan_publishes([make_task("X-1", state="NL")])[0]
    req = single.request("arn:aws:sns:ap-south-1:123:tvarit-NL")
    assert set(req) == {"TopicArn", "Message", "Subject", "MessageStructure", "MessageAttributes"}
    assert json.loads(req["Message"])["default"]
    batch = plan_publishes([make_task("UP-1")])[0]
    entries = batch.request("arn")["PublishBatchRequestEntries"]
    assert len(entries) == 3 and len({e["Id"] for e in entries}) == 3
    assert all(regex.fullmatch(r"[A-Za-z0-9_-]{1,80}", e["Id"]) for e in entries)


@pytest.mark.parametrize("districts", [(), ("LKO",), tuple(f"D{i}" for i in range(80))])
def test_attributes_stay_within_the_ten_sns_allows(districts: tuple[str, ...]) -> None:
    attrs = message_attributes(notice(districts=districts))
    assert len(attrs) <= 10
    assert ("district" in attrs) is bool(districts)


@pytest.mark.parametrize("n", [0, 1, 3, 40, 150])
def test_a_digest_is_one_entry_per_language_carrying_every_held_task(n: int) -> None:
    held = [make_task("UP-1", incident=f"inc_{i}", severity=1 + i % 5) for i in range(n)]
    notices = digest_notices("UP-1", "UP", held)
    if n == 0:
        assert notices == []
        return
    calls = plan_notices(notices)
    assert len(calls) == 1 and len(calls[0].entries) == 3
    for e in calls[0].entries:
        msg = json.loads(e.message)
        data = json.loads(msg["default"])
        ids = data["task_ids"].split(",")
        assert len(ids) == min(n, 100) and set(ids) <= {t.task_id for t in held}
        assert data["held"] == str(n)
        assert data["type"] == "digest" and data["severity"] == str(max(t.severity for t in held))
        assert sms_segments(msg["sms"]) <= 2
        gcm = json.loads(msg["GCM"])["fcmV1Message"]["message"]["data"]
        assert len(msg["GCM"].encode()) <= FCM_PAYLOAD_LIMIT and gcm["task_ids"]
    again = digest_notices("UP-1", "UP", list(reversed(held)))
    assert [x.incident_key for x in again] == [x.incident_key for x in notices]


def test_escalations_and_digests_link_the_task_page_too() -> None:
    from chalicelib.domain.escalation import DEFAULT_CHAIN, escalation_notices, next_step

    outbound = Outbound(BASE)
    task = make_task("UP-1", district="LKO", lang="hi-Latn", terms=("notebandi",))
    dispatched, _ = transition(task, TaskAction.DISPATCH, "system", T0)
    step = next_step(dispatched, DEFAULT_CHAIN, datetime(2026, 11, 1, 11, 0, tzinfo=UTC))
    team = Team("UP-1", "", "UP", "LKO")
    for n in escalation_notices(dispatched, step, team, outbound):
        assert (n.page_url, n.version) == (PAGE, 1)
        assert (n.post_lang, n.terms) == ("hi-Latn", ("notebandi",))
        assert render_message(n)["sms"].endswith(PAGE)
    held = [task, make_task("UP-1", incident="inc_2", severity=5, terms=("EVM",))]
    for n in digest_notices("UP-1", "UP", held, outbound):
        # the most urgent held task's page; its words first
        assert n.page_url == task_page_url(BASE, task_id_for("UP-1", "inc_2"))
        assert n.terms == ("EVM", "notebandi")
