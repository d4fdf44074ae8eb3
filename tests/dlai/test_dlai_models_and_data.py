"""load_data on HDF5 files in the course's format, the course's training loops, predict and plots."""

import sys

import h5py
import numpy as np
import pytest
import torch

from chainrule import dlai


def write_cat_files(folder, *, m_train=40, m_test=16, side=4, seed=0, drop=None):
    """Small stand-ins for train_catvnoncat.h5 / test_catvnoncat.h5: "cats" are brighter images."""
    rng = np.random.default_rng(seed)

    def images(m):
        y = (np.arange(m) % 2).astype(np.int64)
        rng.shuffle(y)
        base = np.where(y[:, None, None, None] == 1, 170, 80)
        x = np.clip(base + rng.normal(0, 30, (m, side, side, 3)), 0, 255).astype(np.uint8)
        return x, y

    classes = np.array([b"non-cat", b"cat"])
    for prefix, m in (("train", m_train), ("test", m_test)):
        x, y = images(m)
        with h5py.File(folder / f"{prefix}_catvnoncat.h5", "w") as f:
            for key, value in ((f"{prefix}_set_x", x), (f"{prefix}_set_y", y), ("list_classes", classes)):
                if key != drop:
                    f.create_dataset(key, data=value)
    return folder


def test_load_data_reads_flattens_and_scales_as_the_course(tmp_path):
    write_cat_files(tmp_path)
    train_x, train_y, test_x, test_y, classes = dlai.load_data(tmp_path)
    with h5py.File(tmp_path / "train_catvnoncat.h5") as f:
        raw_x, raw_y = f["train_set_x"][()], f["train_set_y"][()]
    assert train_x.shape == (48, 40) and test_x.shape == (48, 16)
    assert train_x.dtype == np.float64
    # The course: train_x_orig.reshape(train_x_orig.shape[0], -1).T / 255
    np.testing.assert_array_equal(train_x, raw_x.reshape(40, -1).T / 255)
    np.testing.assert_array_equal(train_y, raw_y.reshape(1, 40))
    assert test_y.shape == (1, 16)
    assert [c.decode() for c in classes] == ["non-cat", "cat"]
    raw = dlai.load_data((tmp_path / "train_catvnoncat.h5", tmp_path / "test_catvnoncat.h5"), flatten=False)
    np.testing.assert_array_equal(raw[0], raw_x)


