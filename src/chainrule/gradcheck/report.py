"""The result of a gradient check, and its three faces: a rich table, a JSON-able dict, HTML."""

from __future__ import annotations

import html
import io
import math
import sys
from dataclasses import dataclass, field

import numpy as np


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
    ``resolved`` is False for a gradient that passed only because it is lost in the numerical noise
    (the check could not have seen a bug; ``hint`` says why and what to try).
    """

    name: str
    shape: tuple[int, ...]
    passed: bool
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
    resolved: bool = True

    def to_dict(self, arrays: bool = False) -> dict:
        d = {
            "name": self.name, "shape": list(self.shape), "passed": self.passed,
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
    loss's (``index == "loss"``, entry ``"logits"``)."""

    index: int | str
    name: str
    passed: bool
    difference: float
    parameters: dict[str, ParameterResult] = field(default_factory=dict)
    error: str | None = None

    def _first_failure(self) -> ParameterResult | None:
        return next((p for p in self.parameters.values() if not p.passed), None)

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

    def __rich__(self):
        from rich.console import Group
        from rich.text import Text

        where = "the loss" if self.index == "loss" else f"layer {self.index}"
        verdict = "PASSED" if self.passed else "FAILED"
        parts: list = [Text(f"{where} ({self.name}) checked alone: {verdict}, difference = "
                            f"{self.difference:.10g}", style="bold green" if self.passed else "bold red")]
        if self.error:
            parts.append(Text(self.error, style="red"))
        if self.parameters:
            parts.append(_param_table("gradients", self.parameters.values()))
        parts += [_worst_table(p.name, p) for p in self.parameters.values() if not p.passed and p.worst]
        return Group(*parts)

    def __str__(self) -> str:
        return _render(self)

    def to_dict(self, arrays: bool = False) -> dict:
        return {"index": self.index, "name": self.name, "passed": self.passed,
                "difference": _num(self.difference), "pattern": self.pattern, "hint": self.hint,
                "error": self.error, "kinks": self.kinks,
                "parameters": {k: p.to_dict(arrays) for k, p in self.parameters.items()}}


@dataclass
class GradientReport:
    """Everything a gradient check found. ``passed`` is True when every parameter (and, for
    models, every layer and the loss) passed; ``failed`` lists the failing parameter names and
    ``unresolved`` those that passed only because their gradient is lost in the numerical noise;
    ``blame`` is the index of the first layer whose own backward is wrong, ``"loss"`` when only the
    loss's backward is, else None."""

    passed: bool
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

    @property
    def failed(self) -> list[str]:
        return [name for name, p in self.parameters.items() if not p.passed]

    @property
    def unresolved(self) -> list[str]:
        """Parameters that passed only because their gradient is lost in the numerical noise."""
        return [name for name, p in self.parameters.items() if p.passed and not p.resolved]

    @property
    def kinks(self) -> int:
        return sum(p.kinks for p in self.parameters.values())

    def to_dict(self, arrays: bool = False) -> dict:
        """A JSON-able dict (NaN and inf become None). ``arrays=True`` adds the full gradients."""
        return {
            "passed": self.passed, "difference": _num(self.difference), "failed": self.failed,
            "unresolved": self.unresolved, "method": self.method, "eps": self.eps,
            "threshold": self.threshold, "kinks": self.kinks,
            "blame": self.blame, "notes": list(self.notes), "error": self.error,
            "parameters": {k: p.to_dict(arrays) for k, p in self.parameters.items()},
            "layers": None if self.layers is None else [lr.to_dict(arrays) for lr in self.layers],
            "loss": None if self.loss is None else self.loss.to_dict(arrays),
        }

    def summary(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        text = (f"gradient check {verdict}: difference = {self.difference:.10g} "
                f"(threshold {self.threshold:g}, method {self.method}, eps {self.eps:g})")
        if self.failed:
            text += f"; failing: {', '.join(self.failed)}"
        if self.unresolved:
            text += f"; unresolved (lost in numerical noise): {', '.join(self.unresolved)}"
        return text

    def __rich__(self):
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        parts: list = [Text(self.summary(), style="bold green" if self.passed else "bold red")]
        if self.error:
            parts.append(Text(self.error, style="red"))
        if self.parameters:
            parts.append(_param_table("parameters", self.parameters.values()))
        if self.layers is not None:
            table = Table(title="layers, each backward checked alone", title_justify="left")
            for col in ("layer", "", "status", "difference", "kinks", "pattern", "hint"):
                table.add_column(col, overflow="fold", no_wrap=col != "hint")
            rows = list(self.layers) + ([self.loss] if self.loss is not None else [])
            for lr in rows:
                table.add_row(str(lr.index), lr.name, _status(lr.passed), _fmt(lr.difference),
                              str(lr.kinks), lr.pattern or "", lr.hint)
            parts.append(table)
        if self.blame is not None:
            where = "the loss" if self.blame == "loss" else f"layer {self.blame}"
            parts.append(Text(f"blame: {where} is the first whose own backward is wrong", style="bold red"))
        if self._all_kinks():
            parts.append(Text(self._kinks_text(), style="yellow"))
        for title, p in _failures(self):
            parts.append(_worst_table(title, p))
        for note in self.notes:
            parts.append(Text(f"note: {note}", style="yellow"))
        return Group(*parts)

    def _all_kinks(self) -> int:
        return self.kinks + sum(lr.kinks for lr in (self.layers or []) + ([self.loss] if self.loss else []))

    def _kinks_text(self) -> str:
        return (f"{self._all_kinks()} element(s) straddle a kink (e.g. a ReLU input within eps of 0): "
                "central differences cannot check them there, so they are left out")

    def __str__(self) -> str:
        return _render(self)

    def __repr__(self) -> str:
        return f"<GradientReport {self.summary()}>"

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#cf222e"
        out = [f'<div class="chainrule-gradcheck"><p style="color:{colour};font-weight:bold">'
               f"{html.escape(self.summary())}</p>"]
        if self.error:
            out.append(f"<p>{html.escape(self.error)}</p>")
        out.append(_html_table(
            ["parameter", "shape", "status", "difference", "checked", "kinks", "pattern", "factor", "hint"],
            [[p.name, str(p.shape), _status_word(p), _fmt(p.difference), p.checked, p.kinks,
              p.pattern or "", _fmt(p.factor), p.hint] for p in self.parameters.values()]))
        if self.layers is not None:
            rows = list(self.layers) + ([self.loss] if self.loss is not None else [])
            out.append(_html_table(["layer", "", "status", "difference", "pattern", "hint"],
                                   [[lr.index, lr.name, "ok" if lr.passed else "FAIL", _fmt(lr.difference),
                                     lr.pattern or "", lr.hint] for lr in rows]))
        if self.blame is not None:
            out.append(f"<p><b>blame:</b> {html.escape(str(self.blame))}</p>")
        if self._all_kinks():
            out.append(f"<p>{html.escape(self._kinks_text())}</p>")
        for title, p in _failures(self):
            out.append(f"<p>worst elements of {html.escape(title)}</p>")
            with_ad = p.autodiff is not None
            out.append(_html_table(
                ["index", "analytic", "numerical", "|error|"] + (["autodiff"] if with_ad else []),
                [[w.index, _fmt(w.analytic), _fmt(w.numerical), _fmt(w.error)]
                 + ([_fmt(w.autodiff)] if with_ad else []) for w in p.worst]))
        for note in self.notes:
            out.append(f"<p><i>note:</i> {html.escape(note)}</p>")
        out.append("</div>")
        return "\n".join(out)


def _render(obj) -> str:
    """``obj``'s rich form as text: colour only when stdout is a terminal."""
    from rich.console import Console

    tty = sys.stdout.isatty()
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=tty, color_system="standard" if tty else None,
                      width=130, soft_wrap=False)
    console.print(obj)
    return buf.getvalue().rstrip("\n")


