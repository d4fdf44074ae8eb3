"""``chainrule gradcheck PATH.py:NAME``: the user's own layer, model or cost, imported safely."""

import json
import sys
import textwrap

import numpy as np
import pytest

from chainrule.cli import main

MYLAYER = '''
import numpy as np
import chainrule as cr


class MyReLU(cr.ReLU):
    def backward(self, dout):
        return dout  # forgot the mask


class GoodReLU(cr.ReLU):
    pass


class Scale(cr.Layer):
    """y = x * w * factor; the gradient of w forgets the factor."""

    def __init__(self, n, factor=2.0):
        super().__init__()
        self.params = {"w": np.ones(n)}
        self.factor = factor
        self.zero_grad()

    def forward(self, x):
        self.x = x
        return x * self.params["w"] * self.factor

    def backward(self, dout):
        self.grads["w"] = (dout * self.x).sum(0)
        return dout * self.params["w"] * self.factor


def buggy_model():
    X = np.random.default_rng(0).standard_normal((6, 3))
    model = cr.Sequential(cr.Linear(3, 4, rng=0), MyReLU(), cr.Linear(4, 2, rng=1))
    return model, cr.CrossEntropyLoss(), X, np.array([0, 1, 0, 1, 1, 0])


def cost(p):
    return float(np.sum(p["W"] ** 3)), {"W": 3 * p["W"] ** 2}


def cost_only(p):
    return float(np.sum(p["W"] ** 3))


def bad_cost(p):
    return float(np.sum(p["W"] ** 3)), {"W": 2 * p["W"] ** 2}


def lost_in_noise(p):
    return 1e6 + 1e-6 * float(np.sum(p["W"] ** 2)), {"W": 2e-6 * p["W"]}


def forward_raises():
    raise ZeroDivisionError("in the user's function")
'''


