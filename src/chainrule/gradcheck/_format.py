"""How a gradient report writes its numbers and shapes, shared by the report and its faces.

``_fmt`` and ``_shape`` are for people (no "-0", NaN as "—", "(3,)" for a 1-d shape); ``_num`` and
``_nested`` are for JSON (NaN and inf become None).
"""

from __future__ import annotations

import math

import numpy as np


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None:
        return ""
    if not math.isfinite(x):
        return "—"
    return "0" if x == 0 else f"{x:.{digits}g}"  # never "-0"


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _num(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _nested(a: np.ndarray):
    return [_nested(row) for row in a] if a.ndim else _num(a)
