"""Races between concurrent Lambda containers, on the multi-process local stack.

Two API worker processes and two pump worker processes share one local AWS (``local.aws``,
which keeps DynamoDB's conditional writes and transactions atomic). Each race is started from
a barrier, its requests sent to different API processes, and repeated over several rounds:
the guarantee must hold in every round. The last check: stopping the stack leaves no process.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.domain.tasks import TaskAction, TaskStatus
from local.demo import load_demo_config, seed
from local.replay import signed_request
from local.stack import LocalStack

ROUNDS = 6
HEADS = {
    "RJ": {"sub": "shead-rj", "custom:role": "state_head", "custom:state": "RJ"},
    "UP": {"sub": "shead-up", "custom:role": "state_head", "custom:state": "UP"},
    "DL": {"sub": "shead-dl", "custom:role": "state_head", "custom:state": "DL"},
}
TEAM = "DL-CENTRAL-01"
WARRIORS = {
    "w-dl-1": {"sub": "w-dl-1", "custom:role": "team_lead", "custom:team": TEAM},
    "w-dl-2": {"sub": "w-dl-2", "custom:role": "warrior", "custom:team": TEAM},
}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True)
class Call:
    worker: int  # which API process
    method: str
    path: str
    who: dict[str, str]
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    s = LocalStack(api_workers=2, pump_workers=2).start()
    pids = s.worker_pids()
    try:
        assert len(s.api_urls) == 2 and len(set(s.api_urls)) == 2
        demo = load_demo_config()
        seed(wiring.container().config_repo, demo)
        assert s.phone is not None
        for team in demo.teams:
            for member in team.members:
                s.phone.add_device(member, team)
        yield s
    finally:
        s.stop()
    left = [pid for pid in pids if _alive(pid)]
    assert not left, f"processes left behind by the stack: {left}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _send(stack: LocalStack, call: Call) -> Answer:
    token = stack.issuer.mint(call.who, datetime.now(UTC))
    request = urllib.request.Request(  # noqa: S310 - the local stack's own URL
        stack.api_urls[call.worker] + call.path,
        data=None if call.body is None else json.dumps(call.body).encode(),
        method=call.method,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            **dict(call.headers),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return Answer(response.status, dict(response.headers), json.loads(response.read()))
    except urllib.error.HTTPError as err:
        return Answer(err.code, dict(err.headers), json.loads(err.read() or b"null"))


def race(stack: LocalStack, calls: list[Call]) -> list[Answer]:
    """Send every call at the same moment (a barrier), each from its own thread."""
    answers: list[Answer | None] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def one(i: int) -> None:
        start.wait()
        answers[i] = _send(stack, calls[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(a is not None for a in answers), "a racing request did not finish"
    return [a for a in answers if a is not None]


def _problem(answer: Answer, status: int, errors: list[dict[str, str]]) -> bool:
    return (
        answer.status == status
        and answer.headers.get("Content-Type") == "application/problem+json"
        and answer.body.get("errors") == errors
    )


def test_two_states_creating_one_team_id_at_once_get_one_201(stack: LocalStack) -> None:
    for r in range(ROUNDS):
        team_id = f"RACE-TEAM-{r}"
        first, second = ("RJ", "UP") if r % 2 == 0 else ("UP", "RJ")
        answers = race(
            stack,
            [
                Call(
                    i, "POST", "/teams", HEADS[state], {"id": team_id, "name": "R", "state": state}
                )
                for i, state in enumerate((first, second))
            ],
        )
        created = [a for a in answers if a.status == 201]
        assert len(created) == 1, f"round {r}: {[(a.status, a.body) for a in answers]}"
        (loser,) = [a for a in answers if a.status != 201]
        assert _problem(loser, 409, [{"loc": "id", "msg": "taken"}]), loser
        winner = created[0].body["state"]
        other = "UP" if winner == "RJ" else "RJ"
        # The store agrees with the answers: the winner's head reads it, the other's cannot.
        own = _send(stack, Call(0, "GET", f"/teams/{team_id}", HEADS[winner]))
        assert (own.status, own.body["state"]) == (200, winner)
        assert _send(stack, Call(1, "GET", f"/teams/{team_id}", HEADS[other])).status == 404


def test_one_idempotency_key_sent_twice_at_once_runs_once(stack: LocalStack) -> None:
    for r in range(ROUNDS):
        member = {"id": f"race-m-{r}", "name": "Racing Warrior", "languages": ["hi"]}
        call = Call(
            0,
            "POST",
            f"/teams/{TEAM}/members",
            HEADS["DL"],
            member,
            (("Idempotency-Key", f"race-key-{r}"),),
        )
        answers = race(stack, [call, _on(call, 1)])
        ran = [a for a in answers if a.status == 201 and "Idempotent-Replayed" not in a.headers]
        assert len(ran) == 1, f"round {r}: {[(a.status, a.body) for a in answers]}"
        (other,) = [a for a in answers if a is not ran[0]]
        replayed = other.status == 201 and other.headers.get("Idempotent-Replayed") == "true"
        in_progress = _problem(
            other, 409, [{"loc": "header:Idempotency-Key", "msg": "in progress"}]
        )
        assert replayed or in_progress, f"round {r}: the second ran: {other}"
        if replayed:
            assert other.body == ran[0].body
        # Later, the same request is a replay of the one execution.
        again = _send(stack, _on(call, r % 2))
        assert again.headers.get("Idempotent-Replayed") == "true" and again.body == ran[0].body
    team = _send(stack, Call(0, "GET", f"/teams/{TEAM}", HEADS["DL"])).body
    ids = [m["id"] for m in team["members"]]
    assert sorted(i for i in ids if i.startswith("race-m-")) == sorted(
        f"race-m-{r}" for r in range(ROUNDS)
    )


POSTS = (
    "CBI raids on Delhi government officers again. Why?",
    "नोटबंदी के बाद काला धन कहाँ गया, कोई बताएगा?",
    "EVM पर फिर से सवाल उठे हैं चुनाव आयोग चुप",
    "Corruption in the water board must be probed by an independent body",
    "सर्जिकल स्ट्राइक पर राजनीति बंद होनी चाहिए",
    "भ्रष्टाचार के खिलाफ आंदोलन फिर शुरू करेंगे हम",
)


def _dispatched_tasks(stack: LocalStack, native_ids: list[str]) -> dict[str, Any]:
    """Each post's task for TEAM once both its tasks are dispatched, waiting for the pumps."""
    from chalicelib.adapters.dynamo.models import TaskModel

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        tasks = [t for t in TaskModel.scan() if t.mention_key.split("#")[1] in native_ids]
        done = [t for t in tasks if t.status == TaskStatus.DISPATCHED.value]
        if len(done) == 2 * len(native_ids):  # Delhi has two teams
            return {t.mention_key.split("#")[1]: t for t in done if t.team_id == TEAM}
        time.sleep(0.3)
    raise AssertionError("the pump workers did not dispatch every task in time")


