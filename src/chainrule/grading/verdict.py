"""What ``check_backward`` reports: a verdict per layer step, the whole check, hints in course names.

``StepVerdict`` is one step (layer l's linear or activation step) checked alone; ``BackwardCheck``
the whole result, printed as the course's learner reads it. ``_course_hint`` rewrites a core hint
(row layout: x, dout, dx) in the course's names and column layout (A_prev, dZ, dA_prev; Z, dA,
dZ), and ``_mark_inplace`` fails a step whose function wrote into its arguments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..gradcheck.report import GradientReport, LayerResult
from .learner import Mutation

_DERIVATIVES = ("sigmoid", "tanh", "relu", "leaky_relu", "identity")


@dataclass
class StepVerdict:
    """One step of one course layer: ``layer`` l (1-based), ``step`` "linear" or the activation name."""

    layer: int
    step: str
    function: str
    passed: bool
    pattern: str | None = None
    derivative: str | None = None
    hint: str = ""
    #: what ran this step, as printed: "your relu_backward (my_relu)", "chainrule's relu_backward"
    label: str = ""
    #: "correct", "wrong" or "undecided" (the numbers cannot tell: e.g. every element on a kink);
    #: by default "correct" when ``passed``, else "wrong"
    outcome: str = ""

    def __post_init__(self) -> None:
        if not self.outcome:
            self.outcome = "correct" if self.passed else "wrong"

    @property
    def summary(self) -> str:
        """One line: what is wrong with this step ("" when it passed)."""
        if self.passed:
            return ""
        if self.outcome == "undecided":
            return f"undecided: {self.hint}"
        if self.pattern == "inplace":
            arguments = re.findall(r"modified its argument (.+?) in place", self.hint)
            return f"modified {' and '.join(arguments)} in place"
        if self.pattern == "activation" and self.derivative in _DERIVATIVES:
            return f"dZ uses the derivative of {self.derivative} where layer {self.layer} is {self.step}"
        if self.pattern == "activation":
            return self.hint
        if self.pattern in ("error", "non-finite"):
            return re.sub(r"^[A-Za-z]+: (your [a-z_]+ )?", "", self.hint).split(", from finite")[0]
        return f"{self.pattern}: {self.hint}"

    def headline(self) -> str:
        """The step in one line: "layer 1 relu step, your relu_backward: modified dA in place"."""
        return f"layer {self.layer} {self.step} step, {self.label or self.function}: {self.summary}"

    def describe(self) -> str:
        what = f"layer {self.layer} {self.step:<8} ({self.label or self.function})"
        if self.passed:
            return f"{what}: ok"
        if self.outcome == "undecided":
            return f"{what}: {self.summary}"
        if self.pattern == "activation" and self.derivative in _DERIVATIVES:
            return (f"{what}: FAIL, pattern 'activation': dZ uses the derivative of {self.derivative} "
                    f"where layer {self.layer} is {self.step}")
        return f"{what}: FAIL, pattern {self.pattern!r}: {self.hint}"

    def to_dict(self) -> dict:
        return {"layer": self.layer, "step": self.step, "function": self.function, "label": self.label,
                "passed": self.passed, "pattern": self.pattern, "derivative": self.derivative,
                "hint": self.hint}


@dataclass
class BackwardCheck:
    """What ``check_backward`` found. ``difference`` is the course's relative difference over all
    W/b of the learner's gradients; ``failed`` the wrong parameters (course names); ``steps`` one
    verdict per layer step; ``blame`` the first wrong step in forward order (None if all pass).
    ``parameters`` and ``model`` are the underlying chainrule ``GradientReport``s. ``mutations``: the
    arguments your functions wrote into; ``wrong_dA``: the dA<l> of your ``L_model_backward`` that
    differ from the course's (key -> how), which the course's grader checks and the gradients do not
    show."""

    passed: bool
    difference: float
    failed: list[str]
    steps: list[StepVerdict]
    parameters: GradientReport | None
    model: GradientReport
    blame: StepVerdict | None = field(default=None)
    error: str | None = None
    mutations: list[Mutation] = field(default_factory=list)
    wrong_dA: dict[str, str] = field(default_factory=dict)

    @property
    def wrong_layers(self) -> list[int]:
        return sorted({s.layer for s in self.steps if not s.passed})

    @property
    def outcome(self) -> str:
        """"correct" (``passed``), "wrong" (a wrong step, gradient, dA, return or in-place write) or
        "undecided" (nothing found wrong, but some step or gradient the numbers cannot tell)."""
        if self.passed:
            return "correct"
        if self.error or self.mutations or self.wrong_dA or any(s.outcome == "wrong" for s in self.steps):
            return "wrong"
        whole = getattr(self.parameters, "outcome", None) if self.parameters is not None else None
        if whole == "wrong" or (whole is None and self.failed):
            return "wrong"
        return "undecided"

    @property
    def verdict(self) -> str:
        """The first line of the report: passed, or the first wrong step and what is wrong with it."""
        if self.passed:
            return f"backward check passed: difference = {self.difference:.10g}"
        if self.outcome == "undecided":
            first = next((s for s in self.steps if s.outcome == "undecided"), None)
            what = first.headline() if first is not None else \
                "some gradients are lost in the numerical noise (see below)"
            return f"backward check undecided: nothing found wrong, but {what}"
        if self.blame is not None:
            return f"backward check FAILED: {self.blame.headline()}"
        if self.failed and self.parameters is not None:
            first = self.parameters.parameters[self.failed[0]]
            return (f"backward check FAILED: every step passes alone but d{first.name} is wrong (pattern "
                    f"{first.pattern!r}: {first.hint.split(':')[0]}): the bug is in what joins the steps "
                    "(dAL, the loop of L_model_backward, or a linear_backward your "
                    "linear_activation_backward calls)")
        if self.wrong_dA:
            key, how = next(iter(self.wrong_dA.items()))
            return f"backward check FAILED: your L_model_backward's grads['{key}'] {how.split(';')[0]}"
        if self.mutations:
            return f"backward check FAILED: {self.mutations[0].describe().split(':')[0]}"
        if self.error:
            return f"backward check FAILED: {self.error.split(': the backward')[0]}"
        return ("backward check FAILED: every step passes alone, so what joins them is wrong (dAL, the "
                "loop of L_model_backward, or a linear_backward your linear_activation_backward calls)")

    def __repr__(self) -> str:
        return f"<BackwardCheck {self.verdict}>"

    def _repr_html_(self) -> str:
        import html

        from ..gradcheck.render_html import _BOX, _GREEN, _RED

        colour = _GREEN if self.passed else _RED
        head, _, rest = str(self).partition("\n")
        return (f'<div style="{_BOX}"><b style="color:{colour}">{html.escape(head)}</b>'
                f'<pre style="color:inherit;background:transparent">{html.escape(rest)}</pre></div>')

    def __str__(self) -> str:
        lines = [self.verdict,
                 f"  difference = {self.difference:.10g}"
                 + (f"; wrong gradients: {', '.join('d' + k for k in self.failed)}" if self.failed else "")]
        if self.passed:
            lines = lines[:1]
        if self.error:
            lines.append(f"  {self.error}")
        if self.parameters is not None:
            lines += [f"  d{name}: {p.pattern or 'unresolved'}: {p.hint}"
                      for name, p in self.parameters.parameters.items() if not (p.passed and p.resolved)]
        lines += [f"  grads['{key}'] {how}" for key, how in self.wrong_dA.items()]
        shown = {(s.layer, s.step) for s in self.steps if s.pattern == "inplace"}
        lines += ["  " + m.describe() for m in self.mutations if (m.layer, m.step) not in shown]
        lines.append("each step checked alone:")
        lines += ["  " + s.describe() for s in self.steps]
        if self.blame is not None:
            b = self.blame
            lines.append(f"first wrong step: layer {b.layer} {b.step} in {b.label or b.function}")
        elif self.failed or self.error:
            lines.append("every step passes on its own: the bug is in what joins them (dAL, the loop of "
                         "L_model_backward, or a linear_backward of your own that your "
                         "linear_activation_backward calls; pass it as linear_backward= to check it too)")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        difference = self.difference if np.isfinite(self.difference) else None
        return {"passed": self.passed, "outcome": self.outcome, "difference": difference,
                "failed": list(self.failed),
                "error": self.error,
                "parameters": None if self.parameters is None else self.parameters.to_dict(),
                "steps": [s.to_dict() for s in self.steps],
                "blame": None if self.blame is None else self.blame.to_dict(),
                "mutations": [m.to_dict() for m in self.mutations], "wrong_dA": dict(self.wrong_dA)}


# The layer protocol's names of a step's gradients in the course's terms: the linear step's input
# gradient is dA_prev (its input A_prev), the activation step's is dZ (its input Z).
_COURSE_NAMES = {"linear": {"x": "dA_prev", "W": "dW", "b": "db"}, "activation": {"x": "dZ"}}
# The symbols of the core's hints (x the input, y the output, dout the upstream gradient, dx the
# input gradient) in the course's: Z, A, dA, dZ at the activation step; A_prev, dZ, dA_prev at the linear.
_SYMBOLS = {"activation": {"dx": "dZ", "dout": "dA", "x": "Z", "y": "A"},
            "linear": {"dx": "dA_prev", "dout": "dZ", "x": "A_prev"}}
_SYMBOL = re.compile(r"(?<![A-Za-z0-9_.])(dx|dout|x|y)(?![A-Za-z0-9_])")


def _in_course_terms(hint: str, kind: str, ndim: int) -> str:
    """A row-layout hint for one gradient in the course's names and layout, where every 2-D array
    is the transpose (rows are columns, index (i, j) is (j, i)) and b is a column ((i,) is (i, 0))."""
    hint = hint.replace("x.T @ dout vs dout.T @ x", "np.dot(dZ, A_prev.T) vs np.dot(A_prev, dZ.T)")
    hint = hint.replace("the input x", "x").replace("where the input is ", "where x ")
    symbols = _SYMBOLS[kind]

    def rename(m: re.Match) -> str:
        times = m.group(1) == "x" and re.search(r"\d $", hint[:m.start()])  # "2 x numerical"
        return m.group(1) if times else symbols.get(m.group(1), m.group(1))

    hint = _SYMBOL.sub(rename, hint)
    if ndim == 2:
        hint = re.sub(r"\((\d+), (\d+)\)", r"(\2, \1)", hint)
        return re.sub(r"\b(row|column)\b", lambda m: "column" if m.group(1) == "row" else "row", hint)
    return re.sub(r"\((\d+),\)", r"(\1, 0)", hint)


def _course_hint(result: LayerResult, kind: str) -> str:
    """A step's hint in the course's names: "dA_prev: analytic = 2 x numerical ..." (also naming the
    step's other wrong gradients)."""
    if result.error:
        return result.error
    bad = [p for p in result.parameters.values() if not p.passed]
    if not bad:
        return ""
    names = _COURSE_NAMES[kind]
    first = bad[0]
    text = f"{names.get(first.name, first.name)}: {_in_course_terms(first.hint, kind, len(first.shape))}"
    if len(bad) > 1:
        text += f" (also wrong: {', '.join(names.get(p.name, p.name) for p in bad[1:])})"
    return text


# Whole-network patterns a wrong activation step produces in the parameters it reaches: relu's 1
# where sigmoid's is 1/4 reads "scaled x4" near Z = 0, relu's 0 reads "zero" where every Z <= 0.
_CONSEQUENCES = ("scaled", "zero", "sign", "mismatch")


def _explain_by_steps(whole: GradientReport, steps: list[StepVerdict]) -> None:
    """A wrong parameter W<k>/b<k> of the whole network whose every wrong step upstream (layers >= k,
    which its gradient passes through) applies another derivative is that derivative's doing: name
    the step nearest the output (the first the gradient meets) instead of the factor it produces."""
    for name, p in whole.parameters.items():
        if p.passed or p.pattern not in _CONSEQUENCES or not name[1:].isdigit():
            continue
        upstream = [s for s in steps if s.outcome == "wrong" and s.layer >= int(name[1:])]
        if upstream and all(s.pattern == "activation" for s in upstream):
            step = max(upstream, key=lambda s: (s.layer, s.step != "linear"))
            p.pattern, p.factor, p.detail = "activation", None, step.derivative
            p.hint = (f"a consequence of layer {step.layer}'s {step.step} step, the first wrong one on the "
                      f"way back: {step.summary}")


def _mark_inplace(steps: list[StepVerdict], found: list[Mutation]) -> None:
    """A step whose function wrote into an argument fails with pattern "inplace" (when its gradients
    alone passed: the mutation is then the only thing wrong with it)."""
    for s in steps:
        mine = [m for m in found if (m.layer, m.step) == (s.layer, s.step)]
        if mine and s.outcome != "wrong":
            s.passed, s.outcome, s.pattern, s.function = False, "wrong", "inplace", mine[0].function
            s.hint = "; ".join(f"modified its argument {m.argument} in place: {m.fix}" for m in mine)
