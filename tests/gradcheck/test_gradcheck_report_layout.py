"""The report's layout: text at the terminal's width (80 columns included), HTML in dark themes."""

import re
import sys

import numpy as np
import pytest

from chainrule import check_model
from chainrule.gradcheck.render_text import WIDE, render, width
from chainrule.nn import CrossEntropyLoss, Linear, ReLU, Sequential


class MaskLessReLU(ReLU):
    def backward(self, dout):
        return dout  # forgot the mask


@pytest.fixture(scope="module")
def report():
    r = np.random.default_rng(0)
    model = Sequential(Linear(2, 16, rng=0), MaskLessReLU(), Linear(16, 3, rng=1))
    return check_model(model, CrossEntropyLoss(), r.standard_normal((8, 2)), r.integers(0, 3, 8))


def words(text):
    return re.findall(r"[A-Za-z0-9_.()<=>-]+", text)


@pytest.mark.parametrize("columns", [60, 80, 100, WIDE, 130, 200])
def test_every_line_fits_and_nothing_is_lost(report, columns):
    text = render(report, columns)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= columns
    assert all(line == line.rstrip() for line in lines)
    # every hint is there, word for word in order, whichever layout was chosen
    flat = " ".join(words(text))
    for p in report.parameters.values():
        if p.hint:
            assert " ".join(words(p.hint)) in flat
    layer = report.layers[1]
    assert " ".join(words(layer.hint)) in flat


def test_narrow_tables_keep_their_rows_whole(report):
    text = render(report, 80)
    # a table row is one line: the name, its status and its pattern on the same line
    assert re.search(r"│ 0\.W +│ \(2, 16\) │ FAIL +│ [0-9.e-]+ +│ mismatch +│", text)
    assert re.search(r"│ 1 +│ MaskLessReLU +│ FAIL +│ [0-9.e-]+ +│ masked +│", text)
    hint = next(line for line in text.splitlines() if line.startswith("  layer 1 (MaskLessReLU): "))
    indent = hint.index("x: correct")
    follow = text.splitlines()[text.splitlines().index(hint) + 1]
    assert follow[:indent].strip() == "" and follow[indent] != " "  # the hint wraps under itself
    wide = render(report, 130)
    assert "│ hint" in wide.replace("┃", "│") and "  layer 1 (MaskLessReLU): " not in wide


def test_width_follows_the_terminal_or_COLUMNS(monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)
    assert width() == 130  # no terminal: as before
    monkeypatch.setenv("COLUMNS", "80")
    assert width() == 80
    monkeypatch.setenv("COLUMNS", "junk")
    assert width() == 130


def _styles(html):
    return re.findall(r'<(\w+) [^>]*style="([^"]*)"', html)


def test_html_pairs_every_background_with_a_text_colour(report):
    html = report._repr_html_()
    styles = _styles(html)
    root_tag, root = styles[0]
    assert root_tag == "div" and "background:var(--jp-layout-color0, #ffffff)" in root
    assert "color:var(--jp-content-font-color1, #1f2328)" in root
    for tag, style in styles:
        if "background:" in style and "transparent" not in style:
            assert re.search(r"(^|;)color:", style), (tag, style)  # never a light box under light text
    assert "background:#ffebe9;color:#82071e" in html  # the failing rows, explicit in every theme
    assert "var(--jp-error-color1, #cf222e)" in html  # the verdict in the theme's own red


def test_backward_check_html_is_boxed_too():
    from chainrule import dlai

    params = dlai.initialize_parameters_deep([3, 2, 1], init="he", rng=0)
    X = np.random.default_rng(0).standard_normal((3, 4))
    result = dlai.check_backward(params, X, np.array([[1, 0, 1, 0]]))
    tag, style = _styles(result._repr_html_())[0]
    assert tag == "div" and "background:var(--jp-layout-color0" in style and ";color:var(" in style


def test_str_of_a_report_in_a_notebook_is_the_text(report, monkeypatch):
    """In Jupyter rich displays what it prints instead of writing it: str(report) must still be
    the text (and display nothing)."""
    import rich.console

    monkeypatch.setattr(rich.console, "_is_jupyter", lambda: True)
    text = str(report)
    assert text == render(report) and "wrong" in text.lower()
