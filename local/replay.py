"""Replay recorded posts into a running stack through the signed webhook, at a set rate."""

from __future__ import annotations

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


@dataclass
class ReplayReport:
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


def signed_request(
    api_url: str, secret: str, post: dict[str, Any], now: int
) -> urllib.request.Request:
    body = json.dumps({k: post[k] for k in POST_FIELDS if k in post}, ensure_ascii=False).encode()
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
    if done == total:
        out.write("\n")
    out.flush()


def replay(
    posts: Sequence[dict[str, Any]] | Iterable[dict[str, Any]],
    api_url: str,
    secret: str,
    rate: float = 20.0,
    progress: TextIO | None = sys.stderr,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayReport:
    """POST each post, signed, at most ``rate`` per second (0 = as fast as possible)."""
    items = list(posts)
    report = ReplayReport()
    interval = 1.0 / rate if rate > 0 else 0.0
    start = time.monotonic()
    for i, post in enumerate(items):
        if interval:
            delay = start + i * interval - time.monotonic()
            if delay > 0:
                sleep(delay)
        request = signed_request(api_url, secret, post, int(clock()))
        report.sent += 1
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                report.accepted += 1 if response.status == 202 else 0
        except urllib.error.HTTPError as err:
            report.rejected += 1
            report.errors.append(f"{post.get('id')}: HTTP {err.code} {err.read()[:200]!r}")
        except OSError as err:
            report.rejected += 1
            report.errors.append(f"{post.get('id')}: {err}")
        if progress is not None:
            _progress(progress, i + 1, len(items), report)
    return report
