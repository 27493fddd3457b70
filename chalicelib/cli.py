"""The ``tvarit`` operator command.

Each subcommand lives in ``chalicelib/commands/<name>.py`` with ``help``, ``add_arguments`` and
``run(args) -> int``, imported only when invoked so ``tvarit --help`` stays fast. Outputs of
``incidents``, ``langid``, ``match --json`` and ``parse`` are machine-readable interfaces: change
them only compatibly. Exit statuses follow one rule (``chalicelib.commands.EXIT_STATUS_HELP``);
trouble is reported as ``tvarit <cmd>: <what>`` on stderr, never as a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from chalicelib.commands import EXIT_FAILED, EXIT_OK, EXIT_STATUS_HELP, exit_status
from chalicelib.errors import TvaritError

COMMANDS: dict[str, str] = {
    "incidents": "group posts into incidents (JSON lines in, one {id, incident} per post out)",
    "langid": "detect the language of text lines on stdin (JSON lines out)",
    "match": "preview keyword queries against posts",
    "parse": "print the normalized mentions of a captured platform payload",
    "replay": "replay demo posts into a running stack through the signed webhook",
    "route": "check a route config and preview which teams a mention reaches",
    "token": "mint a bearer token from the local stack's development issuer",
}
ENV_DEBUG = "TVARIT_DEBUG"  # set to show the traceback of an unexpected error (a bug)
EPILOG = f"{EXIT_STATUS_HELP}\n\nSet {ENV_DEBUG}=1 to see the traceback of an unexpected error."


class _Version(argparse.Action):
    """``--version``: read the installed package's metadata only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("tvarit")
        except PackageNotFoundError:  # run from a checkout that was never installed
            found = "(not installed)"
        print(f"tvarit {found}")
        parser.exit()


def _load(name: str) -> object:
    return importlib.import_module(f"chalicelib.commands.{name}")


def build_parser(
    only: str | None = None,
) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser and each command's own; only ``only``'s options are loaded (None: all)."""
    parser = argparse.ArgumentParser(
        prog="tvarit",
        description=(__doc__ or "").splitlines()[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    subparsers: dict[str, argparse.ArgumentParser] = {}
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EXIT_STATUS_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        subparsers[name] = p
        if only is None or only == name:
            module = _load(name)
            module.add_arguments(p)  # type: ignore[attr-defined]
    return parser, subparsers


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status, also for usage errors and ``--help``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser, subparsers = build_parser(only=chosen if chosen in COMMANDS else "")
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # reported by the command's own parser, so as `tvarit <cmd>: error: ...`
            subparsers[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as done:  # argparse: usage errors (2), --help and --version (0)
        return done.code if isinstance(done.code, int) else EXIT_OK
    module = _load(args.command)
    try:
        return int(module.run(args))  # type: ignore[attr-defined]
    except TvaritError as err:
        _report(args.command, err)
        return exit_status(err)
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python's final flush quiet too.
        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if os.environ.get(ENV_DEBUG):
            raise
        print(
            f"tvarit {args.command}: unexpected error ({type(exc).__name__}: {exc}); "
            f"please report it, {ENV_DEBUG}=1 shows where",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _silence_stdout() -> None:
    with contextlib.suppress(OSError, ValueError):  # stdout is not a file (captured in a test)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _report(command: str, err: TvaritError) -> None:
    if not err.problems:
        print(f"tvarit {command}: {err.detail}", file=sys.stderr)
    for p in err.problems:
        where = f"{p.loc}: " if p.loc else ""
        print(f"tvarit {command}: {err.detail}: {where}{p.msg}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
