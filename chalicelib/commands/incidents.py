"""``tvarit incidents``: group posts into incidents by the analyze stage's rules.

Posts are JSON lines from ``--posts FILE`` or stdin, each an object with ``id`` (a string or an
integer) and ``text``, and optionally ``author`` (a name, or an object with a ``handle``),
``created_at`` (ISO 8601 with a zone), ``repost_of`` and ``quote_of`` (ids of other posts);
other fields are ignored, so the files of ``tvarit match`` serve. Output (a stable interface, see
docs/incidents.md): one JSON object per post, in input order::

    {"id": "p2", "incident": "p1", "reason": "near_duplicate"}

``incident`` is the id of the post that opened the incident: posts with the same ``incident``
are one incident. ``reason`` is why the post joined it: ``new`` (it opened it), ``reference``
(it reposts or quotes a post of it), ``near_duplicate`` (its text), ``same_leader_query`` (the
same author within the window; every post counts as matching one query, the one previewed).
Each post is decided against the posts before it, as the analyze stage decides each mention
against those it already holds. The 6-hour window applies only when posts have ``created_at``
(then all must have it); without it, all posts are taken as simultaneous. Without ``author``
the same-leader rule does not apply. Fields may be added later; none is removed or renamed.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

help = "group posts into incidents (JSON lines in, one {id, incident} per post out)"

# Posts without times are all taken at this instant, so no window ever excludes one.
_TIMELESS = datetime(2000, 1, 1, tzinfo=UTC)
# The preview treats every post as matching the same keyword query.
_PREVIEWED_QUERY = "previewed"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``tvarit incidents``."""
    parser.add_argument("--posts", metavar="FILE", help="JSON lines of posts (default: stdin)")


def run(args: argparse.Namespace) -> int:
    """Print each post's incident; 2 when the input is unusable."""
    import sys

    from chalicelib.errors import MalformedInputError

    label = f"--posts {args.posts}" if args.posts else "<stdin>"
    if args.posts:
        try:
            fh: BinaryIO = open(args.posts, "rb")  # noqa: SIM115 - closed below
        except OSError as err:
            raise MalformedInputError(f"{label}: cannot read: {err.strerror}") from None
    else:
        fh = sys.stdin.buffer
    try:
        for line in group(_lines(fh, label), label):
            sys.stdout.write(line + "\n")
    finally:
        if args.posts:
            fh.close()
    return 0


def group(lines: Iterator[bytes], label: str) -> Iterator[str]:
    """One output line per post, each decided as the posts before it left the index."""
    import json

    from chalicelib.commands import json_lines
    from chalicelib.domain.incidents import IncidentIndex, IncidentProbe, signature
    from chalicelib.errors import MalformedInputError

    index = IncidentIndex()
    opened_by: dict[str, Any] = {}  # incident key -> id of the post that opened it
    line_of: dict[str, int] = {}  # post id -> its line, to name a repeated id
    timed: bool | None = None
    for lineno, value in json_lines(lines, label):
        where = f"{label} line {lineno}"
        post = _post(value, where)
        key = str(post["id"])
        if key in line_of:
            raise MalformedInputError(f"{where}: id {key!r} repeats line {line_of[key]}")
        line_of[key] = lineno
        at = _time(post, where)
        if timed is None:
            timed = at is not None
        elif timed != (at is not None):
            has = "has" if at is not None else "has no"
            raise MalformedInputError(
                f"{where}: {has} created_at, unlike the posts before it (give it to all or none)"
            )
        author = _author(post, where)
        refs = tuple(
            str(r)
            for r in (_opt_id(post, "repost_of", where), _opt_id(post, "quote_of", where))
            if r is not None
        )
        probe = IncidentProbe(
            mention_key=key,
            leader_id=author or "",
            query_ids=(_PREVIEWED_QUERY,),
            signature=signature(post["text"]),
            at=at or _TIMELESS,
            references=refs,
        )
        decision = index.assign(probe)
        opened_by.setdefault(decision.incident_key, post["id"])
        out = {
            "id": post["id"],
            "incident": opened_by[decision.incident_key],
            "reason": decision.reason,
        }
        yield json.dumps(out, ensure_ascii=False)


def _lines(fh: BinaryIO, label: str) -> Iterator[bytes]:
    from chalicelib.errors import MalformedInputError

    try:
        yield from fh
    except OSError as err:
        raise MalformedInputError(f"{label}: cannot read: {err.strerror}") from None


def _is_id(value: object) -> bool:
    return (isinstance(value, str) and value != "") or (
        isinstance(value, int) and not isinstance(value, bool)
    )


def _post(value: object, where: str) -> dict[str, Any]:
    from chalicelib.errors import MalformedInputError

    if not isinstance(value, dict):
        raise MalformedInputError(f"{where}: expected a JSON object with an id and a text")
    if not _is_id(value.get("id")):
        raise MalformedInputError(f"{where}: id: needs a non-empty string or an integer")
    if not isinstance(value.get("text"), str):
        raise MalformedInputError(f"{where}: text: needs a string")
    return value


def _author(post: dict[str, Any], where: str) -> str | None:
    """A name, or an author object (its handle, else its id)."""
    from chalicelib.errors import MalformedInputError

    value = post.get("author")
    if isinstance(value, dict):
        value = value.get("handle") or value.get("id")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedInputError(f"{where}: author: needs a string or an object with a handle")
    return value


def _opt_id(post: dict[str, Any], name: str, where: str) -> str | int | None:
    from chalicelib.errors import MalformedInputError

    value = post.get(name)
    if value is None:
        return None
    if not _is_id(value):
        raise MalformedInputError(f"{where}: {name}: needs the id of a post")
    return value  # type: ignore[no-any-return]


def _time(post: dict[str, Any], where: str) -> datetime | None:
    from chalicelib.errors import MalformedInputError

    raw = post.get("created_at")
    if raw is None:
        return None
    problem = f"{where}: created_at: needs an ISO 8601 time with a zone (2026-01-01T10:00:00Z)"
    if not isinstance(raw, str):
        raise MalformedInputError(problem)
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise MalformedInputError(problem) from None
    if at.tzinfo is None:
        raise MalformedInputError(problem)
    return at
