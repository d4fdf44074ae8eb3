"""Learning curves: whole-number epoch ticks, markers on short runs, what was trained in the titles."""

import matplotlib
import numpy as np
import pytest

from chainrule.cli import main
from chainrule.plotting import MARKERS_UP_TO, plot_learning_curve


def _history(epochs):
    loss = list(np.linspace(1.0, 0.2, epochs))
    accuracy = list(np.linspace(0.3, 0.9, epochs))
    return {"loss": loss, "val_loss": [v * 1.1 for v in loss], "accuracy": accuracy,
            "val_accuracy": [a - 0.05 for a in accuracy]}


@pytest.mark.parametrize("epochs", [1, 3, 7, 250])
def test_epoch_ticks_are_whole_numbers(epochs):
    fig = plot_learning_curve(_history(epochs))
    fig.canvas.draw()
    for ax in fig.axes:
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_markers_on_short_runs_only():
    short = plot_learning_curve(_history(5))
    assert all(line.get_marker() == "o" for ax in short.axes for line in ax.get_lines())
    long = plot_learning_curve(_history(MARKERS_UP_TO + 1))
    assert all(line.get_marker() in (None, "None", "") for ax in long.axes for line in ax.get_lines())


def test_title_names_what_was_trained():
    fig = plot_learning_curve(_history(4), title="moons, MLP 2-8-2 (tanh)")
    assert fig.axes[0].get_title() == "learning curve: moons, MLP 2-8-2 (tanh)"
    assert plot_learning_curve(_history(4)).axes[0].get_title() == "learning curve"
    with pytest.raises(ValueError, match="title"):
        plot_learning_curve(_history(4), title="")


def test_train_writes_titles_with_dataset_and_architecture(tmp_path, monkeypatch):
    import chainrule.plotting as plotting

    titles = {}
    real_save = plotting.save_figure

    def recording(fig, path):
        titles[path.name] = [ax.get_title() for ax in fig.axes]
        return real_save(fig, path)

    monkeypatch.setattr(plotting, "save_figure", recording)
    assert main(["train", "--dataset", "moons", "--n-samples", "120", "--hidden", "8", "4", "--activation",
                 "tanh", "--epochs", "3", "--out", str(tmp_path), "--quiet"]) == 0
    assert titles["learning_curve.png"][0] == "learning curve: moons, MLP 2-8-4-2 (tanh)"
    assert titles["decision_boundary.png"][0] == "decision boundary: moons, MLP 2-8-4-2 (tanh)"
    assert matplotlib.get_backend().lower() == "agg"
