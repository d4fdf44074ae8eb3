"""The census's own ground truth, checked against independent references: the hand-written
course backward against torch.autograd (float64), the scalar graphs' hand-derived gradients
against torch and Richardson-extrapolated differences, and the generator's promises (saturation
band, tiny deep ReLU inputs, exact zeros behind dead layers, bugs that change the gradient)."""

from __future__ import annotations

import census
import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _torch_course_grads(params, X, Y):
    T = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    L = len(params) // 2
    A = torch.tensor(X)
    for layer in range(1, L):
        A = torch.relu(T[f"W{layer}"] @ A + T[f"b{layer}"])
    AL = torch.sigmoid(T[f"W{L}"] @ A + T[f"b{L}"])
    Yt = torch.tensor(Y)
    J = -(1 / X.shape[1]) * torch.sum(Yt * torch.log(AL) + (1 - Yt) * torch.log(1 - AL))
    J.backward()
    return {k: t.grad.numpy() for k, t in T.items()}


@pytest.mark.parametrize("kind", ["he", "small", "randn", "small-deep", "dead"])
def test_the_course_backward_agrees_with_torch(kind):
    for seed in range(8):
        params, X, Y, info = census._course_point(seed, kind)
        _, cache = census.course_forward(X, Y, params)
        ref = _torch_course_grads(params, X, Y)
        for fused in (True, False):
            mine = census.course_grads(census.course_backward(X, Y, params, cache, fused=fused))
            assert set(mine) == set(ref)
            a = np.concatenate([mine[k].ravel() for k in sorted(ref)])
            t = np.concatenate([ref[k].ravel() for k in sorted(ref)])
            assert np.linalg.norm(a - t) <= 1e-9 * np.linalg.norm(t) + 1e-300, (kind, seed, info)


def test_the_seed_002_formula_agrees_with_torch():
    for seed in (0, 4, 8, 12):
        build, nw, info, rs = census._scalar_graph(seed)
        w = rs.uniform(-1.5, 1.5, size=nw)
        loss, W = build(w)
        g = census._backprop(loss)
        mine = np.array([g.get(id(n), 0.0) for n in W])
        wt = torch.tensor(w, requires_grad=True)
        xt = torch.tensor(build.x)
        # seed 002: y' = tanh(exp((w1x1+w2x2)^2+w6)+w7) + sigmoid(sin(w3x3)*(w4x4+w5x5)+w8)*w9
        s1 = wt[0] * xt[0] + wt[1] * xt[1]
        y = torch.tanh(torch.exp(s1 ** 2 + wt[5]) + wt[6]) + torch.sigmoid(
            torch.sin(wt[2] * xt[2]) * (wt[3] * xt[3] + wt[4] * xt[4]) + wt[7]) * wt[8]
        target = build.target
        ((y - target) ** 2).backward()
        np.testing.assert_allclose(mine, wt.grad.numpy(), rtol=1e-12, atol=1e-14)


def _richardson(build, w, i):
    """d loss / d w_i by central differences at h and 2h, extrapolated: error O(h^4)."""
    def d(h):
        e = np.zeros(w.size)
        e[i] = h
        return (build(w + e)[0].value - build(w - e)[0].value) / (2 * h)
    return (4 * d(1e-4) - d(2e-4)) / 3


def test_random_scalar_graphs_agree_with_richardson_differences():
    for seed in range(1, 40):
        if seed % 4 == 0:
            continue
        build, nw, info, rs = census._scalar_graph(seed)
        w = rs.uniform(-1.5, 1.5, size=nw)
        loss, W = build(w)
        g = census._backprop(loss)
        mine = np.array([g.get(id(n), 0.0) for n in W])
        approx = np.array([_richardson(build, w, i) for i in range(nw)])
        scale = max(np.abs(mine).max(), 1.0)
        np.testing.assert_allclose(mine, approx, atol=1e-7 * scale, err_msg=info)


def test_saturated_cases_sit_in_the_promised_band():
    for seed in range(3, 200, 12):
        params, X, Y, info = census._course_point(seed, "saturated")
        cost, (caches, AL) = census.course_forward(X, Y, params)
        assert np.isfinite(cost)
        k = int(np.argmax(np.abs(caches[-1][1])))
        gap = min(AL[0, k], 1 - AL[0, k])
        assert 1e-13 <= gap <= 2e-5, (seed, gap)
        assert (Y[0, k] == 0) == (AL[0, k] > 0.5)  # labelled against its prediction


