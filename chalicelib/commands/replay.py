"""``tvarit replay``: send recorded posts to a stack's signed webhook, with a progress bar.

Every post is checked as the webhook would check it before the first is sent, so a bad file
exits 2 having sent nothing. The replay stops at the first answer that every later post would
get too (401: wrong secret; 404: wrong URL) and when the stack cannot be reached; both exit 1.
The progress bar is drawn only when stderr is a terminal. The last stdout line is
``sent N, accepted N, rejected N``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

from chalicelib.settings import ENV_WEBHOOK_SECRET

ENV_API_URL = "TVARIT_API_URL"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--file", type=Path, help="JSON lines of posts (default: the demo posts in local/demo)"
    )
    parser.add_argument(
        "--url",
        default=os.environ.get(ENV_API_URL, "http://127.0.0.1:8000"),
        help=f"the API base URL (default: ${ENV_API_URL} or http://127.0.0.1:8000)",
    )
    parser.add_argument(
        "--secret",
        default=os.environ.get(ENV_WEBHOOK_SECRET, ""),
        help=f"the webhook secret (default: ${ENV_WEBHOOK_SECRET})",
    )
    parser.add_argument(
        "--rate", type=_rate, default=20.0, help="posts per second (0: no limit; default 20)"
    )
    parser.add_argument(
        "--limit", type=_limit, default=0, help="send at most this many posts (0: all)"
    )


def _rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(rate) or rate < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number >= 0 (0: no limit)")
    return rate


def _limit(text: str) -> int:
    try:
        limit = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if limit < 0:
        raise argparse.ArgumentTypeError(f"{limit}: expected a count >= 0 (0: all)")
    return limit


def run(args: argparse.Namespace) -> int:
    from chalicelib.commands import EXIT_FAILED, EXIT_OK
    from chalicelib.errors import InvalidInputError, UpstreamError
    from local.demo import DEMO_DIR
    from local.replay import replay

    if not args.secret:
        raise InvalidInputError(f"no secret: pass --secret or set {ENV_WEBHOOK_SECRET}")
    _check_url(args.url)
    path = args.file or DEMO_DIR / "posts.jsonl"
    posts = load_posts(path, f"--file {path}" if args.file else str(path))
    if args.limit:
        posts = posts[: args.limit]
    report = replay(posts, args.url, args.secret, rate=args.rate)
    for line in report.errors[:10]:
        print(f"tvarit replay: rejected {line}", file=sys.stderr)
    print(f"sent {report.sent}, accepted {report.accepted}, rejected {report.rejected}")
    if report.stop is not None:
        raise UpstreamError(_stop_message(args.url, report.stop.status, report.stop.detail))
    return EXIT_OK if report.rejected == 0 else EXIT_FAILED


def _check_url(url: str) -> None:
    from urllib.parse import urlsplit

    from chalicelib.errors import InvalidInputError

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as err:
        raise InvalidInputError(f"--url {url!r}: {err}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(f"--url {url!r}: expected http://host:port or https://host")


def _stop_message(url: str, status: int, detail: str) -> str:
    if status == 0:
        return f"cannot reach {url} ({detail}): is the stack running (`make run`)? check --url"
    if status == 401:
        return (
            f"the stack refused the signature ({detail}): wrong secret? pass the stack's "
            f"--secret or set {ENV_WEBHOOK_SECRET}; stopped at the first refusal"
        )
    return f"{url} has no webhook for us ({detail}): check --url; stopped at the first refusal"


def load_posts(path: Path, label: str) -> list[dict[str, Any]]:
    """Posts from a JSON-lines file, each checked as the webhook checks it."""
    from chalicelib.commands import json_lines, read_bytes
    from chalicelib.domain.webhook import parse_posts
    from chalicelib.errors import InvalidInputError
    from local.replay import post_body

    posts: list[dict[str, Any]] = []
    for lineno, post in json_lines(read_bytes(path, label).splitlines(), label):
        where = f"{label} line {lineno}"
        if not isinstance(post, dict):
            raise InvalidInputError(f"{where}: expected a JSON object (a post)")
        try:
            parse_posts(post_body(post))
        except InvalidInputError as err:
            raise InvalidInputError(where, err.problems) from None
        posts.append(post)
    return posts
