"""The result of a gradient check: what was checked, what failed, and what to say about it.

The data classes hold the findings and write them as words (``summary``, ``headline``) and as a
JSON-able dict (``to_dict``). Their two other faces live beside them: rich tables and ``str()`` in
``render_text``, notebook HTML in ``render_html``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._format import _fmt, _nested, _num
from .judge import COMPLEX_WITNESS
from .render_html import layer_html, report_html
from .render_text import layer_rich, render, report_rich


@dataclass
class WorstElement:
    """One of the elements with the largest |analytic - numerical|; ``index`` is into the array."""

    index: tuple[int, ...]
    analytic: float
    numerical: float
    error: float
    autodiff: float | None = None


@dataclass
class ParameterResult:
    """The check of one gradient (a parameter's, or a layer's input gradient ``"x"``).

    ``difference`` = ||a - n|| / (||a|| + ||n||) over the checked elements that are not kinks
    (0 when both are 0). ``pattern``/``factor``/``hint`` name the bug when ``passed`` is False.
    ``analytic`` is the gradient as given; ``numerical`` the estimate (NaN where not sampled;
    ``None`` for the directional method); ``autodiff`` the third witness when requested.
    ``outcome`` is "correct", "wrong" or "undecided" (the numbers cannot tell: ``hint`` says why and
    what would decide it); ``passed`` is True only for "correct", ``resolved`` False only for
    "undecided". ``noise`` is the error bar of each numerical element and ``eps`` the step the
    verdict rests on (a re-check may have used another: ``witness`` says which check decided).
    ``central`` is the central-difference estimate itself (the course's ``gradapprox``) when another
    witness, the complex step, supplied ``numerical``; otherwise None (it is ``numerical``).
    """

    name: str
    shape: tuple[int, ...]
    outcome: str
    difference: float
    pattern: str | None = None
    factor: float | None = None
    hint: str = ""
    detail: str | None = None
    worst: list[WorstElement] = field(default_factory=list)
    analytic: np.ndarray | None = None
    numerical: np.ndarray | None = None
    checked: int = 0
    kinks: int = 0
    autodiff: np.ndarray | None = None
    autodiff_difference: float | None = None
    threshold: float | None = None
    noise: np.ndarray | None = None
    eps: float | None = None
    witness: str = ""
    central: np.ndarray | None = None

    @property
    def passed(self) -> bool:
        """True only when the gradient is decided correct."""
        return self.outcome == "correct"

    @property
    def resolved(self) -> bool:
        """False when the check could not decide (``outcome == "undecided"``)."""
        return self.outcome != "undecided"

    @property
    def status(self) -> str:
        """One word shared by every face of the report: "FAIL" (wrong); "unchecked" (undecided: no
        element could be checked, every one sat on a kink); "undecided" (the numbers cannot tell);
        "ok (noise)" (correct, above the threshold but every element within its measured error bar);
        "ok (complex)" (correct by the complex step, where finite differences could not tell); "ok"."""
        if self.outcome == "wrong":
            return "FAIL"
        if self.outcome == "undecided":
            return "unchecked" if self.checked == 0 else "undecided"
        if self.witness.startswith(COMPLEX_WITNESS):
            return "ok (complex)"
        noisy = self.threshold is not None and self.difference > self.threshold
        return "ok (noise)" if noisy else "ok"

    def to_dict(self, arrays: bool = False) -> dict:
        d = {
            "name": self.name, "shape": list(self.shape), "outcome": self.outcome, "passed": self.passed,
            "status": self.status, "eps": _num(self.eps), "witness": self.witness or None,
            "difference": _num(self.difference), "pattern": self.pattern, "factor": _num(self.factor),
            "hint": self.hint, "detail": self.detail, "checked": self.checked, "kinks": self.kinks,
            "resolved": self.resolved, "autodiff_difference": _num(self.autodiff_difference),
            "worst": [{"index": list(w.index), "analytic": _num(w.analytic), "numerical": _num(w.numerical),
                       "error": _num(w.error), "autodiff": _num(w.autodiff)} for w in self.worst],
        }
        if arrays:
            for key in ("analytic", "numerical", "autodiff"):
                value = getattr(self, key)
                d[key] = None if value is None else _nested(value)
        return d


@dataclass
class LayerResult:
    """One layer's backward checked in isolation (its input ``"x"`` and its own parameters), or the
    loss's (``index == "loss"``, entry ``"logits"``). ``index`` is None for a layer checked on its
    own by ``check_layer`` (not part of a model)."""

    index: int | str | None
    name: str
    outcome: str
    difference: float
    parameters: dict[str, ParameterResult] = field(default_factory=dict)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.outcome == "correct"

    def _first_failure(self) -> ParameterResult | None:
        """The first wrong result, else the first undecided one."""
        return next((p for p in self.parameters.values() if p.outcome == "wrong"),
                    next((p for p in self.parameters.values() if not p.passed), None))

    @property
    def pattern(self) -> str | None:
        if self.error:
            return "error"
        bad = self._first_failure()
        return bad.pattern if bad else None

    @property
    def hint(self) -> str:
        if self.error:
            return self.error
        bad = self._first_failure()
        return f"{bad.name}: {bad.hint}" if bad else ""

    @property
    def kinks(self) -> int:
        return sum(p.kinks for p in self.parameters.values())

    @property
    def status(self) -> str:
        if self.outcome == "wrong":
            return "FAIL"
        if self.outcome == "undecided":
            unchecked = self.parameters and all(p.status == "unchecked" for p in self.parameters.values()
                                                if not p.passed)
            return "unchecked" if unchecked else "undecided"
        return "ok"

    @property
    def title(self) -> str:
        """"layer 2 (ReLU)", "the loss (MSELoss)", or "ReLU" for a layer checked on its own."""
        if self.index is None:
            return self.name
        return f"{'the loss' if self.index == 'loss' else f'layer {self.index}'} ({self.name})"

    def headline(self) -> str:
        """One line: what failed and how (the first line of ``assert_gradients``' error)."""
        if self.passed:
            return f"gradient check passed: {self.title}"
        if self.outcome == "undecided":
            return f"gradient check undecided: {self.title} backward: " + "; ".join(
                f"{p.name} undecided ({p.hint})" for p in self.parameters.values() if not p.resolved)
        if self.error:
            return f"gradient check failed: {self.title}'s backward raised ({self.error})"
        bad = [_short(p) for p in self.parameters.values() if not p.passed]
        return f"gradient check failed: {self.title} backward: {'; '.join(bad)}"

    def _summary(self) -> str:
        """The verdict line both faces open with."""
        verdict = _VERDICT[self.outcome]
        what = f"{self.title}'s backward checked" if self.index is None else f"{self.title} checked alone"
        return f"{what}: {verdict}, difference = {_fmt(self.difference, 10)}"

    def __rich__(self):
        return layer_rich(self)

    def __str__(self) -> str:
        return render(self)

    def _repr_html_(self) -> str:
        return layer_html(self)

    def to_dict(self, arrays: bool = False) -> dict:
        return {"index": self.index, "name": self.name, "outcome": self.outcome, "passed": self.passed,
                "status": self.status,
                "difference": _num(self.difference), "pattern": self.pattern, "hint": self.hint,
                "error": self.error, "kinks": self.kinks,
                "parameters": {k: p.to_dict(arrays) for k, p in self.parameters.items()}}


@dataclass
class GradientReport:
    """Everything a gradient check found. ``outcome`` is "wrong" when anything checked is wrong,
    else "undecided" when anything could not be decided, else "correct"; ``passed`` is True only for
    "correct". ``failed`` lists the wrong parameter names and ``undecided`` (alias ``unresolved``)
    those the numbers could not decide, each with a hint saying why and what would decide it;
    ``blame`` is the index of the first layer whose own backward is wrong, ``"loss"`` when only the
    loss's backward is, else None.

    ``difference`` is formula 2 over every checked element of every parameter. It is NaN (JSON
    null, printed "—") when it would mislead: when a gradient has the wrong shape (its elements
    cannot be compared, and a difference over the others alone would look like a pass), when the
    backward raised, or when no element could be checked. A report with a NaN difference never
    passes; the summary says why it is missing."""

    outcome: str
    difference: float
    parameters: dict[str, ParameterResult]
    method: str
    eps: float
    threshold: float
    layers: list[LayerResult] | None = None
    loss: LayerResult | None = None
    blame: int | str | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    sample: int | None = None  # elements checked per parameter, when only a random sample was

    @property
    def passed(self) -> bool:
        """True only when everything checked is decided correct."""
        return self.outcome == "correct"

    @property
    def failed(self) -> list[str]:
        """The parameters whose gradient is wrong."""
        return [name for name, p in self.parameters.items() if p.outcome == "wrong"]

    @property
    def undecided(self) -> list[str]:
        """Parameters the check could not decide: their gradient is lost in the numerical noise, or
        every element sat on a kink (status "unchecked"); each one's hint says why."""
        return [name for name, p in self.parameters.items() if p.outcome == "undecided"]

    @property
    def unresolved(self) -> list[str]:
        """Alias of ``undecided`` (the name of earlier versions)."""
        return self.undecided

    @property
    def kinks(self) -> int:
        return sum(p.kinks for p in self.parameters.values())

    def to_dict(self, arrays: bool = False) -> dict:
        """A JSON-able dict (NaN and inf become None). ``arrays=True`` adds the full gradients."""
        return {
            "outcome": self.outcome, "passed": self.passed, "difference": _num(self.difference),
            "failed": self.failed, "undecided": self.undecided, "unresolved": self.unresolved,
            "method": self.method, "eps": self.eps,
            "threshold": self.threshold, "kinks": self.kinks,
            "blame": self.blame, "notes": list(self.notes), "error": self.error, "sample": self.sample,
            "parameters": {k: p.to_dict(arrays) for k, p in self.parameters.items()},
            "layers": None if self.layers is None else [lr.to_dict(arrays) for lr in self.layers],
            "loss": None if self.loss is None else self.loss.to_dict(arrays),
        }

    def _missing_difference(self) -> str:
        """Why ``difference`` is NaN."""
        shapes = [n for n, p in self.parameters.items()
                  if p.analytic is not None and p.analytic.shape != p.shape]
        if shapes:
            return (f"not computed: the gradient of {', '.join(shapes)} has the wrong shape, so the "
                    "parameters cannot be compared as a whole")
        if self.error:
            return "not computed: the backward failed"
        bad = [n for n, p in self.parameters.items() if p.pattern == "non-finite"]
        if bad:
            return f"not computed: the gradient of {', '.join(bad)} has NaN or inf elements"
        return "nothing was checked: every element sat on a kink"

    def summary(self) -> str:
        verdict = _VERDICT[self.outcome]
        diff = _fmt(self.difference, 10)
        if not math.isfinite(self.difference):
            diff += f" ({self._missing_difference()})"
        text = (f"gradient check {verdict}: difference = {diff} "
                f"(threshold {self.threshold:g}, method {self.method}, eps {self.eps:g})")
        if self._sampled():
            text += f"; {self._sampled()}"
        if self.failed:
            text += f"; failing: {', '.join(self.failed)}"
        unchecked = [n for n, p in self.parameters.items() if p.status == "unchecked"]
        noise = [n for n, p in self.parameters.items() if p.status == "undecided"]
        if unchecked:
            text += f"; not checked at all (every element on a kink): {', '.join(unchecked)}"
        if noise:
            text += f"; undecided (the numbers cannot tell): {', '.join(noise)}"
        if self.kinks:
            text += f"; {self.kinks} element(s) not checkable (on a kink)"
        return text

    def headline(self) -> str:
        """One line: what failed, how, and whom to blame (the first line of ``assert_gradients``'
        error), e.g. "gradient check failed: 0.W scaled x1/8 (extra 1/m?), blame layer 0 (Linear)"."""
        if self.passed:
            return "gradient check passed" + (f" ({self._sampled()})" if self._sampled() else "")
        if self.outcome == "undecided":
            undecided = [(p.name, p) for p in self.parameters.values() if p.outcome == "undecided"]
            undecided += [(f"{p.name} in {lr.title}", p) for lr in self._layer_rows()
                          for p in lr.parameters.values() if p.outcome == "undecided"]
            return "gradient check undecided: " + "; ".join(f"{name}: {p.hint}" for name, p in undecided[:3])
        bad = [_short(p) for p in self.parameters.values() if not p.passed and p.resolved]
        if not bad and self.error:
            bad = [self.error]
        if not bad:  # every parameter is right, yet a layer's own check failed (e.g. "inplace")
            bad = [f"{p.name} in {lr.title} {p.pattern or 'failed'}" for lr in self._layer_rows()
                   for p in lr.parameters.values() if p.outcome == "wrong"] or [lr.error or "" for lr in
                                                                        self._layer_rows() if lr.error]
        if not bad and not math.isfinite(self.difference):
            bad = [self._missing_difference()]
        listed = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        if self.blame is not None:
            # lead with the blamed layer's own finding: the parameters' patterns only echo it upstream
            blamed = self.loss if self.blame == "loss" else self.layers[self.blame]  # type: ignore[index]
            first = blamed._first_failure()
            finding = (f"{_short(first)} — {first.hint}" if first is not None and not blamed.error
                       else f"its backward raised ({blamed.error})")
            return f"gradient check failed: blame {blamed.title}: {finding}; failing: {listed}"
        text = "gradient check failed: " + listed
        if self.layers is not None and all(lr.outcome != "wrong" for lr in self._layer_rows()):
            text += ("; every layer and the loss pass alone: numerical noise or a bug between layers "
                     "(see the notes)")
        return text

    def _sampled(self) -> str:
        """What a sampled check left out, or "" when every element was checked."""
        if self.sample is None or self.method == "directional":
            return ""
        if not any(p.shape and self.sample < int(np.prod(p.shape)) for p in self.parameters.values()):
            return ""
        return (f"only a random sample of {self.sample} elements per parameter was checked: a bug in the "
                "other elements can go unseen")

    def _layer_rows(self) -> list[LayerResult]:
        return list(self.layers or []) + ([self.loss] if self.loss is not None else [])

    def _all_kinks(self) -> int:
        return self.kinks + sum(lr.kinks for lr in (self.layers or []) + ([self.loss] if self.loss else []))

    def _kinks_text(self) -> str:
        return (f"{self._all_kinks()} element(s) straddle a kink (e.g. a ReLU input within eps of 0): "
                "central differences cannot check them there, so they are re-checked with smaller steps, "
                "checked against one side's slope where the kink sits exactly at the point, or left out; "
                "never judged wrong")

    def _blame_text(self) -> str:
        blamed = self.loss if self.blame == "loss" else self.layers[self.blame]  # type: ignore[index]
        return f"blame: {blamed.title} is the first whose own backward is wrong"

    def _footnotes(self) -> list[str]:
        out = []
        if self._all_kinks():
            out.append(self._kinks_text())
        results = [*self.parameters.values(),
                   *(p for lr in self._layer_rows() for p in lr.parameters.values())]
        if any(p.status == "ok (noise)" for p in results):
            out.append(f"ok (noise): the difference is above the threshold {self.threshold:g}, but every "
                       "element agrees within its numerical error bar (the cost's rounding noise / eps), so "
                       "it passes")
        if any(p.status == "ok (complex)" for p in results):
            out.append("ok (complex): finite differences could not tell (the cost's rounding noise, or kinks "
                       "closer than every step); the complex-step derivative Im f(θ + ih) / h, exact to "
                       "rounding, agrees")
        return out

    def _failures(self) -> list[tuple[str, ParameterResult]]:
        """The failing gradients that have worst elements to show, each with its table title."""
        found = [(p.name, p) for p in self.parameters.values() if p.outcome == "wrong"]
        for lr in self._layer_rows():
            where = "the loss" if lr.index == "loss" else f"layer {lr.index}"
            found += [(f"{p.name} in {where} ({lr.name}) checked alone", p)
                      for p in lr.parameters.values() if p.outcome == "wrong"]
        return [(title, p) for title, p in found if p.worst]

    def __rich__(self):
        return report_rich(self)

    def __str__(self) -> str:
        return render(self)

    def __repr__(self) -> str:
        return f"<GradientReport {self.summary()}>"

    def _repr_html_(self) -> str:
        return report_html(self)


_VERDICT = {"correct": "PASSED", "wrong": "FAILED", "undecided": "UNDECIDED"}


def _short(p: ParameterResult) -> str:
    """"0.W scaled x1/8 (extra 1/m?)": a failing result in a few words."""
    text = f"{p.name} {p.pattern or 'failed'}"
    if p.pattern in ("scaled", "sign") and p.factor:
        c = p.factor
        text += f" x{c:.3g}" if abs(c) >= 1 else f" x1/{1 / c:.3g}"
        if "extra 1/m" in p.hint:
            text += " (extra 1/m?)"
        elif "1/m average is missing" in p.hint:
            text += " (missing 1/m?)"
    return text