def test_small_deep_cases_put_relu_inputs_at_the_course_kinks():
    tiny = 0
    for seed in range(4, 200, 12):
        params, X, Y, info = census._course_point(seed, "small-deep")
        _, (caches, _) = census.course_forward(X, Y, params)
        deepest = np.abs(caches[-2][1])  # layer L-1's ReLU input
        tiny += bool(np.any((deepest > 0) & (deepest < 1e-6)))
        assert np.all(deepest < 1e-4), (seed, deepest.max())
    assert tiny >= 10


def test_dead_and_exact_kink_cases_have_exact_zeros():
    for seed in range(5, 200, 12):
        params, X, Y, info = census._course_point(seed, "exact-kink")
        _, (caches, _) = census.course_forward(X, Y, params)
        assert np.all(caches[0][1][:, 0] == 0)  # example 0 sits on every layer-1 kink
    for seed in range(11, 200, 12):
        params, X, Y, info = census._course_point(seed, "dead")
        _, (caches, _) = census.course_forward(X, Y, params)
        assert np.any(np.all(caches[0][1] <= 0, axis=1))  # at least one unit dead on every example
        if "layer 1 dead" in info:
            assert all(np.all(Z == 0) for _, Z in caches[1:])


@pytest.mark.parametrize("kind", sorted(census.BUGS))
def test_planted_bugs_change_the_gradient_as_described(kind):
    for seed in range(3):
        case = census.bug_case(seed * len(census.BUGS), kind)
        changed = [k for k in case.truth if not np.allclose(case.given[k], case.truth[k], rtol=1e-9, atol=0)]
        assert changed, (kind, seed)
        for e in case.expect:
            if isinstance(e.where, str):
                holds = census.claim_holds(e.pattern, e.factor if e.pattern == "scaled" else None, e.where,
                                           case.given, case.truth)
                assert holds, (kind, seed, e)


def test_claims_are_verified_against_the_exact_gradients():
    t = {"W1": np.array([[1.0, 2.0], [3.0, 4.0]]), "W2": np.array([[5.0, -1.0], [0.5, 2.0]])}
    assert census.claim_holds("scaled", 2.0, "W1", {"W1": 2 * t["W1"]}, t)
    assert not census.claim_holds("scaled", 0.684, "W1", {"W1": t["W1"]}, t)
    assert census.claim_holds("scaled", 31.99, "W1", {"W1": 32 * t["W1"]}, t)  # a factor good to 1e-3
    assert not census.claim_holds("scaled", 31.0, "W1", {"W1": 32 * t["W1"]}, t)
    assert not census.claim_holds("scaled", 4.0, "W1", {"W1": 4 * t["W1"] * np.array([[1, 1], [1, 0]])}, t)
    assert census.claim_holds("sign", -1.0, "W1", {"W1": -t["W1"]}, t)
    assert not census.claim_holds("scaled", -0.456, "W1", {"W1": -t["W1"]}, t)
    assert census.claim_holds("transposed", None, "W1", {"W1": t["W1"].T}, t)
    assert census.claim_holds("swapped", None, "W1", {"W1": t["W2"], "W2": t["W1"]}, t)
    assert not census.claim_holds("swapped", None, "W1", {"W1": np.full((2, 2), 1e-13), "W2": t["W2"]}, t)
    assert census.claim_holds("zero", None, "W1", {"W1": np.zeros((2, 2))}, t)
    assert census.claim_holds("zero", None, "W1", {"W1": 1e-9 * t["W1"]}, t)
    assert not census.claim_holds("zero", None, "W1", {"W1": 1e-3 * t["W1"]}, t)
    masked = {"W1": np.array([[1.0, 2.0], [7.0, 4.0]])}
    assert not census.claim_holds("masked", None, "W1", masked, t)
    t0 = {"W1": np.array([[1.0, 0.0], [3.0, 0.0]])}
    assert census.claim_holds("masked", None, "W1", masked | {"W1": np.array([[1.0, 5.0], [3.0, -2.0]])}, t0)
    # a mask applied where it must not be: zero on a set, right elsewhere
    assert census.claim_holds("masked", None, "W1", {"W1": np.array([[1.0, 2.0], [0.0, 0.0]])}, t)
    # right only where both are zero says nothing: a set that separates nothing is no mask
    z = {"W1": np.array([[0.0, 0.0], [3.0, 0.0]])}
    assert not census.claim_holds("masked", None, "W1", {"W1": np.array([[0.0, 0.0], [-3.0, 0.0]])}, z)
    # wrong on a set by a factor (neither side zero there) is not a mask
    assert not census.claim_holds("masked", None, "W1", {"W1": np.array([[1.0, 2.0], [-3.0, -4.0]])}, t)
    assert census.claim_holds("mismatch", None, "W1", {"W1": t["W1"]}, t) is None


