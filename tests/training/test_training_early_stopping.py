"""EarlyStopping (patience, min_delta, restore best weights), validation_split, callbacks lists,
learning-rate schedules in fit, and progress lines in a notebook without ipywidgets."""

import importlib.util

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.data import make_spiral
from chainrule.optim import SGD, Adam, StepLR
from chainrule.training import Callback, EarlyStopping, History, fit


def test_patience_and_min_delta_follow_keras_rule():
    model = nn.Linear(2, 2, rng=0)
    es = EarlyStopping("val_loss", patience=2, min_delta=0.05)
    es.on_train_begin(model, History())
    decisions = []
    for epoch, v in enumerate([1.0, 0.8, 0.77, 0.9, 0.6, 0.58, 0.57], start=1):
        model.params["W"][...] = epoch  # the weights of each epoch are recognisable
        decisions.append(es(epoch, {"val_loss": v}))
        if decisions[-1]:
            break
    # 0.77 and 0.9 do not beat 0.8 by more than 0.05: stop after two such epochs
    assert decisions == [False, False, False, True]
    assert (es.best, es.best_epoch, es.stopped_epoch) == (0.8, 2, 4)
    h = History()
    es.on_train_end(model, h)
    assert np.all(model.params["W"] == 2) and (h.best_epoch, h.stopped_epoch) == (2, 4)
    acc = EarlyStopping("val_accuracy", patience=0)
    acc.on_train_begin(model, History())
    assert acc.mode == "max" and acc(1, {"val_accuracy": 0.5}) is False
    assert acc(2, {"val_accuracy": 0.5}) is True


def test_fit_with_validation_split_stops_and_restores_the_best_epoch():
    X, y = make_spiral(200, rng=0)
    perm = np.random.default_rng(0).permutation(len(y))
    X, y = X[perm], y[perm]
    model = nn.mlp([2, 128, 128, 3], rng=0)
    es = EarlyStopping(patience=3)
    h = fit(model, nn.CrossEntropyLoss(), X[:60], y[:60], optimizer=Adam(0.05), epochs=300, batch_size=16,
            validation_split=0.5, callback=es)
    assert h.stopped_epoch is not None and h.stopped_epoch == h.epoch[-1] < 300
    best = int(np.argmin(h["val_loss"]))
    assert h.best_epoch == h.epoch[best] == h.stopped_epoch - 3
    # the model holds the best epoch's weights: its validation loss is that epoch's, to the bit
    val = cr.evaluate(model, nn.CrossEntropyLoss(), X[30:60], y[30:60])
    assert val["loss"] == h["val_loss"][best] < h["val_loss"][-1]
    assert "stopped after epoch" in repr(h) and f"best epoch {h.best_epoch}" in repr(h)


def test_early_stopping_needs_the_monitored_metric_and_validation_split_is_checked():
    X, y = make_spiral(60, rng=0)
    with pytest.raises(ValueError, match=r"EarlyStopping monitors 'val_loss', but the epoch logs only have "
                                         r"\['accuracy', 'loss'\]; pass validation_data or validation_split"):
        fit(nn.mlp([2, 4, 3], rng=0), nn.CrossEntropyLoss(), X, y, optimizer=SGD(0.1), epochs=2,
            callback=EarlyStopping())
    with pytest.raises(ValueError, match="validation_split must lie in"):
        fit(nn.mlp([2, 4, 3], rng=0), nn.CrossEntropyLoss(), X, y, optimizer=SGD(0.1), epochs=2,
            validation_split=1.0)
    with pytest.raises(ValueError, match="not both"):
        fit(nn.mlp([2, 4, 3], rng=0), nn.CrossEntropyLoss(), X, y, optimizer=SGD(0.1), epochs=2,
            validation_split=0.2, validation_data=(X, y))
    with pytest.raises(ValueError, match="patience must be an integer >= 0"):
        EarlyStopping(patience=-1)


def test_callback_list_hooks_and_schedule_recorded_in_history():
    X, y = make_spiral(60, rng=0)
    seen = []

    class Hooks(Callback):
        def on_train_begin(self, model, history):
            seen.append("begin")

        def __call__(self, epoch, logs):
            seen.append(epoch)

        def on_train_end(self, model, history):
            seen.append("end")

    opt = SGD(0.4)
    h = fit(nn.mlp([2, 8, 3], rng=0), nn.CrossEntropyLoss(), X, y, optimizer=opt, epochs=5, batch_size=20,
            callback=[Hooks(), lambda e, logs: e == 4], lr_scheduler=StepLR(opt, 2, gamma=0.5))
    assert seen == ["begin", 1, 2, 3, 4, "end"] and h.epoch == [1, 2, 3, 4]
    assert h["lr"] == [0.4, 0.4, 0.2, 0.2] and opt.lr == 0.1
    with pytest.raises(TypeError, match="item 1 is int"):
        fit(nn.mlp([2, 8, 3], rng=0), nn.CrossEntropyLoss(), X, y, optimizer=opt, epochs=1,
            callback=[Hooks(), 3])


def test_progress_prints_lines_in_a_notebook_without_ipywidgets(monkeypatch, capsys):
    import rich.console

    monkeypatch.setattr(rich.console, "_is_jupyter", lambda: True)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ipywidgets" else real(name, *a))
    X, y = make_spiral(60, rng=0)
    fit(nn.mlp([2, 8, 3], rng=0), nn.CrossEntropyLoss(), X, y, optimizer=SGD(0.1), epochs=3, progress=True,
        validation_data=(X, y))
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("epoch 1/3  loss ") and "val_acc" in lines[0]
    assert lines[-1].startswith("epoch 3/3  loss ")


def test_progress_is_visible_in_a_real_notebook_kernel(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from pathlib import Path

    src = str(Path(cr.__file__).resolve().parents[1])
    code = (f"import sys; sys.path.insert(0, {src!r})\n"
            "import chainrule as cr\nfrom chainrule.data import make_spiral\n"
            "X, y = make_spiral(60, rng=0)\n"
            "h = cr.fit(cr.mlp([2, 8, 3], rng=0), cr.CrossEntropyLoss(), X, y, optimizer=cr.SGD(0.1), "
            "epochs=3, progress=True)")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = nb.cells[0].outputs
    shown = "".join(o.get("text", "") for o in outputs) + "".join(
        str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    if importlib.util.find_spec("ipywidgets") is None:
        assert "epoch 1/3  loss" in shown and "epoch 3/3  loss" in shown, outputs
    else:  # rich draws a live widget; something must show
        assert outputs
