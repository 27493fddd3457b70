"""``tvarit replay``: send recorded posts to a stack's signed webhook, with a progress bar."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

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
    parser.add_argument("--rate", type=float, default=20.0, help="posts per second (0: no limit)")
    parser.add_argument("--limit", type=int, default=0, help="send at most this many posts")


def run(args: argparse.Namespace) -> int:
    from local.demo import DEMO_DIR, load_posts
    from local.replay import replay

    if not args.secret:
        print(
            f"tvarit replay: no secret: pass --secret or set {ENV_WEBHOOK_SECRET}", file=sys.stderr
        )
        return 2
    posts = load_posts(args.file or DEMO_DIR / "posts.jsonl")
    if args.limit:
        posts = posts[: args.limit]
    report = replay(posts, args.url, args.secret, rate=args.rate)
    for line in report.errors[:10]:
        print(f"  rejected {line}", file=sys.stderr)
    print(f"sent {report.sent}, accepted {report.accepted}, rejected {report.rejected}")
    return 0 if report.rejected == 0 else 1
