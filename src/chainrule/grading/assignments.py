"""The course assignments ``chainrule grade`` knows, and the functions it checks in each.

One module per assignment (``step_by_step``, ``gradient_checking``) lists its ``Function``s, each
with its check; what the checks share is in ``checks`` and ``compare``.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import dlai as R
from . import gradient_checking, step_by_step
from .checks import Context, Function

__all__ = ["ASSIGNMENTS", "Context", "Function", "references"]

ASSIGNMENTS: dict[str, list[Function]] = {
    "step-by-step": step_by_step.FUNCTIONS,
    "gradient-checking": gradient_checking.FUNCTIONS,
}


def references(assignment: str) -> dict[str, Callable]:
    """Every course function of ``assignment`` (and the helpers its notebook imports), chainrule's."""
    out = {f.name: getattr(R, f.name) for f in ASSIGNMENTS[assignment]}
    if assignment == "gradient-checking":
        out.update(gradient_checking.HELPERS)
    return out
