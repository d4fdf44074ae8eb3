"""`chainrule train --dataset digits`: the shipped digits, the image plots, the dataset defaults."""

import json

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.data import load_digits, train_test_split
from chainrule.io import load
from chainrule.plotting import confusion_matrix
from chainrule.training import predict


def test_train_digits_writes_image_plots_and_a_model_that_reproduces_the_figures(tmp_path, capsys):
    code = main(["train", "--dataset", "digits", "--epochs", "3", "--out", str(tmp_path), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    summary = json.loads(out.strip().splitlines()[-1])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "confusion_matrix.png", "learning_curve.png", "metrics.json", "model.npz", "sample_predictions.png"]
    assert summary["sizes"] == [64, 64, 10]  # the digits default: one hidden layer of 64
    assert summary["test_accuracy"] > 0.85
    X, y = load_digits()
    _, X_te, _, y_te = train_test_split(X / 16, y, test_size=0.25, rng=0, stratify=True)
    assert len(y_te) == 450
    model = load(tmp_path / "model.npz")
    assert np.mean(predict(model, X_te) == y_te) == summary["test_accuracy"]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["config"]["epochs"] == 3 and metrics["config"]["n_samples"] is None


def test_digits_refuses_generator_options(capsys):
    assert main(["train", "--dataset", "digits", "--n-samples", "100"]) == 2
    assert "--n-samples and --noise apply to the generated datasets, not to digits" in capsys.readouterr().err


def test_confusion_matrix_counts():
    counts = confusion_matrix([0, 1, 2, 2, 1], [0, 2, 2, 2, 1], n_classes=4)
    assert counts.tolist() == [[1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 2, 0], [0, 0, 0, 0]]
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 1\]"):
        confusion_matrix([0, 2], [0, 1], n_classes=2)


def test_image_plots_draw_what_they_say(tmp_path):
    pytest.importorskip("matplotlib")
    from chainrule.plotting import plot_confusion_matrix, plot_sample_predictions

    X, y = load_digits(n_class=3)
    pred = y.copy()
    pred[[0, 5]] = (y[[0, 5]] + 1) % 3
    fig = plot_confusion_matrix(y, pred, tmp_path / "cm.png")
    ax = fig.axes[0]
    assert "accuracy" in ax.get_title() and f"{len(y)} samples" in ax.get_title()
    texts = {t.get_text() for t in ax.texts}
    assert {"1"} <= texts and (tmp_path / "cm.png").stat().st_size > 0
    grid = plot_sample_predictions(X, y, pred, tmp_path / "grid.png", n=6, columns=3)
    titles = [a.get_title() for a in grid.axes if a.get_title()]
    assert len(titles) == 6 and titles[0] == f"{pred[0]} (true {y[0]})"
    assert titles[1] == f"{pred[5]} (true {y[5]})"
    assert grid.get_suptitle().startswith("sample predictions: 2 of")
    with pytest.raises(ValueError, match="image_shape"):
        plot_sample_predictions(X[:, :63], y, pred)
