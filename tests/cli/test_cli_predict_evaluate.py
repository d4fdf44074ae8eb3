"""`chainrule predict` / `chainrule evaluate` on a trained model, and `train --out` checked first."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.data import load_dataset


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained")
    assert main(["train", "--n-samples", "150", "--hidden", "16", "--epochs", "15", "--batch-size", "25",
                 "--out", str(folder / "run"), "--no-plots", "--quiet"]) == 0
    X, y = load_dataset("spiral", n_samples=90, rng=5)
    np.save(folder / "X.npy", X)
    np.savez(folder / "Xy.npz", X=X, y=y)
    np.savetxt(folder / "Xy.csv", np.column_stack([X, y]), delimiter=",", header="x1,x2,label", comments="")
    np.savetxt(folder / "X.csv", X, delimiter=",")
    np.save(folder / "y.npy", y)
    return folder, cr.load(folder / "run" / "model.npz"), X, y


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("data", ["X.npy", "Xy.npz", "X.csv"])
def test_predict_prints_one_label_per_line(trained, capsys, data):
    folder, model, X, _ = trained
    code, out, _ = run(capsys, "predict", str(folder / "run" / "model.npz"), str(folder / data))
    assert code == 0
    assert np.array_equal(np.array(out.split(), dtype=np.int64), cr.predict(model, X))


def test_predict_probabilities_and_files(trained, capsys, tmp_path):
    folder, model, X, _ = trained
    code, out, _ = run(capsys, "predict", str(folder / "run" / "model.npz"), str(folder / "X.npy"), "--proba")
    rows = np.array([line.split(",") for line in out.splitlines()], dtype=np.float64)
    assert code == 0 and rows.shape == (len(X), 3)
    np.testing.assert_allclose(rows, cr.predict_proba(model, X), rtol=1e-7)
    np.testing.assert_allclose(rows.sum(1), 1, rtol=1e-6)
    code, out, _ = run(capsys, "predict", str(folder / "run" / "model.npz"), str(folder / "X.npy"), "--proba",
                       "--out", str(tmp_path / "p.npy"), "--json")
    assert code == 0 and json.loads(out) == {"ok": True, "n": len(X), "out": str(tmp_path / "p.npy")}
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), cr.predict_proba(model, X))  # exact
    assert run(capsys, "predict", str(folder / "run" / "model.npz"), str(folder / "X.npy"), "--out",
               str(tmp_path / "labels.txt"))[0] == 0
    assert np.array_equal(np.loadtxt(tmp_path / "labels.txt", dtype=np.int64), cr.predict(model, X))
    code, out, _ = run(capsys, "predict", str(folder / "run" / "model.npz"), str(folder / "X.npy"), "--json")
    assert json.loads(out)["predictions"] == cr.predict(model, X).tolist()


@pytest.mark.parametrize("data, extra", [("Xy.npz", []), ("Xy.csv", []), ("X.npy", ["--labels", "y.npy"])])
def test_evaluate_matches_the_library(trained, capsys, data, extra):
    folder, model, X, y = trained
    extra = [str(folder / e) if e.endswith(".npy") else e for e in extra]
    model_file = str(folder / "run" / "model.npz")
    code, out, _ = run(capsys, "evaluate", model_file, str(folder / data), "--json", *extra)
    d = json.loads(out)
    expected = cr.evaluate(model, cr.CrossEntropyLoss(), X, y)
    assert code == 0 and d["ok"] and d["n"] == len(X) and d["loss_name"] == "cross_entropy"
    assert d["accuracy"] == expected["accuracy"] and d["loss"] == pytest.approx(expected["loss"], rel=1e-12)
    code, out, _ = run(capsys, "evaluate", str(folder / "run" / "model.npz"), str(folder / data), *extra)
    assert code == 0 and f"accuracy {expected['accuracy']:.2%}" in out and "on 90 examples" in out


@pytest.mark.parametrize("argv, message", [
    (["predict", "{run}", "{folder}/nothere.npy"], "no data file"),
    (["predict", "{folder}/nothere.npz", "{folder}/X.npy"], "no model file"),
    (["predict", "{run}", "{folder}/Xy.csv"], "3 columns; the last column of a .csv is the label only for"),
    (["predict", "{run}", "{folder}/y.npy"], "must be 2-D"),
    (["predict", "{run}", "{folder}/pickled.npy"], "never unpickled"),
    (["evaluate", "{run}", "{folder}/X.npy"], "has no labels"),
    (["evaluate", "{run}", "{folder}/Xy.npz", "--labels", "{folder}/short.npy"], "90 examples but 3 labels"),
    (["evaluate", "{run}", "{folder}/data.txt"], "DATA must be a .npy, .npz, .csv file"),
])
def test_usage_errors_exit_2_with_a_clear_message(trained, capsys, argv, message):
    folder = trained[0]
    np.save(folder / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(folder / "short.npy", np.arange(3))
    (folder / "data.txt").write_text("1,2\n")
    argv = [a.format(run=folder / "run" / "model.npz", folder=folder) for a in argv]
    code, out, err = run(capsys, *argv, "--json")
    assert code == 2 and message in err, err
    assert json.loads(out)["ok"] is False


def test_train_out_is_checked_before_training(tmp_path, capsys, monkeypatch):
    import chainrule.cli.train as train_cli

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(train_cli, "fit", no_training)
    (tmp_path / "a_file").write_text("")
    code, _, err = run(capsys, "train", "--out", str(tmp_path / "a_file" / "run"))
    assert code == 2 and "a_file is a file, not a folder" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "train", "--out", str(tmp_path / "a_file"))
    assert code == 2 and "is a file, not a folder" in err

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(train_cli.tempfile, "TemporaryFile", read_only)
    code, out, err = run(capsys, "train", "--out", str(tmp_path / "new" / "run"), "--json")
    assert code == 2 and "is not writable" in err and "Permission denied" in err and str(tmp_path) in err
    assert json.loads(out)["ok"] is False
    assert not (tmp_path / "new").exists()  # nothing created
