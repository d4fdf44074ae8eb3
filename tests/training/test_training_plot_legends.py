"""What the plots tell a reader: class colours and train/test markers in a legend, distinct saturated
point colours with dark edges, a log-scale loss axis, and validation curves named after their data."""

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from chainrule import nn
from chainrule.data import make_spiral, train_test_split
from chainrule.optim import Adam
from chainrule.plotting import plot_decision_boundary, plot_learning_curve
from chainrule.training import fit


@pytest.fixture(scope="module")
def spiral_run():
    X, y = make_spiral(150, rng=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, rng=0)
    model = nn.mlp([2, 16, 3], rng=0)
    h = fit(model, nn.CrossEntropyLoss(), X_tr, y_tr, optimizer=Adam(0.05), epochs=15, batch_size=30,
            validation_data=(X_te, y_te))
    return model, h, (X_tr, y_tr, X_te, y_te)


def _legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_decision_boundary_legend_and_train_test_markers(spiral_run):
    model, _, (X_tr, y_tr, X_te, y_te) = spiral_run
    fig = plot_decision_boundary(model, X_tr, y_tr, resolution=30, test=(X_te, y_te))
    ax = fig.axes[0]
    assert _legend_texts(ax) == ["class 0", "class 1", "class 2", "train", "test"]
    train, test = ax.collections[-2], ax.collections[-1]
    assert np.array_equal(np.asarray(train.get_offsets()), X_tr)
    assert np.array_equal(np.asarray(test.get_offsets()), X_te)
    # test points are hollow (white faces) with their class colour on the edge; train points are
    # filled with their class colour and have a dark edge
    assert np.allclose(test.get_facecolors(), to_rgba("white"))
    train_faces = train.to_rgba(train.get_array())
    colours = {c: train_faces[y_tr == c][0] for c in (0, 1, 2)}
    for c in (0, 1, 2):
        assert np.allclose(train_faces[y_tr == c], colours[c])
        assert np.allclose(test.get_edgecolors()[y_te == c], colours[c])
    assert np.all(train.get_edgecolors()[:, :3] < 0.3)
    # clearly distinct: every pair of class colours differs by > 0.3 in some RGB channel, and none
    # is pale (the old palette put pale yellow points on a pale yellow region)
    rgb = np.array([colours[c][:3] for c in (0, 1, 2)])
    for i in range(3):
        for j in range(i + 1, 3):
            assert np.abs(rgb[i] - rgb[j]).max() > 0.3
    assert np.all(rgb.min(axis=1) < 0.5)


def test_decision_boundary_test_argument_is_checked(spiral_run):
    model, _, (X_tr, y_tr, X_te, y_te) = spiral_run
    with pytest.raises(TypeError, match="test must be a pair"):
        plot_decision_boundary(model, X_tr, y_tr, test=X_te)
    with pytest.raises(ValueError, match=r"test\[1\] must have shape \(\d+,\) to match test\[0\]"):
        plot_decision_boundary(model, X_tr, y_tr, test=(X_te, y_te[:-1]))


def test_learning_curve_log_loss_axis_and_validation_label(spiral_run):
    _, h, _ = spiral_run
    fig = plot_learning_curve(h, validation_label="test")
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_yscale() == "log" and acc_ax.get_yscale() == "linear"
    assert _legend_texts(loss_ax) == ["train loss", "test loss"]
    assert _legend_texts(acc_ax) == ["train accuracy", "test accuracy"]
    assert _legend_texts(plot_learning_curve(h).axes[0]) == ["train loss", "validation loss"]


def test_learning_curve_stays_linear_when_a_loss_is_not_positive():
    assert plot_learning_curve({"loss": [1.0, 0.5, 0.0]}).axes[0].get_yscale() == "linear"
    assert plot_learning_curve({"loss": [1.0, 0.5], "val_loss": [0.7, -0.1]}).axes[0].get_yscale() == "linear"
    with pytest.raises(ValueError, match="validation_label must be a non-empty string"):
        plot_learning_curve({"loss": [1.0]}, validation_label="")
