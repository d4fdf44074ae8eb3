"""Every optimizer, schedule and clipping rule against torch.optim, float64, several steps, to 1e-12."""

import numpy as np
import pytest
import torch

from chainrule.optim import (
    SGD,
    Adam,
    AdamW,
    CosineAnnealingLR,
    ExponentialLR,
    InverseTimeDecay,
    RMSprop,
    StepLR,
    clip_grad_norm,
    clip_grad_value,
)

SHAPES = {"0.W": (3, 4), "0.b": (4,), "2.W": (4, 2)}


def _run_both(ours, make_torch, steps=10, seed=0, grad_scale=1.0, before_step=None):
    gen = np.random.default_rng(seed)
    params = {k: gen.standard_normal(s) for k, s in SHAPES.items()}
    tparams = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    topt = make_torch(list(tparams.values()))
    for _ in range(steps):
        grads = {k: grad_scale * gen.standard_normal(s) for k, s in SHAPES.items()}
        for k, t in tparams.items():
            t.grad = torch.tensor(grads[k].copy())
        if before_step is not None:
            before_step(list(tparams.values()))
        ours.step(params, grads)
        topt.step()
    return params, {k: t.detach().numpy() for k, t in tparams.items()}


def _close(ours, ref):
    for k in SHAPES:
        np.testing.assert_allclose(ours[k], ref[k], rtol=1e-12, atol=1e-12)
    assert any(not np.allclose(ours[k], 0) for k in SHAPES)


CASES = [
    (SGD, dict(lr=0.1), torch.optim.SGD),
    (SGD, dict(lr=0.05, momentum=0.9), torch.optim.SGD),
    (SGD, dict(lr=0.05, momentum=0.9, nesterov=True), torch.optim.SGD),
    (SGD, dict(lr=0.05, momentum=0.8, dampening=0.3), torch.optim.SGD),
    (SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1), torch.optim.SGD),
    (SGD, dict(lr=0.1, weight_decay=0.01), torch.optim.SGD),
    (RMSprop, dict(lr=0.01), torch.optim.RMSprop),
    (RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1), torch.optim.RMSprop),
    (RMSprop, dict(lr=0.01, momentum=0.9), torch.optim.RMSprop),
    (RMSprop, dict(lr=0.005, momentum=0.5, centered=True), torch.optim.RMSprop),
    (Adam, dict(lr=0.01), torch.optim.Adam),
    (Adam, dict(lr=0.1, betas=(0.8, 0.99), eps=1e-6), torch.optim.Adam),
    (Adam, dict(lr=0.01, weight_decay=0.1), torch.optim.Adam),
    (Adam, dict(lr=0.01, amsgrad=True), torch.optim.Adam),
    (AdamW, dict(lr=0.01), torch.optim.AdamW),
    (AdamW, dict(lr=0.05, weight_decay=0.3, amsgrad=True), torch.optim.AdamW),
]


@pytest.mark.parametrize("cls,kw,tcls", CASES, ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_optimizer_matches_torch(cls, kw, tcls):
    _close(*_run_both(cls(**kw), lambda p: tcls(p, **kw)))


def test_adamw_default_weight_decay_is_torchs_and_differs_from_adam_l2():
    assert AdamW().weight_decay == torch.optim.AdamW([torch.zeros(1, requires_grad=True)]).defaults[
        "weight_decay"] == 0.01
    coupled, _ = _run_both(Adam(lr=0.05, weight_decay=0.3), lambda p: torch.optim.Adam(p, lr=0.05))
    decoupled, _ = _run_both(AdamW(lr=0.05, weight_decay=0.3), lambda p: torch.optim.Adam(p, lr=0.05))
    assert not np.allclose(coupled["0.W"], decoupled["0.W"], rtol=1e-6)


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 100.0])
def test_clip_grad_norm_matches_torch(max_norm):
    def torch_clip(params):
        torch.nn.utils.clip_grad_norm_(params, max_norm)

    _close(*_run_both(SGD(0.1, momentum=0.9, clip_grad_norm=max_norm),
                      lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), before_step=torch_clip,
                      grad_scale=2.0))


