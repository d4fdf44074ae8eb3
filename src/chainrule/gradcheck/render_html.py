"""A gradient report's HTML face, for notebooks (``_repr_html_``): the same tables as the text face,
with a failing row shaded red and a doubtful one ("unchecked", "unresolved", "ok (noise)") amber.

Readable in light and dark themes: text and background always come in pairs, either both from
JupyterLab's theme variables (``--jp-layout-color*`` with ``--jp-content-font-color1``, falling
back to a light pair where they are not defined, as in VS Code or the classic notebook) or both
explicit (the red and amber rows), never a light background under the theme's light text.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from ._format import _fmt, _shape

if TYPE_CHECKING:
    from .report import GradientReport, LayerResult

# Theme colours where JupyterLab defines them (light and dark alike), GitHub's light palette elsewhere.
_GREEN = "var(--jp-success-color1, #1a7f37)"
_RED = "var(--jp-error-color1, #cf222e)"
_AMBER = "var(--jp-warn-color1, #9a6700)"
_TEXT = "color:var(--jp-content-font-color1, #1f2328)"
_BOX = f"background:var(--jp-layout-color0, #ffffff);{_TEXT};padding:4px 6px"
_STRIPE = f"background:var(--jp-layout-color2, #f6f8fa);{_TEXT}"
_FONT = "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:13px;line-height:1.4"
_CELL = "border:1px solid var(--jp-border-color2, #d0d7de);padding:3px 8px;text-align:left;vertical-align:top"
_DOUBT = "background:#fff8c5;color:#3b2300"
_ROW = {"FAIL": "background:#ffebe9;color:#82071e", "unchecked": _DOUBT, "unresolved": _DOUBT,
        "ok (noise)": _DOUBT}


def layer_html(lr: LayerResult) -> str:
    out = [f'<div class="chainrule-gradcheck" style="{_FONT};{_BOX}">'
           f'<p style="color:{_GREEN if lr.passed else _RED};font-weight:bold;margin:4px 0">'
           f"{html.escape(lr._summary())}</p>"]
    if lr.error:
        out.append(f'<p style="color:{_RED};margin:4px 0">{html.escape(lr.error)}</p>')
    if lr.parameters:
        out.append(_html_table(
            "gradients", ["name", "shape", "status", "difference", "checked", "kinks", "pattern", "hint"],
            [[p.name, _shape(p.shape), p.status, _fmt(p.difference), p.checked, p.kinks, p.pattern or "",
              p.hint] for p in lr.parameters.values()]))
    out.append("</div>")
    return "\n".join(out)


def report_html(report: GradientReport) -> str:
    colour = _GREEN if report.passed else _RED
    out = [f'<div class="chainrule-gradcheck" style="{_FONT};{_BOX}">'
           f'<p style="color:{colour};font-weight:bold;margin:4px 0">{html.escape(report.summary())}</p>']
    if report.error:
        out.append(f'<p style="color:{_RED};margin:4px 0">{html.escape(report.error)}</p>')
    if report.parameters:
        out.append(_html_table(
            "parameters",
            ["parameter", "shape", "status", "difference", "checked", "kinks", "pattern", "factor",
             "hint"],
            [[p.name, _shape(p.shape), p.status, _fmt(p.difference), p.checked, p.kinks,
              p.pattern or "", _fmt(p.factor), p.hint] for p in report.parameters.values()]))
    if report.layers is not None:
        out.append(_html_table(
            "layers, each backward checked alone",
            ["layer", "", "status", "difference", "kinks", "pattern", "hint"],
            [[lr.index, lr.name, lr.status, _fmt(lr.difference), lr.kinks, lr.pattern or "", lr.hint]
             for lr in report._layer_rows()]))
    if report.blame is not None:
        out.append(f'<p style="color:{_RED};font-weight:bold;margin:4px 0">'
                   f"{html.escape(report._blame_text())}</p>")
    for footnote in report._footnotes():
        out.append(f'<p style="color:{_AMBER};margin:4px 0">{html.escape(footnote)}</p>')
    for title, p in report._failures():
        with_ad = p.autodiff is not None
        out.append(_html_table(
            f"worst elements of {title}",
            ["index", "analytic", "numerical", "|error|"] + (["autodiff"] if with_ad else []),
            [[w.index, _fmt(w.analytic), _fmt(w.numerical), _fmt(w.error)]
             + ([_fmt(w.autodiff)] if with_ad else []) for w in p.worst]))
    for note in report.notes:
        out.append(f'<p style="color:{_AMBER};margin:4px 0"><i>note:</i> {html.escape(note)}</p>')
    out.append("</div>")
    return "\n".join(out)


def _html_table(title: str, header: list[str], rows: list[list]) -> str:
    """A bordered table with shaded rows; a row whose status is FAIL is red, a doubtful one amber.
    Every cell but a hint keeps to one line (a shape must not wrap into "(2," / "16)")."""
    status_col = header.index("status") if "status" in header else None
    head = "".join(f'<th style="{_CELL};{_STRIPE}">{html.escape(h)}</th>' for h in header)
    body = []
    for i, row in enumerate(rows):
        shade = _ROW.get(str(row[status_col]), "") if status_col is not None else ""
        if not shade and i % 2:
            shade = _STRIPE
        cells = "".join(
            f'<td style="{_CELL}{";white-space:nowrap" if h != "hint" else ";min-width:16em"}">'
            f"{html.escape(str(c))}</td>" for h, c in zip(header, row, strict=True))
        body.append(f'<tr style="{shade}">{cells}</tr>')
    caption = (f'<caption style="text-align:left;font-weight:bold;padding:6px 0 2px;white-space:nowrap">'
               f"{html.escape(title)}"
               "</caption>")
    return (f'<table style="border-collapse:collapse;margin:4px 0 10px">{caption}'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")
