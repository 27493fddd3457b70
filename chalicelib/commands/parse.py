"""``tvarit parse PLATFORM FILE``: print the normalized mentions of a captured payload.

Output (a stable, machine-readable interface; change it only compatibly): one JSON object per
line, per mention, in payload order. Each object is the mentions-queue wire form
(``chalicelib.domain.mention.mention_to_dict``) with ``key`` (``platform#native_id``) first;
strings are UTF-8, not escaped. Exit status (the rule of every command, see
``chalicelib.commands``): 0 when the payload parsed (possibly into zero mentions), 2 with
``tvarit parse: <platform>: <file>: <where>: <what>`` on stderr when it did not or could not
be read, and on a usage error. A stream capture whose last line was cut off still parses; the
cut line is reported on stderr as a warning.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable

from chalicelib.domain.platforms import BY_NAME as PLATFORMS_BY_NAME
from chalicelib.domain.platforms import PLATFORMS

help = "print the normalized mentions of a captured platform payload"

# "module:function" per platform, from the platform descriptors.
PARSERS: dict[str, str] = {p.name: f"{p.adapter}:{p.parser}" for p in PLATFORMS if p.parser}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register PLATFORM and FILE."""
    parser.add_argument(
        "platform",
        choices=sorted(PARSERS),
        metavar="PLATFORM",
        help="one of: " + ", ".join(sorted(PARSERS)),
    )
    parser.add_argument("file", metavar="FILE", help="captured payload; - reads stdin")


def parser_for(platform: str) -> Callable[[bytes], list[object]]:
    """The parse function of a platform."""
    module_name, _, func = PARSERS[platform].partition(":")
    return getattr(importlib.import_module(module_name), func)  # type: ignore[no-any-return]


def run(args: argparse.Namespace) -> int:
    """Parse the file and print one JSON line per mention."""
    from chalicelib.commands import EXIT_OK, EXIT_USAGE
    from chalicelib.domain.mention import Mention, mention_to_dict
    from chalicelib.errors import ParseError

    name = "<stdin>" if args.file == "-" else args.file
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else _read(args.file)
    except OSError as err:
        message = f"tvarit parse: {args.platform}: {name}: cannot read: {err.strerror}"
        print(message, file=sys.stderr)
        return EXIT_USAGE
    try:
        mentions = parser_for(args.platform)(raw)
        tail = _truncated_tail(args.platform, raw)
    except ParseError as err:
        print(f"tvarit parse: {args.platform}: {name}: {err.detail}", file=sys.stderr)
        return EXIT_USAGE
    out = sys.stdout
    for m in mentions:
        assert isinstance(m, Mention)
        line = {"key": m.key, **mention_to_dict(m)}
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    out.flush()
    if tail:
        print(
            f"tvarit parse: {args.platform}: {name}: warning: last line cut off mid-message "
            f"({len(tail)} characters ignored)",
            file=sys.stderr,
        )
    return EXIT_OK


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _truncated_tail(platform: str, raw: bytes) -> str:
    # A platform whose captures are streams says how to find a cut-off last line.
    p = PLATFORMS_BY_NAME[platform]
    if not p.stream_tail:
        return ""
    module = importlib.import_module(p.adapter)
    tail: str = getattr(module, p.stream_tail)(raw)
    return tail
