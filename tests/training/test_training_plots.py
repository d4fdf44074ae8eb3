"""Learning-curve and decision-boundary plots: PNG files, axes content, the missing-extra error."""

import sys

import numpy as np
import pytest
from matplotlib.figure import Figure

from chainrule import nn
from chainrule.data import make_moons, make_spiral
from chainrule.optim import Adam
from chainrule.plotting import plot_decision_boundary, plot_learning_curve
from chainrule.training import fit

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trained():
    X, y = make_moons(120, noise=0.1, rng=0)
    model = nn.mlp([2, 16, 2], rng=0)
    h = fit(model, nn.CrossEntropyLoss(), X, y, optimizer=Adam(0.05), epochs=20, batch_size=40,
            validation_data=(X[:30], y[:30]))
    return model, h, X, y


def test_learning_curve_png_and_lines(tmp_path, trained):
    _, h, _, _ = trained
    fig = plot_learning_curve(h, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:8] == PNG
    loss_ax, acc_ax = fig.axes
    (train, val) = loss_ax.get_lines()
    assert np.array_equal(train.get_xdata(), np.arange(1, 21))
    assert np.array_equal(train.get_ydata(), h.history["loss"])
    assert np.array_equal(val.get_ydata(), h.history["val_loss"])
    assert np.array_equal(acc_ax.get_lines()[0].get_ydata(), h.history["accuracy"])
    assert [p.name for p in tmp_path.iterdir()] == ["curve.png"]


def test_learning_curve_into_given_axes_and_from_dict():
    fig = Figure()
    ax = fig.add_subplot()
    out = plot_learning_curve({"loss": [3.0, 2.0, 1.0]}, ax=ax)
    assert out is fig and len(fig.axes) == 1
    assert list(ax.get_lines()[0].get_ydata()) == [3.0, 2.0, 1.0]
    with pytest.raises(ValueError, match="non-empty 'loss' list"):
        plot_learning_curve({"accuracy": [0.5]})


def test_decision_boundary_png(tmp_path, trained):
    model, _, X, y = trained
    fig = plot_decision_boundary(model, X, y, tmp_path / "db.png", resolution=50)
    assert (tmp_path / "db.png").read_bytes()[:8] == PNG
    ax = fig.axes[0]
    points = ax.collections[-1].get_offsets()
    assert np.array_equal(np.asarray(points), X)
    lo, hi = ax.get_xlim()
    assert lo <= X[:, 0].min() and hi >= X[:, 0].max()


def test_decision_boundary_of_a_float32_model_over_float64_points(tmp_path):
    X, y = make_spiral(60, rng=1)
    model = nn.mlp([2, 8, 3], rng=0, dtype=np.float32)
    fig = plot_decision_boundary(model, X, y, tmp_path / "db.png", resolution=20)
    assert (tmp_path / "db.png").read_bytes()[:8] == PNG
    assert np.array_equal(np.asarray(fig.axes[0].collections[-1].get_offsets()), X)


def test_decision_boundary_bad_input(trained):
    model, _, X, y = trained
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\)"):
        plot_decision_boundary(model, np.zeros((5, 3)), y[:5])
    with pytest.raises(ValueError, match=r"y must have shape \(120,\) to match X, got \(119,\)"):
        plot_decision_boundary(model, X, y[:-1])


def test_missing_matplotlib_names_the_extra(monkeypatch, trained):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[plot\]"'):
        plot_learning_curve(trained[1])