def test_clip_grad_value_matches_torch():
    def torch_clip(params):
        torch.nn.utils.clip_grad_value_(params, 0.4)

    _close(*_run_both(Adam(0.05, clip_grad_value=0.4), lambda p: torch.optim.Adam(p, lr=0.05),
                      before_step=torch_clip))


def test_clip_functions_analytic():
    g = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    assert clip_grad_norm(g, 1.0) == 5.0
    np.testing.assert_allclose(g["a"], [3 / (5 + 1e-6), 0], rtol=1e-15)
    np.testing.assert_allclose(g["b"], [[4 / (5 + 1e-6)]], rtol=1e-15)
    small = {"a": np.array([0.3, 0.4])}
    assert clip_grad_norm(small, 1.0) == pytest.approx(0.5, rel=1e-15)
    np.testing.assert_array_equal(small["a"], [0.3, 0.4])  # under the bound: untouched
    v = {"a": np.array([-2.0, 0.1, 5.0])}
    clip_grad_value(v, 1.0)
    np.testing.assert_array_equal(v["a"], [-1.0, 0.1, 1.0])
    nan = {"a": np.array([np.nan, 1.0])}
    assert np.isnan(clip_grad_norm(nan, 1.0)) and np.isnan(nan["a"][1])  # NaN shows, never hides
    with pytest.raises(ValueError, match="max_norm must lie in"):
        clip_grad_norm(g, 0)


def _torch_lrs(make, epochs, lr=0.5):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = make(opt)
    out = []
    for _ in range(epochs):
        opt.step()
        sched.step()
        out.append(opt.param_groups[0]["lr"])
    return out


def _our_lrs(make, epochs, lr=0.5):
    opt = SGD(lr)
    sched = make(opt)
    return [sched.step() for _ in range(epochs)], opt