def test_the_outcome_accessor_prefers_the_checkers_own_word():
    class R:
        passed, unresolved, outcome = True, [], "undecided"
    assert census.outcome_of(R()) == "undecided"

    class Old:
        passed, unresolved = True, ["W1"]
    assert census.outcome_of(Old()) == "undecided"
    Old.unresolved = []
    assert census.outcome_of(Old()) == "correct"
    Old.passed = False
    assert census.outcome_of(Old()) == "wrong"


def _torch_model_grads(model, loss, X, y):
    import chainrule as cr

    F = torch.nn.functional
    params = {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True)
              for k, v in model.params.items()}
    h = torch.tensor(X)
    for i, layer in enumerate(model.layers):
        if isinstance(layer, cr.Linear):
            h = h @ params[f"{i}.W"] + params[f"{i}.b"]
        elif isinstance(layer, cr.LeakyReLU):
            h = F.leaky_relu(h, layer.negative_slope)
        elif isinstance(layer, cr.ReLU):
            h = torch.relu(h)
        elif isinstance(layer, cr.Sigmoid):
            h = torch.sigmoid(h)
        elif isinstance(layer, cr.Tanh):
            h = torch.tanh(h)
        else:
            raise TypeError(type(layer).__name__)
    if isinstance(loss, cr.CrossEntropyLoss):
        J = F.cross_entropy(h, torch.tensor(y))
    elif isinstance(loss, cr.BCEWithLogitsLoss):
        J = F.binary_cross_entropy_with_logits(h, torch.tensor(y))
    else:
        J = torch.mean((h - torch.tensor(y)) ** 2)
    J.backward()
    return {k: t.grad.numpy() for k, t in params.items()}


def test_the_model_census_truth_agrees_with_torch():
    for seed in range(24):  # every activation x loss pairing twice
        model, loss, X, y, info = census._model_point(seed)
        mine = census.model_gradients(model, loss, X, y)
        ref = _torch_model_grads(model, loss, X, y)
        a = np.concatenate([mine[k].ravel() for k in ref])
        t = np.concatenate([ref[k].ravel() for k in ref])
        assert np.linalg.norm(a - t) <= 1e-10 * np.linalg.norm(t) + 1e-300, info


def test_model_bugs_change_the_gradients_of_the_layer_they_sit_in():
    for i, kind in enumerate(census.MODEL_BUGS):
        case = census.model_bug_case(i, kind)
        assert any(not np.allclose(case.given[k], case.truth[k]) for k in case.truth), kind


def test_the_outcome_accessor_reads_a_step_with_nothing_checked_as_undecided():
    class Step:
        passed, pattern, hint = False, None, "unchecked: every element sat on a kink"
    assert census.outcome_of(Step()) == "undecided"
    Step.pattern, Step.hint = "scaled", "dZ: analytic = 4 x numerical"
    assert census.outcome_of(Step()) == "wrong"

    class Report:  # failed only because one part is undecided: undecided, not wrong
        passed, error, mutations, wrong_dA = False, None, [], {}
        steps = [Step()]
    Step.pattern, Step.hint = None, "unchecked: every element sat on a kink"
    assert census.outcome_of(Report()) == "undecided"
    Step.hint = "dZ: unchecked: every element sat on a kink"  # as dlai prefixes it
    assert census.outcome_of(Step()) == "undecided"
