from __future__ import annotations

import json
from typing import Any

from chalice.test import Client

from chalicelib.adapters.dynamo.repositories import _task_to_model
from chalicelib.domain.links import incident_page_url, task_page_path
from chalicelib.domain.tasks import Task, TaskStatus
from tests.factories import make_message
from tests.functional.conftest import SETTINGS, World, token
from tests.seeding import seed


def sqs_event(client: Client, bodies: list[str]) -> dict[str, Any]:
    event: dict[str, Any] = client.events.generate_sqs_event(
        message_bodies=bodies, queue_name="tvarit-mentions"
    )
    # chalice's generator gives every record the same messageId; SQS never does.
    for i, record in enumerate(event["Records"]):
        record["messageId"] = f"m-{i}"
    return event


def stream_event(tasks: list[Task]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventID": str(i),
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "dynamodb": {
                    "SequenceNumber": str(100 + i),
                    "NewImage": _task_to_model(t).serialize(),
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            }
            for i, t in enumerate(tasks)
        ]
    }


def analyze(client: Client, bodies: list[str]) -> dict[str, Any]:
    payload: dict[str, Any] = client.lambda_.invoke("analyze", sqs_event(client, bodies)).payload
    return payload


def test_a_matching_post_becomes_one_task_per_team_of_the_leaders_state(
    client: Client, world: World
) -> None:
    result = analyze(client, [json.dumps(make_message())])
    assert result == {"batchItemFailures": []}
    teams = sorted(t.team_id for t in world.tasks.tasks.values())
    assert teams == ["DL-CENTRAL-01", "DL-EAST-01"]
    task = next(iter(world.tasks.tasks.values()))
    assert task.query_ids == ("q-demonetisation",)
    assert task.severity == 4
    assert task.lang == "hi"
    assert world.mentions.status_of("x#1849000000000000001") == "routed"


def test_a_duplicate_post_makes_no_second_task(client: Client, world: World) -> None:
    body = json.dumps(make_message())
    analyze(client, [body])
    first = dict(world.tasks.tasks)
    assert analyze(client, [body, body]) == {"batchItemFailures": []}
    assert world.tasks.tasks == first


def test_a_redelivery_after_a_crash_before_routing_finishes_the_job(
    client: Client, world: World
) -> None:
    body = json.dumps(make_message())
    analyze(client, [body])
    created = set(world.tasks.tasks)
    # Simulate a crash after the mention was stored but before it was marked routed.
    world.mentions.items["x#1849000000000000001"]["status"] = "analyzed"
    world.tasks.tasks.pop(sorted(created)[0])
    analyze(client, [body])
    assert set(world.tasks.tasks) == created


def test_an_unmatched_or_unwatched_post_is_stored_without_tasks(
    client: Client, world: World
) -> None:
    unmatched = make_message(native_id="2", text="Good morning Delhi")
    unwatched = make_message(native_id="3")
    unwatched["author"]["handle"] = "someone_else"
    analyze(client, [json.dumps(unmatched), json.dumps(unwatched)])
    assert world.tasks.tasks == {}
    assert world.mentions.status_of("x#2") == "routed"
    assert world.mentions.status_of("x#3") == "routed"


def test_a_poison_message_fails_alone(client: Client, world: World) -> None:
    good = json.dumps(make_message())
    result = analyze(client, ["not json at all", good, json.dumps({"platform": "x"})])
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}, {"itemIdentifier": "m-2"}]}
    assert len(world.tasks.tasks) == 2


def test_new_tasks_are_published_once_per_state_and_incident(client: Client, world: World) -> None:
    analyze(client, [json.dumps(make_message())])
    tasks = list(world.tasks.tasks.values())
    result = client.lambda_.invoke("dispatch", stream_event(tasks)).payload
    assert result == {"batchItemFailures": []}
    # One call to the DL topic: one entry per delivery language of Delhi (hi, en), both teams.
    [call] = world.publisher.calls
    assert (call.state, call.api) == ("DL", "PublishBatch")
    assert [e.notice.lang for e in call.entries] == ["hi", "en"]
    [incident] = {t.incident_key for t in tasks}
    for entry in call.entries:
        assert json.loads(entry.attributes["team_ids"]["StringValue"]) == [
            "DL-CENTRAL-01",
            "DL-EAST-01",
        ]
        payload = json.loads(json.loads(entry.message)["default"])
        assert payload["v"] == "1"  # the first notice a warrior sees; stored: 2 (dispatched)
        assert "task_id" not in payload  # one message, two teams: each resolves its own
        assert payload["page_url"] == incident_page_url(SETTINGS.public_base_url, incident)
        assert payload["post_lang"] == tasks[0].lang != ""
        assert payload["terms"] == "नोटबंदी"  # the word that matched, not the query id
    for task in world.tasks.tasks.values():
        assert task.status is TaskStatus.DISPATCHED
        assert task.sns_message_id == "msg-1-0"
        assert [e.action.value for e in world.tasks.events(task.task_id)] == ["dispatch"]


