"""Grading learners' code: the one engine behind ``dlai.check_backward`` and ``chainrule grade``.

``check_backward`` runs a learner's own backward functions of the course's network step by step
and says which step of which layer is wrong and how (``diagnose``, ``verdict``), calling each
function on copies of its arguments and checking what it returns (``learner``); the learner's
functions become chainrule layers for the per-step check in ``learner_layers``. ``chainrule grade``
(``notebook``, ``runner``, ``assignments``) extracts a learner's functions from a notebook or a
module, runs them in a separate, limited process and grades each course function with the same
checks.
"""

from .diagnose import assert_backward, check_backward
from .learner import Mutation
from .verdict import BackwardCheck, StepVerdict

__all__ = ["BackwardCheck", "Mutation", "StepVerdict", "assert_backward", "check_backward"]
