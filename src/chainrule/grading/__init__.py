"""Grading learners' code: the one engine behind ``dlai.check_backward`` and ``chainrule grade``.

``check_backward`` runs a learner's own backward functions of the course's network step by step
and says which step of which layer is wrong and how (``diagnose``, ``verdict``; an activation
step's derivative is read off the function itself in ``probe``), calling each function on copies
of its arguments and checking what it returns (``learner``); the learner's functions become
chainrule layers for the per-step check in ``learner_layers``.

``grade`` (``chainrule grade``, in ``grader``) extracts a learner's definitions from a notebook or a module
(``source``), runs them in a separate, limited process (``worker``) and checks each course
function of an assignment (``assignments``), comparing what it returns with ``chainrule.dlai``
(``compare``) and running the backward functions through ``check_backward``.
"""

from .diagnose import assert_backward, check_backward
from .learner import Mutation
from .verdict import BackwardCheck, StepVerdict

__all__ = ["BackwardCheck", "FunctionGrade", "GradeReport", "Mutation", "StepVerdict", "assert_backward",
           "check_backward", "grade"]


def __getattr__(name: str):
    # grade imports the course's reference (chainrule.dlai), which imports this package: load it late
    if name in ("grade", "GradeReport", "FunctionGrade"):
        from . import grader as module

        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
