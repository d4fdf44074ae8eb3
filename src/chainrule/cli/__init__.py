"""The ``chainrule`` command line: a thin face over the library.

Each subcommand lives in its own module exposing ``register(subparsers)``, which adds its parser
and sets ``func`` (taking the parsed ``argparse.Namespace`` and returning an exit code).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__

SUBCOMMANDS: tuple[str, ...] = ("train", "gradcheck")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
