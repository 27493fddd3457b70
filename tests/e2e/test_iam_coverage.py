"""Every AWS call a function makes on a post's journey is allowed by its written IAM policy.

The local stack runs the journey one function at a time (API, then analyze with its SQS
mapping, then dispatch with its stream mapping: the mapping's own calls are made with the
function's role in AWS too). Each botocore call is recorded, translated into the IAM action and
resource it needs, and checked against the grants of that function in ``infra/stack.py``. A
new AWS call without a grant fails here instead of with AccessDenied in production.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator

import pytest

from chalicelib import wiring
from local.demo import load_demo_config, seed
from local.replay import signed_request
from local.stack import LocalStack
from tests.e2e.iam import Need, Recorder, granted

POST = {
    "platform": "x",
    "id": "1860000000000000777",
    "author": {"id": "ArvindKejriwal", "handle": "ArvindKejriwal", "name": "Arvind Kejriwal"},
    "created_at": "2016-11-20T10:00:00Z",
    "text": "नोटबंदी के बाद काला धन ख़त्म नहीं हुआ।",
    "url": "https://x.com/ArvindKejriwal/status/1860000000000000777",
}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    s = LocalStack(run_pump=False).start()
    try:
        seed(wiring.container().config_repo, load_demo_config())
        yield s
    finally:
        s.stop()


def fresh_container() -> None:
    """A new execution environment: nothing cached from another function's invocations."""
    wiring.use(wiring.Container(wiring.container().settings))


def test_each_function_is_granted_every_call_it_makes(stack: LocalStack) -> None:
    assert stack.pump is not None and stack.resources is not None
    # The Telegram queue's mapping (issue 13) is covered by tests/e2e/test_telegram_e2e.py.
    analyze = next(m for m in stack.pump.sqs if m.name == "analyze")
    streams = {m.name: m for m in stack.pump.streams}
    dispatch, rollup = streams["dispatch"], streams["rollup"]  # two readers of one stream
    schedules = {m.name: m for m in stack.pump.schedules}
    stack.pump.poll_stream_once(dispatch)  # leaves the seed's records behind
    stack.pump.poll_stream_once(rollup)
    by_function: dict[str, set[Need]] = {}
    with Recorder(stack.resources.tasks_stream_arn) as recorder:
        fresh_container()
        request = signed_request(stack.api_url, stack.webhook_secret, POST, int(time.time()))
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 202
        by_function["api_handler"] = recorder.take()
        fresh_container()
        assert stack.pump.poll_sqs_once(analyze) == 1
        by_function["analyze"] = recorder.take()
        fresh_container()
        assert stack.pump.poll_stream_once(dispatch) >= 2
        by_function["dispatch"] = recorder.take()
        fresh_container()
        assert stack.pump.poll_stream_once(rollup) >= 2
        by_function["rollup"] = recorder.take()
        for name in ("escalate", "flush_digests"):
            fresh_container()
            stack.pump.fire_schedule(schedules[name])
            by_function[name] = recorder.take()
    assert ("sqs:SendMessage", "tvarit-mentions") in by_function["api_handler"]
    assert any(a == "sns:Publish" for a, _ in by_function["dispatch"])
    assert ("dynamodb:Query", "table/tvarit-config") in by_function["dispatch"]
    assert any(r.endswith("/index/open-by-due") for _, r in by_function["escalate"])
    assert ("dynamodb:UpdateItem", "table/tvarit-rollups") in by_function["rollup"]
    for name, calls in by_function.items():
        missing = calls - granted(name)
        assert not missing, f"{name} makes calls its policy does not allow: {sorted(missing)}"
