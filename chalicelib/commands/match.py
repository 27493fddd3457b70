"""``tvarit match``: preview keyword queries against posts.

``--queries FILE`` is a JSON list of keyword queries (at least ``id`` and ``query``); posts
are JSON lines with ``id`` and ``text`` (and optionally ``lang``, ``platform``, ``author``)
from ``--posts FILE`` or stdin. ``--json`` prints one object per post, in input order:
``{"id": ..., "matches": [{"query_id": ..., "terms": [...], "spans": [[start, end], ...]}]}``
with spans as Python string offsets into the post text. That format is an interface.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any, BinaryIO

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

    from chalicelib.commands import EXIT_OK, EXIT_USAGE, json_lines, read_json
    from chalicelib.domain.keywords import compile_queries, keyword_query_from_dict
    from chalicelib.errors import MalformedInputError, TvaritError

    label = f"--queries {args.queries}"
    raw = read_json(args.queries, label)
    if not isinstance(raw, list) or not all(isinstance(q, dict) for q in raw):
        raise MalformedInputError(f"{label}: the queries file must hold a JSON list of objects")
    queries = []
    for i, q in enumerate(raw):
        try:
            queries.append(keyword_query_from_dict(q))
        except TvaritError as err:
            raise MalformedInputError(f"{label}: query [{i}]: {err.detail}") from None
    matcher = compile_queries(queries)
    for query_id, problem in matcher.rejected.items():
        print(f"tvarit match: query {query_id!r} skipped: {problem.detail}", file=sys.stderr)

    posts_label = f"--posts {args.posts}" if args.posts else "<stdin>"
    if args.posts:
        try:
            posts_fh: BinaryIO = open(args.posts, "rb")  # noqa: SIM115 - closed below
        except OSError as err:
            raise MalformedInputError(f"{posts_label}: cannot read: {err.strerror}") from None
    else:
        posts_fh = sys.stdin.buffer
    total = matched = 0
    per_query: dict[str, int] = {}
    try:
        for lineno, value in json_lines(_lines(posts_fh, posts_label), posts_label):
            post = _post(value, f"{posts_label} line {lineno}")
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
            if q.enabled and q.id not in matcher.rejected:
                print(f"    {q.id}: {per_query.get(q.id, 0)} posts")
    return EXIT_USAGE if matcher.rejected else EXIT_OK


def _lines(fh: BinaryIO, label: str) -> Iterator[bytes]:
    """The lines of a posts file; reading a directory fails only on the first read."""
    from chalicelib.errors import MalformedInputError

    try:
        yield from fh
    except OSError as err:
        raise MalformedInputError(f"{label}: cannot read: {err.strerror}") from None


def _post(value: object, where: str) -> dict[str, Any]:
    from chalicelib.errors import MalformedInputError

    if not isinstance(value, dict) or "id" not in value or not isinstance(value.get("text"), str):
        raise MalformedInputError(f"{where}: needs an id and a text")
    return value


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