def _failures(report: GradientReport) -> list[tuple[str, ParameterResult]]:
    found = [(p.name, p) for p in report.parameters.values() if not p.passed]
    for lr in (report.layers or []) + ([report.loss] if report.loss else []):
        where = "the loss" if lr.index == "loss" else f"layer {lr.index}"
        found += [(f"{p.name} in {where} ({lr.name}) checked alone", p)
                  for p in lr.parameters.values() if not p.passed]
    return [(title, p) for title, p in found if p.worst]


def _param_table(title: str, results):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in ("name", "shape", "status", "difference", "checked", "kinks", "pattern", "factor", "hint"):
        table.add_column(col, overflow="fold", no_wrap=col != "hint", min_width=24 if col == "hint" else None)
    for p in results:
        table.add_row(p.name, str(p.shape), _status(p.passed, p), _fmt(p.difference), str(p.checked),
                      str(p.kinks), p.pattern or "", _fmt(p.factor), p.hint)
    return table


def _worst_table(title: str, p: ParameterResult):
    from rich.table import Table

    table = Table(title=f"worst elements of {title}", title_justify="left")
    cols = ["index", "analytic", "numerical", "|error|"] + (["autodiff"] if p.autodiff is not None else [])
    for col in cols:
        table.add_column(col)
    for w in p.worst:
        row = [str(w.index), _fmt(w.analytic), _fmt(w.numerical), _fmt(w.error)]
        if p.autodiff is not None:
            row.append(_fmt(w.autodiff))
        table.add_row(*row)
    return table


def _html_table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _status_word(p: ParameterResult) -> str:
    return "FAIL" if not p.passed else "unresolved" if not p.resolved else "ok"


def _status(passed: bool, p: ParameterResult | None = None) -> str:
    if p is not None and passed and p.checked == 0 and p.kinks:
        return "[yellow]kinks[/yellow]"  # nothing could be checked: every element sits on a kink
    if p is not None and passed and not p.resolved:
        return "[yellow]unresolved[/yellow]"
    return "[green]ok[/green]" if passed else "[red]FAIL[/red]"


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:.4g}"


def _num(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _nested(a: np.ndarray):
    return [_nested(row) for row in a] if a.ndim else _num(a)