def test_load_data_errors_name_the_file_and_the_key(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a directory"):
        dlai.load_data(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="train_catvnoncat.h5"):
        dlai.load_data(tmp_path)
    write_cat_files(tmp_path, drop="test_set_y")
    with pytest.raises(ValueError, match=r"test_catvnoncat.h5 has no dataset 'test_set_y'"):
        dlai.load_data(tmp_path)
    (tmp_path / "train_catvnoncat.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        dlai.load_data(tmp_path)


def test_load_data_without_h5py_names_the_extra(tmp_path, monkeypatch):
    write_cat_files(tmp_path)
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"chainrule\[hdf5\]"):
        dlai.load_data(tmp_path)


def test_L_layer_model_trains_on_the_files_and_predicts(tmp_path, capsys):
    train_x, train_y, test_x, test_y, classes = dlai.load_data(write_cat_files(tmp_path))
    parameters, costs = dlai.L_layer_model(train_x, train_y, [48, 7, 5, 1], learning_rate=0.05,
                                           num_iterations=600, print_cost=True)
    out = capsys.readouterr().out
    assert out.count("Cost after iteration") == 6 and "Cost after iteration 500:" in out
    assert len(costs) == 6 and costs[-1] < 0.5 * costs[0]
    assert costs[0] == pytest.approx(0.693, abs=0.05)  # randn/sqrt(n) init starts near log 2
    p = dlai.predict(test_x, test_y, parameters)
    out = capsys.readouterr().out
    assert p.shape == (1, 16) and set(np.unique(p)) <= {0.0, 1.0}
    acc = np.mean(p == test_y)
    assert out.strip() == f"Accuracy: {acc}"
    assert acc >= 0.9
    assert dlai.accuracy(p, test_y) == acc


def test_L_layer_model_is_gradient_descent_on_the_course_cost():
    """200 iterations of L_layer_model equal 200 steps of plain gradient descent written in torch."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((5, 12))
    Y = (X[:1] + 0.5 * X[1:2] > 0).astype(np.int64)
    dims, lr = [5, 4, 3, 1], 0.3
    parameters, costs = dlai.L_layer_model(X, Y, dims, learning_rate=lr, num_iterations=201)
    start = dlai.initialize_parameters_deep(dims, init="lecun", rng=1)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in start.items()}
    x, y = torch.tensor(X), torch.tensor(Y, dtype=torch.float64)
    t_costs = []
    for i in range(201):
        A = x
        for layer in (1, 2, 3):
            Z = tp[f"W{layer}"] @ A + tp[f"b{layer}"]
            A = torch.sigmoid(Z) if layer == 3 else torch.relu(Z)
        cost = torch.nn.functional.binary_cross_entropy(A, y)
        if i % 100 == 0:
            t_costs.append(cost.item())
        cost.backward()
        with torch.no_grad():
            for v in tp.values():
                v -= lr * v.grad
                v.grad = None
    np.testing.assert_allclose(costs, t_costs, rtol=1e-10)
    for k, v in tp.items():
        np.testing.assert_allclose(parameters[k], v.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_two_layer_model_equals_the_L_layer_model_with_the_same_start():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((6, 20))
    Y = (X.sum(axis=0, keepdims=True) > 0).astype(np.int64)
    p2, c2 = dlai.two_layer_model(X, Y, (6, 4, 1), learning_rate=0.5, num_iterations=300)
    pL, cL = dlai.L_layer_model(X, Y, [6, 4, 1], learning_rate=0.5, num_iterations=300, init="course", rng=1)
    assert c2 == cL and c2[-1] < c2[0]
    for k in p2:
        np.testing.assert_array_equal(p2[k], pL[k])


def test_training_stops_at_a_non_finite_cost_and_keeps_the_last_good_parameters():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((3, 10)) * 50
    Y = (X[:1] > 0).astype(np.int64)
    with pytest.warns(RuntimeWarning, match=r"(became inf|reached exactly 0 or 1) at iteration \d+"):
        parameters, costs = dlai.L_layer_model(X, Y, [3, 8, 1], learning_rate=1e4, num_iterations=50)
    AL, _ = dlai.L_model_forward(X, parameters)
    assert np.isfinite(dlai.compute_cost(AL, Y))


def test_plot_costs_and_mislabeled_images(tmp_path, capsys):
    fig = dlai.plot_costs([0.7, 0.5, 0.3], learning_rate=0.01, path=tmp_path / "costs.png")
    assert (tmp_path / "costs.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    line = fig.axes[0].lines[0]
    np.testing.assert_array_equal(line.get_xdata(), [0, 100, 200])
    np.testing.assert_array_equal(line.get_ydata(), [0.7, 0.5, 0.3])
    assert fig.axes[0].get_title() == "Learning rate =0.01"

    X = np.random.default_rng(0).random((12, 5))  # 2 x 2 RGB images
    y = np.array([[1, 0, 1, 0, 1]])
    p = np.array([[1, 1, 1, 0, 0]])
    fig = dlai.print_mislabeled_images(np.array([b"non-cat", b"cat"]), X, y, p, path=tmp_path / "bad.png")
    out = capsys.readouterr().out.splitlines()
    assert out == ["index 1: predicted cat, true class non-cat", "index 4: predicted non-cat, true class cat"]
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["Prediction: cat\nClass: non-cat", "Prediction: non-cat\nClass: cat"]
    assert (tmp_path / "bad.png").exists()
    with pytest.raises(ValueError, match="image_shape"):
        dlai.print_mislabeled_images([b"a", b"b"], np.zeros((10, 5)), y, p)


def test_the_course_example_runs_on_course_format_files(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "course_l_layer.py"
    spec = importlib.util.spec_from_file_location("course_l_layer", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    (tmp_path / "data").mkdir()
    data = write_cat_files(tmp_path / "data", side=8)
    assert example.main(["--data", str(data), "--iterations", "200", "--learning-rate", "0.05",
                         "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "Cost after iteration 100:" in out and "backward check passed" in out
    course, layers = (float(v) for v in out.split("test cost: course face ")[1].split("\n")[0]
                      .split(", chainrule layers "))
    assert course == pytest.approx(layers, rel=1e-10)
    assert (tmp_path / "out" / "costs.png").exists() and (tmp_path / "out" / "mislabeled.png").exists()


def test_L_layer_model_plots_its_cost_curve(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(2)
    X = rng.standard_normal((3, 40))
    Y = (X[:1] + X[1:2] > 0).astype(np.int64)
    parameters, costs = dlai.L_layer_model(X, Y, [3, 4, 1], learning_rate=0.1, num_iterations=300,
                                           plot=tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    _, again = dlai.L_layer_model(X, Y, [3, 4, 1], learning_rate=0.1, num_iterations=300, plot=True)
    assert again == costs and len(costs) == 3
    np.testing.assert_array_equal(shown[0].axes[0].lines[0].get_ydata(), costs)
    plt.close("all")
