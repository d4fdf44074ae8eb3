"""to_dot text for a known graph, and render: a real PNG/SVG when Graphviz's `dot` is installed,
otherwise the error that says how to install it (both branches assert real behaviour)."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from chainrule import autodiff as ad


def _graph():
    w = ad.Tensor(np.array([0.5, -1.0]), requires_grad=True, name="w")
    x = np.array([2.0, 3.0])
    h = ad.tanh(w * x)
    loss = (h.sum() - 1.0) ** 2
    return w, loss


def test_to_dot_lists_every_tensor_and_operation():
    w, loss = _graph()
    dot = ad.to_dot(loss)
    assert dot.startswith("digraph chainrule {") and dot.rstrip().endswith("}")
    boxes = re.findall(r"^  (t\d+) \[shape=box", dot, flags=re.M)
    ops = re.findall(r'^  t\d+_op \[shape=ellipse, label="([^"]+)"\]', dot, flags=re.M)
    # h.sum() - 1.0 is h.sum() + (-1.0); the constant -1.0 needs no node of its own.
    assert sorted(ops) == sorted(["*", "tanh", "sum", "+", "**"])
    assert len(boxes) == 9  # w, x, w*x, tanh, sum, -1.0, sum + (-1.0), the exponent 2, the result
    assert re.search(r'label="w  \(2,\) float64\\ndata \[0.5, -1\]"', dot)
    assert dot.count("style=dashed") == 3  # x, -1.0 and the exponent are constants
    assert len(re.findall(r"->", dot)) == 5 + 8  # op -> result, and 2 operands for *, +, **, 1 for tanh, sum
    loss.backward()
    after = ad.to_dot(loss)
    g = 2 * (np.tanh(w.data * [2, 3]).sum() - 1) * (1 - np.tanh(w.data * [2, 3]) ** 2) * [2, 3]
    shown = re.search(r'label="w  \(2,\) float64\\ndata \[0.5, -1\]\\ngrad \[([^\]]+)\]"', after)
    assert shown is not None
    np.testing.assert_allclose([float(v) for v in shown.group(1).split(",")], g, rtol=1e-3)


def test_to_dot_shows_small_values_with_significant_digits():
    dot = ad.to_dot(ad.Tensor(np.array(3.14159e-5), requires_grad=True) * 2)
    assert "data 3.142e-05" in dot and "data 6.283e-05" in dot


def test_to_dot_summarises_large_tensors_and_escapes_names():
    t = ad.Tensor(np.ones((10, 10)), requires_grad=True, name='say "hi"')
    dot = ad.to_dot(t.sum(), max_elements=4)
    assert '100 values' in dot and 'say \\"hi\\"' in dot
    with pytest.raises(TypeError, match="to_dot: root must be a Tensor, got ndarray"):
        ad.to_dot(np.ones(2))


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_render_draws_the_graph_or_says_how_to_install_graphviz(tmp_path, fmt):
    _, loss = _graph()
    path = tmp_path / f"graph.{fmt}"
    if shutil.which("dot") is not None:
        assert ad.render(loss, path) == path
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG") if fmt == "png" else b"<svg" in data
        assert [p.name for p in tmp_path.iterdir()] == [path.name]
    else:
        with pytest.raises(ad.GraphvizNotFoundError,
                           match="'dot' program, which is not on PATH.*apt-get install graphviz"):
            ad.render(loss, path)
        assert not path.exists()


def test_render_without_dot_on_path_explains_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    _, loss = _graph()
    with pytest.raises(ad.GraphvizNotFoundError, match="brew install graphviz.*to_dot"):
        ad.render(loss, tmp_path / "g.png")
    assert list(tmp_path.iterdir()) == []


def test_render_rejects_unknown_formats(tmp_path):
    _, loss = _graph()
    with pytest.raises(ValueError, match="format must be 'png' or 'svg', got 'pdf'"):
        ad.render(loss, tmp_path / "g.pdf")
    with pytest.raises(ValueError, match="got 'jpg'"):
        ad.render(loss, tmp_path / "g.png", format="jpg")


def _fake_dot(directory, script: str) -> None:
    """A stand-in `dot` on PATH that exercises render's plumbing (stdin, -T, stdout, exit code)."""
    path = directory / "dot"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


def test_render_pipes_the_dot_text_and_writes_the_output_atomically(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # Echo the requested format, then the DOT text received on stdin.
    _fake_dot(bin_dir, f'echo "format $1"\n{shutil.which("cat")}\n')
    monkeypatch.setenv("PATH", str(bin_dir))
    _, loss = _graph()
    out = tmp_path / "out" / "graph.svg"
    out.parent.mkdir()
    assert ad.render(loss, out) == out
    assert out.read_text() == "format -Tsvg\n" + ad.to_dot(loss)
    assert [p.name for p in out.parent.iterdir()] == ["graph.svg"]


def test_render_reports_dot_failures_and_leaves_no_file(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_dot(bin_dir, 'echo "Error: syntax error in line 3" >&2\nexit 2\n')
    monkeypatch.setenv("PATH", str(bin_dir))
    _, loss = _graph()
    with pytest.raises(RuntimeError, match="dot exited with status 2: Error: syntax error in line 3"):
        ad.render(loss, tmp_path / "g.png")
    assert not (tmp_path / "g.png").exists()
