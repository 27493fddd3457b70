"""The README's curl walkthroughs, run verbatim against a fresh local stack with the demo data.

Each ``sh`` block under "HTTP API" is split into commands and run in one bash session, in
order, as a reader would paste them. What a reader fills in themselves is filled in the same
way: the values ``make run`` prints (the dev issuer's key, the webhook secret), the FCM token
of their phone, and the ``t_…`` / ``inc_…`` ids from the answer just before. A read of the new
mention waits while the README says it may be 404 (the pump has not reached it yet). Every
answer must be JSON (or empty) and no error, except those the README itself announces.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.settings import ENV_CONFIG_CACHE_SECONDS
from local.demo import load_demo_config, seed
from local.stack import LocalStack
from tests.conftest import ROOT

README = ROOT / "README.md"
MARK = "__tvarit_done__"
FCM = "readme-fcm-registration-token-0123456789"


def walkthroughs() -> list[tuple[str, list[str]]]:
    """(heading, commands) of every ``sh`` block in the README that calls the local API."""
    text = README.read_text(encoding="utf-8")
    out = []
    for match in re.finditer(r"^(#+ [^\n]*)$|^```sh\n(.*?)^```", text, re.M | re.S):
        if match.group(1):
            heading = match.group(1).lstrip("# ")
            continue
        block = match.group(2)
        if "curl" in block and ("127.0.0.1:8000" in block or "$API" in block):
            out.append((heading, commands(block)))
    return out


def commands(block: str) -> list[str]:
    """Shell commands of a block: comment lines dropped, continued lines and open quotes
    joined."""
    out: list[str] = []
    pending = ""
    for line in block.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending = f"{pending}\n{line}" if pending else line
        code = re.sub(r"\s#.*$", "", pending) if pending.count("'") % 2 == 0 else pending
        if code.endswith("\\") or code.count("'") % 2:
            continue
        out.append(pending)
        pending = ""
    assert not pending, f"an unfinished command: {pending}"
    return out


class Shell:
    """One bash session: variables set by one command are there for the next."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env=env,
        )

    def run(self, command: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        # curl's answers have no final newline: end the output with one before the mark.
        self.proc.stdin.write(f"{command}\necho; echo {MARK}\n")
        self.proc.stdin.flush()
        lines = []
        while (line := self.proc.stdout.readline()) and line.strip() != MARK:
            lines.append(line)
        return "".join(lines).strip()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    saved = os.environ.get(ENV_CONFIG_CACHE_SECONDS)
    os.environ[ENV_CONFIG_CACHE_SECONDS] = "1"  # the README promises "within 30 s"
    s = LocalStack(visibility_timeout=1, max_receive_count=2).start()
    try:
        seed(wiring.container().config_repo, load_demo_config())
        yield s
    finally:
        s.stop()
        if saved is None:
            os.environ.pop(ENV_CONFIG_CACHE_SECONDS, None)
        else:
            os.environ[ENV_CONFIG_CACHE_SECONDS] = saved


def _api(s: LocalStack, path: str) -> Any:
    claims = {"sub": "readme-test", "custom:role": "national_admin"}
    request = urllib.request.Request(  # noqa: S310 (the local stack's http URL)
        s.api_url + path,
        headers={"Authorization": f"Bearer {s.issuer.mint(claims, datetime.now(UTC))}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (local)
        return json.loads(response.read())


def _fill_in(command: str, s: LocalStack, ids: dict[str, str]) -> str:
    """What a reader types in place of the README's placeholders."""
    command = re.sub(
        r"TVARIT_DEV_SIGNING_KEY=\S+", f"TVARIT_DEV_SIGNING_KEY={s.signing_key_path}", command
    )
    command = command.replace(
        "TVARIT_WEBHOOK_SECRET=...", f"TVARIT_WEBHOOK_SECRET={s.webhook_secret}"
    )
    command = command.replace("<FCM registration token>", FCM)
    # make run serves on port 8000; this stack on a free port (the machine is shared)
    command = command.replace("http://127.0.0.1:8000", s.api_url)
    for placeholder, value in ids.items():
        command = command.replace(placeholder, value)
    return command


def _expected_error(command: str) -> int | None:
    found = re.search(r"#\s*(\d{3})\b", command)
    return int(found.group(1)) if found and int(found.group(1)) >= 400 else None


def test_every_walkthrough_runs_verbatim_against_the_demo(stack: LocalStack) -> None:
    found = walkthroughs()
    assert [h for h, _ in found][:2] == [
        "A cell head's first day (local stack)",
        "A warrior's task flow",
    ]
    shell = Shell(dict(os.environ))
    ids: dict[str, str] = {}
    try:
        for heading, block in found:
            for command in block:
                if "t_…" in command or "inc_…" in command:
                    ids.update(_task_ids(stack))
                text = _fill_in(command, stack, ids)
                answer = shell.run(text)
                if "/mentions/x%23" in command:
                    deadline = time.monotonic() + 120
                    while '"status":404' in answer.replace(" ", "") or '"routed"' not in answer:
                        assert time.monotonic() < deadline, f"{heading}: never routed: {answer}"
                        time.sleep(1)
                        answer = shell.run(text)
                    # Step 5 shows the post matched by the query of step 2, not nothing.
                    assert '"q-paper-leak"' in answer, answer
                _check(heading, command, answer)
    finally:
        shell.close()


def _task_ids(s: LocalStack) -> dict[str, str]:
    """The reader's ``t_…`` and ``inc_…``: the task of their new team, from the answer above."""
    mention = _api(s, "/mentions/x%231849000000000000001")
    for task_id in mention["task_ids"]:
        task = _api(s, f"/tasks/{task_id}")
        if task["team_id"] == "RJ-JAIPUR-02":
            return {"t_…": task_id, "inc_…": task["incident_key"]}
    raise AssertionError(f"no task of RJ-JAIPUR-02 in {mention['task_ids']}")


def _check(heading: str, command: str, answer: str) -> None:
    if "curl" not in command or not answer:
        return
    body = json.loads(answer)  # every answer is JSON (problem+json included)
    status = body.get("status") if isinstance(body, dict) and "type" in body else None
    expected = _expected_error(command)
    if expected is not None:
        assert status == expected, f"{heading}: {command}\n→ {answer}"
    else:
        assert status is None, f"{heading}: {command}\n→ {answer}"
