"""Checkpoints: optimizer and schedule state saved with the model; a resumed run is bit-identical."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.data import make_spiral
from chainrule.optim import SGD, Adam, AdamW, CosineAnnealingLR, RMSprop, StepLR


def _data():
    X, y = make_spiral(150, rng=0)
    return X, y


@pytest.mark.parametrize("make_opt,make_sched", [
    (lambda: Adam(0.01), lambda o: CosineAnnealingLR(o, 10)),
    (lambda: SGD(0.1, momentum=0.9, nesterov=True, weight_decay=1e-3), lambda o: StepLR(o, 3, 0.5)),
    (lambda: AdamW(0.01, clip_grad_norm=1.0), None),
    (lambda: RMSprop(0.005, momentum=0.5, centered=True), None),
])
def test_resumed_run_is_bit_identical_to_an_uninterrupted_one(tmp_path, make_opt, make_sched):
    X, y = _data()
    loss = nn.CrossEntropyLoss()

    def start():
        model = nn.mlp([2, 16, 16, 3], rng=1)
        opt = make_opt()
        return model, opt, (make_sched(opt) if make_sched else None)

    model, opt, sched = start()
    whole = cr.fit(model, loss, X, y, optimizer=opt, epochs=10, batch_size=32, rng=7, lr_scheduler=sched,
                   validation_data=(X[:30], y[:30]))

    first, opt1, sched1 = start()
    half = cr.fit(first, loss, X, y, optimizer=opt1, epochs=5, batch_size=32, rng=7, lr_scheduler=sched1,
                  validation_data=(X[:30], y[:30]))
    cr.save(first, tmp_path / "ckpt.npz", optimizer=opt1, lr_scheduler=sched1, metadata={"epoch": 5})
    del first, opt1, sched1

    opt2 = make_opt()
    opt2.lr = 123.0  # overwritten by the checkpoint
    sched2 = make_sched(opt2) if make_sched else None
    resumed = cr.load(tmp_path / "ckpt.npz", optimizer=opt2, lr_scheduler=sched2)
    epoch = cr.io.load_metadata(tmp_path / "ckpt.npz")["epoch"]
    rest = cr.fit(resumed, loss, X, y, optimizer=opt2, epochs=10, initial_epoch=epoch, batch_size=32, rng=7,
                  lr_scheduler=sched2, validation_data=(X[:30], y[:30]))

    assert rest.epoch == [6, 7, 8, 9, 10]
    for k, v in model.params.items():
        assert v.tobytes() == resumed.params[k].tobytes(), k
    assert half.history["loss"] + rest.history["loss"] == whole.history["loss"]
    assert opt2.lr == opt.lr
    # and the uninterrupted run really trained (the comparison is not between untouched weights)
    assert whole.history["loss"][-1] < 0.8 * whole.history["loss"][0]


def test_checkpoint_errors_name_the_problem(tmp_path):
    X, y = _data()
    model = nn.mlp([2, 8, 3], rng=0)
    opt = Adam(0.01)
    cr.fit(model, nn.CrossEntropyLoss(), X, y, optimizer=opt, epochs=1, batch_size=50)
    cr.save(model, tmp_path / "plain.npz")
    with pytest.raises(ValueError, match="it holds no optimizer state"):
        cr.load(tmp_path / "plain.npz", optimizer=Adam())
    cr.save(model, tmp_path / "ckpt.npz", optimizer=opt)
    with pytest.raises(ValueError, match="optimizer state does not fit: state_dict is of a Adam optimizer; "
                                         "this is a SGD"):
        cr.load(tmp_path / "ckpt.npz", optimizer=SGD(0.1))
    with pytest.raises(ValueError, match="it holds no lr_scheduler state"):
        cr.load(tmp_path / "ckpt.npz", lr_scheduler=StepLR(Adam(), 2))
    other = nn.mlp([2, 4, 3], rng=0)
    with pytest.raises(ValueError, match="optimizer state 0.W/exp_avg has shape"):
        cr.save(other, tmp_path / "bad.npz", optimizer=opt)
    # the model file still loads without asking for the optimizer
    plain = cr.load(tmp_path / "ckpt.npz")
    assert all(np.array_equal(plain.params[k], v) for k, v in model.params.items())
    restored = Adam()
    cr.load(tmp_path / "ckpt.npz", optimizer=restored)
    assert restored.state["0.W"]["step"] == opt.state["0.W"]["step"] == 3
    assert np.array_equal(restored.state["0.W"]["exp_avg"], opt.state["0.W"]["exp_avg"])


@pytest.mark.parametrize("rng", [5, None, np.random.Generator(np.random.MT19937(3))],
                         ids=["seeded", "unseeded", "mt19937"])
def test_resumed_run_with_dropout_draws_the_same_masks(tmp_path, rng):
    """The dropout masks come from the layer's own generator: its state is saved with the model, so
    the resumed run draws the masks the uninterrupted one drew (also for an unseeded Dropout)."""
    import copy

    X, y = _data()
    loss = nn.CrossEntropyLoss()
    start = nn.Sequential(nn.Linear(2, 32, rng=1), nn.ReLU(), nn.Dropout(0.3, rng=rng),
                          nn.Linear(32, 3, rng=2))
    model, first = copy.deepcopy(start), copy.deepcopy(start)
    opt, opt1 = Adam(0.01), Adam(0.01)
    whole = cr.fit(model, loss, X, y, optimizer=opt, epochs=6, batch_size=32, rng=7)
    half = cr.fit(first, loss, X, y, optimizer=opt1, epochs=3, batch_size=32, rng=7)
    cr.save(first, tmp_path / "ckpt.npz", optimizer=opt1)
    opt2 = Adam(0.01)
    resumed = cr.load(tmp_path / "ckpt.npz", optimizer=opt2)
    rest = cr.fit(resumed, loss, X, y, optimizer=opt2, epochs=6, initial_epoch=3, batch_size=32, rng=7)
    assert half.history["loss"] + rest.history["loss"] == whole.history["loss"]
    for k, v in model.params.items():
        assert v.tobytes() == resumed.params[k].tobytes(), k
    assert type(resumed[2].rng.bit_generator) is type(model[2].rng.bit_generator)
