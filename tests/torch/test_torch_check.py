"""chainrule.torch: custom autograd Functions and nn.Modules checked with chainrule's report.

Every planted bug must be named with the right input and pattern, every correct Function must pass
(kinks included), and the verdict must agree with torch.autograd.gradcheck on the same Function."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
import torch_functions as F

import chainrule as cr
from chainrule.gradcheck import PrecisionWarning
from chainrule.torch import assert_gradients, check_function, check_module


def randn(*shape, seed=0):
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def torch_verdict(fn, inputs) -> bool:
    """torch.autograd.gradcheck's pass/fail; a gradient torch refuses (wrong shape) is a fail."""
    args = tuple(a.detach().clone().requires_grad_() if isinstance(a, torch.Tensor) and a.is_floating_point()
                 else a for a in inputs)
    try:
        return torch.autograd.gradcheck(fn, args, raise_exception=False)
    except RuntimeError:
        return False


CORRECT = {
    "relu": (F.ReLU, lambda: (randn(6, 5),)),
    "leaky_relu": (F.LeakyReLU, lambda: (randn(6, 5),)),
    "matmul": (F.MatMul, lambda: (randn(4, 3), randn(3, 2, seed=1))),
    "linear": (F.Linear, lambda: (randn(4, 3), randn(2, 3, seed=1), randn(2, seed=2))),
    "mul": (F.Mul, lambda: (randn(3, 4), randn(3, 4, seed=1))),
    "square": (F.Square, lambda: (randn(5),)),
    "exp": (F.Exp, lambda: (randn(5),)),
    "max": (F.Max, lambda: (randn(4, 4), randn(4, 4, seed=1))),
    "sincos": (F.SinCos, lambda: (randn(5),)),
    "scale_by": (F.ScaleBy, lambda: (randn(5), 3.0)),
}

# Function, inputs, {input: (pattern, detail)} for every failing input; the others must pass.
PLANTED = {
    "relu_no_mask": (F.ReLUNoMask, lambda: (randn(6, 5),), {"x": ("masked", "elements where x <= 0")}),
    "leaky_relu_wrong_mask": (F.LeakyReLUWrongMask, lambda: (randn(6, 5),),
                              {"x": ("masked", "elements where x <= 0")}),
    "transposed_square": (F.MatMulTransposed, lambda: (randn(4, 3), randn(3, 3, seed=1)),
                          {"w": ("transposed", None)}),
    "transposed_shape": (F.MatMulTransposed, lambda: (randn(4, 3), randn(3, 2, seed=1)),
                         {"w": ("transposed", None)}),
    "missing_factor": (F.SquareMissingFactor, lambda: (randn(5),), {"x": ("scaled", None)}),
    "sign": (F.ExpSign, lambda: (randn(5),), {"x": ("sign", None)}),
    "swapped_same_shape": (F.MulSwapped, lambda: (randn(3, 4), randn(3, 4, seed=1)),
                           {"a": ("swapped", "b"), "b": ("swapped", "a")}),
    "swapped_order": (F.LinearSwapped, lambda: (randn(4, 3), randn(2, 3, seed=1), randn(2, seed=2)),
                      {"x": ("swapped", "weight"), "weight": ("swapped", "x")}),
}


@pytest.mark.parametrize("case", sorted(CORRECT))
def test_correct_functions_pass_and_torch_agrees(case):
    fn, make = CORRECT[case]
    inputs = make()
    report = check_function(fn, *inputs)
    assert report.passed, str(report)
    assert report.failed == [] and report.difference < 1e-8
    assert torch_verdict(fn.apply, inputs) is True


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_planted_bugs_are_named_and_torch_agrees(case):
    fn, make, expected = PLANTED[case]
    inputs = make()
    report = check_function(fn, *inputs)
    assert not report.passed
    assert sorted(report.failed) == sorted(expected)
    for name, (pattern, detail) in expected.items():
        res = report.parameters[name]
        assert res.pattern == pattern, (name, res.pattern, res.hint)
        if detail is not None:
            assert res.detail == detail
        if res.numerical is not None and res.analytic.shape == res.numerical.shape:
            assert res.worst, "a failing gradient shows its worst elements"
    passing = set(report.parameters) - set(expected)
    assert all(report.parameters[n].passed for n in passing)
    assert torch_verdict(fn.apply, inputs) is False


def test_missing_factor_and_sign_carry_the_factor():
    half = check_function(F.SquareMissingFactor, randn(5)).parameters["x"]
    assert half.factor == pytest.approx(0.5, rel=1e-6)
    assert check_function(F.ExpSign, randn(5)).parameters["x"].factor == pytest.approx(-1.0, rel=1e-6)


