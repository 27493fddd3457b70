"""Replay recorded posts into a running stack through the signed webhook, at a set rate."""

from __future__ import annotations

import http.client
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from chalicelib.domain.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

WEBHOOK_PATH = "/ingest/webhook"
POST_FIELDS = ("platform", "id", "author", "created_at", "text", "url", "lang")


# How long one post may wait for its answer: the local stack may be busy with a batch.
REQUEST_TIMEOUT = 30.0
# A stack that answers none of this many posts in a row is taken as gone.
MAX_TIMEOUTS_IN_A_ROW = 3
# Answers after which every later post would fail the same way: stop at the first.
STOP_STATUSES = frozenset({401, 403, 404, 405})


@dataclass(frozen=True)
class Stop:
    """Why a replay stopped before its last post."""

    status: int  # the HTTP status; 0 when the stack could not be reached at all
    detail: str


@dataclass
class ReplayReport:
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    stop: Stop | None = None


def post_body(post: dict[str, Any]) -> dict[str, Any]:
    """The webhook body for one recorded post (its other fields, e.g. ``source``, stay home)."""
    return {k: post[k] for k in POST_FIELDS if k in post}


def signed_request(
    api_url: str, secret: str, post: dict[str, Any], now: int
) -> urllib.request.Request:
    body = json.dumps(post_body(post), ensure_ascii=False).encode()
    return urllib.request.Request(  # noqa: S310 - the URL is the operator's own stack
        api_url.rstrip("/") + WEBHOOK_PATH,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(now),
            SIGNATURE_HEADER: sign(secret, now, body),
        },
    )


def _progress(out: TextIO, done: int, total: int, report: ReplayReport) -> None:
    width = 30
    filled = width * done // max(total, 1)
    bar = "█" * filled + "·" * (width - filled)
    out.write(
        f"\r  replay [{bar}] {done}/{total} accepted {report.accepted} rejected {report.rejected}"
    )
    if done == total or report.stop is not None:
        out.write("\n")
    out.flush()


def _is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except ValueError:  # closed
        return False


def replay(
    posts: Sequence[dict[str, Any]] | Iterable[dict[str, Any]],
    api_url: str,
    secret: str,
    rate: float = 20.0,
    progress: TextIO | None = sys.stderr,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    timeout: float = REQUEST_TIMEOUT,
) -> ReplayReport:
    """POST each post, signed, at most ``rate`` per second (0 = as fast as possible).

    Stops at the first answer that every later post would get too (a wrong secret or URL) and
    when the stack cannot be reached; ``report.stop`` says why. The progress bar is drawn only
    on a terminal, so a log file gets no carriage returns.
    """
    items = list(posts)
    report = ReplayReport()
    bar = progress if progress is not None and _is_terminal(progress) else None
    interval = 1.0 / rate if rate > 0 else 0.0
    start = time.monotonic()
    timeouts = 0  # in a row: a busy stack answers late now and then; a dead one never does
    for i, post in enumerate(items):
        if interval:
            delay = start + i * interval - time.monotonic()
            if delay > 0:
                sleep(delay)
        request = signed_request(api_url, secret, post, int(clock()))
        report.sent += 1
        timed_out = False
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                report.accepted += 1 if response.status == 202 else 0
        except urllib.error.HTTPError as err:
            report.rejected += 1
            report.errors.append(f"{post.get('id')}: HTTP {err.code} {err.read()[:200]!r}")
            if err.code in STOP_STATUSES:
                report.stop = Stop(err.code, f"HTTP {err.code} {err.reason}")
        except urllib.error.URLError as err:
            report.rejected += 1
            if isinstance(err.reason, TimeoutError):
                timed_out = True
                report.errors.append(f"{post.get('id')}: no answer in {timeout:g} s")
            else:
                report.stop = Stop(0, str(err.reason))
        except TimeoutError:
            report.rejected += 1
            timed_out = True
            report.errors.append(f"{post.get('id')}: no answer in {timeout:g} s")
        except (OSError, http.client.HTTPException) as err:  # reset, not HTTP at all
            report.rejected += 1
            report.stop = Stop(0, str(err) or type(err).__name__)
        timeouts = timeouts + 1 if timed_out else 0
        if timeouts >= MAX_TIMEOUTS_IN_A_ROW:
            report.stop = Stop(0, f"no answer to {timeouts} posts in a row")
        if bar is not None:
            _progress(bar, i + 1, len(items), report)
        if report.stop is not None:
            break
    return report
