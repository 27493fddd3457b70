"""``tvarit match``: preview keyword queries against posts.

``--queries FILE`` is a JSON list of keyword queries (at least ``id`` and ``query``); posts
are JSON lines with ``id`` and ``text`` (and optionally ``lang``, ``platform``, ``author``)
from ``--posts FILE`` or stdin. ``--json`` prints one object per post, in input order:
``{"id": ..., "matches": [{"query_id": ..., "terms": [...], "spans": [[start, end], ...]}]}``
with spans as Python string offsets into the post text. That format is an interface.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

help = "preview keyword queries against posts"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``tvarit match``."""
    parser.add_argument("--queries", required=True, metavar="FILE", help="JSON list of queries")
    parser.add_argument("--posts", metavar="FILE", help="JSON lines of posts (default: stdin)")
    parser.add_argument("--json", action="store_true", help="one JSON object per post")


def run(args: argparse.Namespace) -> int:
    """Match every post against every query; 2 when the input is unusable or a query is bad."""
    import json
    import sys

    from chalicelib.domain.config_kinds import validate_query
    from chalicelib.domain.keywords import compile_queries, keyword_query_from_dict
    from chalicelib.errors import TvaritError

    try:
        with open(args.queries, encoding="utf-8") as fh:
            raw = json.load(fh)
        if not isinstance(raw, list) or not all(isinstance(q, dict) for q in raw):
            raise ValueError("the queries file must hold a JSON list of objects")
        queries = [keyword_query_from_dict(q) for q in raw]
    except (OSError, ValueError, TvaritError) as err:
        print(f"tvarit match: {args.queries}: {err}", file=sys.stderr)
        return 2
    # The API's check: a query the API would refuse is skipped here, with the same reason.
    rejected: set[str] = set()
    for q, data in zip(queries, raw, strict=True):
        try:
            validate_query(data)
        except TvaritError as err:
            rejected.add(q.id)
            where = "; ".join(p.msg for p in err.problems) or err.detail
            print(f"tvarit match: query {q.id!r} skipped: {where}", file=sys.stderr)
    matcher = compile_queries(q for q in queries if q.id not in rejected)

    posts_fh: TextIO = open(args.posts, encoding="utf-8") if args.posts else sys.stdin  # noqa: SIM115
    total = matched = 0
    per_query: dict[str, int] = {}
    try:
        for lineno, line in enumerate(posts_fh, 1):
            if not line.strip():
                continue
            post = _post(line, lineno)
            if post is None:
                return 2
            text = post["text"]
            found = matcher.match(
                text,
                lang=_opt(post, "lang"),
                platform=_opt(post, "platform"),
                author=_opt(post, "author"),
            )
            total += 1
            matched += bool(found)
            for m in found:
                per_query[m.query_id] = per_query.get(m.query_id, 0) + 1
            if args.json:
                out = {"id": post["id"], "matches": [m.as_dict() for m in found]}
                print(json.dumps(out, ensure_ascii=False))
            elif found:
                print(f"{post['id']}: {_highlight(text, [s for m in found for s in m.spans])}")
                for m in found:
                    print(f"    {m.query_id}: {', '.join(m.terms)}")
    finally:
        if args.posts:
            posts_fh.close()
    if not args.json:
        print(f"{total} posts, {matched} matched")
        for q in queries:
            if q.enabled and q.id not in rejected:
                print(f"    {q.id}: {per_query.get(q.id, 0)} posts")
    return 2 if rejected else 0


def _post(line: str, lineno: int) -> dict[str, Any] | None:
    import json
    import sys

    try:
        post = json.loads(line)
    except ValueError as err:
        print(f"tvarit match: posts line {lineno}: not JSON ({err})", file=sys.stderr)
        return None
    if not isinstance(post, dict) or "id" not in post or not isinstance(post.get("text"), str):
        print(f"tvarit match: posts line {lineno}: needs an id and a text", file=sys.stderr)
        return None
    return post


def _opt(post: dict[str, Any], name: str) -> str | None:
    value = post.get(name)
    return value if isinstance(value, str) else None


def _highlight(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with matched spans (overlaps merged) in [[double brackets]], on one line."""
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out = []
    pos = 0
    for s, e in merged:
        out.append(text[pos:s])
        out.append(f"[[{text[s:e]}]]")
        pos = e
    out.append(text[pos:])
    return "".join(out).replace("\n", " ")