S = torch.optim.lr_scheduler
SCHED_CASES = [
    (lambda o: StepLR(o, 3, gamma=0.5), lambda o: S.StepLR(o, 3, gamma=0.5)),
    (lambda o: StepLR(o, 1), lambda o: S.StepLR(o, 1)),
    (lambda o: ExponentialLR(o, 0.9), lambda o: S.ExponentialLR(o, 0.9)),
    (lambda o: CosineAnnealingLR(o, 10), lambda o: S.CosineAnnealingLR(o, 10)),
    (lambda o: CosineAnnealingLR(o, 7, eta_min=0.01), lambda o: S.CosineAnnealingLR(o, 7, eta_min=0.01)),
    (lambda o: InverseTimeDecay(o, 0.3), lambda o: S.LambdaLR(o, lambda e: 1 / (1 + 0.3 * e))),
    (lambda o: InverseTimeDecay(o, 1.0, time_interval=4),
     lambda o: S.LambdaLR(o, lambda e: 1 / (1 + 1.0 * (e // 4)))),
]


@pytest.mark.parametrize("ours,theirs", SCHED_CASES)
def test_schedule_matches_torch(ours, theirs):
    got, opt = _our_lrs(ours, 20)
    expected = _torch_lrs(theirs, 20)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert opt.lr == got[-1] and len(set(got)) > 1


def test_inverse_time_decay_is_the_courses_formula():
    opt = SGD(0.5)
    sched = InverseTimeDecay(opt, decay_rate=1.0, time_interval=1000)
    # course test: learning_rate0 = 0.5, epoch_num = 10000, decay_rate = 1, time_interval = 1000 -> 0.04545...
    sched.last_epoch = 10000 - 1
    assert sched.step() == pytest.approx(0.5 / 11, rel=1e-15)
    assert InverseTimeDecay(SGD(0.5), 1.0).lr_at(2) == pytest.approx(0.5 / 3, rel=1e-15)


@pytest.mark.parametrize("cls,kw,_", CASES[1:6] + CASES[7:11] + CASES[12:],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_state_dict_round_trip_continues_bit_identically(cls, kw, _):
    gen = np.random.default_rng(5)
    params = {k: gen.standard_normal(s) for k, s in SHAPES.items()}
    grads = [{k: gen.standard_normal(s) for k, s in SHAPES.items()} for _ in range(8)]
    whole, half = cls(**kw), cls(**kw)
    a, b = {k: v.copy() for k, v in params.items()}, {k: v.copy() for k, v in params.items()}
    for g in grads:
        whole.step(a, {k: v.copy() for k, v in g.items()})
    for g in grads[:4]:
        half.step(b, {k: v.copy() for k, v in g.items()})
    saved = half.state_dict()
    for g in grads[:2]:  # later steps must not change the saved copy
        half.step({k: v.copy() for k, v in b.items()}, {k: v.copy() for k, v in g.items()})
    resumed = cls(lr=0.123)
    resumed.load_state_dict(saved)
    assert resumed.lr == kw["lr"]
    for g in grads[4:]:
        resumed.step(b, {k: v.copy() for k, v in g.items()})
    for k in SHAPES:
        assert np.array_equal(a[k], b[k])


def test_load_state_dict_refuses_other_types_and_bad_values():
    adam = Adam(0.1)
    adam.step({"w": np.zeros(2)}, {"w": np.ones(2)})
    with pytest.raises(ValueError, match="state_dict is of a Adam optimizer; this is a SGD"):
        SGD(0.1).load_state_dict(adam.state_dict())
    sd = adam.state_dict()
    sd["hyperparameters"]["lr"] = -1.0
    with pytest.raises(ValueError, match="hyperparameters are invalid: lr must lie in"):
        Adam().load_state_dict(sd)
    sd = adam.state_dict()
    sd["state"]["w"]["exp_avg"] = np.array([np.nan, 0.0])
    with pytest.raises(ValueError, match="finite floating arrays"):
        Adam().load_state_dict(sd)
    sd = adam.state_dict()
    del sd["state"]["w"]["exp_avg_sq"]
    fresh = Adam(0.5)
    with pytest.raises(ValueError, match=r"must be a dict with keys \['exp_avg', 'exp_avg_sq', 'step'\]"):
        fresh.load_state_dict(sd)
    assert fresh.lr == 0.5 and fresh.state == {}  # nothing changed


def test_schedule_state_dict_round_trip():
    opt = SGD(0.4)
    sched = CosineAnnealingLR(opt, 10, eta_min=0.01)
    for _ in range(3):
        sched.step()
    state = sched.state_dict()
    opt2 = SGD(9.0)
    other = CosineAnnealingLR(opt2, 5)
    other.load_state_dict(state)
    assert (other.T_max, other.eta_min, other.last_epoch, other.base_lr) == (10, 0.01, 3, 0.4)
    assert opt2.lr == opt.lr
    assert [other.step() for _ in range(4)] == [sched.step() for _ in range(4)]
    with pytest.raises(ValueError, match="state is of a CosineAnnealingLR schedule; this is a StepLR"):
        StepLR(SGD(0.1), 2).load_state_dict(state)


@pytest.mark.parametrize("make,match", [
    (lambda: SGD(0.1, nesterov=True), "nesterov=True needs momentum > 0"),
    (lambda: SGD(0.1, momentum=0.9, dampening=0.1, nesterov=True), "dampening = 0"),
    (lambda: SGD(0.1, weight_decay=-1), "weight_decay must lie in"),
    (lambda: RMSprop(alpha=1.0), r"alpha must lie in \[0.0, 1.0\)"),
    (lambda: AdamW(weight_decay=-0.1), "weight_decay"),
    (lambda: Adam(clip_grad_norm=0), "clip_grad_norm must lie in"),
    (lambda: StepLR(SGD(0.1), 0), "step_size must be a positive integer"),
    (lambda: CosineAnnealingLR(SGD(0.1), 10, eta_min=-1), "eta_min"),
    (lambda: ExponentialLR(SGD(0.1), 0), "gamma"),
])
def test_bad_hyperparameters_name_the_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_float32_updates_stay_float32_without_allocating_per_step():
    gen = np.random.default_rng(0)
    for opt in (SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
                RMSprop(centered=True, momentum=0.5),
                AdamW(0.01, amsgrad=True)):
        p = {"w": gen.standard_normal((5, 3)).astype(np.float32)}
        same = p["w"]
        for _ in range(3):
            opt.step(p, {"w": gen.standard_normal((5, 3)).astype(np.float32)})
        assert p["w"] is same and p["w"].dtype == np.float32 and np.all(np.isfinite(p["w"]))
        assert all(v.dtype == np.float32 for v in opt.state["w"].values() if isinstance(v, np.ndarray))