def payload_links(message: str) -> set[str]:
    """The link of every protocol's payload of one SNS message."""
    msg = json.loads(message)
    fcm = json.loads(msg["GCM"])["fcmV1Message"]["message"]
    links = {
        json.loads(msg["default"])["page_url"],
        json.loads(msg["APNS"])["page_url"],
        fcm["data"]["page_url"],
        fcm["webpush"]["fcm_options"]["link"],
        fcm["webpush"]["notification"]["data"]["page_url"],
    }
    links |= {w for w in msg["sms"].split() if w.startswith("https://")}
    links |= {w for w in msg["email"].split() if w.startswith("https://tvarit")}
    return links


def test_a_payloads_link_opens_each_targeted_teams_own_task_page(
    client: Client, world: World
) -> None:
    analyze(client, [json.dumps(make_message())])
    tasks = list(world.tasks.tasks.values())
    client.lambda_.invoke("dispatch", stream_event(tasks))
    entries = [e for c in world.publisher.calls for e in c.entries]
    [link] = set().union(*(payload_links(e.message) for e in entries))  # every protocol: one
    path = link.removeprefix(SETTINGS.public_base_url)
    assert path.startswith("/i/")
    for task in tasks:
        warrior = {
            "sub": f"w-{task.team_id}",
            "custom:role": "warrior",
            "custom:team": task.team_id,
        }
        cookie = {"Cookie": f"tvarit_session={token(warrior)}"}
        r = client.http.get(path, headers=cookie)
        assert r.status_code == 303 and r.headers["Location"] == task_page_path(task.task_id)
        page = client.http.get(r.headers["Location"], headers=cookie)
        assert page.status_code == 200 and task.excerpt.split()[0] in page.body.decode()
    stranger = {"sub": "w-up", "custom:role": "warrior", "custom:team": "UP-VARANASI-01"}
    r = client.http.get(path, headers={"Cookie": f"tvarit_session={token(stranger)}"})
    assert r.status_code == 404  # no task of theirs: the same answer as a foreign task
    assert client.http.get(path).status_code == 303  # no session: sign in first


def test_a_redelivered_stream_record_does_not_publish_again(client: Client, world: World) -> None:
    analyze(client, [json.dumps(make_message())])
    event = stream_event(list(world.tasks.tasks.values()))
    client.lambda_.invoke("dispatch", event)
    client.lambda_.invoke("dispatch", event)
    assert len(world.publisher.calls) == 1


def test_sns_throttling_reports_the_records_for_retry_and_loses_nothing(
    client: Client, world: World
) -> None:
    analyze(client, [json.dumps(make_message())])
    event = stream_event(list(world.tasks.tasks.values()))
    world.publisher.failures_left = 1
    result = client.lambda_.invoke("dispatch", event).payload
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["100", "101"]
    assert all(t.status is TaskStatus.NEW for t in world.tasks.tasks.values())
    assert client.lambda_.invoke("dispatch", event).payload == {"batchItemFailures": []}
    assert all(t.status is TaskStatus.DISPATCHED for t in world.tasks.tasks.values())


def test_reposts_and_same_gaffe_posts_update_the_open_task_instead_of_paging(
    client: Client, world: World
) -> None:
    from datetime import timedelta

    from tests.factories import T0

    original = make_message()
    analyze(client, [json.dumps(original)])
    first = {t.team_id: t.task_id for t in world.tasks.tasks.values()}
    repost = make_message(native_id="11", text="RT @AamAadmiParty: " + original["text"])
    same_gaffe = make_message(
        native_id="12",
        text="नोटबंदी ने गरीब को लाइन में खड़ा कर दिया",
        created_at=T0 + timedelta(hours=2),
    )
    analyze(client, [json.dumps(repost), json.dumps(same_gaffe)])
    assert {t.team_id: t.task_id for t in world.tasks.tasks.values()} == first
    assert {t.mention_count for t in world.tasks.tasks.values()} == {3}
    # A redelivery of a mention already counted does not count it again.
    world.mentions.items["x#12"]["status"] = "analyzed"
    analyze(client, [json.dumps(same_gaffe)])
    assert {t.mention_count for t in world.tasks.tasks.values()} == {3}