def test_kinks_on_the_input_are_left_out_not_failed():
    x = randn(6, 5)
    x[0, :3] = 0.0  # exactly on ReLU's kink
    report = check_function(F.ReLU, x)
    assert report.passed and report.parameters["x"].kinks == 3
    a, b = randn(4, 4), randn(4, 4, seed=1)
    b[1, 2], b[3, 0] = a[1, 2], a[3, 0]  # ties of max: a kink in both inputs
    report = check_function(F.Max, a, b)
    assert report.passed and report.kinks >= 2


def test_each_output_on_its_own():
    report = check_function(F.SinCos, randn(5), outputs="each")
    assert report.passed and sorted(report.parameters) == ["dout0/dx", "dout1/dx"]
    crossed = check_function(F.SinCosCrossed, randn(5), outputs="each")
    assert sorted(crossed.failed) == ["dout0/dx", "dout1/dx"]
    assert not check_function(F.SinCosCrossed, randn(5)).passed
    assert torch_verdict(F.SinCosCrossed.apply, (randn(5),)) is False


def test_plain_callables_and_argument_names():
    report = check_function(lambda weight, bias: torch.tanh(weight) * bias, randn(3), randn(3, seed=1))
    assert report.passed and list(report.parameters) == ["weight", "bias"]
    report = check_function(lambda *xs: xs[0] * xs[1], randn(3), randn(3, seed=1))
    assert list(report.parameters) == ["input0", "input1"]
    # only the floating tensors that require grad are checked when some do, as in torch's gradcheck
    a, b = randn(3), randn(3, seed=1).requires_grad_()
    assert list(check_function(F.Mul, a, b).parameters) == ["b"]
    # non-tensor and integer arguments pass through unchecked
    idx = torch.tensor([2, 0])
    report = check_function(lambda x, i, k: x[i] * k, randn(3), idx, 2.5)
    assert report.passed and list(report.parameters) == ["x"]
    # a forward-only Function (setup_context) has no ctx among forward's arguments
    assert list(check_function(F.SetupContextMul, randn(3), randn(3, seed=1)).parameters) == ["a", "b"]


def test_a_detached_path_is_a_zero_gradient():
    report = check_function(lambda x: (x.detach() * x.detach()).sum(), randn(4))
    assert report.failed == ["x"] and report.parameters["x"].pattern == "zero"


def test_inputs_random_state_and_threads_are_left_alone():
    x = randn(6, 5).requires_grad_()
    x32 = torch.randn(6, 5)
    before, version = x.detach().clone(), x._version
    state, threads = torch.get_rng_state(), torch.get_num_threads()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        check_function(F.ReLUNoMask, x)
        check_function(F.Mul, x32, x32 + 1)
    assert torch.equal(x.detach(), before) and x._version == version and x.grad is None and x.requires_grad
    assert x32.dtype == torch.float32 and x32.grad is None and not x32.requires_grad
    assert torch.equal(torch.get_rng_state(), state) and torch.get_num_threads() == threads


def test_float32_inputs_are_checked_in_float64_with_a_warning():
    x = randn(6, 5).float()
    with pytest.warns(PrecisionWarning, match="float64 copy"):
        report = check_function(F.ReLUNoMask, x)
    assert report.parameters["x"].pattern == "masked" and any("float64 copy" in n for n in report.notes)
    with pytest.warns(PrecisionWarning):
        assert check_function(F.LeakyReLU, x).passed


def test_backward_failures_are_findings_not_crashes():
    report = check_function(F.TooFewGrads, randn(3), randn(3, seed=1))
    assert not report.passed and "returned 1 gradient(s) for the 2 argument(s)" in report.error
    report = check_function(F.Raises, randn(3))
    assert not report.passed and "Raises.backward raised ValueError: planted" in report.error
    with pytest.raises(AssertionError, match="planted"):
        assert_gradients(F.Raises, randn(3))


def test_broadcast_gradients_are_summed_as_torch_does():
    # a bias gradient returned un-reduced, shape (N, D): torch sums it to (D,), so it is correct
    report = check_function(F.AddBiasUnreduced, randn(4, 3), randn(3, seed=1))
    assert report.passed and torch_verdict(F.AddBiasUnreduced.apply, (randn(4, 3), randn(3, seed=1)))


def test_assert_gradients_on_functions_modules_and_reports():
    assert assert_gradients(F.ReLU, randn(6, 5)).passed
    with pytest.raises(AssertionError, match="x masked"):
        assert_gradients(F.ReLUNoMask, randn(6, 5))
    with pytest.raises(AssertionError, match="transposed"):
        cr.assert_gradients(check_function(F.MatMulTransposed, randn(4, 3), randn(3, 3, seed=1)))


