"""SGD and Adam against torch.optim, several steps in float64; dtype, in-place updates, validation."""

import numpy as np
import pytest
import torch

from chainrule.optim import SGD, Adam
from chainrule.optim.clip import clip_grad_norm

SHAPES = {"0.W": (3, 4), "0.b": (4,), "2.W": (4, 2)}


def _run_both(ours, make_torch, steps=6, seed=0):
    gen = np.random.default_rng(seed)
    params = {k: gen.standard_normal(s) for k, s in SHAPES.items()}
    tparams = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    topt = make_torch(list(tparams.values()))
    for _ in range(steps):
        grads = {k: gen.standard_normal(s) for k, s in SHAPES.items()}
        ours.step(params, grads)
        for k, t in tparams.items():
            t.grad = torch.tensor(grads[k])
        topt.step()
    return params, {k: t.detach().numpy() for k, t in tparams.items()}


@pytest.mark.parametrize("lr,momentum", [(0.1, 0.0), (0.05, 0.9), (0.3, 0.5)])
def test_sgd_matches_torch(lr, momentum):
    ours, ref = _run_both(SGD(lr, momentum=momentum), lambda p: torch.optim.SGD(p, lr=lr, momentum=momentum))
    for k in SHAPES:
        np.testing.assert_allclose(ours[k], ref[k], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("kw", [{}, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}, {"lr": 0.1}])
def test_adam_matches_torch(kw):
    ours, ref = _run_both(Adam(**kw), lambda p: torch.optim.Adam(p, **kw), steps=8)
    for k in SHAPES:
        np.testing.assert_allclose(ours[k], ref[k], rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("opt", [SGD(0.1, momentum=0.9), Adam(0.01)])
def test_updates_in_place_and_keep_float32(opt):
    gen = np.random.default_rng(1)
    p = {"w": gen.standard_normal((5, 3)).astype(np.float32)}
    p64 = {"w": p["w"].astype(np.float64)}
    ref = type(opt)(**({"lr": 0.1, "momentum": 0.9} if isinstance(opt, SGD) else {"lr": 0.01}))
    same = p["w"]
    for _ in range(4):
        g = gen.standard_normal((5, 3)).astype(np.float32)
        opt.step(p, {"w": g})
        ref.step(p64, {"w": g.astype(np.float64)})
    assert p["w"] is same and p["w"].dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state["w"].values() if isinstance(v, np.ndarray))
    np.testing.assert_allclose(p["w"], p64["w"], rtol=1e-5, atol=1e-6)


def test_state_is_per_parameter_name():
    opt = Adam(0.1)
    a, b = {"a": np.zeros(2)}, {"b": np.zeros(2)}
    opt.step(a, {"a": np.ones(2)})
    opt.step(b, {"b": np.ones(2)})
    np.testing.assert_allclose(a["a"], b["b"])  # b's first step is bias-corrected like a's
    assert opt.state["a"]["step"] == 1 and opt.state["b"]["step"] == 1


@pytest.mark.parametrize("make,match", [
    (lambda: SGD(0.0), r"lr must lie in \(0.0, inf\), got 0.0"),
    (lambda: SGD(-1), "lr must lie in"),
    (lambda: SGD(float("nan")), "lr"),
    (lambda: SGD(0.1, momentum=1.0), r"momentum must lie in \[0.0, 1.0\), got 1.0"),
    (lambda: Adam(betas=(0.9,)), "betas must be a pair"),
    (lambda: Adam(betas=(0.9, 1.0)), r"betas\[1\]"),
    (lambda: Adam(eps=0), "eps"),
])
def test_bad_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_hyperparameter_types():
    with pytest.raises(TypeError, match="lr must be a real number, got str"):
        SGD("0.1")
    with pytest.raises(TypeError, match="lr"):
        Adam(True)


def test_step_checks_grads_against_params():
    opt = SGD(0.1)
    p = {"w": np.zeros((2, 3))}
    with pytest.raises(ValueError, match=r"missing \['w'\], unexpected \['v'\]"):
        opt.step(p, {"v": np.zeros((2, 3))})
    with pytest.raises(ValueError, match=r"expected shape \(2, 3\) dtype float64, got shape \(3, 2\)"):
        opt.step(p, {"w": np.zeros((3, 2))})
    with pytest.raises(ValueError, match="dtype float64, got shape .* dtype float32"):
        opt.step(p, {"w": np.zeros((2, 3), np.float32)})
    with pytest.raises(TypeError, match="floating NumPy array"):
        opt.step({"w": np.zeros(3, int)}, {"w": np.zeros(3, int)})
    mom = SGD(0.1, momentum=0.9)
    mom.step(p, {"w": np.ones((2, 3))})
    with pytest.raises(ValueError, match=r"changed from shape \(2, 3\)"):
        mom.step({"w": np.zeros(4)}, {"w": np.ones(4)})


OPTIMIZERS = {
    "sgd": lambda: SGD(0.1),
    "sgd momentum": lambda: SGD(0.1, momentum=0.9),
    "sgd nesterov": lambda: SGD(0.1, momentum=0.9, nesterov=True),
    "sgd weight decay": lambda: SGD(0.1, weight_decay=0.01),
    "sgd clipped": lambda: SGD(0.1, clip_grad_norm=1.0),
    "adam": lambda: Adam(0.01),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_scratch_grads_gives_the_same_parameters(name):
    """With scratch_grads the update may be formed in the named gradient arrays (plain SGD does:
    they end up holding lr * g); the parameters come out bit for bit the same either way, and
    gradients not named, or read-only ones, are left as they were."""
    gen = np.random.default_rng(3)
    init = {k: gen.standard_normal(s) for k, s in SHAPES.items()}
    plain, spent = {k: v.copy() for k, v in init.items()}, {k: v.copy() for k, v in init.items()}
    ref, opt = OPTIMIZERS[name](), OPTIMIZERS[name]()
    for _ in range(4):
        grads = {k: gen.standard_normal(s) for k, s in SHAPES.items()}
        ref.step(plain, {k: g.copy() for k, g in grads.items()})
        given = {k: g.copy() for k, g in grads.items()}
        given["2.W"].flags.writeable = name == "sgd clipped"  # clipping refuses read-only arrays
        ref_grads = {k: g.copy() for k, g in given.items()}
        if name == "sgd clipped":
            clip_grad_norm(ref_grads, 1.0)
        opt.step(spent, given, scratch_grads=["0.W", "2.W"])
        for k in SHAPES:
            np.testing.assert_array_equal(spent[k], plain[k])
        np.testing.assert_array_equal(given["0.b"], ref_grads["0.b"])  # not named
        np.testing.assert_array_equal(given["2.W"], ref_grads["2.W"] * (0.1 if name == "sgd clipped" else 1))
        if name in ("sgd", "sgd clipped"):
            np.testing.assert_array_equal(given["0.W"], ref_grads["0.W"] * 0.1)
        else:
            np.testing.assert_array_equal(given["0.W"], ref_grads["0.W"])
