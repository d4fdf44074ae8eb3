"""A gradient report's text face: rich tables, and ``str()`` as those tables printed to plain text.

``layer_rich``/``report_rich`` build what ``LayerResult.__rich__``/``GradientReport.__rich__``
return; ``render`` prints one to a string (colour only when stdout is a terminal).
"""

from __future__ import annotations

import io
import sys
from typing import TYPE_CHECKING

from ._format import _fmt, _shape

if TYPE_CHECKING:
    from .report import GradientReport, LayerResult, ParameterResult


def render(obj) -> str:
    """``obj``'s rich form as text: colour only when stdout is a terminal."""
    from rich.console import Console

    tty = sys.stdout.isatty()
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=tty, color_system="standard" if tty else None,
                      width=130, soft_wrap=False)
    console.print(obj)
    return buf.getvalue().rstrip("\n")


def layer_rich(lr: LayerResult):
    from rich.console import Group

    parts = _opening(lr._summary(), lr, "gradients")
    parts += [_worst_table(p.name, p) for p in lr.parameters.values() if not p.passed and p.worst]
    return Group(*parts)


def report_rich(report: GradientReport):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts = _opening(report.summary(), report, "parameters")
    if report.layers is not None:
        table = Table(title="layers, each backward checked alone", title_justify="left")
        for col in ("layer", "", "status", "difference", "kinks", "pattern", "hint"):
            table.add_column(col, overflow="fold", no_wrap=col != "hint")
        for lr in report._layer_rows():
            table.add_row(str(lr.index), Text(lr.name), _status(lr.status), _fmt(lr.difference),
                          str(lr.kinks), Text(lr.pattern or ""), Text(lr.hint))
        parts.append(table)
    if report.blame is not None:
        parts.append(Text(report._blame_text(), style="bold red"))
    for footnote in report._footnotes():
        parts.append(Text(footnote, style="yellow"))
    for title, p in report._failures():
        parts.append(_worst_table(title, p))
    for note in report.notes:
        parts.append(Text(f"note: {note}", style="yellow"))
    return Group(*parts)


def _opening(verdict: str, result: LayerResult | GradientReport, title: str) -> list:
    """What both results open with: the verdict in green or red, the error, the table of gradients."""
    from rich.text import Text

    parts: list = [Text(verdict, style="bold green" if result.passed else "bold red")]
    if result.error:
        parts.append(Text(result.error, style="red"))
    if result.parameters:
        parts.append(_param_table(title, result.parameters.values()))
    return parts


def _param_table(title: str, results):
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left")
    for col in ("name", "shape", "status", "difference", "checked", "kinks", "pattern", "factor", "hint"):
        table.add_column(col, overflow="fold", no_wrap=col != "hint", min_width=24 if col == "hint" else None)
    for p in results:
        # Text cells: a hint like "[this layer's own backward is right ...]" is not rich markup
        table.add_row(Text(p.name), _shape(p.shape), _status(p.status), _fmt(p.difference), str(p.checked),
                      str(p.kinks), Text(p.pattern or ""), _fmt(p.factor), Text(p.hint))
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


def _status(status: str) -> str:
    colour = {"FAIL": "red", "ok": "green"}.get(status, "yellow")
    return f"[{colour}]{status}[/{colour}]"