def test_the_top_level_assert_gradients_takes_torch_targets_too():
    """One assert_gradients for everything: cr.assert_gradients on a torch Function (the class or its
    apply), a plain callable given tensors, or an nn.Module runs chainrule.torch's checks."""
    assert cr.assert_gradients(F.ReLU, randn(6, 5)).passed
    assert cr.assert_gradients(F.Square.apply, randn(4)).passed
    assert cr.assert_gradients(lambda x: torch.tanh(x) * 2, randn(3, 2)).passed
    assert cr.assert_gradients(torch.nn.Linear(3, 2).double(), randn(5, 3)).passed
    with pytest.raises(AssertionError, match="x masked"):
        cr.assert_gradients(F.ReLUNoMask, randn(6, 5))
    with pytest.raises(AssertionError, match="scaled"):
        cr.assert_gradients(F.SquareMissingFactor.apply, randn(4))


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="fn must be"):
        check_function(3, randn(3))
    with pytest.raises(ValueError, match="no floating-point tensor"):
        check_function(lambda i: i * 2, torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="outputs"):
        check_function(F.ReLU, randn(3), outputs="all")
    with pytest.raises(TypeError, match="no floating-point tensor to check"):
        check_function(lambda x: (x > 0), randn(3))
    with pytest.raises(TypeError, match="module must be"):
        check_module(F.ReLU, randn(3))


class Net(torch.nn.Module):
    """Linear -> BatchNorm1d -> custom activation -> Dropout -> Linear."""

    def __init__(self, act, dropout=0.3):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.fc1, self.bn, self.fc2 = torch.nn.Linear(3, 5), torch.nn.BatchNorm1d(5), torch.nn.Linear(5, 2)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g))
        self.act, self.drop = act, torch.nn.Dropout(dropout)

    def forward(self, x):
        return self.fc2(self.drop(self.act.apply(self.bn(self.fc1(x)))))


def _module_verdict(net, x):
    names = [n for n, _ in net.named_parameters()]
    work = Net(net.act, 0.0).double()
    work.load_state_dict(net.state_dict())

    def fn(x, *ps):
        return torch.func.functional_call(work, dict(zip(names, ps, strict=True)), (x,))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # thousands of tiny BatchNorm calls: a thread pool only slows them down
    try:
        return torch_verdict(fn, (x.double(), *[p.detach().double() for p in net.parameters()]))
    finally:
        torch.set_num_threads(threads)


def test_module_with_a_correct_custom_function_passes():
    net, x = Net(F.LeakyReLU), torch.randn(8, 3, generator=torch.Generator().manual_seed(1))
    with pytest.warns(PrecisionWarning):
        report = check_module(net, x)  # Dropout in train mode draws the same mask in every evaluation
    assert report.passed, str(report)
    assert sorted(report.parameters) == sorted(["fc1.weight", "fc1.bias", "bn.weight", "bn.bias",
                                                "fc2.weight", "fc2.bias", "x"])
    assert _module_verdict(Net(F.LeakyReLU, 0.0), x) is True


@pytest.mark.filterwarnings("ignore::chainrule.gradcheck.PrecisionWarning")
def test_module_with_a_buggy_custom_function_names_the_parameters_before_it():
    x = torch.randn(8, 3, generator=torch.Generator().manual_seed(1))
    report = check_module(Net(F.SquareMissingFactor, 0.0), x)
    # the bug halves every gradient upstream of the activation; fc2 (after it) is right
    wrong = sorted(n for n, p in report.parameters.items() if p.pattern is not None)
    assert wrong == ["bn.bias", "bn.weight", "fc1.weight", "x"] and not report.passed
    assert all(report.parameters[n].pattern == "scaled" for n in wrong)
    assert report.parameters["fc2.weight"].passed and report.parameters["fc2.bias"].passed
    # fc1.bias feeds a BatchNorm: its true gradient is zero, and the halving leaves zero zero
    assert report.parameters["fc1.bias"].outcome != "wrong"
    assert _module_verdict(Net(F.SquareMissingFactor, 0.0), x) is False
    # each piece checked alone: the Function is blamed, not the layers whose gradients it corrupted
    assert [lr.index for lr in report.layers] == ["fc1", "bn", "SquareMissingFactor.apply", "drop", "fc2"]
    assert report.blame == 2 and report.layers[2].pattern == "scaled"
    assert [lr.passed for lr in report.layers] == [True, True, False, True, True]
    assert report.headline().startswith("gradient check failed: blame layer SquareMissingFactor.apply")
    assert torch.autograd.Function.__dict__["apply"].__func__.__qualname__ == "Function.apply"  # restored


