"""The ``tvarit`` operator command.

Each subcommand lives in ``chalicelib/commands/<name>.py`` with ``help``, ``add_arguments`` and
``run(args) -> int``, imported only when invoked so ``tvarit --help`` stays fast. Outputs of
``langid``, ``match --json`` and ``parse`` are machine-readable interfaces: change them only
compatibly.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS: dict[str, str] = {
    "langid": "detect the language of text lines on stdin (JSON lines out)",
    "match": "preview keyword queries against posts",
    "parse": "print the normalized mentions of a captured platform payload",
    "replay": "replay demo posts into a running stack through the signed webhook",
    "route": "check a route config and preview which teams a mention reaches",
    "token": "mint a bearer token from the local stack's development issuer",
}


def _load(name: str) -> object:
    return importlib.import_module(f"chalicelib.commands.{name}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tvarit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or only == name:
            module = _load(name)
            module.add_arguments(p)  # type: ignore[attr-defined]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(only=chosen if chosen in COMMANDS else "")
    args = parser.parse_args(argv)
    module = _load(args.command)
    try:
        return int(module.run(args))  # type: ignore[attr-defined]
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
