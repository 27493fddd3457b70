"""AWS away and back (the local AWS frozen with SIGSTOP, then resumed): the webhook answers 503
with Retry-After instead of hanging, the pump and the phones say so and carry on, and a post
sent after the thaw reaches the phones."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import pytest

from chalicelib import wiring
from local.demo import load_demo_config, seed
from local.phone import keep_polling
from local.replay import signed_request
from local.stack import LocalStack
from tests.e2e.test_local_stack import make_post


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # Short read timeouts for the stack's own clients: a frozen AWS is noticed in seconds.
    s = LocalStack(aws_read_timeout=2.0).start()
    try:
        demo = load_demo_config()
        seed(wiring.container().config_repo, demo)
        assert s.phone is not None
        for team in demo.teams:
            for member in team.members:
                s.phone.add_device(member, team)
        yield s
    finally:
        aws = next(c for c in s.children if c.name == "aws")
        os.kill(aws.pid, signal.SIGCONT)  # never leave it frozen, whatever failed
        s.stop()


def _until(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


TEXTS = {
    41: "नोटबंदी के बाद काला धन ख़त्म हो गया?",
    42: "Demonetisation was a disaster for small traders, says the CM",
}


def _post(stack: LocalStack, native: int) -> tuple[int, dict[str, str], bytes]:
    post = make_post(native, TEXTS[native], 10 + native % 10)
    request = signed_request(stack.api_url, stack.webhook_secret, post, int(time.time()))
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (local)
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_the_stack_rides_out_a_frozen_aws_and_resumes(stack: LocalStack) -> None:
    assert stack.phone is not None and stack.pump is not None
    said: list[str] = []
    stop = threading.Event()
    phones = threading.Thread(target=keep_polling, args=(stack.phone, stop, said.append))
    phones.start()
    aws = next(c for c in stack.children if c.name == "aws")
    errors_before = len(stack.pump.stats.errors)
    try:
        os.kill(aws.pid, signal.SIGSTOP)
        status, headers, body = _post(stack, 41)
        assert status == 503, body
        assert int(headers["Retry-After"]) > 0
        assert json.loads(body)["type"] == "/problems/upstream-unavailable"
        _until(lambda: stack.phone is not None and stack.phone.outages >= 1)
        _until(lambda: len(stack.pump.stats.errors) > errors_before)  # noticed, not crashed
    finally:
        os.kill(aws.pid, signal.SIGCONT)
    try:
        _until(lambda: any("answers again" in line for line in said))
        # The sender follows Retry-After. The 503 was a timeout, not a refusal: the frozen
        # server may still hold the request (its bytes sat in the socket) and take it on
        # thawing, every attempt of it. The retry and those repeats are one mention.
        for native in (41, 42):
            status, _, body = _post(stack, native)
            assert status == 202, body

        def delivered(native: int) -> list[tuple[str, str]]:
            assert stack.phone is not None
            key = f"18600000000000000{native}"
            # Task notices only: on a slow machine the Delhi chain's 20 s escalation to the
            # leads comes in too, a different notice about the same task.
            return [
                (d.member_id, d.task_id)
                for d in stack.phone.deliveries
                if key in d.url and d.kind == "task"
            ]

        _until(lambda: bool(delivered(41)) and bool(delivered(42)))
        time.sleep(2.0)  # a repeat would have arrived by now
        for native in (41, 42):
            assert len(delivered(native)) == len(set(delivered(native))), native
        assert phones.is_alive()
        assert all(t.is_alive() for t in stack.pump._threads)
    finally:
        stop.set()
        phones.join()