def test_the_same_query_a_day_later_is_a_new_incident(client: Client, world: World) -> None:
    from datetime import timedelta

    from tests.factories import T0

    analyze(client, [json.dumps(make_message())])
    later = make_message(
        native_id="13",
        text="काला धन कहाँ गया? demonetisation failed",
        created_at=T0 + timedelta(days=1),
    )
    analyze(client, [json.dumps(later)])
    assert len(world.tasks.tasks) == 4
    assert len({t.incident_key for t in world.tasks.tasks.values()}) == 2


def test_a_post_deleted_on_its_platform_removes_our_copy_and_its_text_in_tasks(
    client: Client, world: World
) -> None:
    analyze(client, [json.dumps(make_message())])
    assert "x#1849000000000000001" in world.mentions.items
    deletion = make_message(text="", deleted=True)
    assert analyze(client, [json.dumps(deletion)]) == {"batchItemFailures": []}
    assert "x#1849000000000000001" not in world.mentions.items
    assert {t.excerpt for t in world.tasks.tasks.values()} == {"(deleted on the platform)"}
    # A deletion of a post we never stored is a no-op, not a failure.
    assert analyze(client, [json.dumps(make_message(native_id="77", deleted=True))]) == {
        "batchItemFailures": []
    }


def test_authors_named_by_platform_id_link_to_their_leader(client: Client, world: World) -> None:
    from chalicelib.domain.mention import Author
    from chalicelib.domain.org import Account
    from tests.factories import make_leader

    seed(world.config, make_leader(accounts=(Account("youtube", "Arvind Kejriwal", "UCabc123"),)))
    video = make_message(
        platform="youtube",
        native_id="v1",
        author=Author(id="UCabc123", handle="AAP Channel"),  # the title, not the handle
    )
    analyze(client, [json.dumps(video)])
    assert sorted(t.team_id for t in world.tasks.tasks.values()) == ["DL-CENTRAL-01", "DL-EAST-01"]


def test_a_viral_repost_raises_the_open_tasks_priority(client: Client, world: World) -> None:
    original = make_message()
    analyze(client, [json.dumps(original)])
    before = {t.task_id: t.priority for t in world.tasks.tasks.values()}
    assert all(p > 0 for p in before.values())
    viral = make_message(
        native_id="21",
        text="RT @AamAadmiParty: " + original["text"],
        metrics={"retweet_count": 40_000, "like_count": 90_000},
    )
    analyze(client, [json.dumps(viral)])
    after = {t.task_id: t.priority for t in world.tasks.tasks.values()}
    assert after.keys() == before.keys()  # the same tasks, no new page
    assert all(after[k] > before[k] for k in before)


def test_routes_may_choose_teams_outside_the_leaders_state(client: Client, world: World) -> None:
    national = {
        "route": {
            "receivers": [{"teams_of": "state"}],
            "routes": [{"matchers": ["category=economy"], "receivers": [{"teams_of": "all"}]}],
        }
    }
    seed(world.config, national)
    analyze(client, [json.dumps(make_message())])
    assert sorted(t.team_id for t in world.tasks.tasks.values()) == [
        "DL-CENTRAL-01",
        "DL-EAST-01",
        "UP-VARANASI-01",
    ]
    assert {t.state for t in world.tasks.tasks.values()} == {"DL", "UP"}


def test_a_route_may_name_a_team_of_another_state(client: Client, world: World) -> None:
    desk = {
        "route": {
            "receivers": [{"teams_of": "state"}],
            "routes": [{"matchers": ["category=economy"], "receivers": ["UP-VARANASI-01"]}],
        }
    }
    seed(world.config, desk)
    analyze(client, [json.dumps(make_message())])
    assert [t.team_id for t in world.tasks.tasks.values()] == ["UP-VARANASI-01"]
