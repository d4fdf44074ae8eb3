"""A gradient report's text face: rich tables, and ``str()`` as those tables printed to plain text.

``layer_rich``/``report_rich`` build what ``LayerResult.__rich__``/``GradientReport.__rich__``
return; ``render`` prints one to a string (colour only when stdout is a terminal) at the
terminal's width, or ``$COLUMNS``, or 130 columns when there is no terminal. The tables choose
their layout from the width they are given (``_Fit``): from ``WIDE`` columns up, one table with
a hint column; below it, a table of the short columns and each hint under it as a wrapped line,
so an 80-column terminal never folds a table's cells into a column of fragments.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from typing import TYPE_CHECKING

from ._format import _fmt, _shape

if TYPE_CHECKING:
    from .report import GradientReport, LayerResult, ParameterResult


WIDE = 110  # below this width, hints leave the tables and wrap on lines of their own
_NO_TERMINAL = 130


def width() -> int:
    """Columns to render at: the terminal's when stdout is one, else ``$COLUMNS``, else 130."""
    if sys.stdout.isatty():
        return max(40, shutil.get_terminal_size((_NO_TERMINAL, 24)).columns)
    try:
        return max(40, int(os.environ["COLUMNS"]))
    except (KeyError, ValueError):
        return _NO_TERMINAL


def render(obj, columns: int | None = None) -> str:
    """``obj``'s rich form as text, ``columns`` wide (default: ``width()``): colour only when
    stdout is a terminal, no trailing spaces."""
    from rich.console import Console

    tty = sys.stdout.isatty()
    buf = io.StringIO()
    # force_jupyter=False: in a notebook rich would display the text itself and write nothing to buf.
    console = Console(file=buf, force_terminal=tty, color_system="standard" if tty else None,
                      width=columns or width(), soft_wrap=False, force_jupyter=False)
    console.print(obj)
    return "\n".join(line.rstrip() for line in buf.getvalue().rstrip("\n").split("\n"))


class _Fit:
    """A renderable that builds itself for the width it is given (``build(narrow)``)."""

    def __init__(self, build) -> None:
        self.build = build

    def __rich_console__(self, console, options):
        yield self.build(options.max_width < WIDE)


def layer_rich(lr: LayerResult):
    return _Fit(lambda narrow: _layer_rich(lr, narrow))


def report_rich(report: GradientReport):
    return _Fit(lambda narrow: _report_rich(report, narrow))


def _layer_rich(lr: LayerResult, narrow: bool):
    from rich.console import Group

    parts = _opening(lr._summary(), lr, "gradients", narrow)
    parts += [_worst_table(p.name, p) for p in lr.parameters.values() if not p.passed and p.worst]
    return Group(*parts)


def _report_rich(report: GradientReport, narrow: bool):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts = _opening(report.summary(), report, "parameters", narrow)
    if report.layers is not None:
        table = Table(title="layers, each backward checked alone", title_justify="left")
        columns = ("layer", "", "status", "difference", "kinks", "pattern", "hint")
        shown = [c for c in columns if not (narrow and c in _NARROW_DROPS)]
        for col in shown:
            table.add_column(col, overflow="fold", no_wrap=col != "hint")
        hints = []
        for lr in report._layer_rows():
            cells = dict(zip(columns, (str(lr.index), Text(lr.name), _status(lr.status), _fmt(lr.difference),
                                       str(lr.kinks), Text(lr.pattern or ""), Text(lr.hint)), strict=True))
            table.add_row(*(cells[c] for c in shown))
            if narrow and lr.hint:
                hints.append((f"layer {lr.index} ({lr.name})", lr.hint))
        parts += [table, _hints(hints)] if hints else [table]
    if report.blame is not None:
        parts.append(Text(report._blame_text(), style="bold red"))
    for footnote in report._footnotes():
        parts.append(Text(footnote, style="yellow"))
    for title, p in report._failures():
        parts.append(_worst_table(title, p))
    for note in report.notes:
        parts.append(Text(f"note: {note}", style="yellow"))
    return Group(*parts)


def _opening(verdict: str, result: LayerResult | GradientReport, title: str, narrow: bool) -> list:
    """What both results open with: the verdict in green or red, the error, the table of gradients."""
    from rich.text import Text

    parts: list = [Text(verdict, style="bold green" if result.passed else "bold red")]
    if result.error:
        parts.append(Text(result.error, style="red"))
    if result.parameters:
        parts += _param_table(title, result.parameters.values(), narrow)
    return parts


# The columns a narrow table leaves out (each hint then follows the table on a line of its own;
# a factor is in its hint's words, "2x too large").
_NARROW_DROPS = ("hint", "checked", "kinks", "factor")


def _hints(rows: list[tuple[str, str]]):
    """Each (name, hint) as "  name: hint", the hint wrapping under itself (a hanging indent)."""
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column(overflow="fold")
    for name, hint in rows:
        grid.add_row(f"  {name}:", Text(hint))
    return grid


def _param_table(title: str, results, narrow: bool = False) -> list:
    """The table of gradients; when ``narrow``, followed by one wrapped line per hint."""
    from rich.table import Table
    from rich.text import Text

    columns = ("name", "shape", "status", "difference", "checked", "kinks", "pattern", "factor", "hint")
    shown = [c for c in columns if not (narrow and c in _NARROW_DROPS)]
    table = Table(title=title, title_justify="left")
    for col in shown:
        table.add_column(col, overflow="fold", no_wrap=col != "hint", min_width=24 if col == "hint" else None)
    hints = []
    for p in results:
        # Text cells: a hint like "[this layer's own backward is right ...]" is not rich markup
        cells = dict(zip(columns, (Text(p.name), _shape(p.shape), _status(p.status), _fmt(p.difference),
                                   str(p.checked), str(p.kinks), Text(p.pattern or ""), _fmt(p.factor),
                                   Text(p.hint)), strict=True))
        table.add_row(*(cells[c] for c in shown))
        if narrow and p.hint:
            hints.append((p.name, p.hint))
    return [table, _hints(hints)] if hints else [table]


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
