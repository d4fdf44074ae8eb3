"""`chainrule train`: files, JSON summary, determinism, defaults reaching 95%, help, errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from chainrule import nn
from chainrule.cli import main
from chainrule.data import load_dataset, train_test_split
from chainrule.io import load, load_metadata
from chainrule.training import evaluate

FAST = ["train", "--n-samples", "150", "--hidden", "16", "--epochs", "15", "--batch-size", "25"]


def _run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_writes_files_and_json_summary(tmp_path, capsys):
    code, out, _ = _run(capsys, *FAST, "--out", str(tmp_path / "run"), "--json")
    assert code == 0
    summary = json.loads(out.strip().splitlines()[-1])
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == ["decision_boundary.png", "learning_curve.png",
                                                      "metrics.json", "model.npz"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert summary["ok"] and summary["test_accuracy"] == metrics["final"]["test_accuracy"]
    assert "train accuracy" in out and "test accuracy" in out
    assert metrics["config"]["hidden"] == [16] and metrics["seed"] == 0
    assert len(metrics["history"]["loss"]) == 15 and metrics["history"]["epoch"][-1] == 15
    # the saved model reproduces the reported figures on the regenerated split
    X, y = load_dataset("spiral", n_samples=150, rng=0)
    _, X_te, _, y_te = train_test_split(X, y, test_size=0.25, rng=0, stratify=True)
    model = load(run / "model.npz")
    assert evaluate(model, nn.CrossEntropyLoss(), X_te, y_te)["accuracy"] == summary["test_accuracy"]
    assert load_metadata(run / "model.npz")["config"] == metrics["config"]


def test_same_seed_identical_files_other_seed_differs(tmp_path, capsys):
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        assert _run(capsys, *FAST, "--seed", seed, "--out", str(tmp_path / name), "--no-plots",
                    "--quiet")[0] == 0
    for f in ("metrics.json", "model.npz"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
        assert (tmp_path / "a" / f).read_bytes() != (tmp_path / "c" / f).read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["metrics.json", "model.npz"]


def test_default_configuration_reaches_95_percent(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys, "train", "--json", "--no-plots")
    summary = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and summary["dataset"] == "spiral" and summary["sizes"] == [2, 64, 64, 3]
    assert summary["test_accuracy"] >= 0.95
    assert (tmp_path / "runs" / "train" / "model.npz").is_file()


@pytest.mark.parametrize("options", [
    ["--dataset", "moons", "--dtype", "float32", "--activation", "tanh"],
    ["--dataset", "flower", "--optimizer", "sgd", "--momentum", "0.9", "--noise", "0.1"],
    ["--dataset", "circles", "--hidden", "8", "8", "--test-size", "0.5"],
])
def test_other_datasets_and_options(tmp_path, capsys, options):
    code, out, _ = _run(capsys, *FAST, *options, "--out", str(tmp_path), "--json", "--quiet", "--no-plots")
    assert code == 0 and len(out.strip().splitlines()) == 1
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["config"]["dataset"] == options[1]
    model = load(tmp_path / "model.npz")
    assert model.params["0.W"].dtype == np.dtype(metrics["config"]["dtype"])


def test_plots_skipped_with_a_note_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    code, out, err = _run(capsys, *FAST, "--out", str(tmp_path), "--json")
    assert code == 0 and 'pip install "chainrule[plot]"' in err
    assert json.loads(out.splitlines()[-1])["files"] == ["model.npz", "metrics.json"]


def test_errors(tmp_path, capsys):
    assert main(["train", "--epochs", "0"]) == 2
    assert "expected a positive integer, got 0" in capsys.readouterr().err
    assert main(["train", "--dataset", "mnist"]) == 2
    assert "invalid choice: 'mnist'" in capsys.readouterr().err
    code, out, err = _run(capsys, *FAST, "--momentum", "0.5", "--out", str(tmp_path), "--json")
    assert code == 2 and "chainrule train: error: --momentum applies to --optimizer sgd or rmsprop" in err
    assert json.loads(out.splitlines()[-1]) == {
        "ok": False, "status": "error",
        "error": "--momentum applies to --optimizer sgd or rmsprop, got --optimizer adam"}
    code, out, err = _run(capsys, *FAST, "--optimizer", "sgd", "--lr", "1e300", "--out", str(tmp_path),
                          "--json")
    assert code == 1 and "training diverged at epoch 1, step" in err
    assert json.loads(out.splitlines()[-1])["epoch"] == 1
    (tmp_path / "file").write_text("x")
    code, out, err = _run(capsys, *FAST, "--out", str(tmp_path / "file" / "sub"), "--json")
    # found before training (issue 11): a usage error, not a lost run
    assert code == 2 and "file is a file, not a folder" in err and json.loads(out)["ok"] is False


def test_help_via_python_m():
    top = subprocess.run([sys.executable, "-m", "chainrule", "--help"], capture_output=True, text=True,
                         check=True)
    assert "train" in top.stdout
    sub = subprocess.run([sys.executable, "-m", "chainrule", "train", "--help"], capture_output=True,
                         text=True, check=True)
    for option in ("--dataset", "--n-samples", "--noise", "--test-size", "--hidden", "--activation",
                   "--dtype", "--optimizer", "--lr", "--momentum", "--epochs", "--batch-size", "--seed",
                   "--out", "--no-plots", "--json", "--quiet"):
        assert option in sub.stdout
    assert "(default: spiral)" in sub.stdout and "(default: 100)" in sub.stdout


def test_plots_call_the_held_out_split_test_and_mark_its_points(tmp_path, capsys, monkeypatch):
    import chainrule.plotting as plotting

    figures = {}
    for name in ("plot_learning_curve", "plot_decision_boundary"):
        real = getattr(plotting, name)
        monkeypatch.setattr(plotting, name, lambda *a, _real=real, _name=name, **kw:
                            figures.setdefault(_name, _real(*a, **kw)))
    assert _run(capsys, *FAST, "--out", str(tmp_path), "--quiet")[0] == 0
    X, y = load_dataset("spiral", n_samples=150, rng=0)
    X_tr, X_te, _, _ = train_test_split(X, y, test_size=0.25, rng=0, stratify=True)
    loss_ax = figures["plot_learning_curve"].axes[0]
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == ["train loss", "test loss"]
    assert loss_ax.get_yscale() == "log"
    db = figures["plot_decision_boundary"].axes[0]
    assert [t.get_text() for t in db.get_legend().get_texts()][-2:] == ["train", "test"]
    assert np.array_equal(np.asarray(db.collections[-2].get_offsets()), X_tr)
    assert np.array_equal(np.asarray(db.collections[-1].get_offsets()), X_te)


def test_json_summary_carries_the_training_configuration(tmp_path, capsys):
    code, out, _ = _run(capsys, *FAST, "--optimizer", "sgd", "--lr", "0.2", "--dtype", "float32",
                        "--activation", "tanh", "--out", str(tmp_path / "run"), "--json", "--no-plots")
    assert code == 0
    summary = json.loads(out.strip().splitlines()[-1])
    assert {k: summary[k] for k in ("dtype", "optimizer", "lr", "batch_size", "activation")} == {
        "dtype": "float32", "optimizer": "sgd", "lr": 0.2, "batch_size": 25, "activation": "tanh"}


def test_too_few_samples_for_every_class_in_both_splits_names_the_minimum(tmp_path, capsys):
    code, out, err = _run(capsys, "train", "--n-samples", "3", "--epochs", "1", "--out", str(tmp_path / "r"),
                          "--json")
    assert code == 2 and not (tmp_path / "r").exists()
    # the smallest spiral (3 classes, test part ceil(0.25 N)) with a point of each class in both parts
    X, y = load_dataset("spiral", n_samples=9, rng=0)
    assert all(len(set(p)) == 3 for p in train_test_split(X, y, test_size=0.25, rng=0, stratify=True)[2:])
    X, y = load_dataset("spiral", n_samples=8, rng=0)
    assert any(len(set(p)) < 3 for p in train_test_split(X, y, test_size=0.25, rng=0, stratify=True)[2:])
    assert "--n-samples 3 is too small for the 3 classes of spiral" in err
    assert "use --n-samples at least 9" in err
    assert json.loads(out.strip().splitlines()[-1])["ok"] is False
    assert _run(capsys, "train", "--n-samples", "9", "--epochs", "1", "--no-plots", "--quiet",
                "--out", str(tmp_path / "ok"))[0] == 0


def test_out_naming_an_existing_file_is_refused_before_training(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("notes\n")
    code, _, err = _run(capsys, *FAST, "--out", str(readme))
    assert code == 2
    assert f"--out {readme} is a file, not a folder" in err
    assert readme.read_text() == "notes\n"


@pytest.mark.parametrize("lr", ["1000", "1e150", "1e6"])
def test_diverged_run_exits_1_with_one_line_naming_the_epoch_and_strict_json(tmp_path, capsys, lr):
    code, out, err = _run(capsys, *FAST, "--optimizer", "sgd", "--lr", lr, "--out", str(tmp_path / "run"),
                          "--json", "--quiet")
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "training diverged at epoch 1, step" in err
    line = out.strip().splitlines()[-1]
    summary = json.loads(line, parse_constant=lambda c: pytest.fail(f"non-strict JSON token {c}"))
    assert summary["ok"] is False and summary["status"] == "diverged" and summary["epoch"] == 1
    assert "NaN" not in line and "Infinity" not in line
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_metrics_json_and_summary_are_strict_json_with_a_status(tmp_path, capsys):
    code, out, _ = _run(capsys, *FAST, "--optimizer", "adamw", "--weight-decay", "0.05", "--out",
                        str(tmp_path / "run"), "--json", "--no-plots", "--quiet")
    assert code == 0

    def strict(c):
        pytest.fail(f"non-strict JSON token {c}")

    summary = json.loads(out.strip().splitlines()[-1], parse_constant=strict)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text(), parse_constant=strict)
    assert summary["status"] == metrics["status"] == "ok"
    assert metrics["config"]["optimizer"] == "adamw" and metrics["config"]["weight_decay"] == 0.05
