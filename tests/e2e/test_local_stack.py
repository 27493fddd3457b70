"""The local stack end to end: moto server, API, event pump and phones, over real HTTP."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.domain.config_kinds import CHAINS
from chalicelib.services.config_admin import ConfigAdmin, system_principal
from local.demo import load_demo_config, seed
from local.replay import signed_request
from local.stack import LocalStack

KEJRIWAL_POST = {
    "platform": "x",
    "id": "1860000000000000001",
    "author": {"id": "ArvindKejriwal", "handle": "ArvindKejriwal", "name": "Arvind Kejriwal"},
    "created_at": "2016-11-20T10:00:00Z",
    "text": "मोदी जी तो कह रहे थे कि नोटबंदी के बाद काला धन ख़त्म हो गया।",
    "url": "https://x.com/ArvindKejriwal/status/1860000000000000001",
}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    s = LocalStack(visibility_timeout=1, max_receive_count=2).start()
    try:
        demo = load_demo_config()
        seed(wiring.container().config_repo, demo)
        # A short chain, so that the escalation test does not wait the demo's 20 s.
        ConfigAdmin(wiring.container().config_repo).put(
            CHAINS,
            system_principal("seed:e2e"),
            {
                "id": "demo-delhi",
                "scope": "state",
                "owner": "DL",
                "steps": [{"wait": "3s"}, {"notify": "team_lead"}],
            },
        )
        assert s.phone is not None
        for team in demo.teams:
            for member in team.members:
                s.phone.add_device(member, team)
        yield s
    finally:
        s.stop()


def make_post(n: int, text: str, day: int) -> dict[str, Any]:
    """A distinct post: its own id, text and day, so it opens its own incident."""
    native_id = f"18600000000000000{n:02d}"
    return {
        **KEJRIWAL_POST,
        "id": native_id,
        "text": text,
        "created_at": f"2016-11-{day:02d}T10:00:00Z",
        "url": f"https://x.com/ArvindKejriwal/status/{native_id}",
    }


def eventually(stack: LocalStack, check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert stack.phone is not None
        stack.phone.poll_once()
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def send(stack: LocalStack, post: dict[str, Any], secret: str | None = None) -> tuple[int, Any]:
    request = signed_request(stack.api_url, secret or stack.webhook_secret, post, int(time.time()))
    return _open(request)


def _open(request: urllib.request.Request) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def tasks_for(stack: LocalStack, native_id: str) -> set[str]:
    assert stack.phone is not None
    return {d.task_id for d in stack.phone.deliveries if native_id in d.url}


def test_a_signed_post_reaches_the_phones_of_its_leaders_state_only(stack: LocalStack) -> None:
    status, body = send(stack, KEJRIWAL_POST)
    assert (status, body["keys"]) == (202, ["x#1860000000000000001"])
    delhi = {"w-dl-1", "w-dl-2", "w-dl-3"}
    assert stack.phone is not None

    def delivered() -> bool:
        assert stack.phone is not None
        got = {d.member_id for d in stack.phone.deliveries if "1860000000000000001" in d.url}
        return got == delhi

    eventually(stack, delivered)
    time.sleep(1.0)  # anything misrouted would have arrived by now too
    stack.phone.poll_once()
    mine = [d for d in stack.phone.deliveries if "1860000000000000001" in d.url]
    assert {d.state for d in mine} == {"DL"}
    assert {d.member_id for d in mine} == delhi
    assert {d.team_id for d in mine} == {"DL-CENTRAL-01", "DL-EAST-01"}
    assert len(tasks_for(stack, "1860000000000000001")) == 2
    assert all(d.version == 1 for d in mine)  # the first notice a warrior sees


def test_a_duplicate_post_creates_no_new_task(stack: LocalStack) -> None:
    post = make_post(2, "CBI raids on Delhi government officers again. Why?", day=2)
    send(stack, post)
    eventually(stack, lambda: len(tasks_for(stack, "1860000000000000002")) == 2)
    before = stack.task_count()
    assert send(stack, post)[0] == 202
    assert send(stack, post)[0] == 202
    time.sleep(2.0)
    eventually(stack, lambda: stack.queue_depth(stack.resources.mentions_queue_url) == 0)  # type: ignore[union-attr]
    assert stack.task_count() == before
    assert len(tasks_for(stack, "1860000000000000002")) == 2


def test_a_bad_signature_is_401_and_nothing_is_stored(stack: LocalStack) -> None:
    from chalicelib.adapters.dynamo.models import MentionModel

    post = {**KEJRIWAL_POST, "id": "1860000000000000003"}
    status, problem = send(stack, post, secret="not-the-secret")
    assert status == 401
    assert problem["errors"] == [
        {"loc": "header:x-tvarit-signature", "msg": "HMAC-SHA256 mismatch"}
    ]
    time.sleep(1.0)
    with pytest.raises(MentionModel.DoesNotExist):
        MentionModel.get("x#1860000000000000003")


def test_malformed_json_is_400_with_a_json_problem(stack: LocalStack) -> None:
    from chalicelib.domain.webhook import sign

    body = b'{"platform": "x", "text": "unterminated'
    ts = int(time.time())
    request = urllib.request.Request(  # noqa: S310
        stack.api_url + "/ingest/webhook",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Tvarit-Timestamp": str(ts),
            "X-Tvarit-Signature": sign(stack.webhook_secret, ts, body),
        },
    )
    status, problem = _open(request)
    assert status == 400
    assert problem["detail"] == "body is not valid JSON"
    assert problem["errors"][0]["loc"] == "body"


def test_a_message_that_keeps_failing_ends_in_the_dead_letter_queue(stack: LocalStack) -> None:
    assert stack.resources is not None
    sqs = stack.clients["sqs"]
    sqs.send_message(QueueUrl=stack.resources.mentions_queue_url, MessageBody="not a mention")

    def in_dlq() -> bool:
        assert stack.resources is not None
        got = sqs.receive_message(
            QueueUrl=stack.resources.mentions_dlq_url, VisibilityTimeout=0
        ).get("Messages", [])
        return any(m["Body"] == "not a mention" for m in got)

    eventually(stack, in_dlq, timeout=40)
    assert stack.pump is not None
    assert any("analyze" in e for e in stack.pump.stats.errors)


def test_the_leads_get_the_escalation_when_nobody_acknowledges(stack: LocalStack) -> None:
    post = make_post(9, "Surgical strike पर सवाल और EVM की चर्चा", day=9)
    assert send(stack, post)[0] == 202
    assert stack.phone is not None

    def escalations() -> list[Any]:
        assert stack.phone is not None
        return [
            d
            for d in stack.phone.deliveries
            if d.kind == "escalation" and "1860000000000000009" in d.url
        ]

    eventually(stack, lambda: {d.member_id for d in escalations()} == {"w-dl-1", "w-dl-3"})
    time.sleep(5.0)  # another two schedule runs: the one-step chain is exhausted
    stack.phone.poll_once()
    got = escalations()
    # Only the two Delhi team leads (Asha, Farah), once each: not Rohit, not UP or Rajasthan.
    assert sorted(d.member_id for d in got) == ["w-dl-1", "w-dl-3"]
    assert {d.state for d in got} == {"DL"}


def _call(
    stack: LocalStack, method: str, path: str, token: str, body: Any = None
) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310
        stack.api_url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    return _open(request)


class _Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # report the redirect instead of following it


def _no_redirect(url: str, session: str) -> tuple[int, str]:
    """Open a page with a session cookie; its status and where it redirects."""
    request = urllib.request.Request(url, headers={"Cookie": f"tvarit_session={session}"})  # noqa: S310
    try:
        with urllib.request.build_opener(_Stay()).open(request, timeout=10) as r:
            return r.status, ""
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Location", "")


def _mint(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    from chalicelib.cli import main

    assert main(["token", *args]) == 0  # the key path comes from the stack's environment
    return capsys.readouterr().out.strip()


def test_a_warrior_works_a_task_with_a_token_from_the_dev_issuer(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    post = make_post(10, "LG ने फिर फाइल रोकी, CBI का दुरुपयोग", day=10)
    send(stack, post)
    eventually(stack, lambda: len(tasks_for(stack, "1860000000000000010")) == 2)
    assert stack.phone is not None
    delivery = next(d for d in stack.phone.deliveries if "1860000000000000010" in d.url)
    warrior = _mint(
        capsys, "--role", "warrior", "--team", delivery.team_id, "--sub", delivery.member_id
    )
    status, page = _call(stack, "GET", "/me/tasks?limit=50", warrior)
    assert status == 200
    assert delivery.task_id in {t["task_id"] for t in page["items"]}
    assert _call(stack, "POST", f"/tasks/{delivery.task_id}/ack", warrior)[0] == 200
    status, done = _call(
        stack,
        "POST",
        f"/tasks/{delivery.task_id}/complete",
        warrior,
        {"response_url": "https://x.com/team/status/1"},
    )
    assert (status, done["status"]) == (200, "completed")
    up_head = _mint(capsys, "--role", "state_head", "--state", "UP")
    assert _call(stack, "GET", f"/tasks/{delivery.task_id}", up_head)[0] == 404
    dl_head = _mint(capsys, "--role", "state_head", "--state", "DL")
    status, task = _call(stack, "GET", f"/tasks/{delivery.task_id}", dl_head)
    assert [e["action"] for e in task["events"]] == ["dispatch", "ack", "complete"]
    status, stats = _call(stack, "GET", "/stats?state=DL", dl_head)
    assert status == 200 and stats["total"]["completed"] >= 1
    status, problem = _call(stack, "GET", "/me/tasks", warrior[:-4] + "AAAA")
    assert (status, problem["status"]) == (401, 401)


def test_a_cell_heads_first_day_over_http(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    head = _mint(capsys, "--role", "state_head", "--state", "RJ", "--sub", "head-rj")
    leader = {
        "id": "ashok-gehlot",
        "name": "Ashok Gehlot",
        "state": "RJ",
        "accounts": [{"platform": "x", "handle": "ashokgehlot51"}],
    }
    assert _call(stack, "POST", "/leaders", head, leader)[0] == 201
    query = {"id": "q-paper-leak", "query": 'पेपर लीक OR "paper leak"', "scope": "RJ"}
    assert _call(stack, "POST", "/keyword-queries", head, query)[0] == 201
    team = {"id": "RJ-JAIPUR-09", "name": "Jaipur 1", "state": "RJ", "district": "JAIPUR"}
    assert _call(stack, "POST", "/teams", head, team)[0] == 201
    member = {"id": "w-rj-9", "name": "Meena", "languages": ["hi"]}
    assert _call(stack, "POST", "/teams/RJ-JAIPUR-09/members", head, member)[0] == 201
    warrior = _mint(capsys, "--role", "warrior", "--team", "RJ-JAIPUR-09", "--sub", "w-rj-9")
    device = {"platform": "fcm", "token": "fcm-registration-token-e2e"}
    status, body = _call(stack, "POST", "/me/devices", warrior, device)
    assert status == 201
    sns = stack.clients["sns"]
    topic = wiring.container().settings.state_topic_arn("RJ")
    [subscription] = [
        s
        for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        if s["Protocol"] == "application"
    ]
    attrs = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])
    assert json.loads(attrs["Attributes"]["FilterPolicy"]) == body["filter_policy"]
    assert body["filter_policy"]["team_ids"] == ["RJ-JAIPUR-09", "@district:RJ/JAIPUR", "@state:RJ"]
    up_head = _mint(capsys, "--role", "state_head", "--state", "UP")
    assert _call(stack, "GET", "/leaders/ashok-gehlot", up_head)[0] == 404
    status, audit = _call(stack, "GET", "/audit?scope=RJ", head)
    assert [(r["action"], r["entity"]) for r in audit["items"]][:2] == [
        ("create", "device"),
        ("update", "team"),
    ]


def test_a_head_traces_a_task_back_to_its_mention_and_incident(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Through the DynamoDB adapters on the moto server: the by-state index and the incidents.
    post = make_post(11, "CBI का दुरुपयोग फिर से, दिल्ली के अफ़सरों पर छापे", day=11)
    send(stack, post)
    eventually(stack, lambda: len(tasks_for(stack, "1860000000000000011")) == 2)
    task_ids = tasks_for(stack, "1860000000000000011")
    dl_head = _mint(capsys, "--role", "district_head", "--state", "DL", "--district", "CENTRAL")
    up_head = _mint(capsys, "--role", "state_head", "--state", "UP")
    status, mention = _call(stack, "GET", "/mentions/x%231860000000000000011", dl_head)
    assert (status, mention["state"], mention["status"]) == (200, "DL", "routed")
    assert set(mention["task_ids"]) == task_ids and mention["matches"]
    assert _call(stack, "GET", "/mentions/x%231860000000000000011", up_head)[0] == 404
    listed: list[str] = []
    cursor = ""
    for _ in range(50):
        status, page = _call(stack, "GET", f"/mentions?matched=true&limit=100{cursor}", dl_head)
        assert status == 200
        listed += [m["key"] for m in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert "x#1860000000000000011" in listed
    state_head = _mint(capsys, "--role", "state_head", "--state", "DL")
    status, task = _call(stack, "GET", f"/tasks/{sorted(task_ids)[0]}", state_head)
    assert status == 200
    status, everything = _call(stack, "GET", f"/incidents/{task['incident_key']}", state_head)
    assert {t["task_id"] for t in everything["tasks"]} >= task_ids
    status, incident = _call(stack, "GET", f"/incidents/{task['incident_key']}", dl_head)
    assert (status, incident["state"]) == (200, "DL")
    assert "x#1860000000000000011" in incident["mention_keys"]
    # A district head sees the incident, and only their district's teams' tasks in it.
    assert {t["district"] for t in incident["tasks"]} <= {"CENTRAL"}
    assert _call(stack, "GET", f"/incidents/{task['incident_key']}", up_head)[0] == 404


def test_sms_and_email_subscriptions_are_made_on_the_topic_and_seen_by_the_phone_sink(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cell head adds a lead with phone and e-mail; a post reaches both, linking the page."""
    from chalicelib.domain.links import incident_page_url, task_page_path
    from chalicelib.domain.notify import sms_segments
    from chalicelib.domain.subscriptions import filter_policy
    from chalicelib.domain.tasks import task_id_for
    from local.phone import format_delivery

    assert stack.phone is not None
    head = _mint(capsys, "--role", "state_head", "--state", "DL", "--sub", "head-dl")
    lead = {
        "id": "lead-east-sms",
        "name": "Imran",
        "role": "lead",
        "languages": ["hi"],
        "channels": ["push", "sms", "email"],
        "phone": "+91 98000 00099",
        "email": "imran@example.in",
        "contact_consent": True,
    }
    status, team = _call(stack, "POST", "/teams/DL-EAST-01/members", head, lead)
    assert status == 201, team
    sns = stack.clients["sns"]
    topic = stack.resources.topic_arns["DL"]  # type: ignore[union-attr]
    subs = {
        s["Protocol"]: s
        for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        if s["Protocol"] in ("sms", "email")
    }
    assert set(subs) == {"sms", "email"}
    assert subs["sms"]["Endpoint"] == "+919800000099"
    from chalicelib.domain.org import team_from_dict

    stored = team_from_dict({k: v for k, v in team.items() if k not in _RECORD_KEYS})
    member = next(m for m in stored.members if m.id == "lead-east-sms")
    policy = filter_policy(member, stored)
    for s in subs.values():
        attrs = sns.get_subscription_attributes(SubscriptionArn=s["SubscriptionArn"])["Attributes"]
        assert json.loads(attrs["FilterPolicy"]) == policy
    mirrored = stack.phone.mirror_contacts()
    assert sorted(c.protocol for c in mirrored) == ["email", "sms"]
    assert all(c.filter_policy == policy for c in mirrored)

    post = make_post(12, "नोटबंदी पर फिर वही बात: काला धन कहाँ गया?", day=12)
    assert send(stack, post)[0] == 202

    def texts() -> dict[str, Any]:
        assert stack.phone is not None
        return {
            d.channel: d
            for d in stack.phone.deliveries
            if d.channel != "push" and "1860000000000000012" in d.url
        }

    def pushes() -> list[Any]:
        assert stack.phone is not None
        return [
            d
            for d in stack.phone.deliveries
            if d.channel == "push" and "1860000000000000012" in d.url
        ]

    # Wait for what is asserted below: one sweep of the phone reads the SMS and e-mail queues
    # before the devices' while SNS may still be fanning the same publish out, and the mention
    # is stored by analyze after its tasks, which dispatch may publish first.
    eventually(stack, lambda: set(texts()) == {"sms", "email"} and bool(pushes()))
    eventually(
        stack, lambda: _call(stack, "GET", "/mentions/x%231860000000000000012", head)[0] == 200
    )
    got = texts()
    base = wiring.container().settings.public_base_url
    assert base == stack.api_url
    status, mention = _call(stack, "GET", "/mentions/x%231860000000000000012", head)
    _, first = _call(stack, "GET", f"/tasks/{mention['task_ids'][0]}", head)
    incident = first["incident_key"]
    east_task = task_id_for("DL-EAST-01", incident)
    assert east_task in mention["task_ids"] and len(mention["task_ids"]) > 1
    # One message per language for every Delhi team: it links the incident, which the page
    # resolves to the reader's own task.
    page = incident_page_url(base, incident)
    # The SMS the phone would get: Hindi first, the matched words, the page link, 2 segments.
    sms = got["sms"]
    assert sms.text.endswith("जवाब दें " + page) and "नोटबंदी" in sms.text
    assert sms_segments(sms.text) <= 2 and sms.to == "+91******0099"
    assert got["email"].page_url == page and got["email"].to == "i***@example.in"
    # Every push payload of the post carries the same link, and the post's language.
    for d in pushes():
        assert d.page_url == page and d.task_id == task_id_for(d.team_id, incident)
        assert d.post_lang == "hi" and "नोटबंदी" in d.terms and d.version == 1
        line = format_delivery(d)
        assert "post:hi " in line and "«" in line and "नोटबंदी" in line
    # The link, opened with a session of each tasked Delhi team, is that team's task page.
    for team_id in {d.team_id for d in pushes()} | {"DL-EAST-01"}:
        session = _mint(capsys, "--role", "warrior", "--team", team_id, "--sub", f"w-{team_id}")
        status, location = _no_redirect(page, session)
        assert (status, location) == (303, task_page_path(task_id_for(team_id, incident)))
    # Dropping the SMS channel removes the subscription from the topic.
    path = "/teams/DL-EAST-01/members/lead-east-sms"
    request = urllib.request.Request(  # noqa: S310
        stack.api_url + path,
        data=json.dumps({**lead, "channels": ["push"]}).encode(),
        method="PUT",
        headers={
            "Authorization": f"Bearer {head}",
            "Content-Type": "application/json",
            "If-Match": f'"{team["version"]}"',  # the team's version: members live in it
        },
    )
    status, _ = _open(request)
    assert status == 200
    left = [
        s["Protocol"]
        for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        if s["Protocol"] in ("sms", "email")
    ]
    assert left == []


_RECORD_KEYS = ("version", "updated_at", "updated_by")