class Act(torch.nn.Module):
    """A custom Function wrapped in a module, as nn code usually holds one."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn.apply(x)


@pytest.mark.filterwarnings("ignore::chainrule.gradcheck.PrecisionWarning")
@pytest.mark.parametrize("fn, passed", [(F.LeakyReLU, True), (F.ReLUNoMask, False)])
def test_module_blame_names_the_wrapping_submodule(fn, passed):
    net = torch.nn.Sequential(torch.nn.Linear(3, 6), Act(fn), torch.nn.Linear(6, 2))
    report = check_module(net, torch.randn(8, 3, generator=torch.Generator().manual_seed(2)))
    assert report.passed is passed
    assert [lr.index for lr in report.layers] == ["0", "1", f"{fn.__name__}.apply", "2"]
    if passed:
        assert report.blame is None and all(lr.passed for lr in report.layers)
    else:
        assert report.blame == 1 and report.layers[1].name == "Act" and report.layers[1].pattern == "masked"
        assert not report.layers[2].passed and report.layers[3].passed and report.layers[0].passed
    assert check_module(net, torch.randn(8, 3), layers=False).layers is None


@pytest.mark.filterwarnings("ignore::chainrule.gradcheck.PrecisionWarning")
def test_module_with_a_loss_and_the_module_left_alone():
    net = Net(F.LeakyReLUWrongMask)
    net.fc1.weight.grad = torch.ones_like(net.fc1.weight)
    net.fc2.bias.requires_grad_(False)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(8, 3, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1])
    report = check_module(net, x, loss=lambda out: torch.nn.functional.cross_entropy(out, y), batch_size=8)
    assert not report.passed and "fc2.bias" not in report.parameters
    assert any("fc2.bias" in note and "not checked" in note for note in report.notes)
    assert report.parameters["fc2.weight"].passed and not report.parameters["fc1.weight"].passed
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())  # BatchNorm statistics too
    assert torch.equal(net.fc1.weight.grad, torch.ones_like(net.fc1.weight)) and net.fc2.bias.grad is None
    assert net.training and net.fc1.weight.dtype == torch.float32 and not net.fc2.bias.requires_grad
    with pytest.raises(TypeError, match="scalar tensor"):
        check_module(net, x, loss=lambda out: out)
    with pytest.raises(ValueError, match="outputs='each'"):
        check_module(net, x, loss=lambda out: out.sum(), outputs="each")


def test_report_json_is_keyed_by_names():
    d = check_function(F.LinearSwapped, randn(4, 3), randn(2, 3, seed=1), randn(2, seed=2)).to_dict()
    assert d["passed"] is False and d["parameters"]["x"]["pattern"] == "swapped"
    assert d["parameters"]["bias"]["passed"] is True


def test_importing_chainrule_does_not_import_torch():
    code = "import sys, chainrule, chainrule.gradcheck, chainrule.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_same_seed_same_report():
    a = check_function(F.ReLUNoMask, randn(6, 5), rng=3).to_dict()
    b = check_function(F.ReLUNoMask, randn(6, 5), rng=3).to_dict()
    assert a == b
    assert np.isfinite(a["difference"])


def test_a_backward_writing_into_grad_output_is_noted():
    report = check_function(F.ReLUInPlace, randn(6, 5))
    assert report.passed  # the values are right
    assert any("wrote into its grad_output for out in place" in note for note in report.notes)
    assert not any("grad_output" in note for note in check_function(F.ReLU, randn(6, 5)).notes)


def test_without_torch_the_import_error_says_how_to_install():
    code = ("import sys; sys.modules['torch'] = None\n"
            "try:\n    import chainrule.torch\nexcept ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 'pip install "chainrule[torch]"' in out.stdout


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_verdicts_agree_with_torch_at_other_inputs(seed):
    """Every Function of the two tables at fresh random inputs: chainrule's verdict is the expected
    one and torch.autograd.gradcheck's is the same."""
    g = torch.Generator().manual_seed(100 + seed)

    def fresh(inputs):
        return tuple(torch.randn(a.shape, dtype=torch.float64, generator=g) if isinstance(a, torch.Tensor)
                     else a for a in inputs)

    for expected, table in ((True, CORRECT), (False, PLANTED)):
        for case, (fn, make, *_) in table.items():
            inputs = fresh(make())
            report = check_function(fn, *inputs, rng=seed)
            assert report.passed is expected, (case, report.summary())
            assert torch_verdict(fn.apply, inputs) is expected, case
