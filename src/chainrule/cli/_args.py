"""Argument types and option groups shared by the subcommands, so each is defined once."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

HIDDEN_ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid")


def checked(convert: Callable[[str], float], ok: Callable[[float], bool],
            expected: str) -> Callable[[str], float]:
    """An argparse ``type`` that converts the text and rejects values outside ``ok`` with a message
    naming what was expected and what was given."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value

    parse.__name__ = expected
    return parse


positive_int = checked(int, lambda v: v > 0, "a positive integer")
seed = checked(int, lambda v: v >= 0, "a non-negative integer")
positive_float = checked(float, lambda v: math.isfinite(v) and v > 0, "a finite positive number")
nonneg_float = checked(float, lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")
open_unit = checked(float, lambda v: 0 < v < 1, "a number in (0, 1)")
half_open_unit = checked(float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def output_dir(text: str) -> Path:
    """An argparse ``type`` for an output folder: any non-empty path ('' would silently mean the
    current directory)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a folder path, got {text!r} (write . for the current "
                                         "folder)")
    if "\0" in text:
        raise argparse.ArgumentTypeError(f"expected a folder path, got {text!r} with a NUL character")
    return Path(text)


def add_mlp_arguments(group: argparse._ActionsContainer, *, hidden: list[int]) -> None:
    """--hidden and --activation, as every subcommand that builds an MLP spells them."""
    shown = " ".join(map(str, hidden))
    group.add_argument("--hidden", type=positive_int, nargs="+", default=hidden, metavar="SIZE",
                       help=f"hidden layer sizes, e.g. --hidden 128 64 (default: {shown})")
    group.add_argument("--activation", choices=HIDDEN_ACTIVATIONS, default="relu",
                       help="activation after each hidden layer (default: %(default)s)")
