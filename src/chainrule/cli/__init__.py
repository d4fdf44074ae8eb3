"""The ``chainrule`` command line: a thin face over the library.

Each subcommand lives in its own module exposing ``register(subparsers)``, which adds its parser
and sets ``func`` (taking the parsed ``argparse.Namespace`` and returning an exit code).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .. import __version__

SUBCOMMANDS: tuple[str, ...] = ("train", "predict", "evaluate", "gradcheck", "grade")


class UsageError(Exception):
    """A command line that does not parse; carries the parser that rejected it."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    # Raise instead of exiting so that main() can also answer ``--json`` callers in JSON.
    def error(self, message: str):
        raise UsageError(self, message)


def build_parser() -> argparse.ArgumentParser:
    """The ``chainrule`` parser with every subcommand of ``SUBCOMMANDS`` registered."""
    parser = _Parser(
        prog="chainrule",
        description="Neural networks from first principles on NumPy, with every gradient verified.",
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    from importlib import import_module

    for name in SUBCOMMANDS:
        import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chainrule`` console script and ``python -m chainrule``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        exc.parser.print_usage(sys.stderr)
        print(f"{exc.parser.prog}: error: {exc}", file=sys.stderr)
        if "--json" in argv:
            print(json.dumps({"ok": False, "error": f"invalid command line: {exc}"}))
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