def test_concurrent_transitions_of_one_task_win_once_per_version(stack: LocalStack) -> None:
    native_ids = [f"18700000000000000{r:02d}" for r in range(ROUNDS)]
    for r, native_id in enumerate(native_ids):
        post = {
            "platform": "x",
            "id": native_id,
            "author": {"id": "ArvindKejriwal", "handle": "ArvindKejriwal", "name": "AK"},
            "created_at": f"2016-12-{r + 1:02d}T10:00:00Z",
            "text": POSTS[r % len(POSTS)],
            "url": f"https://x.com/ArvindKejriwal/status/{native_id}",
        }
        request = signed_request(stack.api_url, stack.webhook_secret, post, int(time.time()))
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 202
    tasks = _dispatched_tasks(stack, native_ids)
    repo = wiring.container().tasks
    # Two pump processes shared the queue and the stream: each task was dispatched once.
    for task in tasks.values():
        assert [e.action for e in repo.events(task.task_id)] == [TaskAction.DISPATCH]
    lead, warrior = WARRIORS["w-dl-1"], WARRIORS["w-dl-2"]
    done_url = {"response_url": "https://x.com/IYC/status/1"}
    for r, native_id in enumerate(native_ids):
        task_id = tasks[native_id].task_id
        calls = [
            Call(0, "POST", f"/tasks/{task_id}/ack", lead),
            Call(1, "POST", f"/tasks/{task_id}/ack", warrior),
            Call(0, "POST", f"/tasks/{task_id}/decline", warrior),
            Call(1, "POST", f"/tasks/{task_id}/complete", lead, done_url),
        ]
        if r % 2:
            calls.reverse()
        answers = race(stack, calls)
        events = repo.events(task_id)
        history = [(e.seq, e.from_status, e.to_status) for e in events]
        # One transition per version: an unbroken chain of events from the dispatch on.
        assert [e.seq for e in events] == list(range(2, 2 + len(events))), history
        for before, after in itertools.pairwise(events):
            assert after.from_status == before.to_status, history
        final = repo.get(task_id)
        assert final is not None and final.version == events[-1].seq
        ok = [a for a in answers if a.status == 200]
        for a in answers:
            assert a.status == 200 or _problem_status(a, 409), (r, a)
        # Every 200 names a version the history holds, with that version's status: two
        # winners of one version would show two statuses for it.
        by_version = {e.seq: e.to_status.value for e in events}
        for a in ok:
            assert by_version.get(a.body["version"]) == a.body["status"], (r, a.body, history)
        # Each transition after the dispatch was made by one of the racing calls, once.
        made = [(e.actor, e.action) for e in events[1:]]
        assert len(made) == len(set(made)) and len(made) >= 1, history
        sent = {(c.who["sub"], TaskAction(c.path.rsplit("/", 1)[1])) for c in calls}
        assert set(made) <= sent, history
    # And the phones: each task reached each of its team's warriors once.
    assert stack.phone is not None
    while stack.phone.poll_once():
        pass
    mine = {t.task_id for t in tasks.values()}
    got = [
        (d.task_id, d.member_id)
        for d in stack.phone.deliveries
        if d.task_id in mine and d.kind == "task"  # not a (possible) escalation to the lead
    ]
    assert sorted(got) == sorted((t, m) for t in mine for m in WARRIORS)


def _problem_status(answer: Answer, status: int) -> bool:
    ctype = answer.headers.get("Content-Type")
    return answer.status == status and ctype == "application/problem+json"


def _on(call: Call, worker: int) -> Call:
    return Call(worker, call.method, call.path, call.who, call.body, call.headers)