@pytest.fixture
def files(tmp_path, monkeypatch):
    (tmp_path / "mylayer.py").write_text(MYLAYER)
    np.savez(tmp_path / "params.npz", W=np.random.default_rng(0).standard_normal((3, 2)))
    W = np.load(tmp_path / "params.npz")["W"]
    np.savez(tmp_path / "grads.npz", dW=3 * W ** 2)
    np.savez(tmp_path / "bad_grads.npz", dW=-3 * W ** 2)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(argv, capsys):
    code = main(["gradcheck", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_my_relu_without_the_mask_is_named_masked(files, capsys):
    code, out, _ = run(["mylayer.py:MyReLU"], capsys)
    assert code == 1
    assert "masked" in out and "where the input is <= 0" in out and "outcome: wrong" in out


def test_json_and_exit_codes_for_layers(files, capsys):
    code, out, _ = run(["mylayer.py:MyReLU", "--json", "--shape", "4,3", "--seed", "2"], capsys)
    d = json.loads(out)
    assert code == 1 and d["ok"] and d["outcome"] == "wrong" and d["parameters"]["x"]["pattern"] == "masked"
    assert d["parameters"]["x"]["shape"] == [4, 3]
    code, out, _ = run(["mylayer.py:GoodReLU", "--json"], capsys)
    assert code == 0 and json.loads(out)["outcome"] == "correct"
    code, out, _ = run(["mylayer.py:Scale", "--args", '{"n": 5, "factor": 3.0}', "--json"], capsys)
    d = json.loads(out)
    assert code == 1 and d["parameters"]["w"]["pattern"] == "scaled"
    assert d["parameters"]["w"]["factor"] == pytest.approx(1 / 3, rel=1e-6) and d["parameters"]["x"]["passed"]
    code, out, _ = run(["mylayer.py:Scale", "--args", "[4]", "--shape", "2,4", "--json"], capsys)
    assert code == 1 and json.loads(out)["parameters"]["w"]["shape"] == [4]


def test_a_function_returning_model_loss_data_is_checked_with_blame(files, capsys):
    code, out, _ = run(["mylayer.py:buggy_model", "--json"], capsys)
    d = json.loads(out)
    assert code == 1 and d["blame"] == 1 and d["layers"][1]["pattern"] == "masked"


def test_cost_functions_with_params(files, capsys):
    assert run(["mylayer.py:cost", "--params", "params.npz"], capsys)[0] == 0
    code, out, _ = run(["mylayer.py:bad_cost", "--params", "params.npz", "--json"], capsys)
    d = json.loads(out)
    assert code == 1 and d["parameters"]["W"]["pattern"] == "scaled"
    assert d["parameters"]["W"]["factor"] == pytest.approx(2 / 3, rel=1e-6)
    assert run(["mylayer.py:cost_only", "--params", "params.npz", "--grads", "grads.npz"], capsys)[0] == 0
    argv = ["mylayer.py:cost_only", "--params", "params.npz", "--grads", "bad_grads.npz", "--json"]
    code, out, _ = run(argv, capsys)
    assert code == 1 and json.loads(out)["parameters"]["W"]["pattern"] == "sign"
    code, _, err = run(["mylayer.py:cost_only", "--params", "params.npz"], capsys)
    assert code == 2 and "must return (cost, grads)" in err and "--grads" in err


def test_undecided_exits_3(files, capsys):
    code, out, _ = run(["mylayer.py:lost_in_noise", "--params", "params.npz", "--json"], capsys)
    d = json.loads(out)
    assert code == 3 and d["outcome"] == "undecided" and d["parameters"]["W"]["resolved"] is False


def test_pickled_npz_is_refused(files, capsys):
    np.savez(files / "pickled.npz", W=np.array([{"a": 1}], dtype=object))
    code, _, err = run(["mylayer.py:cost", "--params", "pickled.npz"], capsys)
    assert code == 2 and "--params" in err and "pickle" in err.lower()


@pytest.mark.parametrize("source, shown", [
    ("import numpy as np\ndef f(:\n    pass\n", "SyntaxError"),
    ("import numpy as np\n\ndef helper():\n    return np.zeros(3)[5]\n\nhelper()\n", "IndexError"),
    ("import not_a_module_anywhere\n", "ModuleNotFoundError"),
    ("import sys\nsys.exit(4)\n", "SystemExit"),
])
def test_a_file_that_fails_to_import_is_the_users_error(files, capsys, source, shown):
    (files / "broken.py").write_text(source)
    code, out, err = run(["broken.py:f", "--json"], capsys)
    assert code == 2 and shown in err and "broken.py" in err
    assert "chainrule" not in err.replace("chainrule gradcheck: error:", ""), err  # no chainrule frames
    assert "importlib" not in err and "<frozen" not in err
    assert json.loads(out)["ok"] is False


def test_errors_while_checking_show_only_the_users_frames(files, capsys):
    code, _, err = run(["mylayer.py:forward_raises"], capsys)
    assert code == 2 and "ZeroDivisionError: in the user's function" in err
    assert 'mylayer.py", line' in err and "site-packages" not in err and "gradcheck_target" not in err


def test_the_file_leaves_nothing_behind(files, capsys):
    (files / "helper_mod.py").write_text("VALUE = 3\n")
    (files / "uses_helper.py").write_text("import helper_mod\nimport chainrule as cr\n"
                                          "class R(cr.ReLU):\n    pass\n")
    modules, path = set(sys.modules), list(sys.path)
    assert run(["uses_helper.py:R"], capsys)[0] == 0
    assert set(sys.modules) - modules == set() and sys.path == path


@pytest.mark.parametrize("argv, message", [
    (["mylayer.py"], "expected PATH.py:NAME"),
    (["nothere.py:X"], "no such file"),
    (["mylayer.py:Nope"], "defines no 'Nope'; it defines"),
    (["mylayer.py:MyReLU", "--params", "params.npz"], "--params does not apply"),
    (["mylayer.py:cost", "--grads", "grads.npz"], "--grads needs --params"),
    (["mylayer.py:MyReLU", "--args", "{bad"], "--args must be JSON"),
    (["mylayer.py:MyReLU", "--hidden", "3"], "--hidden does not apply"),
    (["mylayer.py:MyReLU", "--demo"], "--demo does not apply"),
    (["mylayer.py:Scale", "--args", '{"n": 5}', "--shape", "8,3"], "pass --shape"),
    (["--shape", "8,3"], "--shape applies to PATH.py:NAME only"),
])
def test_usage_errors_exit_2(files, capsys, argv, message):
    code, _, err = run(argv, capsys)
    assert code == 2 and message in err, err


def test_bad_shape_is_a_usage_error(files, capsys):
    assert main(["gradcheck", "mylayer.py:MyReLU", "--shape", "8,-1"]) == 2
    assert "positive integers" in capsys.readouterr().err


def test_subprocess_entry_point(files):
    import subprocess

    (files / "one.py").write_text(textwrap.dedent(MYLAYER))
    out = subprocess.run([sys.executable, "-m", "chainrule", "gradcheck", "one.py:MyReLU"],
                         capture_output=True, text=True, cwd=files)
    assert out.returncode == 1 and "masked" in out.stdout


def test_json_stdout_stays_one_json_line_when_the_users_code_prints(files, capsys):
    (files / "chatty.py").write_text("import chainrule as cr\nprint('imported!')\n"
                                     "class R(cr.ReLU):\n    def forward(self, x):\n        print('fwd')\n"
                                     "        return super().forward(x)\n")
    code, out, err = run(["chatty.py:R", "--json"], capsys)
    assert code == 0 and json.loads(out)["outcome"] == "correct"
    assert "imported!" in err and "fwd" in err


TORCH_FILE = '''
import torch


class LeakyReLUWrongMask(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x > 0, x, 0.1 * x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x > 0)  # the negative slope forgotten


class MulSwapped(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad * a, grad * b


class Net(torch.nn.Module):
    def __init__(self, n_in=4):
        super().__init__()
        self.fc1, self.fc2 = torch.nn.Linear(n_in, 6), torch.nn.Linear(6, 2)

    def forward(self, x):
        return self.fc2(LeakyReLUWrongMask.apply(self.fc1(x)))


class GoodNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(5, 3)

    def forward(self, x):
        return torch.tanh(self.fc(x))
'''


def test_torch_functions_and_modules_from_the_terminal(files, capsys):
    (files / "tfn.py").write_text(TORCH_FILE)
    code, out, _ = run(["tfn.py:LeakyReLUWrongMask", "--json"], capsys)
    d = json.loads(out)
    assert code == 1 and d["parameters"]["x"]["pattern"] == "masked"
    assert d["parameters"]["x"]["shape"] == [8, 5]
    code, out, _ = run(["tfn.py:MulSwapped", "--shape", "3,4", "--json"], capsys)
    assert code == 1 and {k: v["pattern"] for k, v in json.loads(out)["parameters"].items()} == {
        "a": "swapped", "b": "swapped"}
    code, out, _ = run(["tfn.py:Net", "--args", '{"n_in": 3}', "--json"], capsys)
    d = json.loads(out)
    assert code == 1 and [lr["index"] for lr in d["layers"]] == ["fc1", "LeakyReLUWrongMask.apply", "fc2"]
    assert d["blame"] == 1 and d["parameters"]["x"]["shape"] == [8, 3]
    assert run(["tfn.py:GoodNet"], capsys)[0] == 0
    code, _, err = run(["tfn.py:MulSwapped", "--shape", "3,4", "--shape", "3,4", "--shape", "2"], capsys)
    assert code == 2 and "takes 2 input(s)" in err
    code, _, err = run(["mylayer.py:MyReLU", "--shape", "3,4", "--shape", "3,4"], capsys)
    assert code == 2 and "give --shape once" in err
